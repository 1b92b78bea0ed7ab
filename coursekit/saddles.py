"""Critical points of small networks and the Hessian spectra that tell minima from saddles.

Two models, both with parameters flattened into one vector θ so that the Hessian is one matrix:

- a linear network x ↦ W₂W₁x with loss ½‖W₂W₁ − A‖²_F (W₁: k × n, W₂: n × k; whitened inputs),
  whose critical points are known exactly (Baldi & Hornik, 1989): for A = U diag(s) Vᵀ with distinct
  singular values, the product W₂W₁ at a critical point keeps some set I of at most k singular modes,
  Σ_{i∈I} s_i u_i v_iᵀ. The loss there is ½ Σ_{i∉I} s_i², and only I = the k largest modes is a
  minimum; every other critical point is a saddle.
- a one-hidden-layer tanh network x ↦ w₂ᵀ tanh(W₁x + b₁) + b₂ (x ∈ R², W₁: h × 2) with mean squared
  error ½·mean((out − t)²), the kind of network descent trains in the notebooks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from coursekit.threads import one_thread

__all__ = ["DescentRecord", "LinearCriticalPoint", "gradient_descent", "hessian_index", "linear_critical_points",
           "linear_network_loss", "spectrum", "tanh_net_loss", "tanh_net_size"]


def spectrum(loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    """The eigenvalues of the Hessian of `loss` at the flat parameter vector `theta`, ascending."""
    hess = torch.autograd.functional.hessian(loss, theta.detach())
    return torch.linalg.eigvalsh((hess + hess.T) / 2)


def hessian_index(eigenvalues: torch.Tensor, *, rel_tol: float = 1e-6) -> int:
    """How many eigenvalues are negative: below −rel_tol × the largest |eigenvalue| (the rest of round-off)."""
    scale = float(eigenvalues.abs().max())
    return int((eigenvalues < -rel_tol * scale).sum())


@dataclass(frozen=True)
class DescentRecord:
    """A run of gradient descent: the loss and gradient norm at every point, and the points (T + 1, P)."""

    losses: torch.Tensor
    grad_norms: torch.Tensor
    thetas: torch.Tensor


def gradient_descent(loss: Callable[[torch.Tensor], torch.Tensor], theta0: torch.Tensor, *, lr: float,
                     steps: int) -> DescentRecord:
    """Plain descent θ ← θ − lr·∇L(θ) on a flat parameter vector, recording every point."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    theta = theta0.detach().clone()
    losses, norms, thetas = [], [], []
    with one_thread():
        for _ in range(steps + 1):
            leaf = theta.clone().requires_grad_(True)
            value = loss(leaf)
            (grad,) = torch.autograd.grad(value, leaf)
            losses.append(value.detach())
            norms.append(grad.norm())
            thetas.append(theta)
            theta = theta - lr * grad
    return DescentRecord(torch.stack(losses), torch.stack(norms), torch.stack(thetas))


# --- the linear network -----------------------------------------------------------------------

def linear_network_loss(theta: torch.Tensor, target: torch.Tensor, hidden: int) -> torch.Tensor:
    """½‖W₂W₁ − A‖² for θ = (W₁ flattened (k × n), W₂ flattened (n × k)); A = target, n × n."""
    n = target.shape[0]
    w1 = theta[: hidden * n].reshape(hidden, n)
    w2 = theta[hidden * n:].reshape(n, hidden)
    return 0.5 * (w2 @ w1 - target).pow(2).sum()


@dataclass(frozen=True)
class LinearCriticalPoint:
    """A critical point of the linear network: the singular modes its product keeps, and θ there."""

    modes: tuple[int, ...]
    theta: torch.Tensor
    loss: float


def linear_critical_points(target: torch.Tensor, hidden: int) -> list[LinearCriticalPoint]:
    """One critical point per set of at most `hidden` singular modes of `target` (square, distinct
    singular values): hidden unit j carries mode i as W₁[j] = √s_i v_iᵀ, W₂[:, j] = √s_i u_i; unused
    units are zero. Ordered by loss."""
    if target.ndim != 2 or target.shape[0] != target.shape[1]:
        raise ValueError(f"the target must be a square matrix, got shape {tuple(target.shape)}")
    n = target.shape[0]
    if not 1 <= hidden <= n:
        raise ValueError(f"hidden must be between 1 and {n}, got {hidden}")
    u, s, vh = torch.linalg.svd(target.to(torch.float64))
    if (s[:-1] - s[1:]).min() <= 1e-9 * s[0]:
        raise ValueError("the target's singular values must be distinct")
    points = []
    for size in range(hidden + 1):
        for modes in itertools.combinations(range(n), size):
            w1 = torch.zeros(hidden, n, dtype=torch.float64)
            w2 = torch.zeros(n, hidden, dtype=torch.float64)
            for unit, i in enumerate(modes):
                w1[unit] = math.sqrt(s[i]) * vh[i]
                w2[:, unit] = math.sqrt(s[i]) * u[:, i]
            theta = torch.cat([w1.reshape(-1), w2.reshape(-1)])
            left_out = [i for i in range(n) if i not in modes]
            points.append(LinearCriticalPoint(modes, theta, 0.5 * float(s[left_out].pow(2).sum())))
    return sorted(points, key=lambda p: (p.loss, p.modes))


# --- the tanh network -------------------------------------------------------------------------

def tanh_net_size(hidden: int) -> int:
    """The number of parameters of the 2-`hidden`-1 tanh network: W₁ (2h), b₁ (h), w₂ (h), b₂ (1)."""
    return 4 * hidden + 1


def tanh_net_loss(theta: torch.Tensor, x: torch.Tensor, t: torch.Tensor, hidden: int) -> torch.Tensor:
    """½·mean((w₂ᵀ tanh(W₁x + b₁) + b₂ − t)²) for θ = (W₁ row by row, b₁, w₂, b₂); x (N, 2), t (N,)."""
    if theta.shape[-1] != tanh_net_size(hidden):
        raise ValueError(f"θ must have {tanh_net_size(hidden)} entries for {hidden} hidden units, "
                         f"got {theta.shape[-1]}")
    w1 = theta[: 2 * hidden].reshape(hidden, 2)
    b1 = theta[2 * hidden: 3 * hidden]
    w2 = theta[3 * hidden: 4 * hidden]
    out = torch.tanh(x @ w1.T + b1) @ w2 + theta[4 * hidden]
    return 0.5 * (out - t).pow(2).mean()
