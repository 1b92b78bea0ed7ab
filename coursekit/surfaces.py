"""Loss surfaces of small networks: train a stack of MLPs at once, then slice their loss along
filter-normalised random directions (Li et al., 2018, "Visualizing the Loss Landscape of Neural Nets").

A stack holds B independent networks of one shape, with or without skip connections, as
parameter tensors with a leading dimension B, so one forward pass (batched matrix products)
trains or evaluates all of them. Adam updates every coordinate on its own, so training the
stack on the sum of the B losses is exactly B separate trainings.

Conventions: a layer is h ↦ relu(h Wᵀ + b) with W of shape (out, in) (PyTorch's nn.Linear);
a residual block adds its input, h ↦ h + relu(h Wᵀ + b). The first layer maps the 2-D input
to `width` units and the last one maps `width` units to one logit; neither has a skip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from coursekit.threads import one_thread

__all__ = ["Stack", "filter_normalised", "grid_minima", "line_minima", "nonconvex_share", "slice_losses",
           "train_stack"]


@dataclass
class Stack:
    """B networks of one shape: weights[k] has shape (B, out, in), biases[k] (B, out); residual (B,) bools."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    residual: torch.Tensor

    @classmethod
    def create(cls, *, depth: int, width: int, residual: Sequence[bool], seed: int = 0,
               dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> Stack:
        """He-initialised networks (one per entry of `residual`), drawn on the CPU from `seed`.

        `depth` counts the hidden layers (the first one and depth − 1 blocks of width × width).
        A residual network's blocks start with weights scaled by 1/√depth, so the sum of the
        blocks keeps the signal's scale at initialisation.
        """
        if depth < 2 or width < 1:
            raise ValueError(f"need depth >= 2 and width >= 1, got depth={depth}, width={width}")
        b = len(residual)
        if b < 1:
            raise ValueError("residual must list at least one network")
        g = torch.Generator().manual_seed(seed)
        res = torch.tensor(list(residual), dtype=torch.bool)
        shapes = [(width, 2)] + [(width, width)] * (depth - 1) + [(1, width)]
        weights, biases = [], []
        for k, (out, inp) in enumerate(shapes):
            std = torch.full((b, 1, 1), math.sqrt((2.0 if k < len(shapes) - 1 else 1.0) / inp), dtype=torch.float64)
            if 0 < k < len(shapes) - 1:
                std = torch.where(res[:, None, None], std / math.sqrt(depth), std)
            w = torch.randn(b, out, inp, generator=g, dtype=torch.float64) * std
            weights.append(w.to(device=device, dtype=dtype))
            biases.append(torch.zeros(b, out, dtype=dtype, device=device))
        return cls(weights, biases, res.to(device))

    @property
    def parameters(self) -> list[torch.Tensor]:
        """Weights and biases, interleaved layer by layer."""
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    def logits(self, x: torch.Tensor, *, weights: Sequence[torch.Tensor] | None = None,
               biases: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Logits of every network on the points x (N, 2): shape (..., B, N).

        Other `weights`/`biases` of shape (..., B, out, in) / (..., B, out) may be given, e.g. a
        whole grid of perturbed copies; the leading dimensions broadcast.
        """
        ws = self.weights if weights is None else weights
        bs = self.biases if biases is None else biases
        skip = self.residual[:, None, None].to(ws[0].dtype)  # 1 for a residual network, 0 for a plain one
        if torch.is_grad_enabled():
            h = torch.relu(x @ ws[0].transpose(-1, -2) + bs[0].unsqueeze(-2))
            for w, b in zip(ws[1:-1], bs[1:-1], strict=True):
                h = torch.relu(h @ w.transpose(-1, -2) + b.unsqueeze(-2)) + skip * h
        else:
            # the same sums in place: a grid of perturbed copies makes large activations, and each pass over
            # them costs more than the matrix product itself
            h = (x @ ws[0].transpose(-1, -2)).add_(bs[0].unsqueeze(-2)).relu_()
            for w, b in zip(ws[1:-1], bs[1:-1], strict=True):
                h = (h @ w.transpose(-1, -2)).add_(b.unsqueeze(-2)).relu_().addcmul_(skip, h)
        return (h @ ws[-1].transpose(-1, -2) + bs[-1].unsqueeze(-2)).squeeze(-1)

    def losses(self, x: torch.Tensor, y: torch.Tensor, **perturbed: Sequence[torch.Tensor]) -> torch.Tensor:
        """Mean binary cross-entropy of each network on (x, y): shape (..., B)."""
        z = self.logits(x, **perturbed)
        return F.binary_cross_entropy_with_logits(z, y.to(z.dtype).expand_as(z), reduction="none").mean(-1)


def train_stack(stack: Stack, x: torch.Tensor, y: torch.Tensor, *, steps: int, lr: float = 0.01) -> torch.Tensor:
    """Full-batch Adam on every network of the stack at once (in place); returns the losses per step (steps, B)."""
    params = [p.requires_grad_(True) for p in stack.parameters]
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    with one_thread():
        for _ in range(steps):
            loss = stack.losses(x, y)
            opt.zero_grad()
            loss.sum().backward()  # the networks share nothing, so each gets the gradient of its own loss
            opt.step()
            history.append(loss.detach())
    for p in params:
        p.requires_grad_(False)
    return torch.stack(history)


def filter_normalised(stack: Stack, *, seed: int) -> list[torch.Tensor]:
    """A random direction in weight space, one tensor per weight matrix, filter-normalised.

    Each row of a direction (one unit's incoming weights: the "filter") is Gaussian, rescaled to
    the norm of the same row of the trained weights, so a step of 1 moves every unit by its own
    scale. Biases are not perturbed, as in Li et al.
    """
    g = torch.Generator().manual_seed(seed)
    out = []
    for w in stack.weights:
        d = torch.randn(w.shape, generator=g, dtype=torch.float64).to(device=w.device, dtype=w.dtype)
        out.append(d / d.norm(dim=-1, keepdim=True) * w.norm(dim=-1, keepdim=True))
    return out


def slice_losses(stack: Stack, x: torch.Tensor, y: torch.Tensor, directions: Sequence[Sequence[torch.Tensor]],
                 coords: torch.Tensor) -> torch.Tensor:
    """The losses at θ + Σ_k c_k d_k for every row c of `coords` (G, K): shape (G, B).

    `directions` holds K directions (from filter_normalised); biases stay at their trained values.
    """
    if coords.ndim != 2 or coords.shape[1] != len(directions):
        raise ValueError(f"coords must have shape (G, {len(directions)}), got {tuple(coords.shape)}")
    c = coords.to(device=stack.weights[0].device, dtype=stack.weights[0].dtype)
    with torch.no_grad(), one_thread():
        weights = []
        for layer, w in enumerate(stack.weights):
            d = torch.stack([direction[layer] for direction in directions])  # (K, B, out, in)
            # Σ_k c_k d_k for every grid point at once, as one matrix product: (G, K) @ (K, B·out·in)
            shift = (c @ d.reshape(len(directions), -1)).reshape(len(c), *w.shape)
            weights.append(shift.add_(w))  # (G, B, out, in)
        return stack.losses(x, y, weights=weights, biases=[b.expand(len(c), *b.shape) for b in stack.biases])


def nonconvex_share(surface: torch.Tensor, *, spacing: float) -> torch.Tensor:
    """The share of a 2-D slice's interior points where it curves down in some direction.

    `surface` has shape (..., n, n) on a square grid with the given spacing; the slice's 2 × 2
    Hessian at each interior point comes from central differences, and the point counts as
    non-convex when that Hessian's smaller eigenvalue is negative.
    """
    s = surface
    h2 = spacing**2
    sxx = (s[..., 1:-1, 2:] - 2 * s[..., 1:-1, 1:-1] + s[..., 1:-1, :-2]) / h2
    syy = (s[..., 2:, 1:-1] - 2 * s[..., 1:-1, 1:-1] + s[..., :-2, 1:-1]) / h2
    sxy = (s[..., 2:, 2:] - s[..., 2:, :-2] - s[..., :-2, 2:] + s[..., :-2, :-2]) / (4 * h2)
    half_trace, det = (sxx + syy) / 2, sxx * syy - sxy**2
    smaller = half_trace - torch.sqrt((half_trace**2 - det).clamp_min(0))
    return (smaller < 0).to(s.dtype).mean(dim=(-1, -2))


def line_minima(values: torch.Tensor) -> torch.Tensor:
    """How many strict local minima each sampled line (last dimension) has, its ends excluded."""
    inner = values[..., 1:-1]
    return ((inner < values[..., :-2]) & (inner < values[..., 2:])).sum(-1)


def grid_minima(values: torch.Tensor) -> torch.Tensor:
    """A mask of the strict local minima of sampled 2-D slices (..., n, m): lower than all 8 neighbours.
    Points on the border count only their neighbours inside the grid."""
    padded = F.pad(values, (1, 1, 1, 1), value=float("inf"))
    n, m = values.shape[-2:]
    lower = torch.ones_like(values, dtype=torch.bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                lower &= values < padded[..., 1 + dy: 1 + dy + n, 1 + dx: 1 + dx + m]
    return lower
