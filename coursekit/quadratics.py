"""Descent on a quadratic f(w) = ½ wᵀAw in closed form: stability bounds, the best fixed step and
momentum, and their rates.

A is symmetric positive definite with eigenvalues (curvatures) μ = λ_min ≤ … ≤ λ_max = L and condition
number κ = L/μ. Along an eigenvector with eigenvalue λ plain descent multiplies the coordinate by
1 − lr·λ each step. Heavy-ball momentum in PyTorch's form (b ← βb + g, w ← w − lr·b) is the recursion
w_{t+1} = w_t − lr·g_t + β(w_t − w_{t−1}); per eigenvalue it is the linear map (w_t, w_{t−1}) ↦
((1 + β − lr·λ) w_t − β w_{t−1}, w_t), whose 2 × 2 matrix's spectral radius is the rate.

A rate is the factor by which the distance to the minimum shrinks per step in the worst case over
starting points (asymptotically, for momentum); f − min f shrinks by its square.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["Tuned", "best_gd", "best_momentum", "curvatures", "gd_rate", "momentum_converges", "momentum_rate",
           "steps_to_shrink"]


@dataclass(frozen=True)
class Tuned:
    """A method's best parameters on a quadratic, and the rate they achieve."""

    lr: float
    beta: float
    rate: float

    @property
    def effective_step(self) -> float:
        """lr / (1 − β): the step momentum takes along a direction whose gradient stays constant."""
        return self.lr / (1 - self.beta)


def curvatures(matrix: torch.Tensor | Sequence[Sequence[float]]) -> tuple[float, float]:
    """(μ, L): the smallest and largest eigenvalue of a symmetric positive definite matrix."""
    a = torch.as_tensor(matrix, dtype=torch.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"need a square matrix, got shape {tuple(a.shape)}")
    if not torch.allclose(a, a.T):
        raise ValueError("the matrix of a quadratic ½ wᵀAw must be symmetric")
    lam = torch.linalg.eigvalsh(a)
    if lam[0] <= 0:
        raise ValueError(f"the matrix must be positive definite; its smallest eigenvalue is {float(lam[0]):g}")
    return float(lam[0]), float(lam[-1])


def _check(mu: float, big_l: float) -> None:
    if not 0 < mu <= big_l:
        raise ValueError(f"need 0 < μ ≤ L, got μ = {mu:g}, L = {big_l:g}")


def gd_rate(lr: float, eigenvalues: Sequence[float]) -> float:
    """max over λ of |1 − lr·λ|: plain descent's rate (below 1 means it converges)."""
    return max(abs(1 - lr * lam) for lam in eigenvalues)


def momentum_rate(lr: float, beta: float, eigenvalues: Sequence[float]) -> float:
    """The largest spectral radius of heavy ball's 2 × 2 iteration matrices, over the given eigenvalues."""
    worst = 0.0
    for lam in eigenvalues:
        t = torch.tensor([[1 + beta - lr * lam, -beta], [1.0, 0.0]], dtype=torch.float64)
        worst = max(worst, float(torch.linalg.eigvals(t).abs().max()))
    return worst


def best_gd(mu: float, big_l: float) -> Tuned:
    """The fixed step 2/(μ + L) that balances the flat and the stiff direction, rate (κ − 1)/(κ + 1)."""
    _check(mu, big_l)
    kappa = big_l / mu
    return Tuned(lr=2 / (mu + big_l), beta=0.0, rate=(kappa - 1) / (kappa + 1))


def best_momentum(mu: float, big_l: float) -> Tuned:
    """Polyak's heavy ball: lr = 4/(√L + √μ)², β = ((√κ − 1)/(√κ + 1))², rate (√κ − 1)/(√κ + 1)."""
    _check(mu, big_l)
    root = math.sqrt(big_l / mu)
    rate = (root - 1) / (root + 1)
    return Tuned(lr=4 / (math.sqrt(big_l) + math.sqrt(mu)) ** 2, beta=rate**2, rate=rate)


def momentum_converges(lr: float, beta: float, big_l: float) -> bool:
    """Whether heavy ball converges from every start on a quadratic whose largest curvature is L (μ > 0):
    0 ≤ β < 1 and 0 < lr < 2(1 + β)/L. With β = 0 this is plain descent's 0 < lr < 2/L."""
    if big_l <= 0:
        raise ValueError(f"L must be positive, got {big_l:g}")
    return 0 <= beta < 1 and 0 < lr < 2 * (1 + beta) / big_l


def steps_to_shrink(rate: float, factor: float) -> float:
    """How many steps a rate needs to shrink the distance to the minimum by `factor` (e.g. 1e-6)."""
    if not 0 < rate < 1 or not 0 < factor < 1:
        raise ValueError(f"need 0 < rate < 1 and 0 < factor < 1, got rate = {rate:g}, factor = {factor:g}")
    return math.log(factor) / math.log(rate)
