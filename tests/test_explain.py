"""explain() recognises the autograd errors PyTorch really raises; the IPython hook adds to them and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from IPython.core.interactiveshell import InteractiveShell

import coursekit
import coursekit.explain as explain_module
from coursekit.exercises._loop_checker import gan_setup, regression_setup, rnn_setup, two_head_setup
from coursekit.explain import EXPLANATIONS, LOOP_SECTION, explain

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _backward_twice():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p = torch.softmax(a, dim=0)
    torch.autograd.grad(p[1], a)
    torch.autograd.grad(p[2], a)


def _no_grad():
    (torch.ones(2) * 3).sum().backward()


def _leaf_in_place():
    w = torch.ones(2, requires_grad=True)
    w -= 0.1


def _non_scalar():
    w = torch.ones(2, requires_grad=True)
    (w * 2).backward()


def _saved_modified():
    w = torch.ones(3, requires_grad=True)
    e = w.exp()
    e.add_(1.0)
    e.sum().backward()


def _weight_changed_after_step():
    layer = torch.nn.Linear(3, 2)
    loss = layer(torch.ones(4, 3, requires_grad=True)).pow(2).sum()
    with torch.no_grad():
        layer.weight.add_(1.0)  # what optimizer.step() does to every weight
    loss.backward()


def _leaf_changed():
    w = torch.ones(3, requires_grad=True)
    y = (w * w).sum()
    with torch.no_grad():
        w -= 0.1  # a hand-written update step
    y.backward()


REAL_ERRORS = [(_backward_twice, "backward-twice"), (_no_grad, "no-grad"), (_leaf_in_place, "leaf-in-place"),
               (_non_scalar, "non-scalar-backward"), (_saved_modified, "saved-tensor-modified"),
               (_weight_changed_after_step, "weight-changed-after-step"), (_leaf_changed, "weight-changed-after-step")]


def _raised(make) -> BaseException:
    with pytest.raises(RuntimeError) as info:
        make()
    return info.value


@pytest.mark.parametrize("make,key", REAL_ERRORS, ids=[k for _, k in REAL_ERRORS])
def test_real_pytorch_errors_are_explained(make, key):
    err = _raised(make)
    explanation = explain(err)
    assert explanation is not None and explanation.key == key
    assert explain(str(err)) is explanation  # the message alone is enough
    assert coursekit.explain(err) is explanation  # the top-level name is callable too
    text = repr(explanation)
    assert "How to fix it:" in text and explanation.notebook in text
    html = explanation._repr_html_()
    assert f"href='{explanation.notebook}#" in html and "<script" not in html


@pytest.mark.parametrize("err", [ValueError("shapes do not match"), RuntimeError("CUDA out of memory"),
                                 KeyError("x"), "", RuntimeError("")])
def test_unknown_errors_give_none(err):
    assert explain(err) is None


def test_an_exception_whose_str_fails_gives_none():
    class Broken(Exception):
        def __str__(self):
            raise ValueError("no message")

    assert explain(Broken()) is None


def _headings(notebook: str) -> set[str]:
    nb = json.loads((NOTEBOOKS / notebook).read_text())
    found = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    found.add(line.lstrip("#").strip())
    return found


@pytest.mark.parametrize("explanation", EXPLANATIONS, ids=[e.key for e in EXPLANATIONS])
def test_every_explanation_links_to_an_existing_section(explanation):
    assert explanation.section in _headings(explanation.notebook)
    assert " " not in explanation.anchor


# --- the IPython hook ---------------------------------------------------------------------------------------

@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.run_cell("import torch", store_history=False)
    yield shell
    explain_module.uninstall()


BACKWARD_TWICE = ("a = torch.ones(3, requires_grad=True)\np = torch.softmax(a, 0)\n"
                  "torch.autograd.grad(p[1], a)\ntorch.autograd.grad(p[2], a)")


def _run(shell, capsys, source):
    capsys.readouterr()
    result = shell.run_cell(source, store_history=False)
    return result, ANSI.sub("", capsys.readouterr().out)


def test_hook_appends_the_explanation_after_the_traceback(shell, capsys):
    explain_module.install(shell)
    assert explain_module.installed()
    result, out = _run(shell, capsys, BACKWARD_TWICE)
    assert isinstance(result.error_in_exec, RuntimeError)
    assert "Traceback" in out and "RuntimeError: Trying to backward through the graph a second time" in out
    assert out.index("Trying to backward") < out.index("What this error means:")
    assert "06_retain_graph.ipynb" in out


@pytest.mark.parametrize("source", ["raise RuntimeError('something else went wrong')",
                                    "raise ValueError('not an autograd error')", "1 / 0"])
def test_unknown_errors_pass_through_unchanged(shell, capsys, source):
    _, plain = _run(shell, capsys, source)
    explain_module.install(shell)
    result, hooked = _run(shell, capsys, source)
    assert result.error_in_exec is not None
    assert type(result.error_in_exec).__name__ in plain and "Traceback" in plain
    assert hooked == plain
    assert "What this error means" not in hooked


def test_uninstall_restores_the_previous_handler(shell, capsys):
    before = (shell.custom_exceptions, shell.CustomTB)
    explain_module.install(shell)
    explain_module.install(shell)  # installing twice is harmless
    assert RuntimeError in shell.custom_exceptions
    explain_module.uninstall()
    assert (shell.custom_exceptions, shell.CustomTB) == before and not explain_module.installed()
    _, out = _run(shell, capsys, BACKWARD_TWICE)
    assert "Trying to backward" in out and "What this error means" not in out


def test_an_existing_custom_handler_keeps_working(shell, capsys):
    seen = []

    def handler(self, etype, value, tb, tb_offset=None):
        seen.append(etype)
        print("custom handler ran")

    shell.set_custom_exc((KeyError,), handler)
    try:
        explain_module.install(shell)
        _, out = _run(shell, capsys, "raise KeyError('k')")
        assert seen == [KeyError] and "custom handler ran" in out
        _, out = _run(shell, capsys, BACKWARD_TWICE)
        assert "What this error means" in out
    finally:
        explain_module.uninstall()
        shell.set_custom_exc((), None)
    assert shell.custom_exceptions == ()


def test_install_outside_ipython_says_what_to_do(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    with pytest.raises(RuntimeError, match="explain\\(err\\)"):
        explain_module.install()


def test_differentiating_a_plain_gradient_points_to_create_graph():
    x = torch.tensor(1.5, requires_grad=True)
    (first,) = torch.autograd.grad(x**3, x)  # no create_graph: `first` has no graph of its own
    with pytest.raises(RuntimeError) as info:
        torch.autograd.grad(first, x)
    explanation = explain(info.value)
    assert explanation is not None and explanation.key == "no-grad"
    assert "create_graph=True" in explanation.fix and "create_graph=True" in explanation.why


# --- the four broken loops of 06's lab, with their real exceptions ---------------------------------------------

def _steps(steps):
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(8, 3, generator=gen, dtype=torch.float64) for _ in range(steps)]


def _rnn_loop(*, retain=False):
    cell, head, opt = rnn_setup(watch=False)
    h = torch.zeros(8, 8, dtype=torch.float64)
    for x in _steps(4):
        h = cell(x, h)  # h carries the previous step's graph
        loss = head(h).pow(2).mean()
        opt.zero_grad()
        loss.backward(retain_graph=retain)
        opt.step()


def _running_total_loop(*, retain=False):
    model, opt = regression_setup(watch=False)
    loss = 0.0
    for x in _steps(4):
        loss += model(x).pow(2).mean()  # the running total is backpropagated
        opt.zero_grad()
        loss.backward(retain_graph=retain)
        opt.step()


def _gan_loop():
    G, D, opt_g, opt_d = gan_setup(watch=False)
    for x in _steps(2):
        fake = G(x[:, :2])
        d_loss = F.softplus(-D(x[:, 1:])).mean() + F.softplus(D(fake)).mean()  # fake not detached
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()


def _two_losses_loop():
    trunk, head_reg, head_cls, opt = two_head_setup(watch=False)
    for x in _steps(2):
        features = trunk(torch.cat([x, x[:, :1]], dim=1))
        loss_reg = head_reg(features).pow(2).mean()
        loss_cls = F.cross_entropy(head_cls(features), torch.zeros(8, dtype=torch.long))
        opt.zero_grad()
        loss_reg.backward()
        loss_cls.backward()
        opt.step()


LOOPS = [(_rnn_loop, "backward-twice"), (_running_total_loop, "backward-twice"), (_gan_loop, "backward-twice"),
         (_two_losses_loop, "backward-twice"), (lambda: _rnn_loop(retain=True), "weight-changed-after-step"),
         (lambda: _running_total_loop(retain=True), "weight-changed-after-step")]


@pytest.mark.parametrize("loop,key", LOOPS, ids=["rnn", "running-total", "gan", "two-losses", "rnn-retain",
                                                 "running-total-retain"])
def test_the_broken_loops_get_the_loop_explanation(loop, key):
    explanation = explain(_raised(loop))
    assert explanation is not None and explanation.key == key
    assert explanation.section == LOOP_SECTION and explanation.section in _headings(explanation.notebook)
    first = explanation.steps[0]
    assert "earlier iteration" in first and "detach" in first.lower()  # the first thing to ask
    text = repr(explanation)
    assert ".clone()" not in text.split("Learn more")[0] or "would keep it too" in text


def test_second_backward_advice_comes_in_order():
    explanation = explain(_raised(_backward_twice))
    detach, retain, genuine = explanation.steps
    assert "detach" in detach.lower() and ".item()" in detach
    assert "retain_graph=True" in retain and "memory grows" in retain and "optimizer.step()" in retain \
        and "in-place version error" in retain
    assert "p[1] and p[2]" in genuine and "two losses" in genuine and "retain_graph=True" in genuine
    html = explanation._repr_html_()
    assert html.index("earlier iteration") < html.index("memory grows") < html.index("p[1] and p[2]")
    assert "<ol" in html and html.count("<li>") == 3
    lines = repr(explanation).splitlines()
    assert [line.strip()[:2] for line in lines if line.strip()[:2] in ("1.", "2.", "3.")] == ["1.", "2.", "3."]


def test_version_error_of_an_operations_result_keeps_the_in_place_advice():
    explanation = explain(_raised(_saved_modified))
    assert explanation.key == "saved-tensor-modified" and explanation.section == "4. Which operations save tensors"
    assert "out-of-place" in explanation.fix
