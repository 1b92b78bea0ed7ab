"""Warm-up exercise of 00_start_here: learn how an exercise cell and check() work."""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.i18n import N_

NOTEBOOK = "00_start_here"


def scale_and_shift(x: torch.Tensor, a: float, b: float) -> torch.Tensor:
    """Reference: a * x + b, elementwise, as a new tensor."""
    return a * x + b


def _public() -> list[Case]:
    return [
        Case((tensor([1.0, 2.0, 3.0]), 2.0, 1.0), label="a small vector"),
        Case((tensor([[0.5, -1.0], [4.0, 0.0]]), -3.0, 0.5), label="a 2x2 matrix, negative a"),
        Case((tensor(7.0), 0.0, -2.0), label="a single number, a = 0"),
    ]


def _hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((normal(rng, (int(rng.integers(1, 6)), 3)), float(rng.normal()), float(rng.normal())),
                 label=N_("random matrix and coefficients")) for _ in range(3)]


register(Exercise(
    id="scale_and_shift",
    notebook=NOTEBOOK,
    title=N_("Warm-up: scale and shift a tensor"),
    signature="scale_and_shift(x, a, b)",
    reference=scale_and_shift,
    public_cases=_public,
    hidden_cases=_hidden,
    hints=(
        N_("Tensors support arithmetic elementwise: `a * x` multiplies every entry by a."),
        N_("Multiply first, then add: the order matters, since a·(x + b) is a different function."),
    ),
    mistakes=(
        Mistake("shift-then-scale", N_("You shifted before scaling: a * (x + b) is not a * x + b."),
                wrong=lambda x, a, b: a * (x + b)),
        Mistake("swapped", N_("It looks like a and b are swapped: the answer is a * x + b, not b * x + a."),
                wrong=lambda x, a, b: b * x + a),
    ),
))
