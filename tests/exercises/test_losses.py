"""The loss exercises' references agree with PyTorch's losses, distributions, autograd and optimisers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.exercises import by_notebook
from coursekit.exercises import losses as L

F64 = torch.float64
SETTINGS = settings(max_examples=60, deadline=None)
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=True)


@st.composite
def pairs(draw, *, max_rows: int = 6, max_cols: int = 5):
    rows, cols = draw(st.integers(1, max_rows)), draw(st.integers(1, max_cols))
    a = draw(st.lists(finite, min_size=rows * cols, max_size=rows * cols))
    b = draw(st.lists(finite, min_size=rows * cols, max_size=rows * cols))
    return torch.tensor(a, dtype=F64).reshape(rows, cols), torch.tensor(b, dtype=F64).reshape(rows, cols)


def distributions(gen: torch.Generator, shape: tuple[int, ...], *, zeros: bool = False) -> torch.Tensor:
    p = torch.rand(shape, generator=gen, dtype=F64) + 1e-3
    if zeros:
        p = torch.where(torch.rand(shape, generator=gen) < 0.3, 0.0, p)
        p[..., 0] += 1e-3
    return p / p.sum(dim=-1, keepdim=True)


def test_the_notebook_has_its_exercises_in_teaching_order():
    assert [e.id for e in by_notebook("04_loss_functions")] == [
        "mse", "mse_grad", "entropy", "kl_divergence", "cross_entropy", "binary_cross_entropy_with_logits",
        "weight_decay_step"]


@SETTINGS
@given(pairs())
def test_mse_and_its_gradient_match_torch(pt):
    pred, target = pt
    torch.testing.assert_close(L.mse(pred, target), F.mse_loss(pred, target))
    leaf = pred.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(F.mse_loss(leaf, target), leaf)
    torch.testing.assert_close(L.mse_grad(pred, target), grad)


def test_mse_batch_of_one_and_extremes():
    pred, target = torch.tensor([[1e4, -1e-300]], dtype=F64), torch.tensor([[-1e4, 1e-300]], dtype=F64)
    torch.testing.assert_close(L.mse(pred, target), F.mse_loss(pred, target))
    assert L.mse_grad(pred, target).shape == pred.shape


@SETTINGS
@given(st.integers(1, 6), st.integers(2, 6), st.sampled_from([1e-12, 1.0, 30.0, 1e3, 1e4]), st.integers(0, 2**31 - 1))
def test_cross_entropy_matches_torch_at_every_scale(n, c, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, c, generator=gen, dtype=F64) * scale
    target = torch.randint(0, c, (n,), generator=gen)
    got = L.cross_entropy(logits, target)
    assert torch.isfinite(got)
    torch.testing.assert_close(got, F.cross_entropy(logits, target), rtol=1e-10, atol=1e-12)


def test_cross_entropy_of_huge_logits_is_exact():
    logits = torch.tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]], dtype=F64)
    assert L.cross_entropy(logits, torch.tensor([0, 0])).item() == 1000.0
    assert L.cross_entropy(torch.zeros(1, 4, dtype=F64), torch.tensor([3])).item() == pytest.approx(math.log(4))


@SETTINGS
@given(st.lists(finite, min_size=1, max_size=16), st.integers(0, 2**31 - 1), st.booleans())
def test_binary_cross_entropy_with_logits_matches_torch(zs, seed, soft):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.tensor(zs, dtype=F64)
    target = torch.rand(len(zs), generator=gen, dtype=F64)
    target = target if soft else target.round()
    got = L.binary_cross_entropy_with_logits(logits, target)
    assert torch.isfinite(got)
    torch.testing.assert_close(got, F.binary_cross_entropy_with_logits(logits, target))


def test_bce_with_logits_where_sigmoid_then_bce_breaks():
    logits, target = torch.tensor([1e4, -1e4], dtype=F64), torch.tensor([0.0, 1.0], dtype=F64)
    assert L.binary_cross_entropy_with_logits(logits, target).item() == 1e4
    # PyTorch's sigmoid-then-BCE clamps log(0) at -100, so it reports 100 for a loss of 1e4.
    assert F.binary_cross_entropy(torch.sigmoid(logits), target).item() == 100.0


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 6), st.integers(0, 2**31 - 1), st.booleans())
def test_entropy_and_kl_match_torch_distributions(rows, k, seed, zeros):
    gen = torch.Generator().manual_seed(seed)
    p = distributions(gen, (rows, k), zeros=zeros)
    q = distributions(gen, (rows, k))
    torch.testing.assert_close(L.entropy(p), torch.distributions.Categorical(probs=p).entropy())
    torch.testing.assert_close(L.entropy(p), torch.special.entr(p).sum(dim=-1))
    kl_torch = torch.distributions.kl_divergence(torch.distributions.Categorical(probs=p),
                                                 torch.distributions.Categorical(probs=q))
    torch.testing.assert_close(L.kl_divergence(p, q), kl_torch)
    torch.testing.assert_close(L.kl_divergence(p, q), F.kl_div(q.log(), p, reduction="none").sum(dim=-1))
    # cross-entropy = entropy + KL, the identity the notebook verifies
    torch.testing.assert_close(-torch.xlogy(p, q).sum(dim=-1), L.entropy(p) + L.kl_divergence(p, q))


def test_entropy_and_kl_edge_cases():
    certain = torch.tensor([0.0, 1.0, 0.0], dtype=F64)
    assert L.entropy(certain).item() == 0.0 and not math.copysign(1.0, L.entropy(certain).item()) < 0
    assert L.entropy(torch.full((4,), 0.25, dtype=F64)).item() == pytest.approx(math.log(4))
    assert L.entropy(torch.empty(0, 3, dtype=F64)).shape == (0,)
    assert L.kl_divergence(torch.empty(0, 3, dtype=F64), torch.empty(0, 3, dtype=F64)).shape == (0,)
    p, q = torch.tensor([0.5, 0.5], dtype=F64), torch.tensor([1e-300, 1.0], dtype=F64)
    assert L.kl_divergence(p, q).item() == pytest.approx(0.5 * math.log(0.5 / 1e-300) + 0.5 * math.log(0.5))
    assert L.kl_divergence(q, q).item() == 0.0


@SETTINGS
@given(pairs(max_rows=4, max_cols=4), st.floats(1e-4, 1.0), st.floats(0.0, 0.5))
def test_weight_decay_step_equals_torch_sgd_and_the_decoupled_form(wg, lr, weight_decay):
    w, grad = wg
    param = torch.nn.Parameter(w.clone())
    optimizer = torch.optim.SGD([param], lr=lr, weight_decay=weight_decay)
    param.grad = grad.clone()
    optimizer.step()
    got = L.weight_decay_step(w, grad, lr, weight_decay)
    torch.testing.assert_close(got, param.detach())
    torch.testing.assert_close(got, (1 - lr * weight_decay) * w - lr * grad)


def test_weight_decay_step_returns_a_new_tensor():
    w = torch.tensor([1.0, -2.0], dtype=F64)
    before = w.clone()
    out = L.weight_decay_step(w, torch.zeros_like(w), 0.1, 0.5)
    assert out is not w and torch.equal(w, before)


def test_hidden_cases_follow_the_grading_seed():
    for exercise in by_notebook("04_loss_functions"):
        first = [repr(c.args) for c in exercise.cases(hidden_seed=21) if c.hidden]
        assert first and first == [repr(c.args) for c in exercise.cases(hidden_seed=21) if c.hidden]
        assert first != [repr(c.args) for c in exercise.cases(hidden_seed=22) if c.hidden], exercise.id
