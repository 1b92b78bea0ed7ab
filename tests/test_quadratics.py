"""The closed forms for descent on a quadratic agree with brute force and with simulated runs."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit import landscapes, quadratics


def test_curvatures_are_the_extreme_eigenvalues_and_bad_matrices_are_refused():
    assert quadratics.curvatures([[5.0, 2.0], [2.0, 2.0]]) == pytest.approx((1.0, 6.0))
    with pytest.raises(ValueError, match="symmetric"):
        quadratics.curvatures([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        quadratics.curvatures([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="square"):
        quadratics.curvatures([[1.0, 0.0, 0.0]])


@given(mu=st.floats(0.01, 10), ratio=st.floats(1.0, 1000))
@settings(max_examples=40, deadline=None)
def test_best_gd_step_minimises_the_rate_over_a_fine_grid(mu, ratio):
    big_l = mu * ratio
    best = quadratics.best_gd(mu, big_l)
    grid = torch.linspace(1e-6, 2 / big_l, 20001, dtype=torch.float64)
    rates = torch.maximum((1 - grid * mu).abs(), (1 - grid * big_l).abs())
    assert best.rate == pytest.approx(float(rates.min()), abs=1e-3)
    assert best.rate == pytest.approx(quadratics.gd_rate(best.lr, (mu, big_l)))
    assert best.rate == pytest.approx((ratio - 1) / (ratio + 1))


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0])
def test_best_momentum_is_the_best_on_a_grid_and_its_rate_is_the_spectral_radius(kappa):
    best = quadratics.best_momentum(1.0, kappa)
    assert quadratics.momentum_rate(best.lr, best.beta, (1.0, kappa)) == pytest.approx(best.rate, rel=1e-6)
    rates = [quadratics.momentum_rate(scale * best.lr, beta, (1.0, kappa))
             for scale in torch.linspace(0.2, 1.8, 33).tolist() for beta in torch.linspace(0.0, 0.95, 20).tolist()]
    assert min(rates) >= best.rate - 1e-9
    assert best.rate == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert best.effective_step == pytest.approx(best.lr / (1 - best.beta))


def test_rates_match_simulated_descent_on_a_diagonal_quadratic():
    kappa = 10.0
    start = torch.tensor([-2.5, 1.0], dtype=torch.float64)
    gd = quadratics.best_gd(1.0, kappa)
    path = landscapes.descend(landscapes.elongated, start, lr=gd.lr, steps=40)
    torch.testing.assert_close(path[1:].norm(dim=-1) / path[:-1].norm(dim=-1),
                               torch.full((40,), gd.rate, dtype=torch.float64))
    hb = quadratics.best_momentum(1.0, kappa)
    path = landscapes.descend(landscapes.elongated, start, lr=hb.lr, beta=hb.beta, steps=200)
    late = (path[-1].norm() / path[-101].norm()).item() ** (1 / 100)
    assert hb.rate < late < 1.02 * hb.rate  # (a + b·t)·rate^t: a little above the rate, approaching it


@given(lr=st.floats(0.01, 0.6), beta=st.floats(0.0, 0.95))
@settings(max_examples=30, deadline=None)
def test_momentum_converges_agrees_with_a_long_run(lr, beta):
    bound = 2 * (1 + beta) / 10
    if abs(lr - bound) < 0.01:  # at the boundary itself the run neither converges nor blows up within the budget
        return
    end = landscapes.descend(landscapes.elongated, torch.tensor([1.0, 1.0], dtype=torch.float64), lr=lr,
                             beta=beta, steps=1500)[-1]
    converged = bool(torch.isfinite(end).all() and end.norm() < 1e-3)
    assert converged == quadratics.momentum_converges(lr, beta, 10.0)


def test_momentum_converges_edge_values_and_errors():
    assert not quadratics.momentum_converges(0.0, 0.5, 10.0)
    assert not quadratics.momentum_converges(0.1, 1.0, 10.0)
    assert quadratics.momentum_converges(0.19, 0.0, 10.0) and not quadratics.momentum_converges(0.21, 0.0, 10.0)
    with pytest.raises(ValueError, match="L must be positive"):
        quadratics.momentum_converges(0.1, 0.5, 0.0)
    with pytest.raises(ValueError, match="0 < μ ≤ L"):
        quadratics.best_gd(2.0, 1.0)


def test_steps_to_shrink():
    assert quadratics.steps_to_shrink(0.5, 1 / 1024) == pytest.approx(10.0)
    with pytest.raises(ValueError):
        quadratics.steps_to_shrink(1.0, 0.1)
