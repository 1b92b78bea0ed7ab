"""The two prediction exercises of 02: their references agree with brute force and simulation, and each
recognised mistake gets its own message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from coursekit import check, landscapes, quadratics
from coursekit.exercises import step_sizes as S


def test_best_step_reference_is_the_grid_optimum_of_the_exercise_matrix():
    lr, rate = S.best_step()
    a = torch.tensor(S.BEST_STEP_MATRIX, dtype=torch.float64)
    lam = torch.linalg.eigvalsh(a)
    grid = torch.linspace(1e-4, 1 / 3, 100_001, dtype=torch.float64)
    worst = (1 - grid[:, None] * lam).abs().max(dim=1).values
    assert lr == pytest.approx(float(grid[worst.argmin()]), abs=1e-5) and rate == pytest.approx(float(worst.min()))
    # the rate is what descent does: ‖w‖ shrinks by exactly this factor each step, from any start
    w = torch.tensor([1.0, -0.3], dtype=torch.float64)
    for _ in range(20):
        nxt = w - lr * (a @ w)
        assert float(nxt.norm() / w.norm()) <= rate + 1e-12
        w = nxt
    assert (lr, rate) == pytest.approx((quadratics.best_gd(1.0, 6.0).lr, quadratics.best_gd(1.0, 6.0).rate))


def test_momentum_converges_reference_matches_long_runs():
    ends = [landscapes.descend(landscapes.elongated, torch.tensor([1.0, 1.0], dtype=torch.float64), lr=lr,
                               beta=beta, steps=2000)[-1] for lr, beta in S.MOMENTUM_PAIRS]
    simulated = tuple(bool(torch.isfinite(e).all() and e.norm() < 1e-6) for e in ends)
    assert S.momentum_converges() == simulated == (False, True, False, True, True)


@pytest.mark.parametrize("answer", [
    (2 / 7, 5 / 7),
    [0.2857, 0.7143],                                   # rounded to the digits the exercise asks for
    (np.float64(2) / 7, torch.tensor(5 / 7)),           # numpy and 0-d tensor
])
def test_best_step_right_answers_written_differently_pass(answer):
    assert check("best_step", answer).status == "pass"


@pytest.mark.parametrize("answer", [
    (False, True, False, True, True),
    [False, True, False, True, True],
    tuple(np.array([0.25, 0.25, 0.35, 0.05, 0.38]) < 2 * (1 + np.array([0, 0.5, 0.5, 0.95, 0.95])) / 10),
    tuple(torch.tensor([False, True, False, True, True])),
])
def test_momentum_converges_right_answers_written_differently_pass(answer):
    assert check("momentum_converges", answer).status == "pass"


@pytest.mark.parametrize("answer,mistake", [
    ((1 / 3, 1.0), "stability-bound"),
    ((1 / 6, 5 / 6), "one-over-L"),
    ((1.0, 5.0), "one-over-mu"),
    ((2 / 7, 25 / 49), "squared-rate"),
    ((2 / 7, 5 / 6), "rate-at-one-over-L"),
])
def test_best_step_mistakes_are_recognised(answer, mistake):
    result = check("best_step", answer)
    from coursekit.exercises import get

    message = next(m.message for m in get("best_step").mistakes if m.name == mistake)
    assert result.status == "fail" and result.verdict.hint == message


def test_momentum_converges_mistakes_are_recognised_and_a_wrong_type_is_explained():
    from coursekit.exercises import get

    exercise = get("momentum_converges")
    for mistake in exercise.mistakes:
        result = check("momentum_converges", mistake.wrong())
        assert result.status == "fail" and result.verdict.hint == mistake.message, mistake.name
    # one wrong verdict names the pair
    result = check("momentum_converges", (False, True, False, False, True))
    assert result.status == "fail" and "(lr = 0.05, β = 0.95)" in result.verdict.message
    assert check("momentum_converges", (True, True)).status == "fail"
    assert check("best_step", 0.2857).status == "fail"
