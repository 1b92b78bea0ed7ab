"""Notebook 08's exercises: references agree with PyTorch, learners' mistakes get their own messages.

The wrong answers here are written the way a learner would write them (not copied from the
recognisers), and for every exercise a right answer written differently from the reference passes.
"""

from __future__ import annotations

import inspect
import re
from collections import deque

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from coursekit import engine
from coursekit.engine.backward import topological_order as engine_order
from coursekit.exercises import by_notebook, get
from coursekit.exercises._engine_programs import PROGRAMS
from coursekit.exercises.build_autograd import matmul_vjp, mul_vjp, softmax_vjp, unbroadcast
from coursekit.exercises.build_autograd_walk import backward_twice, engine_gradients, topological_order
from coursekit.grading.check import check

SETTINGS = settings(max_examples=40, deadline=None)
FLOATS = st.floats(-5.0, 5.0, allow_nan=False, allow_subnormal=False)
EXERCISES = by_notebook("08_build_autograd")


def _named(fn, name):
    fn.__name__ = name
    return fn


def _hint(result):
    return result.verdict.hint if result.verdict is not None else None


@st.composite
def broadcast(draw):
    """(full shape, a shape that broadcasts to it)."""
    full = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
    cut = draw(st.integers(0, len(full)))
    return full, tuple(1 if draw(st.booleans()) else n for n in full[cut:])


# --- the references against PyTorch ---------------------------------------------------------------------------

@SETTINGS
@given(broadcast(), st.data())
def test_unbroadcast_is_the_vjp_of_broadcasting(shapes, data):
    full, small = shapes
    grad = torch.from_numpy(data.draw(arrays(np.float64, full, elements=FLOATS)))
    x = torch.zeros(small, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(x.expand(full), x, grad_outputs=grad)
    got = unbroadcast(grad, small)
    assert tuple(got.shape) == small
    torch.testing.assert_close(got, expected)


@SETTINGS
@given(broadcast(), st.booleans(), st.data())
def test_mul_vjp_matches_autograd(shapes, swap, data):
    a_shape, b_shape = shapes[::-1] if swap else shapes
    a = torch.from_numpy(data.draw(arrays(np.float64, a_shape, elements=FLOATS))).requires_grad_()
    b = torch.from_numpy(data.draw(arrays(np.float64, b_shape, elements=FLOATS))).requires_grad_()
    grad = torch.from_numpy(data.draw(arrays(np.float64, torch.broadcast_shapes(a_shape, b_shape), elements=FLOATS)))
    expected = torch.autograd.grad(a * b, (a, b), grad_outputs=grad)
    for got, want in zip(mul_vjp(grad, a.detach(), b.detach()), expected, strict=True):
        torch.testing.assert_close(got, want)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.sampled_from([(), (2,), (3, 1)]),
       st.sampled_from(["a", "b", "both"]), st.integers(0, 2**31 - 1))
def test_matmul_vjp_matches_autograd(n, k, m, batch, batched, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn((*(batch if batched != "b" else ()), n, k), generator=gen, dtype=torch.float64).requires_grad_()
    b = torch.randn((*(batch if batched != "a" else ()), k, m), generator=gen, dtype=torch.float64).requires_grad_()
    grad = torch.randn(torch.matmul(a, b).shape, generator=gen, dtype=torch.float64)
    expected = torch.autograd.grad(a @ b, (a, b), grad_outputs=grad)
    for got, want in zip(matmul_vjp(grad, a.detach(), b.detach()), expected, strict=True):
        torch.testing.assert_close(got, want)


@SETTINGS
@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6),
              elements=st.floats(-50.0, 50.0, allow_nan=False)), st.integers(0, 2**31 - 1))
def test_softmax_vjp_matches_autograd(logits, seed):
    z = torch.from_numpy(logits.copy()).requires_grad_()
    grad = torch.randn(z.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    (expected,) = torch.autograd.grad(torch.softmax(z, dim=-1), z, grad_outputs=grad)
    torch.testing.assert_close(softmax_vjp(grad, torch.softmax(z.detach(), dim=-1)), expected,
                               rtol=1e-9, atol=1e-12)


@st.composite
def dags(draw):
    """A random DAG as {name: [input names]} (inputs have larger numbers), and its output."""
    count = draw(st.integers(1, 9))
    inputs = {f"n{i}": sorted({f"n{j}" for j in draw(st.lists(st.integers(i + 1, count + 2), max_size=3))})
              for i in range(count) if i + 1 <= count + 2}
    for name in [f"n{j}" for j in range(count, count + 3)]:
        inputs[name] = []
    return inputs, "n0"


@SETTINGS
@given(dags())
def test_topological_order_is_a_valid_order_of_the_operations(graph):
    inputs, output = graph
    order = topological_order(inputs, output)
    reachable = set(engine_order(inputs, output))
    assert set(order) == {n for n in reachable if inputs[n]} and len(order) == len(set(order))
    position = {n: i for i, n in enumerate(order)}
    assert all(position[user] < position[i] for user in order for i in inputs[user] if i in position)
    assert order[:1] == ([output] if inputs[output] else [])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hidden_graphs_have_exactly_one_order(seed):
    import itertools

    for case in get("topological_order").cases(hidden_seed=seed):
        inputs, output = case.args
        ops = [n for n in engine_order(inputs, output) if inputs[n]]
        valid = [p for p in itertools.permutations(ops)
                 if all(p.index(u) < p.index(i) for u in p for i in inputs[u] if i in p)]
        assert valid == [tuple(topological_order(inputs, output))]


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.fn.name for p in PROGRAMS])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_engine_gradients_reference_matches_autograd(program, seed):
    rng = np.random.default_rng(seed)
    values = [torch.from_numpy(rng.normal(size=s)) for s in program.shapes(rng)]
    leaves = [v.clone().requires_grad_() for v in values]
    expected = torch.autograd.grad(program.fn(*leaves), leaves)
    for got, want in zip(engine_gradients(program.fn, values), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("program", PROGRAMS, ids=[p.fn.name for p in PROGRAMS])
@pytest.mark.parametrize("retain", [False, True])
def test_backward_twice_reference_behaves_like_pytorch(program, retain):
    rng = np.random.default_rng(4)
    values = [torch.from_numpy(rng.normal(size=s)) for s in program.shapes(rng)]
    result = backward_twice(program.fn, values, retain)
    leaves = [v.clone().requires_grad_() for v in values]
    out = program.fn(*leaves)
    out.backward(retain_graph=retain)
    first = [leaf.grad.clone() for leaf in leaves]
    try:
        out.backward()
        second = [leaf.grad for leaf in leaves]
    except RuntimeError:
        second = "freed"
    for got, want in zip(result["first backward"], first, strict=True):
        torch.testing.assert_close(got, want)
    if second == "freed":
        assert result["second backward"] == "freed" and program.saves and not retain
    else:
        for got, want in zip(result["second backward"], second, strict=True):
            torch.testing.assert_close(got, want)


def test_hidden_cases_follow_the_seed():
    for exercise in EXERCISES:
        one, again, other = (exercise.cases(hidden_seed=s) for s in (5, 5, 6))
        text = [repr([c.args for c in cases if c.hidden]) for cases in (one, again, other)]
        assert text[0] == text[1] and text[0] != text[2], exercise.id


# --- right answers written differently pass ---------------------------------------------------------------------

def test_differently_written_right_answers_pass():
    def unbroadcast_(grad, shape):
        while grad.dim() > len(shape):
            grad = grad.sum(dim=0)
        for i, n in enumerate(shape):
            if n == 1 and grad.shape[i] != 1:
                grad = grad.sum(dim=i, keepdim=True)
        return grad

    def mul_vjp_(grad, a, b):
        return unbroadcast_(b * grad, tuple(a.shape)), unbroadcast_(a * grad, tuple(b.shape))

    def matmul_vjp_(grad, a, b):
        ga = torch.einsum("...nm,...km->...nk", grad, b.expand(*grad.shape[:-2], *b.shape[-2:]))
        gb = torch.einsum("...nk,...nm->...km", a.expand(*grad.shape[:-2], *a.shape[-2:]), grad)
        return unbroadcast_(ga, a.shape), unbroadcast_(gb, b.shape)

    def softmax_vjp_(grad, p):
        jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
        return (grad.unsqueeze(-2) @ jacobian).squeeze(-2)

    def topological_order_(inputs, output):  # Kahn's algorithm, from the output
        reachable, stack = {output}, [output]
        while stack:
            for i in inputs[stack.pop()]:
                if i not in reachable:
                    reachable.add(i)
                    stack.append(i)
        users = {n: 0 for n in reachable}
        for n in reachable:
            for i in inputs[n]:
                users[i] += 1
        ready, order = deque([output]), []
        while ready:
            n = ready.popleft()
            if inputs[n]:
                order.append(n)
            for i in inputs[n]:
                users[i] -= 1
                if users[i] == 0:
                    ready.append(i)
        return order

    def recursive_backward(output, grad=None):  # one call per path: exponential, but right without freeing
        def visit(t, g):
            if t.node is None:
                if t.requires_grad:
                    t.grad = g if t.grad is None else t.grad + g
                return
            for i, gi in zip(t.node.inputs, t.node.vjp(g), strict=True):
                visit(i, gi)
        visit(output, torch.ones_like(output.value))

    def free_after_the_pass(output, grad=None, retain_graph=False):
        grads = {output: torch.ones_like(output.value)}
        order = topological_order_(engine.inputs_of(output), output)
        for t in order:
            for i, g in zip(t.node.inputs, t.node.vjp(grads[t]), strict=True):
                grads[i] = grads.get(i, 0) + g
        for t, g in grads.items():
            if t.node is None and t.requires_grad:
                t.grad = g if t.grad is None else t.grad + g
        if not retain_graph:
            for t in order:
                t.node.free()

    answers = {
        "unbroadcast": unbroadcast_, "mul_vjp": mul_vjp_, "matmul_vjp": matmul_vjp_, "softmax_vjp": softmax_vjp_,
        "topological_order": topological_order_,
        "engine_gradients": lambda program, values: engine.gradients(program, values, backward=recursive_backward),
        "backward_twice": lambda program, values, retain_graph: engine.backward_twice(
            program, values, retain_graph=retain_graph, backward=free_after_the_pass),
    }
    for exercise_id, answer in answers.items():
        result = check(_named(answer, exercise_id))
        assert result.status == "pass", repr(result)


# --- realistic wrong answers get targeted messages --------------------------------------------------------------

def _message(exercise_id, name):
    return next(m.message for m in get(exercise_id).mistakes if m.name == name)


def _expect(exercise_id, learner, mistake):
    result = check(_named(learner, exercise_id))
    assert result.status in ("fail", "error"), repr(result)
    assert _hint(result) == _message(exercise_id, mistake), repr(result)


def test_unbroadcast_mistakes():
    _expect("unbroadcast", lambda grad, shape: grad.mean(dim=0) if grad.dim() > len(shape) else grad, "averaged")
    # torch reads an empty tuple of dims as "all of them": a classic slip when nothing needs summing
    _expect("unbroadcast", lambda grad, shape: grad.sum(dim=tuple(range(grad.dim() - len(shape)))), "empty-dim-tuple")

    def leading_only(grad, shape):
        extra = grad.dim() - len(shape)
        return grad.sum(dim=tuple(range(extra))) if extra else grad

    _expect("unbroadcast", leading_only, "leading-only")

    def from_the_left(grad, shape):
        return grad.sum(dim=tuple(range(len(shape), grad.dim()))) if grad.dim() > len(shape) else grad

    _expect("unbroadcast", from_the_left, "left-aligned")


def test_unbroadcast_may_not_use_sum_to_size():
    result = check(_named(lambda grad, shape: grad.sum_to_size(shape), "unbroadcast"))
    assert result.status == "fail" and "Tensor.sum_to_size" in result.verdict.message


def test_mul_vjp_mistakes():
    _expect("mul_vjp", lambda grad, a, b: (grad * a, grad * b), "swapped")
    _expect("mul_vjp", lambda grad, a, b: (grad * b, grad * a), "not-unbroadcast")


def test_mul_vjp_by_autograd_breaks_the_rule():
    def mul_vjp(grad, a, b):
        a, b = a.clone().requires_grad_(), b.clone().requires_grad_()
        return torch.autograd.grad(a * b, (a, b), grad_outputs=grad)

    result = check(mul_vjp)
    assert result.status == "fail" and "no autograd" in result.verdict.message


def test_matmul_vjp_mistakes():
    _expect("matmul_vjp", lambda grad, a, b: (grad @ b, a @ grad), "no-transpose")
    _expect("matmul_vjp", lambda grad, a, b: (grad @ b.mT, grad.mT @ a), "grad-b-transposed")

    def two_d_only(grad, a, b):  # right for single matrices; .T on a batch reverses the batch dimension too
        return unbroadcast(grad @ b.T, a.shape), unbroadcast(a.T @ grad, b.shape)

    _expect("matmul_vjp", two_d_only, "t-on-a-batch")


def test_softmax_vjp_mistakes():
    _expect("softmax_vjp", lambda grad, p: grad * p * (1 - p), "diagonal-only")
    _expect("softmax_vjp", lambda grad, p: p * (grad - (grad * p).sum(-1)), "no-keepdim")
    _expect("softmax_vjp", lambda grad, p: p * (grad - torch.dot(grad.flatten(), p.flatten())), "whole-tensor-dot")


def test_topological_order_mistakes():
    def breadth_first(inputs, output):
        order, seen, queue = [], {output}, deque([output])
        while queue:
            n = queue.popleft()
            if inputs[n]:
                order.append(n)
            for i in inputs[n]:
                if i not in seen:
                    seen.add(i)
                    queue.append(i)
        return order

    def micrograd_without_reverse(inputs, output):
        topo, seen = [], set()

        def build(v):
            if v not in seen:
                seen.add(v)
                for child in inputs[v]:
                    build(child)
                topo.append(v)
        build(output)
        return topo

    def no_visited_set(inputs, output):
        topo = []

        def build(v):
            for child in inputs[v]:
                build(child)
            if inputs[v]:
                topo.append(v)
        build(output)
        return topo[::-1]

    def with_leaves(inputs, output):
        return micrograd_without_reverse(inputs, output)[::-1]

    _expect("topological_order", breadth_first, "before-a-user")
    _expect("topological_order", micrograd_without_reverse, "leaves-first")
    _expect("topological_order", no_visited_set, "listed-twice")
    _expect("topological_order", with_leaves, "includes-leaves")


def _with(backward):
    return lambda program, values: engine.gradients(program, values, backward=backward)


def _twice_with(backward):
    return lambda program, values, retain_graph: engine.backward_twice(program, values, retain_graph=retain_graph,
                                                                       backward=backward)


def _walk(*, accumulate=True, order="topological", free="after", add_to_grad=True):
    def backward(output, grad=None, retain_graph=False):
        grads = {output: torch.ones_like(output.value)}
        if order == "topological":
            nodes = [t for t in engine_order(engine.inputs_of(output), output) if t.node is not None]
        else:
            nodes, queue = [], deque([output])
            while queue:
                t = queue.popleft()
                if t.node is not None and t not in nodes:
                    nodes.append(t)
                    queue.extend(t.node.inputs)
        for t in nodes:
            if free == "before" and not retain_graph:
                t.node.free()
            for i, g in zip(t.node.inputs, t.node.vjp(grads[t]), strict=True):
                if accumulate and i in grads:
                    grads[i] += g
                else:
                    grads[i] = g
            if (free == "after" and not retain_graph) or free == "always":
                t.node.free()
            if free == "mark" and not retain_graph:
                t.node.freed = True
        for t, g in grads.items():
            if t.node is None and t.requires_grad:
                t.grad = g if t.grad is None or not add_to_grad else t.grad + g
    return backward


def test_engine_gradients_mistakes():
    _expect("engine_gradients", _with(_walk(accumulate=False)), "overwritten")
    _expect("engine_gradients", _with(_walk(order="breadth-first")), "breadth-first")
    _expect("engine_gradients", _with(lambda output, grad=None: output.backward()), "course-backward")


def test_engine_gradients_with_torch_autograd_breaks_the_rule():
    def backward(output, grad=None):  # right values, but multiplication's VJP is left to torch's autograd
        grads = {output: torch.ones_like(output.value)}
        for t in topological_order(engine.inputs_of(output), output):
            if t.node.op == "mul":
                a, b = (i.value.clone().requires_grad_() for i in t.node.inputs)
                vjps = torch.autograd.grad(a * b, (a, b), grad_outputs=grads[t])
                vjps = [unbroadcast(g, i.shape) for g, i in zip(vjps, t.node.inputs, strict=True)]
            else:
                vjps = t.node.vjp(grads[t])
            for i, g in zip(t.node.inputs, vjps, strict=True):
                grads[i] = grads[i] + g if i in grads else g
        for t, g in grads.items():
            if t.node is None and t.requires_grad:
                t.grad = g

    result = check(_named(_with(backward), "engine_gradients"))
    assert result.status == "fail" and "no torch autograd" in result.verdict.message, repr(result)


def test_backward_twice_mistakes():
    _expect("backward_twice", _twice_with(_walk(free="never")), "never-frees")
    _expect("backward_twice", _twice_with(_walk(free="always")), "ignores-retain-graph")
    _expect("backward_twice", _twice_with(_walk(add_to_grad=False)), "grad-replaced")
    _expect("backward_twice", _twice_with(_walk(free="mark")), "freed-without-saves")
    _expect("backward_twice", _twice_with(_walk(free="before")), "freed-too-early")

    def recursive_with_freeing(output, grad=None, retain_graph=False):
        def visit(t, g):
            if t.node is None:
                if t.requires_grad:
                    t.grad = g if t.grad is None else t.grad + g
                return
            grads = t.node.vjp(g)
            if not retain_graph:
                t.node.free()
            for i, gi in zip(t.node.inputs, grads, strict=True):
                visit(i, gi)
        visit(output, torch.ones_like(output.value))

    _expect("backward_twice", _twice_with(recursive_with_freeing), "freed-too-early")


def test_the_given_adapters_with_stub_backwards_are_not_attempted():
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert check(_named(_with(stub), "engine_gradients")).status == "not_attempted"
    assert check(_named(_twice_with(stub), "backward_twice")).status == "not_attempted"


# --- hints lead without handing over the answer -----------------------------------------------------------------

HINTED = [(e, s) for e in EXERCISES for h in e.hints for s in re.findall(r"`([^`]+)`", h)]


def test_hints_with_code_are_tested():
    assert {e.id for e, _ in HINTED} >= {"unbroadcast", "mul_vjp", "matmul_vjp", "softmax_vjp", "engine_gradients",
                                         "backward_twice"}


@pytest.mark.parametrize("exercise,snippet", HINTED, ids=[f"{e.id}-{s}" for e, s in HINTED])
def test_no_backticked_snippet_of_a_hint_is_an_answer(exercise, snippet):
    params = ", ".join(inspect.signature(exercise.reference).parameters)
    for source in (f"def {exercise.id}({params}):\n    return {snippet}\n", snippet):
        namespace = {"torch": torch, "engine": engine}
        try:
            exec(compile(source, "<hint>", "exec"), namespace)
        except Exception:  # noqa: BLE001 - not even valid code on its own: cannot be an answer
            continue
        if callable(namespace.get(exercise.id)):
            assert check(namespace[exercise.id]).status != "pass", snippet
