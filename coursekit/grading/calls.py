"""How one case calls a function: its value, or for a gradient case the autograd gradient through it.

One path for the learner's answer (under the exercise's rules, see `coursekit.grading.rules`) and
for the known-wrong implementations that recognise mistakes, so a recogniser sees exactly what the
learner's code was asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from coursekit.exercises.model import Case, Exercise
from coursekit.exercises.rules import Rule
from coursekit.grading.plain import encode, materialize
from coursekit.grading.rules import guarded_call
from coursekit.i18n import _

__all__ = ["NoGradient", "applicable_rules", "call_case"]


class NoGradient(Exception):
    """A gradient case's function returned something autograd cannot differentiate back to its input."""


def _gradient(result: Any, x: torch.Tensor, grad_output: Any) -> torch.Tensor:
    """d/dx of sum(grad_output * result): the vector-Jacobian product autograd computes through `result`."""
    if not isinstance(result, torch.Tensor):
        raise NoGradient(_("Your function returned a {type}, not a tensor, so autograd cannot compute a gradient "
                           "through it: a network using it could not learn.").format(type=type(result).__name__))
    if not result.requires_grad:
        raise NoGradient(_("Your function's result is not connected to its input in autograd's graph (it was "
                           "computed with NumPy or Python numbers, detached, or under torch.no_grad()), so no "
                           "gradient flows back through it: a network using it could not learn."))
    v = torch.ones_like(result) if grad_output is None else torch.as_tensor(grad_output).to(result.dtype)
    if v.shape != result.shape:
        raise NoGradient(_("Your function's result has shape {shape}; the gradient check expects {expected}, the "
                           "shape of the answer.").format(shape=tuple(result.shape), expected=tuple(v.shape)))
    (grad,) = torch.autograd.grad(result, x, grad_outputs=v, allow_unused=True)
    return torch.zeros_like(x) if grad is None else grad


def call_case(exercise: Exercise, case: Case, fn: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], *,
              rules: tuple[Rule, ...] = ()) -> tuple[Any, str]:
    """(what the case compares, the first broken rule's message or ""): fn's value, or its gradient w.r.t. args[0].

    For a gradient case args[0] is replaced by a fresh leaf that requires grad; the gradient is
    taken after the function has returned, outside the rule guard.
    """
    if not case.gradient:
        result, guard = guarded_call(rules, fn, args, kwargs)
        return result, guard.violation() if guard else ""
    x = args[0].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        result, guard = guarded_call(rules, fn, [x, *args[1:]], kwargs)
        return _gradient(result, x, case.grad_output), guard.violation() if guard else ""


def applicable_rules(exercise: Exercise, case: Case) -> tuple[int, ...]:
    """Indices of the exercise's rules that hold for this case: those its own reference keeps.

    A rule that demands something the case does not need (a backward pass when steps = 0) does
    not apply to that case; the bank's tests make sure every rule applies to some case.
    """
    if not exercise.rules or exercise.kind == "value":
        return ()
    args = list(materialize(encode(tuple(case.args), keep_dtype=True)))
    kwargs = materialize(encode(dict(case.kwargs), keep_dtype=True))
    _, guard = guarded_call(exercise.rules, exercise.reference, args, kwargs)
    broken = {index for index, _ in guard.broken()} if guard else set()
    return tuple(i for i in range(len(exercise.rules)) if i not in broken)
