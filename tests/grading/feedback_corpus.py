"""Every kind of feedback the course gives on one exercise, rendered in the current language.

For an exercise: check() on the not-attempted stub, on wrong answers (each known-wrong implementation
the exercise recognises, and the reference's output changed), on an answer that raises an autograd
error (so explain() is shown), on each rule-breaking answer of `answers.BREAKS`; hint() and solution();
and the verdicts of a hidden case for each way it can fail. Each item is (what, text) with the text as
a learner reads it: the result's text form, and its HTML form as a browser shows it.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import torch

from coursekit.exercises.model import Exercise
from coursekit.grading.check import check, hint, solution
from coursekit.grading.compare import ErrorInfo, Outcome, judge
from coursekit.grading.plain import encode

from .answers import BREAKS
from .prose import visible_text

__all__ = ["USAGE", "feedback", "hidden_feedback", "perturbed"]


def perturbed(value: Any) -> Any:
    """A wrong answer of the right kind: the reference's output, changed."""
    if isinstance(value, torch.Tensor):
        if value.dtype == torch.bool:
            return ~value
        if value.is_floating_point():
            return value.detach() * 1.5 + 0.25
        return value + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1.0
    if isinstance(value, str):
        return "minimum" if value != "minimum" else "maximum"
    if isinstance(value, tuple):
        return (perturbed(value[0]), *value[1:])
    if isinstance(value, list):
        return [perturbed(value[0]), *value[1:]]
    if isinstance(value, dict):
        first = next(iter(value))
        return {**value, first: perturbed(value[first])}
    return value


def _stub(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


def _autograd_error(*args: Any, **kwargs: Any) -> Any:
    torch.zeros(2).sum().backward()  # "element 0 of tensors does not require grad ...": explain() knows it


def _define(source: str, name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec("import torch\n" + textwrap.dedent(source), namespace)  # noqa: S102 - the test's own answers
    return namespace[name]


def _shown(result: Any) -> list[str]:
    return [repr(result), visible_text(result._repr_html_())]


def feedback(exercise: Exercise) -> Iterator[tuple[str, str]]:
    """(what, text) for every check(), hint() and solution() message of one exercise."""
    ident = exercise.id
    if exercise.kind == "value":
        answers: list[tuple[str, Any]] = [("stub", None), ("perturbed", perturbed(exercise.reference())),
                                          ("raises", _autograd_error)]
        answers += [(f"mistake {m.name}", m.wrong()) for m in exercise.mistakes if m.wrong is not None][:1]
    else:
        reference = exercise.reference

        def changed(*args: Any, **kwargs: Any) -> Any:
            return perturbed(reference(*args, **kwargs))

        answers = [("stub", _stub), ("perturbed", changed), ("raises", _autograd_error)]
        answers += [(f"mistake {m.name}", m.wrong) for m in exercise.mistakes if m.wrong is not None][:1]
    answers += [(f"break {k} (rule {index})", _define(source, ident))
                for k, (source, index) in enumerate(BREAKS.get(ident, ()))]
    for what, answer in answers:
        result = check(ident, answer)
        for text in _shown(result):
            yield f"{ident}: check, {what}", text
    for k in range(len(exercise.hints) + 1):
        for text in _shown(hint(ident)):
            yield f"{ident}: hint {k + 1}", text
    for text in _shown(solution(ident)):
        yield f"{ident}: solution()", text


def hidden_feedback(exercise: Exercise, *, seed: int = 7) -> Iterator[tuple[str, str]]:
    """(what, text) for a hidden case of the exercise failing in every way the grader words."""
    numbered = [(n, c) for n, c in enumerate(exercise.cases(hidden_seed=seed), start=1) if c.hidden]
    chosen = numbered[:1] + [(n, c) for n, c in numbered if c.gradient][:1]
    for number, case in chosen:
        expected = encode(exercise.expected(case))
        rule = exercise.rules[0].message("(what the code did)") if exercise.rules else ""
        outcomes = {
            "error": Outcome(error=ErrorInfo("ValueError", "a message that must not be shown")),
            "no gradient": Outcome(error=ErrorInfo("NoGradient", "not shown either")),
            "returned None": Outcome(value=None),
            "changed its input": Outcome(value=expected, mutated=("x",)),
            "wrong": Outcome(value=encode(perturbed(exercise.expected(case)))),
            "wrong kind": Outcome(value="a string"),
        }
        if rule:
            outcomes["broke a rule"] = Outcome(value=expected, violation=rule)
        if exercise.warning_free:
            outcomes["warning"] = Outcome(value=expected, warnings=("RuntimeWarning: overflow",))
        for what, outcome in outcomes.items():
            verdict = judge(exercise, case, expected, outcome, number=number)
            for text in (verdict.message, verdict.hint or ""):
                if text:
                    yield f"{exercise.id}: hidden case {number}, {what}", text


#: check() used the wrong way, and what it says
USAGE: tuple[tuple[str, Callable[[], Any]], ...] = (
    ("an unknown exercise", lambda: check("sofmax", 1.0)),
    ("an id without an answer", lambda: check("sigmoid")),
    ("not a function", lambda: check(3)),
    ("a lambda", lambda: check(lambda x: x)),
    ("a function of an unknown name", lambda: check(_define("def sigmod(x):\n    return x", "sigmod"))),
    ("a value exercise without its value", lambda: check(_define("def largest_stable_lr():\n    return 1",
                                                                 "largest_stable_lr"))),
    ("a value where a function is asked", lambda: check("sigmoid", 0.5)),
    ("hint of an unknown exercise", lambda: hint("sofmax")),
)
