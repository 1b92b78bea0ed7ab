"""The documented schema of `report.json`, and a checker that holds the report to it.

`SCHEMA` mirrors the report: a dict is an object with exactly these keys, a one-element list
is a list of such items, and a `Field` is a value of the given JSON types with its meaning.
`coursekit report --schema` prints it as Markdown; `check` lists every difference between a
report and the schema (a key missing or extra, a value of the wrong type), so a test can keep
them equal. `schema_version` changes whenever a key changes meaning or goes away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "Field", "check", "markdown"]


@dataclass(frozen=True)
class Field:
    """A value: its JSON types ("int", "number", "string", "bool", "null") and what it means."""

    types: tuple[str, ...]
    doc: str


def _f(types: str, doc: str) -> Field:
    return Field(tuple(types.split("|")), doc)


SHARE = "number|null"
IDS = [_f("string", "a student id, as in the gradebook")]

SCHEMA: dict[str, Any] = {
    "schema_version": _f("int", "version of this schema (1)"),
    "assignment": _f("string", "the course notebook graded"),
    "seed": _f("int|null", "the seed of the hidden cases"),
    "graded_with": _f("string", "coursekit version that graded the class"),
    "reported_with": _f("string", "coursekit version that wrote this report"),
    "language": _f("string", "language of the HTML report (en, zh)"),
    "merged_shards": [_f("string", "shards K/N merged into this folder (empty: not a merge)")],
    "missing_shards": [_f("string", "shards of the split that are not merged yet")],
    "without_results": [{"student": _f("string", "listed in the gradebook ..."),
                         "why": _f("string", "... but left out of the report: why")}],
    "stale_results": _f("int", "results files of students the gradebook does not list (left out)"),
    "unavailable": {"*": _f("string", "section name -> why it cannot be shown: not_recorded (graded by an older "
                                      "grader), no_graded_students")},
    "unrecorded": {"cases": _f("int", "attempted answers without per-case marks (older grader)"),
                   "similarity": _f("int", "attempted answers without a recorded normal form (older grader)")},
    "scores": {
        "students": _f("int", "class size: rows of the gradebook with results"),
        "graded": _f("int", "students whose notebook was graded"),
        "not_graded": _f("int", "students whose notebook could not be graded at all"),
        "with_problems": _f("int", "students with at least one problem (see problems)"),
        "max_total": _f("number", "the maximum total"),
        "mean": _f(SHARE, "mean total over every student (0 for those not graded)"),
        "median": _f(SHARE, "median total"),
        "stdev": _f(SHARE, "population standard deviation of the totals"),
        "lowest": _f(SHARE, "lowest total"),
        "highest": _f(SHARE, "highest total"),
        "full_marks": _f("int", "students with the maximum total"),
        "histogram": {"edges": [_f("number", "bin edges from 0 to max_total")],
                      "counts": [_f("int", "students per bin (the last bin includes max_total)")]},
    },
    "exercises": [{
        "id": _f("string", "exercise id"), "title": _f("string", "exercise title"),
        "points": _f("number", "its points"), "students": _f("int", "graded students (the denominator)"),
        "counts": {"pass": _f("int", "passed every case"), "fail": _f("int", "failed a case"),
                   "error": _f("int", "raised, timed out, crashed or hit a limit"),
                   "not_attempted": _f("int", "left the stub")},
        "pass_rate": _f(SHARE, "share of graded students who passed it"),
        "mean_points": _f(SHARE, "mean points earned"),
        "mean_share": _f(SHARE, "mean points as a share of its points"),
        "not_attempted": _f(SHARE, "share not attempted"), "errors": _f(SHARE, "share with an error"),
    }],
    "cases": [{
        "exercise": _f("string", "exercise id"), "number": _f("int", "case number, 1-based, as in feedback"),
        "label": _f("string", "what the case is about (a hidden case's only description)"),
        "hidden": _f("bool", "a hidden case"), "gradient": _f("bool", "a gradient case"),
        "call": _f("string|null", "a public case's call (null for hidden cases)"),
        "ran": _f("int", "students who attempted the exercise and for whom the case ran"),
        "failed": _f("int", "of them, students who failed it (wrong result or error)"),
        "share_failed": _f(SHARE, "failed / ran"),
        "discrimination": _f(SHARE, "point-biserial correlation of failing the case (1/0) with the total score; "
                                    "null without variation"),
        "flag": _f("string|null", "almost_all_fail or almost_none_fail: check the case itself"),
    }],
    "mistakes": [{
        "exercise": _f("string", "exercise id"), "title": _f("string", "exercise title"),
        "attempted": _f("int", "graded students who attempted it (with per-case marks)"),
        "failed": _f("int", "of them, students who did not pass it"),
        "unrecognised": _f("int", "students who failed it with no recognised mistake"),
        "mistakes": [{"name": _f("string", "the mistake's name in the exercise bank"),
                      "hint": _f("string", "the hint a student who makes it reads"),
                      "students": _f("int", "students who made it (on any case)"),
                      "share": _f(SHARE, "students / attempted"), "ids": IDS}],
    }],
    "problems": [{
        "kind": _f("string", "unreadable, not_read, submission, timeout, limit, crash, invalid, not_run, "
                             "cell_timeout, cell_stopped, other_files, exercise_other"),
        "students": _f("int", "students with this problem"), "occurrences": _f("int", "times it happened"),
        "examples": [_f("string", "up to three of the grader's messages")], "ids": IDS,
    }],
    "similarity": [{
        "exercise": _f("string", "exercise id"), "title": _f("string", "exercise title"),
        "compared": _f("int", "answers compared (function answers that are not a reference's)"),
        "short": _f("int", "of them, too short to cluster (under MIN_NODES syntax nodes)"),
        "clusters": [{"size": _f("int", "students with this same code"), "students": IDS,
                      "passed": _f("int", "of them, students who passed the exercise")}],
        "reference": IDS, "course": IDS,
    }],
}

_PYTHON: dict[str, type | tuple[type, ...]] = {"int": int, "number": (int, float), "string": str, "bool": bool,
                                               "null": type(None)}


def _matches(value: Any, types: tuple[str, ...]) -> bool:
    if isinstance(value, bool):
        return "bool" in types
    return any(isinstance(value, _PYTHON[t]) for t in types)


def check(data: Any, schema: Any = None, path: str = "report") -> list[str]:
    """Every way `data` differs from `schema` (SCHEMA by default), one line each; empty when it conforms."""
    schema = SCHEMA if schema is None else schema
    if isinstance(schema, Field):
        return [] if _matches(data, schema.types) else \
            [f"{path}: {type(data).__name__} {data!r:.60} is not {'|'.join(schema.types)}"]
    if isinstance(schema, list):
        if not isinstance(data, list):
            return [f"{path}: expected a list, got {type(data).__name__}"]
        return [p for i, item in enumerate(data) for p in check(item, schema[0], f"{path}[{i}]")]
    if not isinstance(data, dict):
        return [f"{path}: expected an object, got {type(data).__name__}"]
    if set(schema) == {"*"}:
        return [p for key, value in data.items() for p in check(value, schema["*"], f"{path}.{key}")]
    problems = [f"{path}: missing key {key!r}" for key in schema if key not in data]
    problems += [f"{path}: key {key!r} is not in the schema" for key in data if key not in schema]
    return problems + [p for key in schema if key in data for p in check(data[key], schema[key], f"{path}.{key}")]


def markdown(schema: Any = None, path: str = "") -> str:
    """The schema as a Markdown list of keys, their types and their meaning."""
    schema = SCHEMA if schema is None else schema
    lines = []
    for key, value in schema.items():
        name = f"{path}.{key}" if path else key
        if isinstance(value, Field):
            lines.append(f"- `{name}` ({'|'.join(value.types)}): {value.doc}")
        elif isinstance(value, list) and isinstance(value[0], Field):
            lines.append(f"- `{name}[]` (list of {'|'.join(value[0].types)}): {value[0].doc}")
        elif isinstance(value, list):
            lines.append(f"- `{name}[]`: a list of objects")
            lines.append(markdown(value[0], name + "[]"))
        else:
            lines.append(f"- `{name}`: an object")
            lines.append(markdown(value, name))
    return "\n".join(lines)
