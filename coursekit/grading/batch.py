"""Grade a class: a folder of submitted notebooks in, a gradebook and per-student feedback out.

    grade(submissions="submitted", out="grades", seed=2024)

Expected outputs are computed here, in the trusted process, from the same exercise
definitions the learner's check() uses; student code runs only in the sandbox
(`coursekit.grading.sandbox`), which sends back plain data that is judged here. A
journal keyed by each notebook's content makes a re-run resume where a killed run
stopped, and never grade the same content twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

import coursekit
from coursekit import i18n
from coursekit.exercises import all_exercises
from coursekit.exercises.model import Case, Exercise
from coursekit.grading.bank import Bank, BankError, check_sandbox, exercises_of, load_bank, refuse_if_exposed, with_bank
from coursekit.grading.calls import applicable_rules
from coursekit.grading.compare import NOT_ATTEMPTED, NOT_ATTEMPTED_HANDED_IN, case_name, contract, judge, tally
from coursekit.grading.copies import answer_forms
from coursekit.grading.cores import Claim, Cores
from coursekit.grading.gradebook import (
    JOURNAL,
    META,
    ExerciseResult,
    StudentResult,
    write_gradebook,
    write_started,
    write_student,
)
from coursekit.grading.journal import Journal, content_key, hold
from coursekit.grading.plain import encode
from coursekit.grading.printable import printable
from coursekit.grading.record import OVER_LIMIT, answer_flags, case_marks, exercise_record, with_form
from coursekit.grading.roster import Entry, Roster, read_class
from coursekit.grading.sandbox import CellNote, ExerciseRequest, ExerciseRun, Failure, Limits, Sandbox, SubmissionRun
from coursekit.grading.submissions import Notebook, Unreadable, parse_shard, read_notebook
from coursekit.grading.withhold import describe
from coursekit.i18n import _

__all__ = ["GradeReport", "grade"]

# what a grade means and what its record holds: a new version never reuses an older journal's grades
# (3: every case's mark and each answer's normal form, for the class report)
GRADER_VERSION = 3


@dataclass(frozen=True)
class _Spec:
    """One exercise prepared for the class: its cases, their expected outputs and the wire form of inputs."""

    exercise: Exercise
    cases: tuple[Case, ...]
    expected: tuple[Any, ...]
    request: ExerciseRequest

    @classmethod
    def build(cls, exercise: Exercise, seed: int) -> _Spec:
        cases = tuple(exercise.cases(hidden_seed=seed))
        expected = tuple(encode(exercise.expected(c)) for c in cases)
        wire = tuple((encode(tuple(c.args), keep_dtype=True), encode(dict(c.kwargs), keep_dtype=True), c.hidden,
                      {"gradient": c.gradient, "grad_output": encode(c.grad_output, keep_dtype=True),
                       "rules": list(applicable_rules(exercise, c))})
                     for c in cases)
        return cls(exercise, cases, expected, ExerciseRequest(exercise.id, wire))


@dataclass(frozen=True)
class GradeReport:
    """What a grading run did: where the gradebook is, how many were graded, and what went wrong."""

    out: Path
    gradebook: Path
    assignment: str
    seed: int
    students: int
    graded: int
    reused: int
    seconds: float
    failures: tuple[tuple[str, str], ...]  # (student, reason): whatever could not be graded normally
    isolation: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (entry, why) in the submissions folder that are not submissions
    not_read: int = 0  # rows for entries that could not be read at all (a FIFO, a link out, ...)
    class_report: Path | None = None  # report.html, or None with `report_problem` saying why it is missing
    report_problem: str = ""
    layout: str = ""  # what the submissions were: flat, nbgrader, or an LMS's download (canvas, moodle, gradescope)

    def __repr__(self) -> str:
        read = f", {self.not_read} could not be read" if self.not_read else ""
        lms = {"canvas": "Canvas", "moodle": "Moodle", "gradescope": "Gradescope"}.get(self.layout)
        students = f"{self.students} students" + (f" of a {lms} download" if lms else "")
        lines = [f"Graded {self.assignment} for {students} (seed {self.seed}): {self.graded} graded now, "
                 f"{self.reused} taken from the journal{read}, {self.seconds:.1f} s.",
                 f"Gradebook: {printable(self.gradebook)}"]
        if self.class_report is not None:
            lines.append(f"Class report: {printable(self.class_report)}")
        elif self.report_problem:
            lines.append(f"No class report: {printable(self.report_problem)}")
        if self.failures:
            width = max(len("student"), *(len(s) for s, _ in self.failures))
            lines.append(f"\n{len(self.failures)} problem(s):")
            lines.append(f"  {'student':<{width}}  reason")
            lines += [f"  {printable(s):<{width}}  {printable(r)}" for s, r in self.failures]
        if self.skipped:
            lines.append(f"\nNot submissions, not graded ({len(self.skipped)}):")
            lines += [f"  {printable(name)}: {printable(why)}" for name, why in self.skipped[:10]]
            if len(self.skipped) > 10:
                lines.append(f"  ... and {len(self.skipped) - 10} more (listed in {META})")
        return "\n".join(lines)


def _progress_bar(total: int, *, stream: TextIO | None, label: str) -> tqdm:
    """tqdm's bar with rate and ETA on `stream` (redrawn often on a terminal, a line every 5 s in a log)."""
    tty = bool(stream is not None and stream.isatty())
    return tqdm(total=total, file=stream, desc=printable(label), unit=" notebooks", disable=stream is None,
                mininterval=0.1 if tty else 5.0, dynamic_ncols=tty, ascii=not tty, leave=True)


def _defining_cell(exercise_id: str, notebook: Notebook) -> int | None:
    pattern = re.compile(rf"^\s*(def\s+{exercise_id}\b|{exercise_id}\s*[:=])", re.MULTILINE)
    found = [index for index, source in notebook.cells if pattern.search(source)]
    return found[-1] if found else None


def _over_limit(failure: Failure | None) -> bool:
    return failure is not None and (failure.kind == "timeout" or failure.over_limit)


def _score(spec: _Spec, run: ExerciseRun, notebook: Notebook, cells: dict[int, CellNote]) -> ExerciseResult:
    ex = spec.exercise
    base: dict[str, Any] = {"id": ex.id, "title": _(ex.title), "max_points": ex.points, "total": len(spec.cases),
                            "note": contract(ex)}
    failure = run.failure
    if failure is not None and failure.kind == "missing":
        message = _("Your notebook does not define `{id}`: keep the name the exercise cell gives it and make sure "
                    "that cell runs without errors.").format(id=ex.id)
        cell = _defining_cell(ex.id, notebook)
        if cell is not None and cell in cells:
            note = cells[cell]
            message += (_(" Cell {number} {what}.") if note.stopped else _(" Cell {number} raised {what}.")).format(
                number=cell + 1, what=note.text)
        return ExerciseResult(**base, points=0.0, passed=0, status="not_attempted", message=message)
    verdicts = []
    out_of_memory = None
    finished = zip(spec.cases, spec.expected, run.outcomes, strict=False)  # outcomes stop where a failure did
    for number, (case, expected, outcome) in enumerate(finished, start=1):
        verdict = judge(ex, case, expected, outcome, number=number)  # a hidden case's in the grader's words only
        if verdict.status == "not_attempted":
            # read on a page, not in a cell
            message = verdict.message.replace(_(NOT_ATTEMPTED), _(NOT_ATTEMPTED_HANDED_IN))
            return ExerciseResult(**base, points=0.0, passed=0, status="not_attempted", message=message)
        verdicts.append(verdict)
        if out_of_memory is None and outcome.error is not None and outcome.error.type_name == "MemoryError":
            out_of_memory = verdict
    passed, points, first = tally(verdicts, ex.points, [c.weight for c in spec.cases])
    base["cases"] = case_marks(verdicts, len(spec.cases), failure)
    if failure is not None:
        number = failure.case or len(verdicts) + 1
        where = case_name(ex, spec.cases[number - 1], number) if failure.kind != "not_run" and \
            number <= len(spec.cases) else _("Not graded")
        problem = OVER_LIMIT if _over_limit(failure) else f"{failure.kind}: {failure.detail}"
        return ExerciseResult(**base, points=0.0, passed=passed, status="error",
                              message=_("{name}: {problem}").format(name=where, problem=failure.detail),
                              problem=problem)
    if out_of_memory is not None:  # scored as a limit hit, like the timeout it would be on a slower machine
        return ExerciseResult(**base, points=0.0, passed=passed, status="error", message=out_of_memory.message,
                              hint=out_of_memory.hint, problem=OVER_LIMIT)
    message = "" if first is None else first.message + (f"\n{first.explanation!r}" if first.explanation else "")
    return ExerciseResult(**base, points=points, passed=passed, status=first.status if first else "pass",
                          message=message, hint=first.hint if first else None)


def _not_graded(specs: Sequence[_Spec], reason: str) -> tuple[ExerciseResult, ...]:
    return tuple(ExerciseResult(s.exercise.id, _(s.exercise.title), 0.0, s.exercise.points, 0, len(s.cases), "error",
                                _("Not graded: {what}").format(what=reason), note=contract(s.exercise)) for s in specs)


def _grade_one(sandbox: Sandbox, slot: int, data: bytes, specs: Sequence[_Spec], *, student: str, source: str,
               assignment: str, digest: str, claim: Claim | None = None) -> StudentResult:
    max_total = float(sum(s.exercise.points for s in specs))
    common: dict[str, Any] = {"student": student, "assignment": assignment, "source": source, "sha256": digest,
              "max_total": max_total}
    try:
        notebook = read_notebook(data)
    except Unreadable as exc:
        reason = f"unreadable notebook: {exc}"
        return StudentResult(**common, total=0.0, exercises=_not_graded(specs, reason), problem=reason)
    notes = list(notebook.notes)
    if notebook.assignment and notebook.assignment != assignment:
        notes.append(_("this notebook says it is {said!r}; it was graded as {graded!r}").format(
            said=notebook.assignment, graded=assignment))
    run: SubmissionRun = sandbox.run(notebook.cells, [s.request for s in specs], slot=slot, claim=claim)
    cells = {c.index: c for c in run.cells}
    forms = answer_forms(notebook.cells, [s.exercise for s in specs])
    ids = [s.exercise.id for s in specs]
    origins = {i: run.exercises[i].origin for i in ids}
    exercises = tuple(with_form(_score(s, run.exercises[s.exercise.id], notebook, cells), forms.get(s.exercise.id),
                                origins[s.exercise.id]) for s in specs)
    notes += [_("Cell {number} raised {what}").format(number=c.index + 1, what=c.text)
              for c in run.cells if not c.stopped]
    stopped = tuple(_("Cell {number} {what}; it was skipped and the notebook run again without it").format(
        number=c.index + 1, what=c.text) for c in run.cells if c.stopped)
    total = round(sum(e.points for e in exercises), 2)
    return StudentResult(**common, total=total, exercises=exercises, notes=tuple(notes), stopped=stopped,
                         flags=answer_flags(ids, forms, origins)).cleaned()


def _not_read(entry: Entry, specs: Sequence[_Spec], assignment: str) -> StudentResult:
    return StudentResult(entry.student, assignment, entry.source, "", 0.0,
                         float(sum(s.exercise.points for s in specs)), _not_graded(specs, entry.problem),
                         problem=entry.problem, flags=entry.flags, lms_id=entry.lms_id).cleaned()


def _for(entry: Entry, result: StudentResult) -> StudentResult:
    """A graded result as it belongs to `entry`: its id, source, unread files, and the entry's flags (identical
    files) before the answers' own (copied references)."""
    return dataclasses.replace(result, student=entry.student, source=entry.source, unread=entry.unread,
                               flags=entry.flags + result.flags, lms_id=entry.lms_id).cleaned()


def _failures(results: Sequence[StudentResult]) -> tuple[tuple[str, str], ...]:
    return tuple((r.student, p) for r in sorted(results, key=lambda r: r.student) for p in r.problems())


def _previous_meta(out: Path) -> dict[str, Any]:
    try:
        meta = json.loads((out / META).read_text())
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _check_out(read_from: Path, out: Path) -> None:
    """Refuse an output folder that is a file or overlaps the folder the notebooks are read from."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {printable(out)} is a file; give a folder for the gradebook (it is created if "
                         "missing).")
    here, there = read_from.resolve(), out.resolve()
    if there == here or there.is_relative_to(here) or here.is_relative_to(there):
        raise ValueError(f"--out {printable(out)} overlaps the submissions in {printable(read_from)}: keep the "
                         "gradebook, results and feedback in a folder of their own, e.g. --out grades next to the "
                         "submissions.")


def _check_previous(previous: dict[str, Any], out: Path, *, assignment: str, seed: int, shard: str | None) -> None:
    """Refuse to mix this run into an output folder graded for another assignment, seed or shard."""
    if previous.get("assignment", assignment) != assignment:
        raise ValueError(f"{printable(out)} holds the gradebook of {printable(previous['assignment'])}; grade "
                         f"{assignment} into another folder (--out).")
    if previous.get("seed", seed) != seed:
        raise ValueError(f"{printable(out)} was graded with --seed {previous['seed']}, which decides the hidden cases: "
                         f"use --seed {previous['seed']} (or no --seed) to resume it, or another --out folder "
                         f"for seed {seed}.")
    if "shard" in previous and previous["shard"] != shard:
        raise ValueError(f"{printable(out)} holds {_slice(previous['shard'])} and this run grades {_slice(shard)}: "
                         "give each shard its own --out folder, then combine them with `coursekit grade merge`.")


def _slice(shard: str | None) -> str:
    return f"shard {shard}" if shard else "the whole class"


def grade(*, submissions: Path | str, out: Path | str, workers: int | None = None, seed: int | None = None,
          assignment: str | None = None, shard: str | tuple[int, int] | None = None, gradescope: bool = False,
          limits: Limits | None = None, progress: bool = True, sandbox: Sandbox | None = None,
          stream: TextIO | None = None, language: str | None = None,
          bank: Path | str | Bank | None = None) -> GradeReport:
    """Grade every submission in `submissions` (a folder or an LMS's zip) into `out`; resumes from `out`'s journal.

    `language` ('en', 'zh'; default: the current one, e.g. from $COURSEKIT_LANG) is the language of the
    students' feedback: results messages and feedback pages. `bank` is an instructor's private bank
    (`coursekit.grading.bank`): its exercises are added to the course's, or replace those of the same id,
    for this run. Raises FolderBusy (coursekit.grading.journal) while another grader writes `out`,
    BankError for an unusable bank.
    """
    chosen = i18n.language() if language is None else i18n.normalise(language)
    if sandbox is not None and sandbox.language != chosen:
        raise ValueError(f"the sandbox's workers write their messages in {sandbox.language!r}, but the class is "
                         f"graded in {chosen!r}: start the Sandbox with language={chosen!r}.")
    with i18n.using_language(chosen):
        return _grade(submissions=submissions, out=out, workers=workers, seed=seed, assignment=assignment,
                      shard=shard, gradescope=gradescope, limits=limits, progress=progress, sandbox=sandbox,
                      stream=stream, bank=bank)


def _grade(*, submissions: Path | str, out: Path | str, workers: int | None, seed: int | None,
           assignment: str | None, shard: str | tuple[int, int] | None, gradescope: bool, limits: Limits | None,
           progress: bool, sandbox: Sandbox | None, stream: TextIO | None,
           bank: Path | str | Bank | None) -> GradeReport:
    start = time.monotonic()
    out = Path(out)
    shard_pair = None if shard is None else parse_shard(shard if isinstance(shard, str) else "/".join(map(str, shard)))
    private = bank if isinstance(bank, Bank) or bank is None else load_bank(bank)
    course = with_bank(all_exercises(), private)
    roster = read_class(Path(submissions), known=sorted({e.notebook for e in course}), assignment=assignment,
                        shard=shard_pair)
    exercises = exercises_of(roster.assignment, course)
    _check_out(roster.root, out)
    if private is not None and sandbox is not None:
        check_sandbox(private, [d["id"] for d in sandbox.private])
    with hold(out):
        return _grade_held(roster, out, start=start, exercises=exercises, workers=workers, seed=seed,
                           shard=shard_pair, gradescope=gradescope, limits=limits, progress=progress, sandbox=sandbox,
                           stream=stream if stream is not None else sys.stderr, bank=private)


def _specs(exercises: Sequence[Exercise], seed: int, bank: Bank | None) -> list[_Spec]:
    private = {e.id for e in bank.exercises} if bank else set()
    specs = []
    for exercise in exercises:
        try:
            specs.append(_Spec.build(exercise, seed))
        except Exception as exc:  # noqa: BLE001 - only an instructor's private exercise can fail here
            if exercise.id not in private:
                raise
            raise BankError(f"private exercise {exercise.id!r}: its cases for --seed {seed} could not be built "
                            f"({type(exc).__name__}: {printable(exc)})") from None
    return specs


def _grade_held(roster: Roster, out: Path, *, start: float, exercises: Sequence[Exercise], workers: int | None,
                seed: int | None, shard: tuple[int, int] | None, gradescope: bool, limits: Limits | None,
                progress: bool, sandbox: Sandbox | None, stream: TextIO, bank: Bank | None) -> GradeReport:
    assignment = roster.assignment
    shard_text = f"{shard[0]}/{shard[1]}" if shard else None
    previous = _previous_meta(out)
    if seed is None:
        seed = previous["seed"] if isinstance(previous.get("seed"), int) else secrets.randbelow(2**31)
    _check_previous(previous, out, assignment=assignment, seed=seed, shard=shard_text)
    limits = sandbox.limits if sandbox is not None else (limits or Limits())
    workers = max(1, workers or len(os.sched_getaffinity(0)))
    specs = _specs(exercises, seed, bank)
    config = {"assignment": assignment, "seed": seed, "limits": dataclasses.asdict(limits), "grader": GRADER_VERSION,
              "coursekit": coursekit.__version__, "exercises": [[s.exercise.id, s.exercise.points, len(s.cases)]
                                                                for s in specs],
              **({"bank": bank.sha256} if bank else {})}
    if i18n.language() != "en":  # feedback in another language is another grade record (English keys stay as they were)
        config["language"] = i18n.language()
    meta = {"assignment": assignment, "seed": seed, "shard": shard_text, "language": i18n.language(),
            "layout": roster.layout,
            "exercises": [{"id": s.exercise.id, "title": s.exercise.title, "points": s.exercise.points,
                           "cases": len(s.cases), **exercise_record(s.exercise, s.cases)} for s in specs],
            "max_total": float(sum(s.exercise.points for s in specs)), "limits": dataclasses.asdict(limits),
            "coursekit_version": coursekit.__version__, "isolation": previous.get("isolation", []),
            "sandbox_warnings": previous.get("sandbox_warnings", []),
            "skipped": [[printable(name), printable(why)] for name, why in roster.skipped],
            **({"bank": bank.meta()} if bank else {})}
    write_started(out, meta)  # the seed is on disk before anything is graded: a killed run resumes with it
    journal = Journal(out / JOURNAL)
    results: dict[str, StudentResult] = {}
    todo: dict[str, list[tuple[Entry, bytes]]] = {}
    reused = not_read = 0
    for entry in roster.entries:
        if entry.data is None:
            results[entry.student] = _not_read(entry, specs, assignment)
            write_student(out, results[entry.student], gradescope=gradescope)
            not_read += 1
            continue
        key = content_key(entry.data, config)
        done = journal.get(key)
        if done is not None:
            results[entry.student] = _for(entry, StudentResult.from_json(done["result"]))
            write_student(out, results[entry.student], gradescope=gradescope)
            reused += 1
        else:
            todo.setdefault(key, []).append((entry, entry.data))
    bar = _progress_bar(sum(len(v) for v in todo.values()), stream=stream if progress else None,
                        label=f"grading {assignment}")
    owned = sandbox is None and bool(todo)
    box = Sandbox(limits=limits, language=i18n.language(),
                  private=[describe(e) for e in bank.exercises] if bank else (),
                  hidden=[bank.path] if bank else ()) if owned else sandbox
    try:
        if bank is not None and box is not None:
            refuse_if_exposed(bank, namespaced=box.namespaced)
    except BankError:
        if owned and box is not None:
            box.close()
        raise
    slots = threading.local()
    # `workers` submissions compute at once; as many more may wait out a sleeping worker's time limit
    cores = Cores(workers)
    counter = iter(range(1_000_000))
    counter_lock = threading.Lock()

    def work(key: str) -> None:
        if not hasattr(slots, "slot"):
            with counter_lock:
                slots.slot = next(counter)
        group = todo[key]
        first, data = group[0]
        assert box is not None  # there is work only when there is a sandbox to do it in
        with cores.claim() as claim:
            began = time.monotonic()
            result = _grade_one(box, slots.slot, data, specs, student=first.student, source=first.source,
                                assignment=assignment, digest=hashlib.sha256(data).hexdigest(), claim=claim)
            seconds = time.monotonic() - began
        # writing waits for the disk, not for a core: the next submission may compute meanwhile
        journal.record(key, result.to_json(), seconds=seconds)
        for entry, _data in group:
            mine = _for(entry, result)
            write_student(out, mine, gradescope=gradescope)
            results[entry.student] = mine
            bar.update()

    try:
        if todo:
            with ThreadPoolExecutor(max_workers=min(2 * workers, len(todo))) as pool:
                for future in [pool.submit(work, key) for key in todo]:
                    future.result()
        if box is not None and todo:
            meta["isolation"] = list(box.isolation)
            meta["sandbox_warnings"] = list(box.warnings)
    finally:
        bar.close()
        if owned and box is not None:
            box.close()
    book = write_gradebook(out, list(results.values()), meta, gradescope=gradescope)
    from coursekit.grading.report import ReportError, write_report  # its figures' imports only when it is written

    try:
        class_report, report_problem = write_report(out).html, ""
    except ReportError as exc:  # the gradebook stands; `coursekit report OUT` says the same
        class_report, report_problem = None, str(exc)
    return GradeReport(out, book, assignment, seed, len(results), sum(len(v) for v in todo.values()), reused,
                       time.monotonic() - start, _failures(list(results.values())), tuple(meta["isolation"]),
                       roster.skipped, not_read, class_report, report_problem, roster.layout)
