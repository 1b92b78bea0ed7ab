"""Small 2-D classification data sets made in code (no downloads): two moons and interleaved spirals.

Both are drawn from a seeded CPU generator, so the same call gives the same points on every machine;
move them to a device afterwards with `.to(device)`.
"""

from __future__ import annotations

import math

import torch

__all__ = ["spirals", "two_moons"]


def _check(n: int, noise: float) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (at least one point per class), got {n!r}")
    if noise < 0:
        raise ValueError(f"noise is a standard deviation and cannot be negative, got {noise}")


def _shuffled(points: torch.Tensor, labels: torch.Tensor, g: torch.Generator,
              dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(len(labels), generator=g)
    return points[order].to(dtype), labels[order]


def two_moons(n: int, *, noise: float = 0.1, seed: int = 0,
              dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` points on two interleaving half circles: X of shape (n, 2), labels y in {0, 1} (int64).

    Class 0 lies on the upper unit half circle, class 1 on the lower one shifted to (1, 0.5);
    each point gets isotropic Gaussian noise of standard deviation `noise`.
    """
    _check(n, noise)
    g = torch.Generator().manual_seed(seed)
    n0 = n // 2
    t = torch.rand(n, generator=g, dtype=torch.float64) * math.pi
    upper = torch.stack([torch.cos(t[:n0]), torch.sin(t[:n0])], dim=1)
    lower = torch.stack([1 - torch.cos(t[n0:]), 0.5 - torch.sin(t[n0:])], dim=1)
    points = torch.cat([upper, lower]) + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    labels = torch.cat([torch.zeros(n0, dtype=torch.int64), torch.ones(n - n0, dtype=torch.int64)])
    return _shuffled(points, labels, g, dtype)


def spirals(n: int, *, classes: int = 2, turns: float = 1.0, noise: float = 0.05, seed: int = 0,
            dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` points on `classes` interleaved spiral arms: X of shape (n, 2) within about [-1, 1]², labels (int64).

    Arm c is r(t) = t, angle(t) = 2π (turns · t + c / classes) for t in (0, 1], plus Gaussian noise.
    """
    _check(n, noise)
    if classes < 2:
        raise ValueError(f"a classification data set needs at least 2 classes, got {classes}")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n, dtype=torch.int64) % classes
    t = 1 - torch.rand(n, generator=g, dtype=torch.float64)  # in (0, 1]
    angle = 2 * math.pi * (turns * t + labels.to(torch.float64) / classes)
    points = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    points = points + noise * torch.randn(n, 2, generator=g, dtype=torch.float64)
    return _shuffled(points, labels, g, dtype)
