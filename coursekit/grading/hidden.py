"""The verdict of a hidden case: pass or fail, and a reason in the grader's words only.

A hidden case's input is drawn at grading time, and the learner's code sees it. Whatever that
code returns, raises, prints or writes could carry the input (an exception's text, a result's
shape, the name of a class, a count of calls), so the message names the case by its number and
label and says what kind of thing went wrong from a fixed list: an error, a broken rule (in the
rule's own text), a changed input, a warning, a result of the wrong kind, wrong values. Never the
learner's text or values, and never the expected ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coursekit.exercises.model import Case, Exercise
from coursekit.grading.compare import NO_GRADIENT, NOT_ATTEMPTED, Outcome, Verdict, compare, failed, recognised
from coursekit.grading.plain import Array

__all__ = ["HIDDEN_DETAILS", "hidden_verdict"]

HIDDEN_DETAILS = "details are not shown for hidden cases"


def _kind_of_problem(expected: Any, got: Any, exercise: Exercise) -> str:
    tolerance = f"tolerance: rtol={exercise.rtol:g}, atol={exercise.atol:g}"
    if isinstance(expected, Array) and isinstance(got, Array) and expected.shape == got.shape \
            and expected.container == got.container:
        return f"wrong values ({tolerance})"
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(got, numbers) and not isinstance(got, bool):
        return f"a wrong value ({tolerance})"
    return "a result of the wrong kind (type, shape, dtype or keys)"


def _broken_rule(exercise: Exercise, violation: str) -> str:
    for rule in exercise.rules:
        if violation.startswith(rule.message("").rstrip()):
            return rule.message("").rstrip()
    return "your code broke a rule of this exercise."


def hidden_verdict(exercise: Exercise, case: Case, expected: Any, outcome: Outcome, *, name: str,
                   wrong_output: Callable[[Case, Callable[..., Any]], Any]) -> Verdict:
    """The verdict for a hidden case, named `name` in messages (its number and label)."""
    details = f" ({HIDDEN_DETAILS})"
    if outcome.error is not None:
        if outcome.error.not_implemented:
            return Verdict("not_attempted", NOT_ATTEMPTED)
        if outcome.error.type_name == NO_GRADIENT:
            return Verdict("fail", f"{name}: autograd could not compute a gradient through your result{details}.")
        return Verdict("error", f"{name}: your code raised an error{details}.")
    if outcome.value is None and expected is not None:
        return Verdict("fail", f"{name}: your function returned None{details}.")
    if outcome.violation:
        return Verdict("fail", f"{name}: {_broken_rule(exercise, outcome.violation)}{details}")
    if outcome.restored or outcome.mutated:
        return Verdict("fail", f"{name}: your function changed one of its inputs in place{details}.")
    if exercise.warning_free and outcome.warnings:
        return Verdict("fail", f"{name}: your code produced a warning (the answer must be computed without overflow "
                       f"or invalid operations){details}.")
    if compare(expected, outcome.value, exercise, hidden=True) is None:
        return Verdict("pass")
    problem = _kind_of_problem(expected, outcome.value, exercise)
    if case.gradient:
        problem = f"the gradient autograd computes through your function is not the derivative: {problem}"
    # a recognised mistake is one of the exercise's own sentences, chosen by the grader
    return failed(f"{name}: {problem}{details}.", recognised(exercise, case, expected, outcome.value, wrong_output))
