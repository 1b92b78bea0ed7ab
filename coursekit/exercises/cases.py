"""Small builders for cases: float64 tensors from literals or from a seeded generator, and case weights."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from coursekit.exercises.model import Case

__all__ = ["normal", "shares", "tensor", "uniform", "weigh_extremes"]


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


def shares(*groups: tuple[float, Sequence[Case]]) -> list[Case]:
    """The cases of every (share, cases) group, weighted so that each group carries its share of the points.

    E.g. ``shares((0.5, ordinary), (0.5, stability))``: an answer that fails every stability case
    earns at most half the points, however many ordinary cases there are. The weights add up to the
    number of cases, so a weighted list sits beside unweighted ones (public next to hidden) as before.
    """
    total = sum(share for share, cases in groups if cases)
    count = sum(len(cases) for _, cases in groups)
    weighted = []
    for share, cases in groups:
        weighted += [dataclasses.replace(c, weight=count * share / total / len(cases)) for c in cases]
    return weighted


def weigh_extremes(cases: Sequence[Case], *, label_starts: str, share: float = 0.5) -> list[Case]:
    """`cases` with those whose label starts with `label_starts` (the overflow cases) carrying `share`."""
    extreme = [c for c in cases if c.label.startswith(label_starts)]
    return shares((1.0 - share, [c for c in cases if c not in extreme]), (share, extreme))
