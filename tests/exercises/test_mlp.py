"""The capstone's exercise references agree with autograd, torch.nn.init, dropout and clip_grad_norm_."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import check
from coursekit.exercises import by_notebook, get
from coursekit.exercises import mlp as M

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


# --- init_std --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity,fan_in,fan_out", [("relu", 1000, 300), ("relu", 200, 2000),
                                                         ("tanh", 800, 400), ("sigmoid", 300, 900),
                                                         ("linear", 1500, 1500)])
def test_init_std_matches_torch_nn_init_on_large_tensors(nonlinearity, fan_in, fan_out):
    torch.manual_seed(0)
    weight = torch.empty(fan_out, fan_in, dtype=torch.float64)  # nn.Linear(fan_in, fan_out).weight's shape
    if nonlinearity == "relu":
        torch.nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu")
    else:
        torch.nn.init.xavier_normal_(weight, gain=torch.nn.init.calculate_gain(nonlinearity))
    # ~3e5 samples: the sample std is within 1% of the true one with overwhelming probability
    assert weight.std().item() == pytest.approx(M.init_std(fan_in, fan_out, nonlinearity), rel=0.01)


@SETTINGS
@given(fan_in=st.integers(1, 10**6), fan_out=st.integers(1, 10**6),
       nonlinearity=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]))
def test_init_std_equals_torchs_own_formula(fan_in, fan_out, nonlinearity):
    gain = torch.nn.init.calculate_gain(nonlinearity)
    expected = gain / math.sqrt(fan_in) if nonlinearity == "relu" else gain * math.sqrt(2 / (fan_in + fan_out))
    assert M.init_std(fan_in, fan_out, nonlinearity) == pytest.approx(expected, rel=1e-12)


def test_init_std_rejects_an_unknown_nonlinearity():
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        M.init_std(10, 10, "gelu")


# --- inverted_dropout ------------------------------------------------------------------------------

@SETTINGS
@given(n=sizes, width=st.integers(1, 40), p=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.8, 0.95]), seed=seeds,
       dtype=st.sampled_from([torch.float64, torch.float32]))
def test_inverted_dropout_reproduces_torchs_dropout_given_its_mask(n, width, p, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, width, generator=gen, dtype=torch.float64) + 0.5).to(dtype)  # no zeros: the mask is readable
    torch.manual_seed(seed)
    dropped = F.dropout(x, p=p, training=True)
    got = M.inverted_dropout(x, dropped != 0, p)
    assert got.dtype == dtype
    torch.testing.assert_close(got, dropped)


def test_inverted_dropout_edge_values_of_p_match_torch():
    x = torch.randn(3, 4, dtype=torch.float64)
    assert torch.equal(M.inverted_dropout(x, torch.ones_like(x, dtype=torch.bool), 0.0), x)
    dropped_all = M.inverted_dropout(x, torch.zeros_like(x, dtype=torch.bool), 1.0)
    assert torch.equal(dropped_all, F.dropout(x, p=1.0, training=True)) and torch.isfinite(dropped_all).all()
    one = torch.tensor([[2.0, -4.0]], dtype=torch.float64)
    torch.testing.assert_close(M.inverted_dropout(one, torch.tensor([[True, False]]), 0.5),
                               torch.tensor([[4.0, 0.0]], dtype=torch.float64))


def test_inverted_dropout_keeps_the_expectation():
    torch.manual_seed(0)
    x = torch.full((200000,), 3.0, dtype=torch.float64)
    mask = torch.rand(x.shape, dtype=torch.float64) >= 0.3
    assert M.inverted_dropout(x, mask, 0.3).mean().item() == pytest.approx(3.0, rel=0.01)


# --- clip_grad_norm --------------------------------------------------------------------------------

@SETTINGS
@given(count=st.integers(1, 4), seed=seeds, scale=st.sampled_from([1e-3, 0.3, 1.0, 50.0, 1e4]),
       max_norm=st.floats(0.1, 10.0))
def test_clip_grad_norm_matches_torch_clip_grad_norm_(count, seed, scale, max_norm):
    gen = torch.Generator().manual_seed(seed)
    grads = tuple(randn(gen, *torch.randint(1, 5, (2,), generator=gen).tolist(), scale=scale) for _ in range(count))
    params = [torch.nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    got = M.clip_grad_norm(grads, max_norm)
    assert isinstance(got, tuple) and len(got) == count
    for g, p in zip(got, params, strict=True):
        torch.testing.assert_close(g, p.grad, rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_returns_new_tensors_and_handles_zero_gradients():
    grads = (torch.tensor([3.0, 4.0], dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    clipped = M.clip_grad_norm(grads, 1.0)
    assert grads[0].tolist() == [3.0, 4.0], "the input must not be modified"
    assert torch.linalg.vector_norm(torch.cat(clipped)).item() == pytest.approx(1.0, rel=1e-6)
    zeros = M.clip_grad_norm((torch.zeros(3, dtype=torch.float64),), 1.0)
    assert torch.equal(zeros[0], torch.zeros(3, dtype=torch.float64))


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
