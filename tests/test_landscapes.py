"""The test landscapes: formulas, critical points and their kinds, Hessians, and the descent runner."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import landscapes
from coursekit.landscapes import LANDSCAPES, classify, descend, eigenvalues, gradient, hessian, landscape

NAMES = list(LANDSCAPES)
coord = st.floats(-5, 5, allow_nan=False)


@pytest.mark.parametrize("name", NAMES)
def test_point_and_grid_evaluations_agree(name):
    lsc = landscape(name)
    grid = torch.randn(4, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    values = lsc(grid)
    assert values.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            torch.testing.assert_close(lsc(grid[i, j]), values[i, j])


@given(x=coord, y=coord)
@settings(max_examples=40, deadline=None)
def test_formulas_match_their_docstrings(x, y):
    p = torch.tensor([x, y], dtype=torch.float64)
    expect = {
        "bowl": x**2 + y**2,
        "elongated": 0.5 * (x**2 + 10 * y**2),
        "saddle": x**2 - y**2,
        "monkey_saddle": x**3 - 3 * x * y**2,
        "rosenbrock": (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        "himmelblau": (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    }
    for name, value in expect.items():
        assert float(landscape(name)(p)) == pytest.approx(value, rel=1e-12, abs=1e-9)


CRITICAL = [(name, cp) for name in NAMES for cp in landscape(name).critical_points]


@pytest.mark.parametrize("name,cp", CRITICAL, ids=[f"{n}-{c.kind}-{c.point}" for n, c in CRITICAL])
def test_listed_critical_points_have_zero_gradient_and_the_stated_kind(name, cp):
    lsc = landscape(name)
    g = gradient(lsc, torch.tensor(cp.point, dtype=torch.float64))
    assert float(g.norm()) < 1e-7
    assert classify(lsc, cp.point) == cp.kind


@pytest.mark.parametrize("name", ["bowl", "elongated", "rosenbrock", "himmelblau"])
def test_minimum_value_is_the_value_at_the_minima(name):
    lsc = landscape(name)
    for point in lsc.points("minimum"):
        value = float(lsc(torch.tensor(point, dtype=torch.float64)))
        assert value == pytest.approx(lsc.minimum_value, abs=1e-12)


def test_himmelblau_has_four_minima_one_maximum_four_saddles():
    lsc = landscape("himmelblau")
    assert [len(lsc.points(k)) for k in ("minimum", "maximum", "saddle")] == [4, 1, 4]


def test_elongated_has_the_stated_condition_number():
    lam = eigenvalues(landscapes.elongated, (0.3, -0.7))
    torch.testing.assert_close(lam, torch.tensor([1.0, landscapes.ELONGATED_KAPPA], dtype=torch.float64))
    assert float(lam.max() / lam.min()) == pytest.approx(10.0)


@given(x=coord, y=coord)
@settings(max_examples=25, deadline=None)
def test_hessian_matches_the_hand_derived_one(x, y):
    # Rosenbrock: ∂²f/∂x² = 2 − 400(y − x²) + 800x², ∂²f/∂x∂y = −400x, ∂²f/∂y² = 200
    expect = torch.tensor([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]],
                          dtype=torch.float64)
    torch.testing.assert_close(hessian(landscapes.rosenbrock, (x, y)), expect)
    # monkey saddle: [[6x, −6y], [−6y, −6x]]
    expect = torch.tensor([[6 * x, -6 * y], [-6 * y, -6 * x]], dtype=torch.float64)
    torch.testing.assert_close(hessian(landscapes.monkey_saddle, (x, y)), expect)


def test_gradient_on_a_grid_matches_per_point_autograd():
    pts = torch.tensor([[[0.5, -1.0], [2.0, 3.0]], [[-4.0, 0.1], [1e-8, 1e4]]], dtype=torch.float64)
    g = gradient(landscapes.himmelblau, pts)
    for idx in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        p = pts[idx].clone().requires_grad_(True)
        (expect,) = torch.autograd.grad(landscapes.himmelblau(p), p)
        torch.testing.assert_close(g[idx], expect)


def test_descend_matches_torch_sgd_with_momentum():
    x0 = torch.tensor([-1.2, 1.0], dtype=torch.float64)
    path = descend(landscapes.rosenbrock, x0, lr=1e-3, beta=0.9, steps=25)
    p = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=1e-3, momentum=0.9)
    for t in range(25):
        opt.zero_grad()
        landscapes.rosenbrock(p).backward()
        opt.step()
        torch.testing.assert_close(path[t + 1], p.detach())
    assert path.shape == (26, 2)


def test_descend_batches_learning_rates_and_marks_divergence():
    x0 = torch.tensor([1.0, 1.0], dtype=torch.float64).expand(3, 2)
    lr = torch.tensor([0.0, 0.1, 0.25])  # the elongated quadratic is stable for lr < 2/L = 0.2
    path = descend(landscapes.elongated, x0, lr=lr, steps=200)
    assert path.shape == (201, 3, 2)
    torch.testing.assert_close(path[:, 0], x0[0].expand(201, 2))  # lr = 0 never moves
    assert float(path[-1, 1].abs().max()) < 1e-8
    assert torch.isnan(path[-1, 2]).all() and torch.isfinite(path[:5, 2]).all()


def test_descend_with_zero_steps_is_the_start():
    path = descend(landscapes.bowl, torch.tensor([0.5, 0.5]), lr=0.1, steps=0)
    assert path.shape == (1, 2)
    with pytest.raises(ValueError):
        descend(landscapes.bowl, torch.zeros(2), lr=0.1, steps=-1)


def test_unknown_landscape_suggests_a_name():
    with pytest.raises(KeyError, match="Did you mean 'rosenbrock'"):
        landscape("rosenbrok")


def test_classify_uses_the_tolerance():
    assert classify(lambda p: p[0] ** 2 + 1e-9 * p[1] ** 2, (0.0, 0.0)) == "degenerate"
    assert classify(lambda p: p[0] ** 2 + 1e-9 * p[1] ** 2, (0.0, 0.0), tol=1e-12) == "minimum"
    assert math.isclose(float(eigenvalues(landscapes.saddle, (0, 0)).min()), -2.0)
