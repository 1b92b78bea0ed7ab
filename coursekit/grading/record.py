"""What the grader records for the class report, so the report never runs student code again.

Per student and exercise (in `results/<student>.json`): each case's mark (pass, fail, error,
not run) with the name of the recognised mistake, and the answer's code in normal form (a
digest, its size, and whether it is a reference solution's). Per exercise (in
`gradebook.meta.json`): each case's label and whether it is hidden, and the exercise's known
mistakes with their hints. A hidden case is recorded by its label only, never by its inputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from coursekit.exercises.model import Case, Exercise
from coursekit.grading.compare import Verdict, describe_call
from coursekit.grading.copies import AnswerForm, reference_flag
from coursekit.grading.exchange import Failure
from coursekit.grading.gradebook import CaseMark, ExerciseResult

__all__ = ["CALL_CHARACTERS", "OVER_LIMIT", "answer_flags", "case_marks", "exercise_record", "with_form"]

# The same runaway allocation ends as a MemoryError, a timeout (where zeroing the pages is slow) or a kill by
# the memory cgroup: the gradebook names all three alike, so it does not depend on the machine.
OVER_LIMIT = "over the time or memory limit"
#: a public case's call is kept up to this many characters (its inputs can be long tensors)
CALL_CHARACTERS = 100


def case_marks(verdicts: Sequence[Verdict], count: int, failure: Failure | None) -> tuple[CaseMark, ...]:
    """Every case's mark: the verdicts of the cases that finished, then the case a failure (a timeout, a crash)
    stopped at as an error, then the rest as not run."""
    marks = [CaseMark("pass" if v.passed else v.status, v.mistake) for v in verdicts]
    if failure is not None and failure.kind != "not_run" and len(marks) < count:
        marks.append(CaseMark("error"))
    return tuple(marks + [CaseMark("not_run")] * (count - len(marks)))


def with_form(result: ExerciseResult, form: AnswerForm | None, origin: str) -> ExerciseResult:
    """`result` with its answer's normal form and match: "course" (the course's own function, `origin`),
    "reference" (the reference solution's code) or ""."""
    match = "course" if origin else "reference" if form is not None and form.reference else ""
    if form is None:
        return dataclasses.replace(result, match=match)
    return dataclasses.replace(result, digest=form.digest, nodes=form.nodes, match=match)


def answer_flags(ids: Sequence[str], forms: Mapping[str, AnswerForm], origins: Mapping[str, str]) -> tuple[str, ...]:
    """The gradebook's flags for the instructor (never scored): answers whose code is a reference's, or that are
    the course's own function."""
    copied = [reference_flag(i) for i in ids if i in forms and forms[i].reference]
    own = [f"{i}: the answer is the course's own function {origins[i]}" for i in ids if origins.get(i)]
    return tuple(copied + own)


def _case(exercise: Exercise, case: Case) -> dict[str, Any]:
    info: dict[str, Any] = {"label": case.label, "hidden": case.hidden, "gradient": case.gradient,
                            "weight": case.weight}
    if not case.hidden:
        call = describe_call(exercise, case)
        info["call"] = call if len(call) <= CALL_CHARACTERS else call[:CALL_CHARACTERS - 1] + "…"
    return info


def exercise_record(exercise: Exercise, cases: Sequence[Case]) -> dict[str, Any]:
    """What the metadata keeps of an exercise for the report: its cases (hidden ones by label) and mistakes."""
    return {"case_list": [_case(exercise, c) for c in cases],
            "mistakes": [{"name": m.name, "message": m.message} for m in exercise.mistakes]}
