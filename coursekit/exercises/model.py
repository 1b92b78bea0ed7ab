"""The exercise model: one definition drives the learner's check() and the instructor's grader.

An exercise names the learner's function (or value), holds the reference solution,
builds its cases (public ones from a fixed seed, hidden ones from the instructor's
seed), states its tolerances and hints, and lists recognisers for common mistakes.
Nothing here runs learner code; that is the job of ``coursekit.grading``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Case", "Exercise", "Mistake", "NamedFunction"]


@dataclass(frozen=True)
class NamedFunction:
    """A function passed to a learner's code as a case input (e.g. the f in numerical_gradient(f, x)).

    It travels to the batch grader's worker by name, so every NamedFunction must be
    registered in ``coursekit.exercises.functions``.
    """

    name: str
    fn: Callable[..., Any] = field(compare=False, repr=False)
    formula: str = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.name}" + (f" ({self.formula})" if self.formula else "")


@dataclass(frozen=True)
class Case:
    """One call of the learner's function: positional and keyword inputs, and a label.

    `label` says in words what the case is about ("x = 0, the kink"); for hidden cases it
    is the only thing a learner ever sees.
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    hidden: bool = False


@dataclass(frozen=True)
class Mistake:
    """A recogniser for one common mistake, and the message to show when it matches.

    Give either `wrong`, a known-wrong implementation with the learner's signature
    (the learner's output matching it on a failed case identifies the mistake), or
    `test(case, expected, got) -> bool` on the plain values ``coursekit.grading`` compares.
    """

    name: str
    message: str
    wrong: Callable[..., Any] | None = None
    test: Callable[[Case, Any, Any], bool] | None = None

    def __post_init__(self) -> None:
        if (self.wrong is None) == (self.test is None):
            raise ValueError(f"Mistake {self.name!r}: give exactly one of `wrong` or `test`.")


@dataclass(frozen=True)
class Exercise:
    """One checked exercise of the bank."""

    id: str
    notebook: str
    title: str
    reference: Callable[..., Any]
    public_cases: Callable[[], Sequence[Case]]
    hidden_cases: Callable[[np.random.Generator], Sequence[Case]] = lambda rng: ()
    kind: Literal["function", "value"] = "function"
    points: float = 1.0
    rtol: float = 1e-6
    atol: float = 1e-8
    hints: tuple[str, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    signature: str = ""
    output_names: tuple[str, ...] = ()
    check_dtype: bool = True
    warning_free: bool = False
    convention: str = ""

    def __post_init__(self) -> None:
        if not self.id.isidentifier():
            raise ValueError(f"Exercise id {self.id!r} must be a Python identifier (it names the learner's object).")
        if self.kind not in ("function", "value"):
            raise ValueError(f"Exercise {self.id!r}: kind must be 'function' or 'value'.")
        if self.points <= 0:
            raise ValueError(f"Exercise {self.id!r}: points must be positive.")

    def cases(self, *, hidden_seed: int | None = None) -> list[Case]:
        """The public cases, followed by hidden ones when a grading seed is given."""
        cases = [c if not c.hidden else Case(c.args, c.kwargs, c.label, False) for c in self.public_cases()]
        if hidden_seed is not None:
            rng = np.random.default_rng([hidden_seed, _stable_hash(self.id)])
            cases.extend(Case(c.args, c.kwargs, c.label, True) for c in self.hidden_cases(rng))
        return cases

    def expected(self, case: Case) -> Any:
        """The reference output for one case (the reference's value for a value exercise)."""
        if self.kind == "value":
            return self.reference()
        return self.reference(*case.args, **dict(case.kwargs))

    @property
    def call_name(self) -> str:
        """How the learner's object is named in messages: `sigmoid(...)` or `largest_stable_lr`."""
        return self.id if self.kind == "value" else f"{self.id}(...)"


def _stable_hash(text: str) -> int:
    """A hash of `text` that is the same in every process (Python's hash() is salted)."""
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) % 2**32
    return value
