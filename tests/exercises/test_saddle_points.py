"""The 02_saddle_points references agree with torch's Hessian, torch.optim.SGD and the 2/L bound."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import check, landscapes
from coursekit.exercises import gradients as G
from coursekit.exercises import saddle_points as S

coord = st.floats(-4, 4, allow_nan=False)
FNS_2D = [S.BOWL, S.SADDLE, S.MONKEY, S.ROSENBROCK, S.HIMMELBLAU, S.CAP, S.XY, S.QUARTIC]


@pytest.mark.parametrize("fn", FNS_2D, ids=str)
@given(x=coord, y=coord)
@settings(max_examples=15, deadline=None)
def test_hessian_matches_torch_functional_hessian(fn, x, y):
    p = torch.tensor([x, y], dtype=torch.float64)
    got = S.hessian(fn, p)
    torch.testing.assert_close(got, torch.autograd.functional.hessian(fn, p))
    torch.testing.assert_close(got, got.T)
    assert not got.requires_grad


@given(p=st.lists(st.floats(-2, 2, allow_nan=False), min_size=3, max_size=3))
@settings(max_examples=30, deadline=None)
def test_hessian_in_three_dimensions(p):
    x = torch.tensor(p, dtype=torch.float64)
    torch.testing.assert_close(S.hessian(S.COUPLED_3D, x), torch.autograd.functional.hessian(S.COUPLED_3D, x))


def test_hessian_at_large_coordinates():
    x = torch.tensor([1e4, -1e4], dtype=torch.float64)
    torch.testing.assert_close(S.hessian(S.ROSENBROCK, x), torch.autograd.functional.hessian(S.ROSENBROCK, x))


CRITICAL = [(name, cp) for name, lsc in landscapes.LANDSCAPES.items() for cp in lsc.critical_points]


@pytest.mark.parametrize("name,cp", CRITICAL, ids=[f"{n}-{c.point}" for n, c in CRITICAL])
def test_classify_agrees_with_the_landscapes_table(name, cp):
    fn = landscapes.landscape(name).fn
    assert S.classify_critical_point(fn, torch.tensor(cp.point, dtype=torch.float64)) == cp.kind


def test_classify_edge_cases():
    zero3 = torch.zeros(3, dtype=torch.float64)
    assert S.classify_critical_point(S.FLAT_SADDLE, zero3) == "saddle"
    assert S.classify_critical_point(S.QUARTIC, torch.zeros(2, dtype=torch.float64)) == "degenerate"
    assert S.classify_critical_point(S.XY, torch.zeros(2, dtype=torch.float64)) == "saddle"
    assert S.classify_critical_point(S.CAP, torch.zeros(2, dtype=torch.float64)) == "maximum"


@given(lr=st.floats(1e-3, 0.15), beta=st.floats(0.0, 0.99), x=coord, y=coord)
@settings(max_examples=30, deadline=None)
def test_momentum_descent_matches_torch_sgd(lr, beta, x, y):
    x0 = torch.tensor([x, y], dtype=torch.float64)
    path = S.momentum_descent(S.ELONGATED, x0, lr, beta, 12)
    p = x0.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=lr, momentum=beta)
    for t in range(12):
        opt.zero_grad()
        S.ELONGATED(p).backward()
        opt.step()
        torch.testing.assert_close(path[t + 1], p.detach())


def test_momentum_with_zero_beta_is_plain_descent_and_lr_inside_buffer_is_equivalent():
    x0 = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(S.momentum_descent(S.ROSENBROCK, x0, 1e-3, 0.0, 20),
                               G.gradient_descent(S.ROSENBROCK, x0, 1e-3, 20))
    # v ← βv − lr·g, x ← x + v is the same iteration when lr is constant (v = −lr·buf), so it is not a mistake
    x, v, path = x0.clone(), torch.zeros(2, dtype=torch.float64), [x0.clone()]
    for _ in range(20):
        v = 0.9 * v - 1e-3 * landscapes.gradient(S.ROSENBROCK, x)
        x = x + v
        path.append(x)
    torch.testing.assert_close(S.momentum_descent(S.ROSENBROCK, x0, 1e-3, 0.9, 20), torch.stack(path))


def test_largest_stable_lr_is_the_boundary_of_convergence():
    a = torch.tensor(S.STABLE_LR_MATRIX, dtype=torch.float64)
    bound = S.largest_stable_lr()
    assert bound == pytest.approx(1 / 3)

    def final_norm(lr):
        w = torch.tensor([1.0, 1.0], dtype=torch.float64)
        for _ in range(400):
            w = w - lr * (a @ w)  # ∇(½ wᵀAw) = A w
        return float(w.norm())

    assert final_norm(0.99 * bound) < 1e-1 and final_norm(1.01 * bound) > 10


def test_learner_using_the_eigenvalues_is_told_to_return_a_kind():
    def classify_critical_point(f, x):
        return torch.linalg.eigvalsh(torch.autograd.functional.hessian(f, x))

    result = check(classify_critical_point)
    assert result.status == "fail" and "return one of" in result.verdict.hint


def test_learner_using_torch_dampening_is_recognised():
    def momentum_descent(f, x0, lr, beta, steps):
        p = x0.clone().requires_grad_(True)
        opt = torch.optim.SGD([p], lr=lr, momentum=beta, dampening=beta)
        points = [x0.clone()]
        for _ in range(steps):
            opt.zero_grad()
            f(p).backward()
            opt.step()
            points.append(p.detach().clone())
        return torch.stack(points)

    result = check(momentum_descent)
    assert result.status == "fail" and "dampening" in result.verdict.hint
