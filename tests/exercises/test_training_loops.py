"""The loop exercises of 06: references agree with plain PyTorch, the checker is transparent to a right loop and
catches kept graphs, and check() and the batch grader tell a right fix from retain_graph=True or a missing detach."""

from __future__ import annotations

import csv
import json
import textwrap

import pytest
import torch
import torch.nn.functional as F

from coursekit.exercises import by_notebook, get
from coursekit.exercises._loop_checker import deep_setup, gan_setup, lstm_setup, regression_setup, rnn_setup
from coursekit.exercises.source import reference_source
from coursekit.exercises.training_loops import accumulate_loop, lstm_loop
from coursekit.exercises.training_loops_shared import AUX_WEIGHT, deep_supervision_loop, gan_generator_first
from coursekit.explain import explain
from coursekit.grading.batch import grade
from coursekit.grading.check import check
from coursekit.grading.sandbox import Limits, Sandbox

LOOPS = ("lstm_loop", "accumulate_loop", "gan_generator_first", "deep_supervision_loop")
HEADER = "import torch\nimport torch.nn.functional as F\n"


def _case_args(exercise_id, number=0):
    return get(exercise_id).cases()[number].args


# --- the references against plain PyTorch (manual SGD on autograd.grad, unwatched setups) ----------------------

def _sgd(params, grads, lr):
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            p -= lr * g


def _lstm_by_hand(xs, ys):
    cell, head, _ = lstm_setup(watch=False)
    params = [*cell.parameters(), *head.parameters()]
    h = c = torch.zeros(xs.shape[1], 8, dtype=xs.dtype)
    losses = []
    for x, y in zip(xs, ys, strict=True):
        h, c = cell(x, (h.detach(), c.detach()))
        loss = ((head(h) - y) ** 2).mean()
        _sgd(params, torch.autograd.grad(loss, params), 0.2)
        losses.append(loss.item())
    return losses


def _accumulate_by_hand(xs, ys, k):
    model, _ = regression_setup(watch=False)
    params = list(model.parameters())
    out, grads, total = [], [torch.zeros_like(p) for p in params], 0.0
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        loss = ((model(x) - y) ** 2).mean() / k
        grads = [g + d for g, d in zip(grads, torch.autograd.grad(loss, params), strict=True)]
        total += loss.item()
        if (i + 1) % k == 0:
            _sgd(params, grads, 0.05)
            out.append(total)
            grads, total = [torch.zeros_like(p) for p in params], 0.0
    return out


def _gan_by_hand(real, z):
    G, D, _, _ = gan_setup(watch=False)
    g_params, d_params = list(G.parameters()), list(D.parameters())
    out = []
    for real_batch, noise in zip(real, z, strict=True):
        fake = G(noise)
        g_loss = F.softplus(-D(fake)).mean()  # BCE with label 1 on logits s: log(1 + e^-s)
        _sgd(g_params, torch.autograd.grad(g_loss, g_params), 0.05)
        d_loss = F.softplus(-D(real_batch)).mean() + F.softplus(D(fake.detach())).mean()
        _sgd(d_params, torch.autograd.grad(d_loss, d_params), 0.05)
        out.append(d_loss.item())
    return out


def _deep_by_hand(xs, ys):
    lower, upper, aux_head, _ = deep_setup(watch=False)
    params = [*lower.parameters(), *upper.parameters(), *aux_head.parameters()]
    out = []
    for x, y in zip(xs, ys, strict=True):
        features = lower(x)
        main = ((upper(features) - y) ** 2).mean()
        aux = ((aux_head(features) - y) ** 2).mean()
        _sgd(params, torch.autograd.grad(main + AUX_WEIGHT * aux, params), 0.1)
        out.append(main.item())
    return out


BY_HAND = {"lstm_loop": (lstm_loop, _lstm_by_hand), "accumulate_loop": (accumulate_loop, _accumulate_by_hand),
           "gan_generator_first": (gan_generator_first, _gan_by_hand),
           "deep_supervision_loop": (deep_supervision_loop, _deep_by_hand)}


@pytest.mark.parametrize("exercise_id", LOOPS)
def test_references_match_manual_sgd_on_unwatched_models(exercise_id):
    reference, by_hand = BY_HAND[exercise_id]
    for case in get(exercise_id).cases(hidden_seed=3):
        setup, *data = case.args
        watched = reference(setup, *data)
        unwatched = reference(lambda setup=setup: setup(watch=False), *data)
        assert watched == unwatched  # the checker's hooks change no number
        assert watched == pytest.approx(by_hand(*data), rel=1e-10, abs=1e-12)
        assert all(isinstance(v, float) for v in watched)
    # the losses move: every exercise trains something, step after step
    first = reference(*get(exercise_id).cases()[0].args)
    assert len(set(first)) == len(first) > 1


# --- the checker ---------------------------------------------------------------------------------------------

def _rnn_run(*, retain=False, detach=True, keep=False, watch=True, steps=5):
    cell, head, opt = rnn_setup(watch=watch)
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(steps, 4, 3, generator=gen, dtype=torch.float64)
    h, kept = torch.zeros(4, 8, dtype=torch.float64), []
    for x in xs:
        h = cell(x, h.detach() if detach else h)
        loss = head(h).pow(2).mean()
        opt.zero_grad()
        loss.backward(retain_graph=retain)
        opt.step()
        if keep:
            kept.append(loss)


def test_checker_passes_a_right_loop_and_names_the_kept_graph():
    _rnn_run()
    with pytest.raises(RuntimeError, match=r"graph of step 0 \(the RNN cell\) still alive in step 2"):
        _rnn_run(keep=True)
    with pytest.raises(RuntimeError, match=r"that the RNN cell saved in step 0 still held in step 1"):
        _rnn_run(retain=True)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        _rnn_run(detach=False)
    # unwatched, PyTorch's own errors: the version counter after optimizer.step() (at step 2 here)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        _rnn_run(retain=True, detach=False, watch=False)


def test_checker_keeps_pytorchs_version_check():
    # saved-tensor hooks switch autograd's own check off; the checker's unpack makes it instead
    model, _ = regression_setup()
    loss = model(torch.ones(2, 3, dtype=torch.float64)).sum()
    with torch.no_grad():
        model[2].weight.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
        loss.backward()
    assert explain(info.value).key == "weight-changed-after-step"


def test_setups_are_seeded_and_leave_the_random_stream_alone():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    a, b = lstm_setup()[0], lstm_setup()[0]
    assert torch.equal(torch.random.get_rng_state(), before)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q) and p.dtype == torch.float64


def test_checker_errors_are_explained():
    for run, key in ((lambda: _rnn_run(keep=True), "graph-kept-alive"), (lambda: _rnn_run(retain=True),
                                                                         "graph-retained")):
        with pytest.raises(RuntimeError) as info:
            run()
        explanation = explain(info.value)
        assert explanation is not None and explanation.key == key


# --- check(): right, wrong and differently written answers ------------------------------------------------------

def _src(body: str) -> str:
    return HEADER + textwrap.dedent(body)


LSTM = """
def lstm_loop(setup, xs, ys):
    cell, head, opt = setup()
    h = torch.zeros(xs.shape[1], cell.hidden_size, dtype=xs.dtype)
    c = torch.zeros_like(h)
    losses = []
    for x, y in zip(xs, ys):
        h, c = cell(x, (H, C))
        loss = F.mse_loss(head(h), y)
        opt.zero_grad()
        loss.backward(RETAIN)
        opt.step()
        losses.append(loss.item())
    return losses
"""
ACCUMULATE = """
def accumulate_loop(setup, xs, ys, k):
    model, opt = setup()
    group_losses = []
    loss = 0.0
    for i, (x, y) in enumerate(zip(xs, ys)):
        loss += F.mse_loss(model(x), y) / k
        loss.backward(RETAIN)
        if (i + 1) % k == 0:
            opt.step()
            opt.zero_grad()
            group_losses.append(loss.item())
            loss = 0.0
    return group_losses
"""
ACCUMULATE_TENSOR_TOTAL = """
def accumulate_loop(setup, xs, ys, k):
    model, opt = setup()
    group_losses, total = [], 0.0
    for i, (x, y) in enumerate(zip(xs, ys)):
        loss = F.mse_loss(model(x), y) / k
        loss.backward()
        total = total + loss
        if (i + 1) % k == 0:
            opt.step()
            opt.zero_grad()
            group_losses.append(total)  # a tensor: the list keeps each group's graph
            total = 0.0
    return [float(t) for t in group_losses]
"""
GAN = """
def gan_generator_first(setup, real, z):
    G, D, opt_g, opt_d = setup()
    bce = F.binary_cross_entropy_with_logits
    d_losses = []
    for real_batch, noise in zip(real, z):
        fake = G(noise)
        s = D(fake)
        g_loss = bce(s, torch.ones_like(s))
        opt_g.zero_grad()
        g_loss.backward(RETAIN)
        opt_g.step()
        s_real, s_fake = D(real_batch), D(FAKE)
        d_loss = bce(s_real, torch.ones_like(s_real)) + bce(s_fake, torch.zeros_like(s_fake))
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        d_losses.append(d_loss.item())
    return d_losses
"""
DEEP = """
def deep_supervision_loop(setup, xs, ys):
    lower, upper, aux_head, opt = setup()
    losses = []
    for x, y in zip(xs, ys):
        features = lower(x)
        main = F.mse_loss(upper(features), y)
        aux = F.mse_loss(aux_head(FEATURES), y)
        opt.zero_grad()
        BACKWARD
        opt.step()
        losses.append(main.item())
    return losses
"""


def _fill(template: str, **parts: str) -> str:
    for name, text in parts.items():
        template = template.replace(name, text)
    return _src(template)


RIGHT = {
    "lstm_loop": _src("""
        def lstm_loop(setup, xs, ys):
            cell, head, opt = setup()
            state, losses = None, []
            for t in range(len(xs)):
                state = cell(xs[t], state)
                loss = ((head(state[0]) - ys[t]) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                state = tuple(s.detach() for s in state)  # keep the values, drop the history
                losses.append(float(loss))
            return losses
        """),
    "accumulate_loop": _src("""
        def accumulate_loop(setup, xs, ys, k):
            model, opt = setup()
            out, running = [], None
            for i in range(len(xs)):
                batch = F.mse_loss(model(xs[i]), ys[i]) / k
                batch.backward()
                running = batch.detach() if running is None else running + batch.detach()
                if (i + 1) % k == 0:
                    opt.step()
                    opt.zero_grad()
                    out.append(running.item())
                    running = None
            return out
        """),
    "gan_generator_first": _src("""
        def gan_generator_first(setup, real, z):
            G, D, opt_g, opt_d = setup()
            bce = F.binary_cross_entropy_with_logits
            out = []
            for real_batch, noise in zip(real, z):
                fake = G(noise)
                s = D(fake)
                opt_g.zero_grad()
                bce(s, torch.ones_like(s)).backward()
                opt_g.step()
                samples = fake.detach()
                scores = torch.cat([D(real_batch), D(samples)])
                labels = torch.cat([torch.ones(len(real_batch), 1), torch.zeros(len(samples), 1)]).double()
                d_loss = 2 * bce(scores, labels)  # equal halves: twice the mean is the sum of the two means
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
                out.append(d_loss.item())
            return out
        """),
    "deep_supervision_loop": _fill(DEEP, FEATURES="features",
                                   BACKWARD="torch.autograd.backward([main, 0.3 * aux])"),
}
RIGHT_TOO = {  # the other right fix, where there is one
    "deep_supervision_loop": _fill(DEEP, FEATURES="features",
                                   BACKWARD="main.backward(retain_graph=True)\n        (0.3 * aux).backward()"),
}
BROKEN = {  # the loop as the notebook gives it
    "lstm_loop": _fill(LSTM, H="h", C="c", RETAIN=""),
    "accumulate_loop": _fill(ACCUMULATE, RETAIN=""),
    "gan_generator_first": _fill(GAN, RETAIN="", FAKE="fake"),
    "deep_supervision_loop": _fill(DEEP, FEATURES="features",
                                   BACKWARD="main.backward()\n        (0.3 * aux).backward()"),
}
RETAIN = {  # the broken loop with retain_graph=True added where the error was
    "lstm_loop": _fill(LSTM, H="h", C="c", RETAIN="retain_graph=True"),
    "accumulate_loop": _fill(ACCUMULATE, RETAIN="retain_graph=True"),
    "gan_generator_first": _fill(GAN, RETAIN="retain_graph=True", FAKE="fake"),
    "deep_supervision_loop": _fill(DEEP, FEATURES="features", BACKWARD="main.backward(retain_graph=True)\n"
                                   "        (0.3 * aux).backward(retain_graph=True)"),
}
OTHER_WRONG = {  # a second realistic wrong fix, and the mistake that must recognise it
    "lstm_loop": (_fill(LSTM, H="h.detach()", C="c", RETAIN=""), "state-attached"),
    "accumulate_loop": (_src(ACCUMULATE_TENSOR_TOTAL), "total-attached"),
    "gan_generator_first": (_fill(GAN, RETAIN="", FAKE="fake").replace("fake = G(noise)", "fake = G(noise).detach()"),
                            "generator-frozen"),
    "deep_supervision_loop": (_fill(DEEP, FEATURES="features.detach()", BACKWARD="main.backward()\n"
                                    "        (0.3 * aux).backward()"), "aux-detached"),
}
RETAIN_MISTAKE = {"lstm_loop": "retain-graph", "accumulate_loop": "retain-graph",
                  "gan_generator_first": "retain-graph", "deep_supervision_loop": "retain-both"}
BROKEN_MISTAKE = {"lstm_loop": "state-attached", "accumulate_loop": "total-backpropagated",
                  "gan_generator_first": "still-attached", "deep_supervision_loop": "graph-freed"}


def _define(source: str, exercise_id: str):
    namespace: dict = {}
    exec(compile(source, f"<{exercise_id}>", "exec"), namespace)  # noqa: S102 - the test's own answer sources
    return namespace[exercise_id]


def _message(exercise_id: str, mistake: str) -> str:
    return next(m.message for m in get(exercise_id).mistakes if m.name == mistake)


@pytest.mark.parametrize("exercise_id", LOOPS)
def test_right_answers_pass(exercise_id):
    for source in (reference_source(get(exercise_id)), RIGHT[exercise_id], RIGHT_TOO.get(exercise_id)):
        if source is not None:
            result = check(_define(source, exercise_id))
            assert result.status == "pass", repr(result)


@pytest.mark.parametrize("exercise_id", LOOPS)
def test_the_broken_loop_and_retain_graph_get_their_own_messages(exercise_id):
    broken = check(_define(BROKEN[exercise_id], exercise_id))
    assert broken.status == "error" and broken.verdict.hint == _message(exercise_id, BROKEN_MISTAKE[exercise_id])
    assert broken.verdict.explanation is not None and broken.verdict.explanation.key == "backward-twice"
    retained = check(_define(RETAIN[exercise_id], exercise_id))
    assert retained.status in ("error", "fail") and retained.points < 1
    assert retained.verdict.hint == _message(exercise_id, RETAIN_MISTAKE[exercise_id]), repr(retained)
    assert "retain_graph=True" in retained.verdict.hint


@pytest.mark.parametrize("exercise_id", LOOPS)
def test_a_second_wrong_fix_gets_its_own_message(exercise_id):
    source, mistake = OTHER_WRONG[exercise_id]
    result = check(_define(source, exercise_id))
    assert result.status in ("error", "fail") and result.verdict.hint == _message(exercise_id, mistake), repr(result)


def test_a_loss_list_of_tensors_is_caught_even_though_the_numbers_are_right():
    source = RIGHT["lstm_loop"].replace("losses.append(float(loss))", "losses.append(loss)").replace(
        "return losses", "return [float(v) for v in losses]")
    result = check(_define(source, "lstm_loop"))
    assert result.status == "error" and "still alive in step 2" in result.verdict.message


# --- the batch grader ---------------------------------------------------------------------------------------

FIRST = "import coursekit\nfrom coursekit import check, hint, solution\ndevice = coursekit.device()\ncoursekit.seed(0)"


def _notebook(cells: list[str]) -> dict:
    body = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
            for c in [FIRST, *cells]]
    return {"nbformat": 4, "nbformat_minor": 5, "cells": body,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "coursekit": {"notebook": "06_retain_graph"}}}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("loops")
    others = [reference_source(e) for e in by_notebook("06_retain_graph") if e.id not in LOOPS]
    students = {"reference": [reference_source(get(e)) for e in LOOPS],
                "different": [RIGHT[e] for e in LOOPS],
                "retain": [RETAIN[e] for e in LOOPS],
                "broken": [BROKEN[e] for e in LOOPS],
                "other": [OTHER_WRONG[e][0] for e in LOOPS]}
    submissions = root / "submitted"
    submissions.mkdir()
    for name, cells in students.items():
        (submissions / f"{name}.ipynb").write_text(json.dumps(_notebook([*others, *cells])))
    limits = Limits(notebook_seconds=20, exercise_seconds=10, submission_seconds=120, memory_mb=1024)
    with Sandbox(limits=limits) as box:
        grade(submissions=submissions, out=root / "out", seed=20240917, sandbox=box, workers=2, progress=False)
    results = {name: {e["id"]: e for e in json.loads((root / "out" / "results" / f"{name}.json").read_text())[
        "exercises"]} for name in students}
    with open(root / "out" / "gradebook.csv", newline="") as handle:
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader(handle)}
    return results, totals


def test_batch_grader_gives_right_fixes_full_marks_with_hidden_cases(graded):
    results, totals = graded
    full = sum(e.points for e in by_notebook("06_retain_graph"))
    for student in ("reference", "different"):
        assert totals[student] == full, results[student]
        for exercise_id in LOOPS:
            entry = results[student][exercise_id]
            assert entry["status"] == "pass" and entry["passed"] == entry["total"] > len(get(exercise_id).cases())


@pytest.mark.parametrize("exercise_id", LOOPS)
def test_batch_grader_tells_retain_graph_and_missing_detach_apart(graded, exercise_id):
    results, _ = graded
    for student, mistake in (("retain", RETAIN_MISTAKE[exercise_id]), ("broken", BROKEN_MISTAKE[exercise_id]),
                             ("other", OTHER_WRONG[exercise_id][1])):
        entry = results[student][exercise_id]
        assert entry["status"] in ("fail", "error") and entry["points"] < get(exercise_id).points
        assert entry["hint"] == _message(exercise_id, mistake), (student, entry)
