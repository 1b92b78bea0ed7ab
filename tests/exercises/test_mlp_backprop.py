"""The neuron and backprop exercises of 07_backprop_mlp agree with autograd and with the perceptron's theory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import check
from coursekit.exercises import by_notebook, get
from coursekit.exercises import mlp_backprop as M

SETTINGS = settings(max_examples=40, deadline=None)
sizes = st.integers(1, 6)
seeds = st.integers(0, 2**31 - 1)
scales = st.sampled_from([1e-6, 1.0, 1e2, 1e4])


def randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


def test_the_notebook_has_its_six_exercises_in_teaching_order():
    assert [e.id for e in by_notebook("07_backprop_mlp")] == [
        "perceptron_step", "linear_backward", "mlp_backward", "init_std", "inverted_dropout", "clip_grad_norm"]


# --- linear_backward -------------------------------------------------------------------------------

def autograd_linear(x, W, b, grad_out):
    x, W, b = (t.detach().clone().requires_grad_() for t in (x, W, b))
    y = F.linear(x, W, b)  # torch.nn.Linear's x @ W.T + b
    return torch.autograd.grad(y, (x, W, b), grad_out, allow_unused=True)


@SETTINGS
@given(n=st.integers(0, 6), d_in=sizes, d_out=sizes, scale=scales, seed=seeds)
def test_linear_backward_matches_autograd(n, d_in, d_out, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    args = (randn(gen, n, d_in, scale=scale), randn(gen, d_out, d_in), randn(gen, d_out), randn(gen, n, d_out))
    got = M.linear_backward(*args)
    for g, e in zip(got, autograd_linear(*args), strict=True):
        e = torch.zeros_like(g) if e is None else e  # an empty batch leaves b's gradient undefined
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-10 * scale)


def test_linear_backward_batch_of_one_and_empty_batch():
    gen = torch.Generator().manual_seed(0)
    W, b = randn(gen, 3, 2), randn(gen, 3)
    gx, gW, gb = M.linear_backward(randn(gen, 1, 2), W, b, randn(gen, 1, 3))
    assert gx.shape == (1, 2) and gW.shape == (3, 2) and gb.shape == (3,)
    gx, gW, gb = M.linear_backward(torch.zeros(0, 2, dtype=torch.float64), W, b, torch.zeros(0, 3, dtype=torch.float64))
    assert gx.shape == (0, 2) and torch.equal(gW, torch.zeros(3, 2, dtype=torch.float64)) and not gb.any()


# --- mlp_backward ----------------------------------------------------------------------------------

def autograd_mlp(x, y, W1, b1, W2, b2):
    params = [t.detach().clone().requires_grad_() for t in (W1, b1, W2, b2)]
    out = F.linear(torch.relu(F.linear(x, params[0], params[1])), params[2], params[3])
    return torch.autograd.grad(F.mse_loss(out, y), params)


@SETTINGS
@given(n=sizes, d=sizes, m=sizes, k=sizes, scale=scales, seed=seeds)
def test_mlp_backward_matches_autograd_with_mse_mean(n, d, m, k, scale, seed):
    gen = torch.Generator().manual_seed(seed)
    args = (randn(gen, n, d, scale=scale), randn(gen, n, k), randn(gen, m, d), randn(gen, m), randn(gen, k, m),
            randn(gen, k))
    expected = autograd_mlp(*args)
    for g, e in zip(M.mlp_backward(*args), expected, strict=True):
        assert g.shape == e.shape
        torch.testing.assert_close(g, e, rtol=1e-9, atol=1e-12 * max(1.0, float(e.abs().max())))


def test_mlp_backward_follows_relu_prime_zero_at_the_kink():
    exercise = get("mlp_backward")
    kink = next(c for c in exercise.cases() if "kink" in c.label)
    x, _, W1, b1, *_ = kink.args
    assert ((x @ W1.T + b1) == 0).sum() >= 3, "the public kink case must hit z1 = 0 exactly"
    for g, e in zip(M.mlp_backward(*kink.args), autograd_mlp(*kink.args), strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-15)
    with_one = M._mlp_variant(*kink.args, mask="z>=0")
    assert not torch.allclose(with_one[0], M.mlp_backward(*kink.args)[0]), "the kink case must separate the conventions"


def test_every_public_mlp_case_is_float64_and_matches_gradcheck():
    for case in get("mlp_backward").cases():
        x, y, *params = case.args
        params = [p.detach().clone().requires_grad_() for p in params]

        def loss(W1, b1, W2, b2, x=x, y=y):
            return F.mse_loss(F.linear(torch.relu(F.linear(x, W1, b1)), W2, b2), y)

        if "kink" not in case.label:  # finite differences straddle the kink there
            assert torch.autograd.gradcheck(loss, params)


# --- perceptron_step -------------------------------------------------------------------------------

@SETTINGS
@given(d=sizes, seed=seeds, label=st.sampled_from([-1.0, 1.0]), lr=st.floats(0.01, 2.0))
def test_perceptron_step_moves_only_on_mistakes_and_towards_the_label(d, seed, label, lr):
    gen = torch.Generator().manual_seed(seed)
    w, x, b = randn(gen, d), randn(gen, d), float(randn(gen, 1))
    before = label * (torch.dot(w, x).item() + b)
    w_new, b_new = M.perceptron_step(w, b, x, label, lr)
    assert isinstance(b_new, float)
    if before > 0:
        assert torch.equal(w_new, w) and b_new == b
    else:
        after = label * (torch.dot(w_new, x).item() + b_new)
        assert after == pytest.approx(before + lr * (torch.dot(x, x).item() + 1), rel=1e-9, abs=1e-9)


def test_perceptron_learns_and_but_not_xor():
    inputs = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)

    def mistakes_in_last_pass(labels):
        w, b = torch.zeros(2, dtype=torch.float64), 0.0
        for _ in range(20):
            wrong = 0
            for xi, yi in zip(inputs, labels, strict=True):
                w_new, b_new = M.perceptron_step(w, b, xi, yi, 1.0)
                wrong += not (torch.equal(w_new, w) and b_new == b)
                w, b = w_new, b_new
        return wrong

    assert mistakes_in_last_pass([-1.0, -1.0, -1.0, 1.0]) == 0
    assert mistakes_in_last_pass([-1.0, 1.0, 1.0, -1.0]) > 0


# --- learners' view --------------------------------------------------------------------------------

def test_a_learner_who_forgets_the_mean_is_told_so():
    def mlp_backward(x, y, W1, b1, W2, b2):
        return M._mlp_variant(x, y, W1, b1, W2, b2, divide="none")

    result = check(mlp_backward)
    assert result.status == "fail" and "N·k times too large" in result.verdict.hint
    assert "Case 1: mlp_backward(x=" in result.verdict.message


def test_hidden_cases_are_drawn_from_the_grading_seed():
    exercise = get("linear_backward")
    first = [c.args[0] for c in exercise.cases(hidden_seed=3) if c.hidden]
    again = [c.args[0] for c in exercise.cases(hidden_seed=3) if c.hidden]
    other = [c.args[0] for c in exercise.cases(hidden_seed=4) if c.hidden]
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(a.shape != b.shape or not torch.equal(a, b) for a, b in zip(first, other, strict=True))
