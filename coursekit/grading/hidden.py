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
from coursekit.i18n import N_, _

__all__ = ["HIDDEN_DETAILS", "hidden_verdict"]

HIDDEN_DETAILS = N_("details are not shown for hidden cases")


def _kind_of_problem(expected: Any, got: Any, exercise: Exercise) -> str:
    tolerance = _("tolerance: rtol={rtol}, atol={atol}").format(rtol=f"{exercise.rtol:g}", atol=f"{exercise.atol:g}")
    if isinstance(expected, Array) and isinstance(got, Array) and expected.shape == got.shape \
            and expected.container == got.container:
        return _("wrong values ({tolerance})").format(tolerance=tolerance)
    numbers = (int, float)
    if isinstance(expected, numbers) and isinstance(got, numbers) and not isinstance(got, bool):
        return _("a wrong value ({tolerance})").format(tolerance=tolerance)
    return _("a result of the wrong kind (type, shape, dtype or keys)")


def _broken_rule(exercise: Exercise, violation: str) -> str:
    for rule in exercise.rules:
        if violation.startswith(rule.message("").rstrip()):
            return rule.message("").rstrip()
    return _("your code broke a rule of this exercise.")


def hidden_verdict(exercise: Exercise, case: Case, expected: Any, outcome: Outcome, *, name: str,
                   wrong_output: Callable[[Case, Callable[..., Any]], Any]) -> Verdict:
    """The verdict for a hidden case, named `name` in messages (its number and label)."""
    def said(text: str, **fields: str) -> str:
        return text.format(name=name, details=_(" ({details})").format(details=_(HIDDEN_DETAILS)), **fields)

    if outcome.error is not None:
        if outcome.error.not_implemented:
            return Verdict("not_attempted", _(NOT_ATTEMPTED))
        if outcome.error.type_name == NO_GRADIENT:
            return Verdict("fail", said(_("{name}: autograd could not compute a gradient through your "
                                          "result{details}.")))
        return Verdict("error", said(_("{name}: your code raised an error{details}.")))
    if outcome.value is None and expected is not None:
        return Verdict("fail", said(_("{name}: your function returned None{details}.")))
    if outcome.violation:
        return Verdict("fail", said(_("{name}: {rule}{details}"), rule=_broken_rule(exercise, outcome.violation)))
    if outcome.restored or outcome.mutated:
        return Verdict("fail", said(_("{name}: your function changed one of its inputs in place{details}.")))
    if exercise.warning_free and outcome.warnings:
        return Verdict("fail", said(_("{name}: your code produced a warning (the answer must be computed without "
                                      "overflow or invalid operations){details}.")))
    if compare(expected, outcome.value, exercise, hidden=True) is None:
        return Verdict("pass")
    problem = _kind_of_problem(expected, outcome.value, exercise)
    if case.gradient:
        problem = _("the gradient autograd computes through your function is not the derivative: {problem}").format(
            problem=problem)
    # a recognised mistake is one of the exercise's own sentences, chosen by the grader
    return failed(said(_("{name}: {problem}{details}."), problem=problem),
                  recognised(exercise, case, expected, outcome.value, wrong_output))
