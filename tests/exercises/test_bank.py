"""Properties every exercise of the bank must have, checked for all of them at once."""

from __future__ import annotations

import re

import pytest

from coursekit.exercises import all_exercises
from coursekit.grading.check import check, run_case
from coursekit.grading.compare import _fmt_value, judge
from coursekit.grading.plain import encode

EXERCISES = all_exercises()
IDS = [e.id for e in EXERCISES]


def _stub(exercise):
    if exercise.kind == "value":
        return None

    def stub(*args, **kwargs):
        raise NotImplementedError

    stub.__name__ = exercise.id
    return stub


def _named(fn, name):
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    wrapper.__name__ = name
    return wrapper


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_reference_scores_full_points(exercise):
    answer = exercise.reference() if exercise.kind == "value" else exercise.reference
    result = check(exercise.id, answer)
    assert result.status == "pass", repr(result)
    assert result.points == exercise.points and result.passed == result.total > 0


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_reference_passes_hidden_cases(exercise):
    for seed in (1, 2):
        for number, case in enumerate(exercise.cases(hidden_seed=seed), start=1):
            answer = exercise.reference() if exercise.kind == "value" else exercise.reference
            outcome = run_case(exercise, case, answer)
            verdict = judge(exercise, case, encode(exercise.expected(case)), outcome, number=number)
            assert verdict.passed, verdict.message


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_stub_is_not_attempted_and_never_raises(exercise):
    result = check(exercise.id, _stub(exercise))
    assert result.status == "not_attempted", repr(result)
    assert result.points == 0


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_has_hints_and_two_recognised_mistakes(exercise):
    assert exercise.hints, f"{exercise.id} has no hints"
    assert len(exercise.mistakes) >= 2, f"{exercise.id} recognises fewer than two mistakes"


MISTAKES = [(e, m) for e in EXERCISES for m in e.mistakes if m.wrong is not None]


@pytest.mark.parametrize("exercise,mistake", MISTAKES, ids=[f"{e.id}-{m.name}" for e, m in MISTAKES])
def test_wrong_answer_gets_its_targeted_message(exercise, mistake):
    wrong = mistake.wrong if exercise.kind == "function" else mistake.wrong()
    candidate = _named(wrong, exercise.id) if exercise.kind == "function" else wrong
    result = check(exercise.id, candidate)
    assert result.status in ("fail", "error"), f"{mistake.name} passed: {result!r}"
    assert result.verdict is not None and result.verdict.hint == mistake.message, repr(result)


@pytest.mark.parametrize("exercise", EXERCISES, ids=IDS)
def test_hidden_case_messages_never_show_inputs(exercise):
    wrongs = [m.wrong for m in exercise.mistakes if m.wrong is not None] or [None]
    for number, case in enumerate(exercise.cases(hidden_seed=7), start=1):
        if not case.hidden:
            continue
        shown_inputs = [_fmt_value(encode(a)) for a in (*case.args, *case.kwargs.values())]
        shown_inputs = [s for s in shown_inputs if len(s) > 4 and re.search(r"\d", s)]
        for wrong in wrongs:
            if wrong is None:
                continue
            candidate = wrong() if exercise.kind == "value" else wrong
            verdict = judge(exercise, case, encode(exercise.expected(case)),
                            run_case(exercise, case, candidate), number=number)
            text = verdict.message + (verdict.hint or "")
            for shown in shown_inputs:
                assert shown not in text, f"hidden input {shown} leaked: {text}"
