"""The class report as plain data: scores, exercises, item analysis, mistakes, problems, similarity.

Everything is computed from a read output folder (`coursekit.grading.report_read`); nothing is
run again. Shares are fractions in [0, 1]; a statistic that has no students to stand on is None.
Per-exercise figures and the item analysis count the students whose notebook could be graded
(a notebook that could not be read says nothing about an exercise); the scores count everyone.

Item analysis: for each case, among the students who attempted its exercise and for whom the
case ran, the share who failed it (a wrong result or an error), and its discrimination: the
point-biserial correlation between failing the case (1) or not (0) and the total score. A case
that separates weaker from stronger students has a clearly negative correlation. A case that
(almost) everyone or (almost) nobody fails is flagged: it may be a problem of the case rather than
of the class.

Similarity buckets the answers of each exercise by the digest of their normal form (one pass over
the class, never a comparison of pairs). Answers shorter than `copies.MIN_NODES` syntax nodes are
not clustered: short code is what anyone would write.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

import coursekit
from coursekit.grading.copies import MIN_NODES
from coursekit.grading.gradebook import missing_shards
from coursekit.grading.record import OVER_LIMIT
from coursekit.grading.report_read import Folder, Student
from coursekit.i18n import language

__all__ = ["FLAG_FEW", "FLAG_MANY", "FLAG_MIN_STUDENTS", "PROBLEM_KINDS", "SCHEMA_VERSION", "report_data"]

SCHEMA_VERSION = 1
#: a case is flagged when at least FLAG_MANY (or at most FLAG_FEW) of the students it ran for failed it ...
FLAG_MANY, FLAG_FEW = 0.9, 0.05
#: ... and it ran for at least this many students (fewer say little)
FLAG_MIN_STUDENTS = 10
#: the kinds of problem, in the order of the report's table when counts tie
PROBLEM_KINDS = ("unreadable", "not_read", "submission", "timeout", "limit", "crash", "invalid", "not_run",
                 "cell_timeout", "cell_stopped", "other_files", "exercise_other")
_EXAMPLES = 3
_CODES = {"pass": 0, "fail": 1, "error": 1}  # a case's mark as a number: 0 passed, 1 failed, -1 did not run
_EXERCISE_PROBLEMS = {"timeout", "crash", "invalid", "not_run"}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def _histogram(totals: Sequence[float], max_total: float) -> dict[str, list[float] | list[int]]:
    bins = int(min(20, max(5, np.ceil(np.sqrt(max(len(totals), 1))))))
    top = max(max_total, max(totals, default=0.0), 1e-9)
    counts, edges = np.histogram(np.asarray(totals, dtype=float), bins=bins, range=(0.0, top))
    return {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]}


def _has_problem(student: Student) -> bool:
    return bool(student.problem or student.stopped or student.unread or
                any(a.problem for a in student.answers.values()))


def _scores(folder: Folder) -> dict[str, Any]:
    totals = [s.total for s in folder.students]
    max_total = float(folder.meta.get("max_total") or sum(float(e.get("points", 0)) for e in folder.meta["exercises"]))
    return {
        "students": len(totals), "graded": sum(not s.problem for s in folder.students),
        "not_graded": sum(bool(s.problem) for s in folder.students),
        "with_problems": sum(_has_problem(s) for s in folder.students),
        "max_total": max_total,
        "mean": _round(statistics.fmean(totals)) if totals else None,
        "median": _round(statistics.median(totals)) if totals else None,
        "stdev": _round(statistics.pstdev(totals)) if totals else None,
        "lowest": min(totals, default=None), "highest": max(totals, default=None),
        "full_marks": sum(abs(t - max_total) < 1e-9 for t in totals),
        "histogram": _histogram(totals, max_total),
    }


def _status(student: Student, exercise: str) -> str:
    answer = student.answers.get(exercise)
    return answer.status if answer is not None else "not_attempted"


def _exercises(folder: Folder, graded: Sequence[Student]) -> list[dict[str, Any]]:
    rows = []
    for meta in folder.meta["exercises"]:
        ident, points = meta["id"], float(meta.get("points", 0))
        counts = Counter(_status(s, ident) for s in graded)
        earned = [s.answers[ident].points if ident in s.answers else 0.0 for s in graded]
        mean = statistics.fmean(earned) if earned else None
        rows.append({
            "id": ident, "title": str(meta.get("title", ident)), "points": points, "students": len(graded),
            "counts": {k: counts.get(k, 0) for k in ("pass", "fail", "error", "not_attempted")},
            "pass_rate": _round(_share(counts["pass"], len(graded))),
            "mean_points": _round(mean),
            "mean_share": _round(mean / points if mean is not None and points else None),
            "not_attempted": _round(_share(counts["not_attempted"], len(graded))),
            "errors": _round(_share(counts["error"], len(graded))),
        })
    # hardest first: the lowest pass rate, then the fewest points; an exercise nobody was graded on goes last
    return sorted(rows, key=lambda r: (r["pass_rate"] is None, r["pass_rate"] or 0.0, r["mean_share"] or 0.0,
                                       r["id"]))


def _attempted(graded: Sequence[Student], exercise: str) -> list[Student]:
    return [s for s in graded if exercise in s.answers and s.answers[exercise].status != "not_attempted"]


def _discrimination(failed: np.ndarray, totals: np.ndarray) -> float | None:
    """The point-biserial correlation of failing (1/0) with the total; None without variation on either side."""
    if failed.size < 2 or failed.min() == failed.max() or np.ptp(totals) == 0:
        return None
    return float(np.corrcoef(failed.astype(float), totals)[0, 1])


def _flag(ran: int, share: float | None) -> str | None:
    if share is None or ran < FLAG_MIN_STUDENTS:
        return None
    return "almost_all_fail" if share >= FLAG_MANY else "almost_none_fail" if share <= FLAG_FEW else None


def _codes(students: Sequence[Student], ident: str, count: int) -> np.ndarray:
    """students x cases: 0 passed, 1 failed (a wrong result or an error), -1 did not run."""
    rows = []
    for student in students:
        marks = [_CODES.get(status, -1) for status, _mistake in (student.answers[ident].cases or ())[:count]]
        rows.append(marks + [-1] * (count - len(marks)))
    return np.asarray(rows, dtype=np.int8).reshape(len(students), count)


def _cases(folder: Folder, attempted: dict[str, list[Student]]) -> tuple[list[dict[str, Any]], int]:
    """One row per case of every exercise, and how many attempted answers had no recorded case marks."""
    rows, unrecorded = [], 0
    for meta in folder.meta["exercises"]:
        ident, count = meta["id"], int(meta.get("cases", 0))
        info = meta.get("case_list") if isinstance(meta.get("case_list"), list) else []
        students = [s for s in attempted[ident] if s.answers[ident].cases is not None]
        unrecorded += len(attempted[ident]) - len(students)
        totals = np.asarray([s.total for s in students], dtype=float)
        codes = _codes(students, ident, count)
        for k in range(count):
            case = info[k] if k < len(info) and isinstance(info[k], dict) else {}
            ran = codes[:, k] >= 0
            failed = codes[ran, k]
            share = _share(int(failed.sum()), int(ran.sum()))
            rows.append({
                "exercise": ident, "number": k + 1, "label": str(case.get("label", "")),
                "hidden": bool(case.get("hidden", False)), "gradient": bool(case.get("gradient", False)),
                "call": None if case.get("hidden", False) else case.get("call"),
                "ran": int(ran.sum()), "failed": int(failed.sum()), "share_failed": _round(share),
                "discrimination": _round(_discrimination(failed, totals[ran])),
                "flag": _flag(int(ran.sum()), share),
            })
    return rows, unrecorded


def _mistakes(folder: Folder, attempted: dict[str, list[Student]]) -> list[dict[str, Any]]:
    sections = []
    for meta in folder.meta["exercises"]:
        ident = meta["id"]
        hints = {m["name"]: str(m.get("message", "")) for m in meta.get("mistakes") or ()
                 if isinstance(m, dict) and isinstance(m.get("name"), str)}
        students = [s for s in attempted[ident] if s.answers[ident].cases is not None]
        who: dict[str, list[str]] = defaultdict(list)
        failed = unrecognised = 0
        for student in students:
            answer = student.answers[ident]
            made = {m for _, m in answer.cases or () if m}
            for name in made:
                who[name].append(student.student)
            if answer.status in ("fail", "error"):
                failed += 1
                unrecognised += not made
        ranked = sorted(who.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        sections.append({
            "exercise": ident, "title": str(meta.get("title", ident)), "attempted": len(students),
            "failed": failed, "unrecognised": unrecognised,
            "mistakes": [{"name": name, "hint": hints.get(name, ""), "students": len(ids),
                          "share": _round(_share(len(ids), len(students))), "ids": sorted(ids)}
                         for name, ids in ranked],
        })
    return sections


def _problem_kinds(student: Student) -> list[tuple[str, str]]:
    """(kind, detail) for each problem of a student."""
    found = []
    if student.problem:
        head = student.problem.split(":", 1)[0]
        found.append(({"unreadable notebook": "unreadable", "not read": "not_read"}.get(head, "submission"),
                      student.problem))
    found += [("cell_timeout" if "time limit" in text else "cell_stopped", text) for text in student.stopped]
    found += [("other_files", text) for text in student.unread]
    for ident, answer in sorted(student.answers.items()):
        if answer.problem:
            head = answer.problem.split(":", 1)[0]
            kind = "limit" if answer.problem == OVER_LIMIT else head if head in _EXERCISE_PROBLEMS else "exercise_other"
            found.append((kind, f"{ident}: {answer.problem}"))
    return found


def _problems(folder: Folder) -> list[dict[str, Any]]:
    ids: dict[str, set[str]] = defaultdict(set)
    occurrences: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for student in folder.students:
        for kind, detail in _problem_kinds(student):
            ids[kind].add(student.student)
            occurrences[kind] += 1
            if detail not in examples[kind] and len(examples[kind]) < _EXAMPLES:
                examples[kind].append(detail)
    order = {k: i for i, k in enumerate(PROBLEM_KINDS)}
    return [{"kind": kind, "students": len(ids[kind]), "occurrences": occurrences[kind],
             "examples": examples[kind], "ids": sorted(ids[kind])}
            for kind in sorted(ids, key=lambda k: (-len(ids[k]), order.get(k, len(order))))]


def _similarity(folder: Folder, attempted: dict[str, list[Student]]) -> tuple[list[dict[str, Any]], int]:
    """Per exercise: reference matches and clusters of identical normal forms; and how many answers lacked a
    recorded form."""
    sections, unrecorded = [], 0
    for meta in folder.meta["exercises"]:
        ident = meta["id"]
        buckets: dict[str, list[Student]] = defaultdict(list)
        matches: dict[str, list[str]] = {"reference": [], "course": []}
        compared = short = 0
        for student in attempted[ident]:
            answer = student.answers[ident]
            if answer.digest is None:
                unrecorded += 1
            elif answer.match in matches:
                matches[answer.match].append(student.student)
            elif answer.digest:
                compared += 1
                if answer.nodes < MIN_NODES:
                    short += 1
                else:
                    buckets[answer.digest].append(student)
        groups = sorted((sorted(members, key=lambda m: m.student) for members in buckets.values()
                         if len(members) > 1), key=lambda g: (-len(g), g[0].student))
        clusters = [{"size": len(group), "students": [m.student for m in group],
                     "passed": sum(m.answers[ident].status == "pass" for m in group)} for group in groups]
        sections.append({"exercise": ident, "title": str(meta.get("title", ident)), "compared": compared,
                         "short": short, "clusters": clusters, "reference": sorted(matches["reference"]),
                         "course": sorted(matches["course"])})
    return sections, unrecorded


def report_data(folder: Folder) -> dict[str, Any]:
    """The class report of a read output folder, as JSON-ready data (see `coursekit.grading.report_schema`)."""
    graded = [s for s in folder.students if not s.problem]
    attempted = {e["id"]: _attempted(graded, e["id"]) for e in folder.meta["exercises"]}
    cases, cases_unrecorded = _cases(folder, attempted)
    similarity, forms_unrecorded = _similarity(folder, attempted)
    answers = sum(len(a) for a in attempted.values())
    unavailable = {}
    if answers and cases_unrecorded == answers:
        unavailable["cases"] = unavailable["mistakes"] = "not_recorded"
    if answers and forms_unrecorded == answers:
        unavailable["similarity"] = "not_recorded"
    if not graded:
        unavailable.update({k: "no_graded_students" for k in ("exercises", "cases", "mistakes", "similarity")})
    return {
        "schema_version": SCHEMA_VERSION,
        "assignment": str(folder.meta.get("assignment", "")),
        "seed": folder.meta.get("seed") if isinstance(folder.meta.get("seed"), int) else None,
        "graded_with": str(folder.meta.get("coursekit_version", "")),
        "reported_with": coursekit.__version__,
        "language": language(),
        "merged_shards": [str(s) for s in folder.meta.get("merged_shards") or ()],
        "missing_shards": missing_shards(folder.meta),
        "without_results": [{"student": s, "why": why} for s, why in folder.unreadable],
        "stale_results": folder.stale,
        "unavailable": unavailable,
        "unrecorded": {"cases": cases_unrecorded, "similarity": forms_unrecorded},
        "scores": _scores(folder),
        "exercises": _exercises(folder, graded),
        "cases": cases,
        "mistakes": _mistakes(folder, attempted),
        "problems": _problems(folder),
        "similarity": similarity,
    }
