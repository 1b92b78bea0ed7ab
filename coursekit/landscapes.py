"""Two-dimensional test functions for optimisation, with their critical points and Hessians.

Every function takes a tensor whose last dimension holds (x, y), so the same code
evaluates one point of shape (2,) or a whole grid of shape (..., 2). Critical points
are listed with the verdict of the second-derivative (Hessian) test.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from coursekit.threads import one_thread

__all__ = [
    "ELONGATED_KAPPA",
    "LANDSCAPES",
    "CriticalPoint",
    "Kind",
    "Landscape",
    "bowl",
    "classify",
    "descend",
    "eigenvalues",
    "elongated",
    "gradient",
    "hessian",
    "himmelblau",
    "landscape",
    "monkey_saddle",
    "rosenbrock",
    "saddle",
]

Kind = Literal["minimum", "maximum", "saddle", "degenerate"]

#: condition number of `elongated`: its Hessian is diag(1, ELONGATED_KAPPA)
ELONGATED_KAPPA = 10.0


def bowl(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = x² + y², the round bowl; Hessian 2·I everywhere."""
    return xy[..., 0] ** 2 + xy[..., 1] ** 2


def elongated(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = ½(x² + κy²) with κ = 10: Hessian diag(1, 10), condition number 10, L = 10."""
    return 0.5 * (xy[..., 0] ** 2 + ELONGATED_KAPPA * xy[..., 1] ** 2)


def saddle(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = x² − y², the horse saddle; Hessian diag(2, −2)."""
    return xy[..., 0] ** 2 - xy[..., 1] ** 2


def monkey_saddle(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = x³ − 3xy², three valleys around the origin, where the Hessian is zero."""
    x, y = xy[..., 0], xy[..., 1]
    return x**3 - 3 * x * y**2


def rosenbrock(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = (1 − x)² + 100(y − x²)², a curved narrow valley with its minimum at (1, 1)."""
    x, y = xy[..., 0], xy[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def himmelblau(xy: torch.Tensor) -> torch.Tensor:
    """f(x, y) = (x² + y − 11)² + (x + y² − 7)², four minima of value 0."""
    x, y = xy[..., 0], xy[..., 1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient is zero, and what the Hessian test says about it."""

    point: tuple[float, float]
    kind: Kind


@dataclass(frozen=True)
class Landscape:
    """A test function with its formula, plotting window, critical points and global minimum value."""

    name: str
    formula: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    critical_points: tuple[CriticalPoint, ...]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    minimum_value: float | None = None  # None: unbounded below
    log_levels: bool = False  # contours read better on a log scale (steep walls)

    def __call__(self, xy: torch.Tensor) -> torch.Tensor:
        return self.fn(xy)

    def points(self, kind: Kind) -> list[tuple[float, float]]:
        """The critical points of one kind."""
        return [c.point for c in self.critical_points if c.kind == kind]


def _cp(x: float, y: float, kind: Kind) -> CriticalPoint:
    return CriticalPoint((x, y), kind)


# Himmelblau's critical points, refined by Newton's method to 10 decimals.
_HIMMELBLAU_POINTS = (
    _cp(3.0, 2.0, "minimum"),
    _cp(-2.8051180870, 3.1313125183, "minimum"),
    _cp(-3.7793102534, -3.2831859913, "minimum"),
    _cp(3.5844283403, -1.8481265270, "minimum"),
    _cp(-0.2708445907, -0.9230385565, "maximum"),
    _cp(0.0866775046, 2.8842547012, "saddle"),
    _cp(-3.0730257508, -0.0813530443, "saddle"),
    _cp(3.3851541836, 0.0738518798, "saddle"),
    _cp(-0.1279613467, -1.9537149802, "saddle"),
)

LANDSCAPES: dict[str, Landscape] = {
    lsc.name: lsc
    for lsc in (
        Landscape("bowl", "x² + y²", bowl, (_cp(0.0, 0.0, "minimum"),), (-2.0, 2.0), (-2.0, 2.0), 0.0),
        Landscape("elongated", "½(x² + 10y²)", elongated, (_cp(0.0, 0.0, "minimum"),),
                  (-3.0, 3.0), (-1.5, 1.5), 0.0),
        Landscape("saddle", "x² − y²", saddle, (_cp(0.0, 0.0, "saddle"),), (-2.0, 2.0), (-2.0, 2.0)),
        Landscape("monkey_saddle", "x³ − 3xy²", monkey_saddle, (_cp(0.0, 0.0, "degenerate"),),
                  (-1.5, 1.5), (-1.5, 1.5)),
        Landscape("rosenbrock", "(1 − x)² + 100(y − x²)²", rosenbrock, (_cp(1.0, 1.0, "minimum"),),
                  (-2.0, 2.0), (-1.0, 3.0), 0.0, log_levels=True),
        Landscape("himmelblau", "(x² + y − 11)² + (x + y² − 7)²", himmelblau, _HIMMELBLAU_POINTS,
                  (-5.0, 5.0), (-5.0, 5.0), 0.0, log_levels=True),
    )
}


def landscape(name: str) -> Landscape:
    """The landscape called `name`; an unknown name lists the closest ones."""
    try:
        return LANDSCAPES[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(LANDSCAPES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(LANDSCAPES)}."
        raise KeyError(f"Unknown landscape {name!r}.{hint}") from None


def _as_point(point: torch.Tensor | tuple[float, ...]) -> torch.Tensor:
    return torch.as_tensor(point, dtype=torch.float64).detach().clone()


def gradient(fn: Callable[[torch.Tensor], torch.Tensor], xy: torch.Tensor) -> torch.Tensor:
    """∇f at every point of `xy` (shape (..., 2)) by autograd; the points are evaluated independently."""
    x = xy.detach().clone().requires_grad_(True)
    # Each output depends only on its own point, so the gradient of the sum is the stack of gradients.
    (grad,) = torch.autograd.grad(fn(x).sum(), x)
    return grad


def hessian(fn: Callable[[torch.Tensor], torch.Tensor],
            point: torch.Tensor | tuple[float, ...]) -> torch.Tensor:
    """The Hessian matrix ∂²f/∂xᵢ∂xⱼ at one point, by autograd in float64."""
    return torch.autograd.functional.hessian(fn, _as_point(point))


def eigenvalues(fn: Callable[[torch.Tensor], torch.Tensor],
                point: torch.Tensor | tuple[float, ...]) -> torch.Tensor:
    """The Hessian's eigenvalues at a point, ascending (the Hessian is symmetric, so they are real)."""
    return torch.linalg.eigvalsh(hessian(fn, point))


def classify(fn: Callable[[torch.Tensor], torch.Tensor], point: torch.Tensor | tuple[float, ...], *,
             tol: float = 1e-6) -> Kind:
    """The Hessian test at a critical point: signs of the eigenvalues, |λ| ≤ tol counted as zero."""
    lam = eigenvalues(fn, point)
    # One positive and one negative curvature direction prove a saddle even if another λ is zero.
    if (lam > tol).any() and (lam < -tol).any():
        return "saddle"
    if (lam.abs() <= tol).any():
        return "degenerate"
    return "minimum" if (lam > 0).all() else "maximum"


def descend(fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, *, lr: float | torch.Tensor,
            steps: int, beta: float | torch.Tensor = 0.0, blowup: float = 1e6) -> torch.Tensor:
    """Gradient descent with heavy-ball momentum (PyTorch SGD's convention) from a batch of starts.

    `x0` has shape (..., 2) (its floating dtype and device are kept; integers become float64); `lr` and
    `beta` are numbers or tensors broadcastable to x0's batch shape. Returns the path, shape
    (steps + 1, ..., 2). A run that leaves |x| < `blowup` is marked diverged: its points are NaN from then on.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    x = torch.as_tensor(x0).detach().clone()
    if not x.is_floating_point():
        x = x.to(torch.float64)
    lr_t = torch.as_tensor(lr, dtype=x.dtype, device=x.device)
    beta_t = torch.as_tensor(beta, dtype=x.dtype, device=x.device)
    lr_t = lr_t.unsqueeze(-1) if lr_t.ndim else lr_t
    beta_t = beta_t.unsqueeze(-1) if beta_t.ndim else beta_t
    buf = torch.zeros_like(x)
    path = [x]
    nan = torch.full((), float("nan"), dtype=x.dtype, device=x.device)
    with one_thread():  # many steps on small tensors: one CPU thread is the fastest
        for _ in range(steps):
            g = gradient(fn, x)
            # buf_t = β buf_{t−1} + g_t (buf_0 = 0, so the first buffer is g_1); x_t = x_{t−1} − lr · buf_t
            buf = beta_t * buf + g
            x = x - lr_t * buf
            bad = ~torch.isfinite(x).all(-1, keepdim=True) | (x.abs().amax(-1, keepdim=True) > blowup)
            x = torch.where(bad, nan, x)
            buf = torch.where(bad, nan, buf)
            path.append(x)
    return torch.stack(path)
