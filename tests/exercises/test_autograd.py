"""The autograd exercises' references agree with PyTorch, and the classic mistakes get their own messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coursekit.exercises.autograd import (
    BUMP,
    CUBIC,
    LOG_COSH,
    SINE,
    second_derivative,
    sgd_steps,
    two_output_grads,
)
from coursekit.grading.check import check

SETTINGS = settings(max_examples=50, deadline=None)


def _named(fn, name):
    fn.__name__ = name
    return fn


@SETTINGS
@given(arrays(np.float64, st.integers(3, 8), elements=st.floats(-1e4, 1e4, allow_nan=False)))
def test_two_output_grads_are_jacobian_rows(values):
    a = torch.from_numpy(values.copy())
    before = a.clone()
    g1, g2 = two_output_grads(a)
    J = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, dim=0), a)
    torch.testing.assert_close(g1, J[1], rtol=1e-10, atol=1e-15)
    torch.testing.assert_close(g2, J[2], rtol=1e-10, atol=1e-15)
    assert torch.equal(a, before) and not a.requires_grad
    assert g1.grad_fn is None and g2.grad_fn is None


ANALYTIC = [
    (CUBIC, lambda x: 6 * x),
    (SINE, lambda x: -math.sin(x)),
    (LOG_COSH, lambda x: 1 - math.tanh(x) ** 2),
    (BUMP, lambda x: (x**2 - 1) * math.exp(-(x**2) / 2)),
]


@pytest.mark.parametrize("f,second", ANALYTIC, ids=[f.name for f, _ in ANALYTIC])
@SETTINGS
@given(x=st.floats(-3.0, 3.0, allow_nan=False))
def test_second_derivative_matches_calculus(f, second, x):
    got = second_derivative(f, torch.tensor(x, dtype=torch.float64))
    assert isinstance(got, float)
    assert got == pytest.approx(second(x), rel=1e-9, abs=1e-12)


def test_second_derivative_matches_torch_func():
    f = SINE
    x = torch.tensor(0.7, dtype=torch.float64)
    expected = torch.func.grad(torch.func.grad(f))(x)
    assert second_derivative(f, x) == pytest.approx(float(expected), rel=1e-12)


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 4), st.integers(0, 12), st.floats(0.001, 0.1), st.integers(0, 2**31 - 1))
def test_sgd_steps_matches_torch_optim(n, d, steps, lr, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.randn(n, generator=gen, dtype=torch.float64)
    w0 = torch.randn(d, generator=gen, dtype=torch.float64)
    w = torch.nn.Parameter(w0.clone())
    optimizer = torch.optim.SGD([w], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(x @ w, y).backward()
        optimizer.step()
    before = w0.clone()
    got = sgd_steps(w0, x, y, lr, steps)
    torch.testing.assert_close(got, w.detach(), rtol=1e-10, atol=1e-12)
    assert torch.equal(w0, before) and got.grad_fn is None and not got.requires_grad


def test_forgetting_zero_grad_with_an_optimizer_gets_its_own_message():
    def sgd_steps(w0, x, y, lr, steps):
        w = w0.clone().requires_grad_()
        optimizer = torch.optim.SGD([w], lr=lr)
        for _ in range(steps):
            ((x @ w - y) ** 2).mean().backward()
            optimizer.step()  # no optimizer.zero_grad()
        return w.detach()

    result = check(sgd_steps)
    assert result.status == "fail"
    assert "zero_grad" in result.verdict.hint and "sum of all gradients" in result.verdict.hint


def test_backward_twice_without_clearing_grad_gets_the_accumulation_message():
    def two_output_grads(a):
        a = a.clone().requires_grad_()
        p = torch.softmax(a, dim=0)
        p[1].backward(retain_graph=True)
        first = a.grad.clone()
        p[2].backward()
        return first, a.grad

    result = check(two_output_grads)
    assert result.status == "fail" and "accumulates" in result.verdict.hint


def test_missing_retain_graph_reports_the_error():
    def two_output_grads(a):
        a = a.clone().requires_grad_()
        p = torch.softmax(a, dim=0)
        return torch.autograd.grad(p[1], a)[0], torch.autograd.grad(p[2], a)[0]

    result = check(two_output_grads)
    assert result.status == "error" and "backward through the graph a second time" in result.verdict.message


def test_accumulated_second_derivative_gets_its_own_message():
    def second_derivative(f, x):
        x = x.clone().requires_grad_()
        f(x).backward(create_graph=True)
        x.grad.backward()
        return x.grad.item()

    result = check(second_derivative)
    assert result.status == "fail" and "f'(x) + f''(x)" in result.verdict.hint


def test_a_detached_zero_d_tensor_is_accepted_for_second_derivative():
    def learner(f, x):
        x = x.clone().requires_grad_()
        (g,) = torch.autograd.grad(f(x), x, create_graph=True)
        return torch.autograd.grad(g, x)[0]

    assert check(_named(learner, "second_derivative")).status == "pass"
