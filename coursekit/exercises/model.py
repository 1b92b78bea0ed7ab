"""The exercise model: one definition drives the learner's check() and the instructor's grader.

An exercise names the learner's function (or value), holds the reference solution,
builds its cases (public ones from a fixed seed, hidden ones from the instructor's
seed), states its tolerances, rules and hints, and lists recognisers for common mistakes.
A *gradient case* checks, instead of the value, the gradient autograd computes through the
learner's function (what a network using it would train with) against the exercise's
analytic `derivative`. Nothing here runs learner code; that is the job of ``coursekit.grading``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from coursekit.exercises.rules import Rule

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


@dataclass(frozen=True, eq=False)  # identity: comparing cases would compare their tensors
class Case:
    """One call of the learner's function: positional and keyword inputs, and a label.

    `label` says in words what the case is about ("x = 0, the kink"); for hidden cases it
    is the only thing a learner ever sees. `weight` is the case's share of the points relative
    to the other cases (stability cases weigh more). A `gradient` case differentiates the
    learner's function with autograd with respect to its first argument, contracted with
    `grad_output` (ones when None), and compares that with the exercise's `derivative`.
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    hidden: bool = False
    weight: float = 1.0
    gradient: bool = False
    grad_output: Any = None

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"Case {self.label!r}: weight must be positive.")
        if self.gradient and not (self.args and isinstance(self.args[0], torch.Tensor)
                                  and self.args[0].is_floating_point()):
            raise ValueError(f"Gradient case {self.label!r}: the first argument must be a float tensor.")


@dataclass(frozen=True)
class Mistake:
    """A recogniser for one common mistake, and the message to show when it matches.

    Give exactly one of: `wrong`, a known-wrong implementation with the learner's signature
    (the learner's output matching it on a failed case identifies the mistake; on a gradient
    case its autograd gradient is compared); `test(case, expected, got) -> bool` on the plain
    values ``coursekit.grading`` compares; or `raised`, a lower-case substring of the message of
    an error the learner's code raises (e.g. "backward through the graph a second time").
    """

    name: str
    message: str
    wrong: Callable[..., Any] | None = None
    test: Callable[[Case, Any, Any], bool] | None = None
    raised: str | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.wrong, self.test, self.raised)) != 1:
            raise ValueError(f"Mistake {self.name!r}: give exactly one of `wrong`, `test` or `raised`.")


@dataclass(frozen=True)
class Exercise:
    """One checked exercise of the bank.

    `rules` are what the instructions forbid or demand (enforced by one guard, see
    ``coursekit.exercises.rules``). `derivative(grad_output, *args, **kwargs)` is the analytic
    vector-Jacobian product of the function with respect to its first argument, for gradient
    cases. `accepts_float` says whether a Python number may answer where the reference returns a
    0-d tensor (False for losses: a float cannot be backpropagated).
    """

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
    rules: tuple[Rule, ...] = ()
    derivative: Callable[..., Any] | None = None
    accepts_float: bool = True

    def __post_init__(self) -> None:
        if not self.id.isidentifier():
            raise ValueError(f"Exercise id {self.id!r} must be a Python identifier (it names the learner's object).")
        if self.kind not in ("function", "value"):
            raise ValueError(f"Exercise {self.id!r}: kind must be 'function' or 'value'.")
        if self.points <= 0:
            raise ValueError(f"Exercise {self.id!r}: points must be positive.")
        kinds = {rule.kind for rule in self.rules}
        if "no_autograd" in kinds and kinds & {"use_autograd", "create_graph"}:
            raise ValueError(f"Exercise {self.id!r}: a rule forbids autograd and another demands it.")

    def cases(self, *, hidden_seed: int | None = None) -> list[Case]:
        """The public cases, followed by hidden ones when a grading seed is given."""
        cases = [dataclasses.replace(c, hidden=False) if c.hidden else c for c in self.public_cases()]
        if hidden_seed is not None:
            rng = np.random.default_rng([hidden_seed, _stable_hash(self.id)])
            cases.extend(dataclasses.replace(c, hidden=True) for c in self.hidden_cases(rng))
        if any(c.gradient for c in cases) and self.derivative is None:
            raise ValueError(f"Exercise {self.id!r} has gradient cases but no `derivative`.")
        return cases

    def expected(self, case: Case) -> Any:
        """The reference output for one case: the value, or for a gradient case the analytic gradient."""
        if self.kind == "value":
            return self.reference()
        if case.gradient:
            assert self.derivative is not None
            first, *rest = case.args
            v = case.grad_output if case.grad_output is not None else \
                torch.ones_like(self.reference(*case.args, **dict(case.kwargs)))
            return self.derivative(v, first, *rest, **dict(case.kwargs))
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
