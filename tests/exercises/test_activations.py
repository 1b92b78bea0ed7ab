"""The activation exercises' references agree with PyTorch's own functions and autograd."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import check
from coursekit.exercises import activations as A
from coursekit.exercises import by_notebook, get

EXTREMES = torch.tensor([-1e4, -745.0, -50.0, -1e-300, -5e-324, 0.0, 5e-324, 1e-12, 36.0, 710.0, 1e4],
                        dtype=torch.float64)
values = st.lists(st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=True), min_size=1, max_size=24)
SETTINGS = settings(max_examples=60, deadline=None)


def autograd_derivative(fn, x: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of an elementwise fn, by autograd in float64."""
    x = x.detach().to(torch.float64).requires_grad_(True)
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


def test_the_notebook_has_its_eight_exercises_in_teaching_order():
    assert [e.id for e in by_notebook("03_activations")] == [
        "sigmoid", "sigmoid_grad", "tanh_grad", "relu_grad", "softplus", "dead_relu_fraction", "leaky_relu", "elu"]


@SETTINGS
@given(values)
def test_sigmoid_matches_torch_and_never_warns(xs):
    x = torch.tensor(xs, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = A.sigmoid(x)
    torch.testing.assert_close(got, torch.sigmoid(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_sigmoid_extremes_are_finite_and_exact(dtype):
    x = EXTREMES.to(dtype)
    got = A.sigmoid(x)
    assert torch.isfinite(got).all() and got.dtype == dtype
    torch.testing.assert_close(got, torch.sigmoid(x))
    assert got[0] == 0 and got[-1] == 1 and got[5] == 0.5


@pytest.mark.parametrize("name,fn", [("sigmoid_grad", torch.sigmoid), ("tanh_grad", torch.tanh),
                                     ("relu_grad", torch.relu)])
def test_derivatives_match_autograd_on_a_dense_grid_and_extremes(name, fn):
    x = torch.cat([torch.linspace(-12, 12, 2401, dtype=torch.float64), EXTREMES])
    got = getattr(A, name)(x)
    torch.testing.assert_close(got, autograd_derivative(fn, x), rtol=1e-9, atol=1e-15)


@SETTINGS
@given(values)
def test_derivatives_match_autograd_on_random_inputs(xs):
    x = torch.tensor(xs, dtype=torch.float64)
    for ref, fn in ((A.sigmoid_grad, torch.sigmoid), (A.tanh_grad, torch.tanh), (A.relu_grad, torch.relu)):
        torch.testing.assert_close(ref(x), autograd_derivative(fn, x), rtol=1e-9, atol=1e-15)


def test_relu_derivative_at_the_kink_follows_pytorch():
    zero = torch.zeros(3, dtype=torch.float64)
    assert A.relu_grad(zero).tolist() == autograd_derivative(torch.relu, zero).tolist() == [0.0, 0.0, 0.0]
    assert "ReLU'(0) = 0" in get("relu_grad").convention


def test_sigmoid_derivative_is_at_most_a_quarter():
    x = torch.arange(-20000, 20001, dtype=torch.float64) / 1000
    grad = A.sigmoid_grad(x)
    assert grad.max() == pytest.approx(0.25, abs=1e-15) and float(x[grad.argmax()]) == 0.0


@SETTINGS
@given(values, st.floats(0.0, 3.0), st.floats(0.01, 5.0))
def test_parametrised_activations_match_torch(xs, slope, alpha):
    x = torch.tensor(xs, dtype=torch.float64)
    torch.testing.assert_close(A.leaky_relu(x, negative_slope=slope), F.leaky_relu(x, slope))
    torch.testing.assert_close(A.elu(x, alpha=alpha), F.elu(x, alpha=alpha))
    torch.testing.assert_close(A.softplus(x), F.softplus(x))


def test_parametrised_activations_at_extremes_defaults_and_empty_input():
    for x in (EXTREMES, torch.empty(0, dtype=torch.float64), EXTREMES.reshape(1, -1)):
        torch.testing.assert_close(A.leaky_relu(x), F.leaky_relu(x))
        torch.testing.assert_close(A.elu(x), F.elu(x))
        torch.testing.assert_close(A.softplus(x), F.softplus(x))
        assert A.softplus(x).shape == x.shape and torch.isfinite(A.softplus(x)).all()
    assert A.softplus(torch.tensor([1e4], dtype=torch.float64)).item() == 1e4


def _dead_by_autograd(pre: torch.Tensor) -> float:
    """Units whose ReLU passes no gradient for any sample of the batch, found by autograd."""
    pre = pre.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(torch.relu(pre).sum(), pre)
    return float((grad == 0).all(dim=0).double().mean())


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_dead_fraction_equals_units_that_get_no_gradient(batch, units, seed):
    gen = torch.Generator().manual_seed(seed)
    pre = torch.randn(batch, units, generator=gen, dtype=torch.float64) - 2 * torch.rand(units, generator=gen)
    pre[:, torch.rand(units, generator=gen) < 0.2] = 0.0
    got = A.dead_relu_fraction(pre)
    assert isinstance(got, float)
    assert got == _dead_by_autograd(pre)


def test_dead_fraction_edge_cases():
    f64 = torch.float64
    assert A.dead_relu_fraction(torch.zeros(4, 3, dtype=f64)) == 1.0
    assert A.dead_relu_fraction(torch.tensor([[1e-300, -1.0]], dtype=f64)) == 0.5
    assert A.dead_relu_fraction(torch.tensor([[-1e4], [5e-324]], dtype=f64)) == 0.0


def test_hidden_cases_follow_the_grading_seed():
    for exercise in by_notebook("03_activations"):
        first = [repr(c.args) for c in exercise.cases(hidden_seed=11) if c.hidden]
        again = [repr(c.args) for c in exercise.cases(hidden_seed=11) if c.hidden]
        other = [repr(c.args) for c in exercise.cases(hidden_seed=12) if c.hidden]
        assert first and first == again and first != other, exercise.id


def test_public_cases_cover_the_extremes():
    for exercise in by_notebook("03_activations"):
        inputs = [a for c in exercise.cases() for a in c.args if isinstance(a, torch.Tensor)]
        biggest = max(float(a.abs().max()) for a in inputs if a.numel())
        smallest = min(float(a[a != 0].abs().min()) for a in inputs if (a != 0).any())
        assert biggest >= 1e4 and smallest <= 1e-300, exercise.id
        assert any(a.ndim == 2 and a.shape[0] == 1 for a in inputs), f"{exercise.id}: no batch of one"


def test_numpy_sigmoid_written_on_tensors_is_caught_by_its_warning():
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = check(sigmoid)
    assert result.status == "fail" and "warning" in result.verdict.message
    assert result.verdict.hint is not None and "np.exp" in result.verdict.hint


def test_a_float32_relu_derivative_is_told_about_the_dtype():
    def relu_grad(x):
        return (x > 0).float()

    result = check(relu_grad)
    assert result.status == "fail" and "dtype" in result.verdict.message
