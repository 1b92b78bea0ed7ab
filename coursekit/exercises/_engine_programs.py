"""The programs that notebook 08's engine cases run, with the input shapes each accepts.

A program is a registered function (it travels to the grader's worker by name) that builds a single
number from its inputs with operators and methods only, so the same program runs on the course
engine's Tensors and on torch tensors (what the tests compare against).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from coursekit.exercises.cases import normal
from coursekit.exercises.functions import named
from coursekit.exercises.model import NamedFunction

__all__ = ["CHAIN", "MLP", "NOTHING_SAVED", "PROGRAMS", "RESIDUAL", "REUSE", "SOFTMAX", "SQUARE", "TWO_USES",
           "Program", "random_case"]

Shapes = Callable[[np.random.Generator], tuple[tuple[int, ...], ...]]


def _side(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 5))


@dataclass(frozen=True)
class Program:
    """A registered function of engine (or torch) tensors, and random input shapes it accepts."""

    fn: NamedFunction
    shapes: Shapes
    saves: bool  # whether some node of its graph saves a tensor (so a second backward needs retain_graph)


def _reuse(x):
    e = x.exp()
    return (e + e.log()).sum()


def _residual(x, w):
    h = (x @ w).relu()
    return (h + h @ w).sum()


SQUARE = Program(named("(x * x).sum()", lambda x: (x * x).sum()), lambda r: ((_side(r), _side(r)),), True)
TWO_USES = Program(named("(x * w + x).sum()", lambda x, w: (x * w + x).sum()),
                   lambda r: (lambda n, k: ((n, k), (k,)))(_side(r), _side(r)), True)
REUSE = Program(named("(e + e.log()).sum() with e = x.exp()", _reuse), lambda r: ((_side(r), _side(r)),), True)
CHAIN = Program(named("((x * w).exp() * w).sum()", lambda x, w: ((x * w).exp() * w).sum()),
                lambda r: (lambda n: ((n,), (n,)))(_side(r)), True)
SOFTMAX = Program(named("(x.softmax(-1) * w).sum()", lambda x, w: (x.softmax(-1) * w).sum()),
                  lambda r: (lambda n, k: ((n, k), (n, k)))(_side(r), 1 + _side(r)), True)
MLP = Program(named("((x @ w1).relu() @ w2).sum()", lambda x, w1, w2: ((x @ w1).relu() @ w2).sum()),
              lambda r: (lambda n, k, h, m: ((n, k), (k, h), (h, m)))(_side(r), _side(r), _side(r), _side(r)), True)
RESIDUAL = Program(named("(h + h @ w).sum() with h = (x @ w).relu()", _residual),
                   lambda r: (lambda n, k: ((n, k), (k, k)))(_side(r), _side(r)), True)
NOTHING_SAVED = Program(named("(x + w).sum()", lambda x, w: (x + w).sum()),
                        lambda r: (lambda n, k: ((n, k), (k,)))(_side(r), _side(r)), False)
PROGRAMS = (SQUARE, TWO_USES, REUSE, CHAIN, SOFTMAX, MLP, RESIDUAL, NOTHING_SAVED)


def random_case(rng: np.random.Generator, programs: tuple[Program, ...]) -> tuple[Program, tuple[torch.Tensor, ...]]:
    program = programs[int(rng.integers(0, len(programs)))]
    return program, tuple(normal(rng, shape) for shape in program.shapes(rng))
