"""The 01_gradients references agree with PyTorch's autograd and optimisers, extremes included."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import check
from coursekit.exercises import gradients as G

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def _autograd(f, x):
    leaf = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(leaf), leaf)
    return g


@pytest.mark.parametrize("fn", [G.F_XY, G.SUM_OF_CUBES, G.LOG_SUM_EXP, G.SUM_OF_SQUARES], ids=str)
@given(data=st.data())
@settings(max_examples=20, deadline=None)
def test_numerical_gradient_matches_autograd(fn, data):
    shape = (2,) if fn is G.F_XY else data.draw(st.sampled_from([(), (1,), (3,), (2, 3), (1, 1, 2)]))
    values = data.draw(st.lists(finite, min_size=max(1, int(torch.Size(shape).numel())),
                                max_size=max(1, int(torch.Size(shape).numel()))))
    x = torch.tensor(values, dtype=torch.float64).reshape(shape)
    got = G.numerical_gradient(fn, x)
    assert got.shape == x.shape and got.dtype == torch.float64
    torch.testing.assert_close(got, _autograd(fn, x), rtol=1e-6, atol=1e-6)


def test_numerical_gradient_extremes_and_empty_input():
    big = torch.tensor([1e4, -1e4, 3.0], dtype=torch.float64)
    torch.testing.assert_close(G.numerical_gradient(G.SUM_OF_CUBES, big), 3 * big**2, rtol=1e-6, atol=0.0)
    tiny = torch.tensor([1e-12, -3e-9], dtype=torch.float64)
    torch.testing.assert_close(G.numerical_gradient(G.SUM_OF_SQUARES, tiny), 2 * tiny, rtol=0.0, atol=1e-9)
    empty = torch.zeros(0, dtype=torch.float64)
    assert G.numerical_gradient(G.SUM_OF_SQUARES, empty).shape == (0,)


def test_numerical_gradient_leaves_x_untouched():
    x = torch.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=torch.float64)
    before = x.clone()
    G.numerical_gradient(G.SUM_OF_CUBES, x)
    assert torch.equal(x, before)


def test_central_difference_error_shrinks_like_h_squared():
    x = torch.tensor([0.7, -0.4, 1.3], dtype=torch.float64)
    exact = _autograd(G.SUM_OF_CUBES, x)
    errors = [float((G.numerical_gradient(G.SUM_OF_CUBES, x, h) - exact).abs().max()) for h in (1e-2, 1e-3)]
    # Σx³ has third derivative 6, so the central-difference error is exactly h² per entry
    assert errors[0] == pytest.approx(1e-4, rel=1e-3) and errors[1] == pytest.approx(1e-6, rel=1e-2)


@given(x=st.floats(-1e4, 1e4, allow_nan=False), y=st.floats(-1e4, 1e4, allow_nan=False))
@settings(max_examples=60, deadline=None)
def test_grad_f_matches_autograd(x, y):
    p = torch.tensor([x, y], dtype=torch.float64)
    torch.testing.assert_close(G.grad_f(p), _autograd(G.F_XY, p), rtol=1e-12, atol=1e-12)


@given(g=st.lists(finite, min_size=3, max_size=3), v=st.lists(finite, min_size=3, max_size=3),
       scale=st.floats(1e-6, 1e4))
@settings(max_examples=60, deadline=None)
def test_directional_derivative_is_the_slope_along_the_unit_vector(g, v, scale):
    grad, v = torch.tensor(g, dtype=torch.float64), torch.tensor(v, dtype=torch.float64)
    if float(v.norm()) < 1e-3:
        return
    # d/dt f(x + t·v/‖v‖) at t = 0 for the linear function f(x) = grad · x, by autograd
    t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(torch.dot(grad, t * v / v.norm()), t)
    torch.testing.assert_close(G.directional_derivative(grad, v), slope)
    # only v's direction matters
    torch.testing.assert_close(G.directional_derivative(grad, scale * v), slope, rtol=1e-9, atol=1e-12)


def test_gradient_norm_is_the_largest_directional_derivative():
    grad = torch.tensor([3.0, -4.0], dtype=torch.float64)
    angles = torch.linspace(0, 2 * torch.pi, 3601, dtype=torch.float64)
    units = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    slopes = torch.stack([G.directional_derivative(grad, u) for u in units])
    assert float(slopes.max()) == pytest.approx(5.0, rel=1e-6)
    best = torch.stack([torch.cos(angles[slopes.argmax()]), torch.sin(angles[slopes.argmax()])])
    torch.testing.assert_close(best, grad / grad.norm(), atol=2e-3, rtol=0)


@pytest.mark.parametrize("fn,x0,lr", [(G.BOWL, [1.0, -2.0], 0.1), (G.ROSENBROCK, [-1.2, 1.0], 1e-3),
                                      (G.HIMMELBLAU, [0.0, 0.0], 0.01),
                                      (G.SUM_OF_SQUARES, [1.0, 2.0, 3.0], 0.3)])
def test_gradient_descent_matches_torch_sgd(fn, x0, lr):
    x0 = torch.tensor(x0, dtype=torch.float64)
    path = G.gradient_descent(fn, x0, lr, 15)
    assert path.shape == (16, x0.numel()) and path.dtype == torch.float64
    p = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=lr)
    torch.testing.assert_close(path[0], x0)
    for t in range(15):
        opt.zero_grad()
        fn(p).backward()
        opt.step()
        torch.testing.assert_close(path[t + 1], p.detach())


def test_gradient_descent_edges():
    x0 = torch.tensor([0.5, -0.5], dtype=torch.float64)
    assert torch.equal(G.gradient_descent(G.BOWL, x0, 0.1, 0), x0[None])
    assert torch.equal(G.gradient_descent(G.ROSENBROCK, x0, 0.0, 4), x0.expand(5, 2))
    one = torch.tensor([[2.0, 1.0]], dtype=torch.float64)[0]  # a batch of one start
    assert G.gradient_descent(G.ELONGATED, one, 0.1, 3).shape == (4, 2)


def test_learner_sees_the_targeted_forward_difference_message():
    def numerical_gradient(f, x, h=1e-5):
        g = torch.zeros_like(x).reshape(-1)
        for i in range(x.numel()):
            step = torch.zeros_like(g)
            step[i] = h
            g[i] = (f(x + step.reshape(x.shape)) - f(x)) / h
        return g.reshape(x.shape)

    result = check(numerical_gradient)
    assert result.status == "fail" and "forward difference" in result.verdict.hint


def test_learner_who_forgets_to_zero_grad_is_told_so():
    def gradient_descent(f, x0, lr, steps):
        x = x0.clone().requires_grad_(True)
        points = [x0.clone()]
        for _ in range(steps):
            f(x).backward()
            with torch.no_grad():
                x -= lr * x.grad
            points.append(x.detach().clone())
        return torch.stack(points)

    result = check(gradient_descent)
    assert result.status == "fail" and "x.grad" in result.verdict.hint
