"""Small builders for case inputs: float64 tensors from literals or from a seeded generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = ["normal", "tensor", "uniform"]


def tensor(values: object, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A tensor from nested Python numbers, float64 unless told otherwise."""
    return torch.tensor(values, dtype=dtype)


def normal(rng: np.random.Generator, shape: Sequence[int], *, scale: float = 1.0,
           loc: float = 0.0) -> torch.Tensor:
    """A float64 tensor of normal samples drawn from `rng` (so hidden cases follow the grading seed)."""
    return torch.from_numpy(rng.normal(loc, scale, size=tuple(shape)).astype(np.float64))


def uniform(rng: np.random.Generator, shape: Sequence[int], *, low: float = -1.0,
            high: float = 1.0) -> torch.Tensor:
    """A float64 tensor of uniform samples in [low, high) drawn from `rng`."""
    return torch.from_numpy(rng.uniform(low, high, size=tuple(shape)).astype(np.float64))
