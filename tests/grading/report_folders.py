"""Grading output folders written directly (no grading), for the report's tests of odd classes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from coursekit.grading.gradebook import CaseMark, ExerciseResult, StudentResult, write_gradebook, write_student

ASSIGNMENT = "synthetic"


def exercise(ident: str, *, cases: int = 4, hidden: int = 2, points: float = 1.0,
             mistakes: Sequence[str] = ("slip",)) -> dict:
    """An exercise's entry in gradebook.meta.json, as the grader writes it."""
    case_list = [{"label": f"case about {k}", "hidden": k >= cases - hidden, "gradient": False, "weight": 1.0,
                  **({} if k >= cases - hidden else {"call": f"{ident}(x={k})"})} for k in range(cases)]
    return {"id": ident, "title": f"Exercise {ident}", "points": points, "cases": cases, "case_list": case_list,
            "mistakes": [{"name": m, "message": f"hint for {m}"} for m in mistakes]}


def answer(meta: dict, marks: str, *, mistake: str | None = None, digest: str = "", nodes: int = 0,
           match: str = "", problem: str = "") -> ExerciseResult:
    """One exercise's result from its marks, one letter per case: P pass, F fail (with `mistake`), E error,
    N not run; "" is not attempted."""
    words = {"P": "pass", "F": "fail", "E": "error", "N": "not_run"}
    cases = tuple(CaseMark(words[m], mistake if m == "F" else None) for m in marks)
    passed = sum(m == "P" for m in marks)
    if not marks:
        status = "not_attempted"
    else:
        status = "error" if "E" in marks or problem else "fail" if passed < len(marks) else "pass"
    points = 0.0 if problem or not marks else round(meta["points"] * passed / len(marks), 2)
    return ExerciseResult(meta["id"], meta["title"], points, meta["points"], passed, meta["cases"], status,
                          cases=cases, digest=digest, nodes=nodes, match=match, problem=problem)


def student(name: str, answers: Sequence[ExerciseResult], *, problem: str = "", max_total: float) -> StudentResult:
    total = round(sum(a.points for a in answers), 2)
    return StudentResult(name, ASSIGNMENT, f"{name}.ipynb", "", total, max_total, tuple(answers), problem=problem)


def write_folder(out: Path, students: Sequence[StudentResult], exercises: Sequence[dict]) -> Path:
    """A finished output folder holding these results."""
    for result in students:
        write_student(out, result)
    meta = {"assignment": ASSIGNMENT, "seed": 7, "shard": None, "exercises": list(exercises),
            "max_total": float(sum(e["points"] for e in exercises)), "coursekit_version": "test"}
    write_gradebook(out, list(students), meta)
    return out
