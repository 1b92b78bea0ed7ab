"""The training-trick exercises of 07_backprop_mlp agree with torch.nn.init, dropout and clip_grad_norm_."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.exercises import mlp_training as M

SETTINGS = settings(max_examples=40, deadline=None)
sizes = st.integers(1, 6)
seeds = st.integers(0, 2**31 - 1)


def randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64) * scale


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

def test_a_learner_who_uses_only_fan_in_for_xavier_is_told_so():
    from coursekit import check

    def init_std(fan_in, fan_out, nonlinearity):
        if nonlinearity == "relu":
            return math.sqrt(2.0 / fan_in)
        return torch.nn.init.calculate_gain(nonlinearity) * math.sqrt(1.0 / fan_in)

    result = check(init_std)
    assert result.status == "fail" and "Xavier averages the two fans" in result.verdict.hint


def test_both_modules_register_under_the_capstone_notebook():
    from coursekit.exercises import mlp_backprop

    assert M.NOTEBOOK == mlp_backprop.NOTEBOOK == "07_backprop_mlp"
