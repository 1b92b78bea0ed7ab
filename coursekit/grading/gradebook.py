"""The grader's outputs: per-student results and feedback, the gradebook, Gradescope files, merging.

Layout of an output folder:

    gradebook.csv            one row per student: id, source, LMS id, one column per exercise, total, problem, flags
    canvas.csv               for a Canvas download: the totals in Canvas's gradebook import format
    gradebook.meta.json      assignment, seed, exercises and their points, limits, sandbox (written when a run
                             starts, with "finished": false until it ends)
    results/<student>.json   every exercise's points, status and message
    feedback/<student>.html  the same messages check() shows in the notebook
    gradescope/<student>/results.json   with --gradescope (and ./results.json for a single student)
    journal.jsonl            what has been graded, so a re-run resumes
    grading.lock             held by the grader writing the folder (who it is)

Every file is written atomically. Text that came from a submission is made printable
(`coursekit.grading.printable`) before it is written, and CSV cells cannot be formulas.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coursekit.grading.check import CheckResult
from coursekit.grading.compare import Verdict
from coursekit.grading.journal import Journal, atomic_write, hold
from coursekit.grading.lms_grades import CANVAS_CSV, canvas_csv
from coursekit.grading.printable import csv_cell, printable
from coursekit.i18n import _, language, using_language

__all__ = ["CaseMark", "ExerciseResult", "StudentResult", "merge", "missing_shards", "write_gradebook", "write_started",
           "write_student"]

GRADEBOOK, META, JOURNAL = "gradebook.csv", "gradebook.meta.json", "journal.jsonl"


@dataclass(frozen=True)
class CaseMark:
    """How one case of an exercise went for one student (for the class report; never shown to the student)."""

    status: str  # pass, fail, error (raised, or stopped the worker), not_run (an earlier failure ended the exercise)
    mistake: str | None = None  # the name of the recognised mistake, if one was


@dataclass(frozen=True)
class ExerciseResult:
    """One exercise's grade for one student, with the learner-facing message of its first failure.

    `cases`, `digest`, `nodes` and `match` are for the class report: each case's mark, and the answer's code in
    normal form (`coursekit.grading.copies`): its digest, its size, and "reference" when it is the reference
    solution's code or "course" when the answer is the course's own function. Results written before they
    existed lack them (empty).
    """

    id: str
    title: str
    points: float
    max_points: float
    passed: int
    total: int
    status: str  # pass, fail, error, not_attempted
    message: str = ""
    hint: str | None = None
    note: str = ""
    problem: str = ""  # what stopped the grading of this exercise (timeout, crash, ...), for the instructor
    cases: tuple[CaseMark, ...] = ()
    digest: str = ""
    nodes: int = 0
    match: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExerciseResult:
        marks = tuple(CaseMark(**m) for m in data.get("cases", ()))
        return cls(**{**data, "cases": marks})

    def cleaned(self) -> ExerciseResult:
        """The same result with every text printable (messages keep their line breaks)."""
        return dataclasses.replace(self, message=printable(self.message, newlines=True),
                                   hint=None if self.hint is None else printable(self.hint, newlines=True),
                                   note=printable(self.note, newlines=True), problem=printable(self.problem))

    def check_result(self) -> CheckResult:
        """The same result object the learner's check() returns, so feedback reads the same."""
        verdict = None if self.status == "pass" else Verdict(self.status, self.message, self.hint)  # type: ignore[arg-type]
        return CheckResult(self.id, self.title, self.passed, self.total, self.points, self.max_points, verdict,
                           self.note)


@dataclass(frozen=True)
class StudentResult:
    """A student's grade for one assignment."""

    student: str
    assignment: str
    source: str  # the graded file (or the entry that could not be read), relative to the submissions folder
    sha256: str
    total: float
    max_total: float
    exercises: tuple[ExerciseResult, ...] = ()
    problem: str = ""  # why the whole submission could not be graded, if so
    notes: tuple[str, ...] = field(default=())  # cells that raised, bytes replaced, ...
    stopped: tuple[str, ...] = field(default=())  # cells that stopped the worker and were skipped
    unread: tuple[str, ...] = field(default=())  # other files of the submission that were not graded, and why
    flags: tuple[str, ...] = field(default=())  # for the instructor: e.g. byte-identical to another submission
    lms_id: str = ""  # the student's id in the LMS the class was downloaded from (Canvas user id, ...)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudentResult:
        exercises = tuple(ExerciseResult.from_json(e) for e in data.get("exercises", ()))
        return cls(**{**data, "exercises": exercises, "notes": tuple(data.get("notes", ())),
                      "stopped": tuple(data.get("stopped", ())), "unread": tuple(data.get("unread", ())),
                      "flags": tuple(data.get("flags", ()))})

    def cleaned(self) -> StudentResult:
        """The same result with every text printable: nothing a student wrote can act on a terminal."""
        return dataclasses.replace(
            self, student=printable(self.student), source=printable(self.source), problem=printable(self.problem),
            lms_id=printable(self.lms_id),
            exercises=tuple(e.cleaned() for e in self.exercises), notes=tuple(printable(n) for n in self.notes),
            stopped=tuple(printable(s) for s in self.stopped), unread=tuple(printable(u) for u in self.unread),
            flags=tuple(printable(f) for f in self.flags))

    def problems(self) -> list[str]:
        """What could not be graded normally, one entry each: the whole file, a cell, or an exercise."""
        found = [self.problem] if self.problem else []
        found += [f"not graded: {u}" for u in self.unread]
        return found + list(self.stopped) + [f"{e.id}: {e.problem}" for e in self.exercises if e.problem]


def _feedback_html(result: StudentResult) -> str:
    """The student's page, in the current language (the words around the results; the results' own messages
    were composed in the class's language when it was graded)."""
    esc = html.escape
    parts = [
        f"<!doctype html>\n<html lang='{language()}'><head><meta charset='utf-8'>",
        "<title>" + esc(_("{assignment}: feedback for {student}").format(assignment=result.assignment,
                                                                        student=result.student)) + "</title></head>",
        "<body style='font-family:sans-serif;max-width:860px;margin:2em auto;line-height:1.4'>",
        "<h1>" + esc(_("{assignment}: {total} / {max_total} points").format(
            assignment=result.assignment, total=f"{result.total:g}", max_total=f"{result.max_total:g}")) + "</h1>",
        "<p>" + _("Feedback for {student}. Each exercise was checked on the cases you saw in the notebook and on "
                  "hidden cases drawn at grading time; hidden cases are described in words only.").format(
                      student=f"<b>{esc(result.student)}</b>") + "</p>",
    ]
    if result.problem:
        parts.append("<p style='border-left:4px solid #D55E00;padding:4px 10px'><b>"
                     + esc(_("Your notebook could not be graded:")) + f"</b> {esc(result.problem)}</p>")
    for exercise in result.exercises:
        parts.append(f"<h3>{esc(exercise.title)}</h3>")
        parts.append(exercise.check_result()._repr_html_())
    if result.notes or result.stopped or result.unread:
        parts.append("<h3>" + esc(_("Notes from running your notebook")) + "</h3><ul>")
        parts += [f"<li>{esc(note)}</li>" for note in (*result.stopped, *result.notes)]
        parts += ["<li>" + esc(_("Not graded: {what}").format(what=note)) + "</li>" for note in result.unread]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _gradescope(result: StudentResult) -> dict[str, Any]:
    tests = []
    for e in result.exercises:
        hint = "\n" + _("Hint: {hint}").format(hint=e.hint) if e.hint else ""
        text = "" if e.status == "pass" else e.message + hint
        tests.append({"name": f"{e.id}: {e.title}", "score": e.points, "max_score": e.max_points,
                      "status": "passed" if e.status == "pass" else "failed", "output": text})
    output = result.problem or _("{total} / {max_total} points.").format(total=f"{result.total:g}",
                                                                         max_total=f"{result.max_total:g}")
    return {"score": result.total, "output": output, "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden"}


def write_student(out: Path, result: StudentResult, *, gradescope: bool = False) -> None:
    """Write results/<student>.json, feedback/<student>.html and, if asked, the Gradescope file."""
    result = result.cleaned()
    atomic_write(out / "results" / f"{result.student}.json", json.dumps(result.to_json(), indent=1) + "\n")
    atomic_write(out / "feedback" / f"{result.student}.html", _feedback_html(result))
    if gradescope:
        atomic_write(out / "gradescope" / result.student / "results.json",
                     json.dumps(_gradescope(result), indent=1) + "\n")


def write_gradebook(out: Path, results: list[StudentResult], meta: dict[str, Any], *,
                    gradescope: bool = False) -> Path:
    """Write gradebook.csv (one row per student) and gradebook.meta.json; returns the CSV's path."""
    ids = [e["id"] for e in meta["exercises"]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "source", "lms_id", *ids, "total", "problem", "flags"])
    results = [r.cleaned() for r in results]
    for result in sorted(results, key=lambda r: r.student):
        points = {e.id: e.points for e in result.exercises}
        writer.writerow([csv_cell(result.student), csv_cell(result.source), csv_cell(result.lms_id),
                         *(f"{points.get(i, 0.0):g}" for i in ids), f"{result.total:g}",
                         csv_cell("; ".join(result.problems())), csv_cell("; ".join(result.flags))])
    atomic_write(out / META, json.dumps({**meta, "students": len(results), "finished": True}, indent=1) + "\n")
    atomic_write(out / GRADEBOOK, buffer.getvalue())
    if meta.get("layout") == "canvas":
        atomic_write(out / CANVAS_CSV, canvas_csv(results, assignment=meta["assignment"],
                                                  max_total=meta.get("max_total")))
    if gradescope and len(results) == 1:
        atomic_write(out / "results.json", json.dumps(_gradescope(results[0]), indent=1) + "\n")
    return out / GRADEBOOK


def write_started(out: Path, meta: dict[str, Any]) -> None:
    """Record a run's assignment, seed and configuration before it grades anything (so a killed run resumes
    with them); the metadata says "finished": false until `write_gradebook` ends the run."""
    atomic_write(out / META, json.dumps({**meta, "finished": False}, indent=1) + "\n")


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What makes two gradings incomparable, in words (empty when they match)."""
    found = [f"{key} {a.get(key)} vs {b.get(key)}" for key in ("assignment", "seed") if a.get(key) != b.get(key)]
    if a.get("language", "en") != b.get("language", "en"):  # the feedback's language
        found.append(f"language {a.get('language', 'en')} vs {b.get('language', 'en')}")
    if (a.get("bank") or {}).get("sha256") != (b.get("bank") or {}).get("sha256"):
        found.append("a different private bank (--bank)")
    if a.get("exercises") != b.get("exercises"):
        found.append("different exercises or points (graded by different coursekit versions?)")
    return found


def merge(outputs: list[Path], out: Path) -> Path:
    """Combine the output folders of `grade --shard K/N` runs into one gradebook in `out`."""
    if not outputs:
        raise ValueError("merge needs at least one output folder of `coursekit grade`.")
    out = Path(out)
    if any(Path(folder).resolve() == out.resolve() for folder in outputs):
        raise ValueError(f"--out {out} is one of the folders to merge; merge into a new folder.")
    metas = []
    for folder in outputs:
        path = Path(folder) / META
        if not path.is_file():
            raise FileNotFoundError(f"{printable(folder)} is not a grading output (no {META}); run `coursekit grade` "
                                    "first.")
        meta = json.loads(path.read_text())
        if meta.get("finished") is False:
            raise ValueError(f"the run that grades {printable(folder)} has not finished (or was killed): run the "
                             "same `coursekit grade` command again to finish it, then merge.")
        metas.append(meta)
    for folder, meta in zip(outputs[1:], metas[1:], strict=True):
        differ = _differences(metas[0], meta)
        if differ:
            raise ValueError(f"{folder} and {outputs[0]} were graded differently ({'; '.join(differ)}); only "
                             "shards graded with the same assignment and --seed can be merged.")
    shards = sorted({m["shard"] for m in metas if m.get("shard")})
    if len({s.split("/")[1] for s in shards}) > 1:
        raise ValueError(f"the folders hold shards of different splits ({', '.join(shards)}); merge the shards "
                         "of one --shard K/N split.")
    with hold(out, what="merging"), using_language(str(metas[0].get("language") or "en")):
        return _merge_into(out, outputs, metas, shards)


def _merge_into(out: Path, outputs: list[Path], metas: list[dict[str, Any]], shards: list[str]) -> Path:
    if (out / META).is_file():
        differ = _differences(metas[0], json.loads((out / META).read_text()))
        if differ:
            raise ValueError(f"{out} already holds another gradebook ({'; '.join(differ)}); merge into a new folder.")
    results: dict[str, StudentResult] = {}
    gradescope = False
    journal = Journal(out / JOURNAL)
    for folder in outputs:
        folder = Path(folder)
        for path in sorted((folder / "results").glob("*.json")):
            result = StudentResult.from_json(json.loads(path.read_text()))
            if result.student in results and results[result.student] != result:
                raise ValueError(f"student {result.student} was graded differently in two of the folders.")
            results[result.student] = result
        if (folder / "gradescope").is_dir():
            gradescope = True
        for key, entry in Journal(folder / JOURNAL).entries.items():
            if journal.get(key) is None:
                journal.record(key, entry["result"], seconds=float(entry.get("seconds", 0.0)))
    for result in results.values():
        write_student(out, result, gradescope=gradescope)
    meta = {**metas[0], "shard": None, "merged_from": [str(Path(f)) for f in outputs], "merged_shards": shards,
            "isolation": metas[0].get("isolation", [])}
    return write_gradebook(out, list(results.values()), meta, gradescope=gradescope)


def missing_shards(meta: dict[str, Any]) -> list[str]:
    """The shards K/N of the split that a merged gradebook's metadata does not list."""
    shards = meta.get("merged_shards") or []
    if not shards:
        return []
    n = int(shards[0].split("/")[1])
    return [f"{k}/{n}" for k in range(1, n + 1) if f"{k}/{n}" not in shards]
