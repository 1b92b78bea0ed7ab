"""The tiny engine agrees with torch.autograd, saves and frees what PyTorch does, and differentiates twice."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from coursekit import engine
from coursekit.engine.backward import topological_order
from coursekit.graph import graph_data

SETTINGS = settings(max_examples=40, deadline=None)
FLOATS = st.floats(-3.0, 3.0, allow_nan=False, allow_subnormal=False)


def _torch_grads(program, values):
    leaves = [torch.as_tensor(v, dtype=torch.float64).clone().requires_grad_() for v in values]
    return torch.autograd.grad(program(*leaves), leaves, allow_unused=True)


def _assert_same_gradients(program, values, **tolerance):
    ours = engine.gradients(program, [torch.as_tensor(v, dtype=torch.float64) for v in values])
    theirs = _torch_grads(program, values)
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, rtol=tolerance.get("rtol", 1e-10), atol=tolerance.get("atol", 1e-12))


@st.composite
def broadcast_pair(draw):
    """Two shapes that broadcast against each other (dimensions of size 1 stretched, leading ones added)."""
    full = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    cut = draw(st.integers(0, len(full)))
    small = tuple(1 if draw(st.booleans()) else n for n in full[cut:])
    return (full, small) if draw(st.booleans()) else (small, full)


@SETTINGS
@given(broadcast_pair(), st.data())
def test_binary_operations_with_broadcasting_match_torch(shapes, data):
    a = data.draw(arrays(np.float64, shapes[0], elements=FLOATS))
    b = data.draw(arrays(np.float64, shapes[1], elements=st.floats(0.5, 3.0)))
    v = data.draw(arrays(np.float64, np.broadcast_shapes(*shapes), elements=FLOATS))
    for op in (lambda x, y: x + y, lambda x, y: x * y, lambda x, y: x / y, lambda x, y: x - y):
        _assert_same_gradients(lambda x, y, w, op=op: (op(x, y) * w).sum(), [a, b, v])


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.sampled_from([(), (2,), (3,)]),
       st.sampled_from(["a", "b", "both"]), st.integers(0, 2**31 - 1))
def test_matmul_with_batches_matches_torch(n, k, m, batch, batched, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn((*(batch if batched in ("a", "both") else ()), n, k), generator=gen, dtype=torch.float64)
    b = torch.randn((*(batch if batched in ("b", "both") else ()), k, m), generator=gen, dtype=torch.float64)
    v = torch.randn(torch.matmul(a, b).shape, generator=gen, dtype=torch.float64)
    _assert_same_gradients(lambda x, y, w: ((x @ y) * w).sum(), [a, b, v])
    _assert_same_gradients(lambda x, y, w: ((y.mT @ x.mT).mT * w).sum(), [a, b, v])


@SETTINGS
@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
              elements=st.floats(-20.0, 20.0, allow_nan=False)), st.integers(0, 2**31 - 1))
def test_unary_operations_match_torch(values, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.from_numpy(values.copy())
    for op in (lambda x: x.exp(), lambda x: (x * x + 1).log(), lambda x: x.relu(), lambda x: x.softmax(-1),
               lambda x: -x, lambda x: x.sum(dim=0), lambda x: x.sum(dim=-1, keepdim=True), lambda x: x.sum(),
               lambda x: x.reshape(-1), lambda x: x.expand(2, *x.shape), lambda x: x.mean()):
        out_shape = op(a).shape
        v = torch.randn(out_shape, generator=gen, dtype=torch.float64)
        _assert_same_gradients(lambda x, w, op=op: (op(x) * w).sum(), [a, v], rtol=1e-9, atol=1e-9)


def test_relu_at_zero_passes_no_gradient_as_in_pytorch():
    _assert_same_gradients(lambda x: x.relu().sum(), [torch.tensor([-1.0, 0.0, 2.0])])
    (g,) = engine.gradients(lambda x: x.relu().sum(), [torch.tensor([-1.0, 0.0, 2.0])])
    assert g.tolist() == [0.0, 0.0, 1.0]


def test_softmax_of_huge_logits_is_finite_and_its_gradient_matches_torch():
    z = torch.tensor([[1000.0, 999.0, 0.0], [-800.0, 0.0, 800.0]], dtype=torch.float64)
    p = engine.Tensor(z).softmax(-1)
    assert torch.isfinite(p.value).all()
    _assert_same_gradients(lambda x, c: (x.softmax(-1) * c).sum(), [z, torch.arange(6.0).reshape(2, 3)])


@pytest.mark.parametrize("expression", [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a @ b, lambda a, b: a.exp(),
    lambda a, b: a.log(), lambda a, b: a.relu(), lambda a, b: a.softmax(-1), lambda a, b: -a, lambda a, b: a.mT,
    lambda a, b: a.sum(), lambda a, b: a.reshape(9), lambda a, b: a.expand(2, 3, 3),
])
def test_each_operation_saves_as_many_tensors_as_pytorch(expression):
    a0 = torch.rand(3, 3, dtype=torch.float64) + 0.5
    b0 = torch.rand(3, 3, dtype=torch.float64) + 0.5
    ours = expression(engine.Tensor(a0, requires_grad=True), engine.Tensor(b0, requires_grad=True))
    theirs = expression(a0.clone().requires_grad_(), b0.clone().requires_grad_())
    assert len(ours.node.saved_names) == len(graph_data(theirs).saved)


def test_a_second_backward_raises_after_freeing_and_runs_with_retain_graph():
    x = engine.Tensor(torch.tensor([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert y.node.freed is False  # sum saved nothing
    assert y.node.inputs[0].node.freed and y.node.inputs[0].node.saved == {}
    with pytest.raises(engine.GraphFreedError, match="were already freed.*retain_graph=True"):
        y.backward()

    x = engine.Tensor(torch.tensor([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    torch.testing.assert_close(x.grad, 2 * (2 * x.value))  # .grad adds up, as in PyTorch


def test_a_graph_that_saved_nothing_survives_a_second_backward_like_pytorch():
    x = engine.Tensor(torch.tensor([1.0, 2.0]), requires_grad=True)
    y = (x + 3.0).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    yt = (xt + 3.0).sum()
    yt.backward()
    yt.backward()
    assert xt.grad.tolist() == x.grad.tolist()


def test_backward_twice_reports_freed_exactly_when_pytorch_refuses_a_second_pass():
    programs = [lambda x, w: (x + w).sum(), lambda x, w: (x * w).sum(), lambda x, w: (x.exp() + w).sum(),
                lambda x, w: (x.softmax(-1) + w).sum(), lambda x, w: (x - w).sum()]
    values = [torch.tensor([0.5, -1.0]), torch.tensor([2.0, 1.0])]
    for program in programs:
        for retain in (False, True):
            result = engine.backward_twice(program, values, retain_graph=retain)
            leaves = [v.clone().requires_grad_() for v in values]
            out = program(*leaves)
            out.backward(retain_graph=retain)
            try:
                out.backward()
                refused = False
            except RuntimeError:
                refused = True
            assert (result["second backward"] == "freed") == refused
            if not refused:
                for ours, leaf in zip(result["second backward"], leaves, strict=True):
                    torch.testing.assert_close(ours, leaf.grad.to(ours.dtype))


def test_create_graph_gives_second_derivatives_and_keeps_the_graph():
    x0 = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    c = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    for f in (lambda x: (x * x * x).sum(), lambda x: ((x * c).exp() / (1 + x * x)).sum(),
              lambda x: (x.softmax(-1) * c).sum(), lambda x: ((x * x + 1).log() * x.relu()).sum()):
        x = engine.Tensor(x0, requires_grad=True)
        out = f(x)
        (g,) = engine.grad(out, x, create_graph=True)
        assert isinstance(g, engine.Tensor) and g.requires_grad
        assert not any(t.node.freed for t in engine.inputs_of(out) if t.node is not None)
        (h,) = engine.grad((g * g).sum(), x)
        xt = x0.clone().requires_grad_()
        (gt,) = torch.autograd.grad(f(xt), xt, create_graph=True)
        (ht,) = torch.autograd.grad((gt * gt).sum(), xt)
        torch.testing.assert_close(h, ht, rtol=1e-10, atol=1e-12)


def test_without_create_graph_gradients_are_plain_tensors_without_history():
    x = engine.Tensor(torch.tensor(2.0), requires_grad=True)
    (g,) = engine.grad(x * x, x)
    assert isinstance(g, torch.Tensor) and not g.requires_grad and g.item() == 4.0


def test_the_course_backward_refuses_to_stand_in_for_the_learners():
    def lazy(output, grad=None):
        output.backward()

    with pytest.raises(RuntimeError, match="yours to write"):
        engine.gradients(lambda x: (x * x).sum(), [torch.ones(2)], backward=lazy)
    # outside that call the course's backward works as before
    assert engine.gradients(lambda x: (x * x).sum(), [torch.ones(2)])[0].tolist() == [2.0, 2.0]


def test_using_plugs_in_other_vjps():
    calls = []

    def counted_mul(grad, a, b):
        calls.append(1)
        return engine.vjps.mul_vjp(grad, a, b)

    Mine = engine.Tensor.using(mul=counted_mul)
    x = Mine(torch.tensor([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    assert type(y) is Mine
    y.backward()
    assert calls == [1] and x.grad.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="No operation named"):
        engine.Tensor.using(mull=counted_mul)


def test_topological_order_puts_every_node_before_its_inputs():
    x = engine.Tensor(torch.tensor([1.0]), requires_grad=True)
    e = x.exp()
    y = (e + e.log() + x).sum()
    graph = engine.inputs_of(y)
    order = topological_order(graph, y)
    assert order[0] is y and set(order) == set(graph) and len(order) == len(graph)
    position = {t: i for i, t in enumerate(order)}
    assert all(position[t] < position[i] for t, inputs in graph.items() for i in inputs)


def test_clear_errors_for_bad_input():
    x = engine.Tensor(torch.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match="needs a single number"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match="needs matrices"):
        x @ x
    with pytest.raises(ValueError, match="last dimension"):
        engine.Tensor(torch.ones(2, 3)).softmax(0)
    with pytest.raises(ValueError, match="no graph to walk"):
        engine.Tensor(torch.ones(())).backward()
    with pytest.raises(ValueError, match="grad has shape"):
        (x * 2.0).backward(torch.ones(2))


def test_repr_is_deterministic_and_short():
    x = engine.Tensor(torch.tensor([1.0, 2.0]), requires_grad=True, name="x")
    assert repr(x) == "Tensor([1.0, 2.0], requires_grad=True, name='x')"
    assert repr((x * x).sum()) == "Tensor(5.0, op=Sum)"
    assert repr(engine.Tensor(torch.zeros(3, 4))) == "Tensor(shape=(3, 4))"
    assert repr((x * x).node) == "Node(Mul, inputs=2, saved: a, b)"


def test_an_empty_tuple_of_dimensions_sums_everything_as_in_torch():
    values = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    assert engine.Tensor(values).sum(dim=()).item() == values.sum(dim=()).item() == 15.0
    _assert_same_gradients(lambda x: x.sum(dim=()) * 2.0, [values])
