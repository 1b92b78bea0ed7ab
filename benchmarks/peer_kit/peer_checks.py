"""The checks the peers' test cells call: the same cases, comparison and pro-rata points as `coursekit grade`.

nbgrader's and otter's test cells import this module (it is on the kernels' PYTHONPATH
during `make bench-peers`), so all three graders judge an answer alike and differ only in
how they run it: what a timeout, a crash or a kill costs, and how long it takes.
"""

from __future__ import annotations

from typing import Any

from coursekit.exercises import get
from coursekit.grading.check import run_case
from coursekit.grading.compare import judge, tally
from coursekit.grading.plain import encode

__all__ = ["SEED", "case_passes", "points"]

SEED = 2024  # the grading seed of the benchmark: it draws the hidden cases


def _verdicts(exercise_id: str, candidate: Any) -> list[Any]:
    exercise = get(exercise_id)
    found = []
    for number, case in enumerate(exercise.cases(hidden_seed=SEED), start=1):
        found.append(judge(exercise, case, encode(exercise.expected(case)), run_case(exercise, case, candidate),
                           number=number))
    return found


def points(exercise_id: str, candidate: Any) -> float:
    """The exercise's points for `candidate`, by case weight over its public and hidden cases (nbgrader's
    partial credit)."""
    verdicts = _verdicts(exercise_id, candidate)
    if any(v.status == "not_attempted" for v in verdicts):
        return 0.0
    exercise = get(exercise_id)
    return tally(verdicts, exercise.points, [c.weight for c in exercise.cases(hidden_seed=SEED)])[1]


def case_passes(exercise_id: str, number: int, candidate: Any) -> bool:
    """Whether case `number` (1-based, public then hidden) passes: one otter test case (worth its weight)."""
    exercise = get(exercise_id)
    case = exercise.cases(hidden_seed=SEED)[number - 1]
    verdict = judge(exercise, case, encode(exercise.expected(case)), run_case(exercise, case, candidate),
                    number=number)
    return verdict.status == "pass"
