"""Read a grading output folder for the class report: its metadata, the gradebook's students, their results.

Only files the grader wrote are read (nothing runs). A folder that is not a finished grading
output raises `ReportError` with what to do; a student whose results file is missing or broken,
and a results file of a student the gradebook does not list, are kept as notes so that nothing
vanishes silently. Results written by an older grader lack the per-case marks and the answers'
normal forms: their fields read as None, and the report says which sections it cannot show.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.grading.gradebook import GRADEBOOK, META
from coursekit.grading.printable import csv_cell, printable
from coursekit.i18n import _

__all__ = ["Answer", "Folder", "ReportError", "Student", "read_folder"]


class ReportError(ValueError):
    """The folder cannot be reported on; the message says why and what to do."""


@dataclass(frozen=True)
class Answer:
    """One exercise of one student, as the report needs it."""

    status: str  # pass, fail, error, not_attempted
    points: float
    problem: str
    cases: tuple[tuple[str, str | None], ...] | None  # (status, recognised mistake) per case; None: not recorded
    digest: str | None  # the answer's normal form; "" when it has none (a value, no function); None: not recorded
    nodes: int
    match: str  # "reference", "course" or ""


@dataclass(frozen=True)
class Student:
    """One student's row of the report."""

    student: str
    total: float
    problem: str  # why the whole notebook could not be graded ("" when it was graded)
    stopped: tuple[str, ...]  # cells that stopped the worker
    unread: tuple[str, ...]  # other files of the submission that were not graded
    answers: dict[str, Answer]


@dataclass(frozen=True)
class Folder:
    """A grading output folder, read: its metadata, its students, and what could not be read."""

    path: Path
    meta: dict[str, Any]
    students: tuple[Student, ...]
    unreadable: tuple[tuple[str, str], ...]  # (student, why) listed by the gradebook but without usable results
    stale: int  # results files of students the gradebook does not list (left out)


def _number(value: Any, default: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return float(value)


def _text(value: Any) -> str:
    return printable(value) if isinstance(value, str) else ""


def _marks(value: Any) -> tuple[tuple[str, str | None], ...] | None:
    if not isinstance(value, list):
        return None
    marks = []
    for mark in value:
        if not isinstance(mark, dict) or not isinstance(mark.get("status"), str):
            return None
        mistake = mark.get("mistake")
        marks.append((mark["status"], mistake if isinstance(mistake, str) else None))
    return tuple(marks)


def _answer(data: dict[str, Any]) -> Answer:
    digest = data.get("digest")
    return Answer(status=_text(data.get("status")) or "error", points=_number(data.get("points")),
                  problem=_text(data.get("problem")), cases=_marks(data.get("cases")),
                  digest=digest if isinstance(digest, str) else None, nodes=int(_number(data.get("nodes"))),
                  match=_text(data.get("match")))


def _student(data: Any) -> Student:
    if not isinstance(data, dict) or not isinstance(data.get("student"), str) \
            or not isinstance(data.get("exercises"), list):
        raise ValueError("not a student's results")
    answers = {e["id"]: _answer(e) for e in data["exercises"] if isinstance(e, dict) and isinstance(e.get("id"), str)}
    listed = [tuple(_text(t) for t in data.get(key) or () if isinstance(t, str)) for key in ("stopped", "unread")]
    return Student(printable(data["student"]), _number(data.get("total")), _text(data.get("problem")),
                   listed[0], listed[1], answers)


def _meta(folder: Path) -> dict[str, Any]:
    where = printable(folder)
    if not folder.is_dir():
        raise ReportError(_("{folder} is not a folder: give the --out folder of `coursekit grade`.").format(
            folder=where))
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(_("{folder} is not a grading output (it has no {meta}): give the --out folder of "
                            "`coursekit grade`, or grade the class into it first.").format(folder=where, meta=META)
                          ) from None
    except (OSError, ValueError) as exc:
        raise ReportError(_("{folder}/{meta} cannot be read ({why}): grade the class again into a new "
                            "folder.").format(folder=where, meta=META, why=printable(exc))) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("exercises"), list) \
            or not all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in meta["exercises"]):
        raise ReportError(_("{folder}/{meta} is not the metadata of a grading run.").format(folder=where, meta=META))
    if meta.get("finished") is False:
        raise ReportError(_("The grading run of {folder} has not finished (or was stopped): run the same "
                            "`coursekit grade` command again to finish it; it writes the report when it "
                            "ends.").format(folder=where))
    return meta


def _listed(folder: Path) -> list[str]:
    """The gradebook's student cells, in its order."""
    try:
        with open(folder / GRADEBOOK, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise ReportError(_("{folder} has no {gradebook}: the grading run did not finish; run the same "
                            "`coursekit grade` command again.").format(folder=printable(folder),
                                                                        gradebook=GRADEBOOK)) from None
    except (OSError, ValueError, csv.Error) as exc:
        raise ReportError(_("{folder}/{gradebook} cannot be read ({why}).").format(
            folder=printable(folder), gradebook=GRADEBOOK, why=printable(exc))) from None
    if rows and "student" not in rows[0]:
        raise ReportError(_("{folder}/{gradebook} has no student column.").format(
            folder=printable(folder), gradebook=GRADEBOOK))
    return [row["student"] for row in rows]


def read_folder(folder: Path | str) -> Folder:
    """Read a finished grading output folder (a merged one too); raises ReportError when it is not one."""
    folder = Path(folder)
    meta = _meta(folder)
    listed = _listed(folder)
    wanted = set(listed)
    found: dict[str, Student] = {}
    broken: dict[str, str] = {}
    stale = 0
    results = folder / "results"
    for path in sorted(results.glob("*.json")) if results.is_dir() else []:
        try:
            student = _student(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            broken[csv_cell(path.name[:-len(".json")])] = printable(exc)
            continue
        if csv_cell(student.student) in wanted:
            found[csv_cell(student.student)] = student
        else:
            stale += 1
    unreadable = []
    for cell in listed:
        if cell not in found:
            why = broken.get(cell)
            unreadable.append((cell, _("its results file cannot be read ({why})").format(why=why) if why
                               else _("it has no results file")))
    students = tuple(sorted(found.values(), key=lambda s: s.student))
    return Folder(folder, meta, students, tuple(unreadable), stale)
