"""Exercises of 02_saddle_points that ask for a prediction before the demo: the best fixed step of a
quadratic and its rate, and which (learning rate, β) pairs make momentum converge."""

from __future__ import annotations

import math

import torch

from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.i18n import N_

NOTEBOOK = "02_saddle_points"

#: the quadratic f(w) = ½ wᵀAw of the learning-rate section (eigenvalues 1 and 6)
BEST_STEP_MATRIX = ((5.0, 2.0), (2.0, 2.0))
#: the largest curvature of the elongated quadratic ½(x² + 10y²), and the (lr, β) pairs to judge on it
MOMENTUM_L = 10.0
MOMENTUM_PAIRS = ((0.25, 0.0), (0.25, 0.5), (0.35, 0.5), (0.05, 0.95), (0.38, 0.95))


def _close(a: object, b: float) -> bool:
    try:
        return math.isclose(float(a), b, rel_tol=2e-3)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _pair(got: object) -> tuple[object, object] | None:
    return (got[0], got[1]) if isinstance(got, (tuple, list)) and len(got) == 2 else None


def _lr_is(value: float):
    return lambda case, expected, got: (p := _pair(got)) is not None and _close(p[0], value)


def _rate_is(value: float):
    return lambda case, expected, got: ((p := _pair(got)) is not None and _close(p[0], expected[0])
                                        and _close(p[1], value))


# --- best_step ------------------------------------------------------------------------------

def best_step() -> tuple[float, float]:
    """Reference: lr = 2/(μ + L) and rate (κ − 1)/(κ + 1) for A = [[5, 2], [2, 2]] (μ = 1, L = 6)."""
    lam = torch.linalg.eigvalsh(torch.tensor(BEST_STEP_MATRIX, dtype=torch.float64))
    mu, big_l = float(lam[0]), float(lam[-1])
    # |1 − lr·μ| falls and |1 − lr·L| rises with lr; the worst of the two is smallest where they are equal
    kappa = big_l / mu
    return 2 / (mu + big_l), (kappa - 1) / (kappa + 1)


register(Exercise(
    id="best_step",
    notebook=NOTEBOOK,
    kind="value",
    title=N_("Predict the best fixed learning rate of a quadratic, and its rate"),
    reference=best_step,
    public_cases=lambda: [Case(label="f(w) = ½ wᵀAw with A = [[5, 2], [2, 2]]")],
    output_names=("lr", "rate"),
    rtol=2e-3,
    atol=0.0,
    convention=N_("Give a tuple (lr, rate): the fixed learning rate that makes plain descent shrink ‖w‖ fastest "
                  "in the worst case, and that worst-case factor per step, max over the eigenvalues λ of "
                  "|1 − lr·λ| (3 significant digits suffice)."),
    hints=(
        N_("Along an eigenvector with eigenvalue λ one step multiplies the coordinate by 1 − lr·λ. The rate is "
           "the worst of these factors in absolute value, over the two eigenvalues of A."),
        N_("As lr grows, |1 − lr·μ| (the flat direction) falls while |1 − lr·L| (the stiff one) eventually rises. "
           "The worst of the two is smallest where they are equal; solve 1 − lr·μ = −(1 − lr·L)."),
    ),
    mistakes=(
        Mistake("stability-bound",
                N_("2/L is the edge of stability: there the stiff direction's factor is −1, so it never shrinks. "
                   "The best step balances the flat and the stiff direction instead."),
                test=_lr_is(2 / 6)),
        Mistake("one-over-L",
                N_("1/L puts the stiff direction at its minimum in one step, but leaves the flat direction "
                   "shrinking by only 1 − μ/L per step. A larger step helps the flat direction more than it "
                   "hurts the stiff one, up to where the two factors are equal in size."),
                test=_lr_is(1 / 6)),
        Mistake("one-over-mu",
                N_("1/μ is far too large: the stiff direction's factor 1 − L/μ is then below −1 and descent "
                   "diverges. Balance the two factors |1 − lr·μ| and |1 − lr·L|."),
                test=_lr_is(1.0)),
        Mistake("squared-rate",
                N_("That is the factor for f − min f, which shrinks by the square of the rate. The exercise asks "
                   "for the factor of the distance ‖w‖ (max |1 − lr·λ|)."),
                test=_rate_is((5 / 7) ** 2)),
        Mistake("rate-at-one-over-L",
                N_("Your rate 1 − μ/L is the rate of the step 1/L. With the best step both directions shrink "
                   "by the same factor |1 − lr·λ|: evaluate it at your learning rate."),
                test=_rate_is(5 / 6)),
    ),
))


# --- momentum_converges ---------------------------------------------------------------------

def momentum_converges() -> tuple[bool, ...]:
    """Reference: for each (lr, β), heavy ball converges on a quadratic with L = 10 iff 0 < lr < 2(1 + β)/L."""
    return tuple(bool(0 <= beta < 1 and 0 < lr < 2 * (1 + beta) / MOMENTUM_L) for lr, beta in MOMENTUM_PAIRS)


def _verdicts(bound) -> tuple[bool, ...]:
    return tuple(bool(lr < bound(beta)) for lr, beta in MOMENTUM_PAIRS)


register(Exercise(
    id="momentum_converges",
    notebook=NOTEBOOK,
    kind="value",
    title=N_("Predict which (learning rate, β) pairs make momentum converge"),
    reference=momentum_converges,
    public_cases=lambda: [Case(label="the elongated quadratic ½(x² + 10y²), five (lr, β) pairs")],
    output_names=tuple(f"(lr = {lr:g}, β = {beta:g})" for lr, beta in MOMENTUM_PAIRS),
    convention=N_("Give a tuple of five booleans, one per (lr, β) pair in the order listed: True when momentum "
                  "descent converges from every start, False when it does not."),
    hints=(
        N_("Momentum's bound on a quadratic is lr < 2(1 + β)/L (with 0 ≤ β < 1): compute it for each β, "
           "with L the largest curvature."),
        N_("The elongated quadratic has curvatures 1 and 10, so L = 10: β = 0 gives the plain bound 0.2, "
           "β = 0.5 gives 0.3."),
    ),
    mistakes=(
        Mistake("plain-bound",
                N_("You used plain descent's bound 2/L for every pair. Momentum moves the bound: it converges "
                   "for lr < 2(1 + β)/L."),
                wrong=lambda: _verdicts(lambda beta: 2 / MOMENTUM_L)),
        Mistake("effective-step",
                N_("You required the effective step lr/(1 − β) to stay below 2/L. That is the step along a "
                   "direction whose gradient never changes sign; along the stiff direction the gradient flips "
                   "every step and momentum cancels instead of adding up. The bound is lr < 2(1 + β)/L."),
                wrong=lambda: _verdicts(lambda beta: 2 * (1 - beta) / MOMENTUM_L)),
        Mistake("smallest-curvature",
                N_("You used the smallest curvature μ = 1. The stiff direction (L = 10) is the first to blow "
                   "up, so the bound is 2(1 + β)/L with L = 10."),
                wrong=lambda: _verdicts(lambda beta: 2 * (1 + beta) / 1.0)),
    ),
))
