"""Class report build time: 200, 2,000 and 10,000 generated students of one course notebook.

    python benchmarks/report.py [--notebook 03_activations] [--sizes 200,2000,10000] [--keep DIR]

No grading: each class is written directly as a grading output folder (gradebook.meta.json,
gradebook.csv, results/<student>.json) in the grader's own format. What a student's answer does
is realistic rather than random: every exercise's known mistakes (the bank's wrong
implementations) are judged by the grader's own `judge` on the exercise's public and hidden
cases, in this process, so a student who makes a mistake fails exactly the cases that mistake
fails, with the mistake recognised where the grader would recognise it. Each student has an
ability; an exercise's difficulty and the ability decide whether the answer is right; a wrong
answer is one of the exercise's mistakes, a stub, an error, or a timeout; a few notebooks are
unreadable and a few cells time out. Of the right answers, some are the reference pasted, a
few are shared by small groups (the same code, renamed), the rest are each student's own.

The time is `write_report` (read the folder, compute, draw, write report.html and report.json),
the median of three runs, as wall time and as the process's CPU time (judged: on a shared machine
the wall time counts the other processes too), and once the whole `coursekit report OUT` command (a fresh Python,
imports included) for the largest class. Judged in this run: the largest class within
TARGET_SECONDS, and growth no worse than linear with room: time(10,000) / time(2,000) at most
GROWTH_LIMIT times linear (8 where linear is 5; a comparison of every pair of answers would make it
25). The exit status is 1 if either is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from coursekit.exercises import by_notebook
from coursekit.exercises.model import Case, Exercise
from coursekit.exercises.source import reference_source
from coursekit.grading.calls import call_case
from coursekit.grading.compare import Outcome, judge
from coursekit.grading.copies import answer_forms
from coursekit.grading.gradebook import CaseMark, ExerciseResult, StudentResult, write_gradebook
from coursekit.grading.plain import encode, materialize
from coursekit.grading.record import OVER_LIMIT, exercise_record
from coursekit.grading.report import write_report

SEED = 2024
TARGET_SECONDS = 20.0  # CPU seconds for the largest class
GROWTH_LIMIT = 1.6  # times linear
REPEATS = 3


def _output(exercise: Exercise, case: Case, wrong: Any) -> Any:
    """What a learner's answer that is `wrong` returns on `case`, as plain data (as the worker sends it)."""
    if exercise.kind == "value":
        return encode(wrong())
    args = list(materialize(encode(tuple(case.args), keep_dtype=True)))
    value, _ = call_case(exercise, case, wrong, args, materialize(encode(dict(case.kwargs), keep_dtype=True)))
    return encode(value)


def _mistake_marks(exercise: Exercise, seed: int) -> dict[str, tuple[CaseMark, ...]]:
    """For each of the exercise's mistakes with a wrong implementation: the mark of every case, as graded."""
    cases = exercise.cases(hidden_seed=seed)
    expected = [encode(exercise.expected(c)) for c in cases]
    found = {}
    for mistake in exercise.mistakes:
        if mistake.wrong is None:
            continue
        marks = []
        for number, (case, want) in enumerate(zip(cases, expected, strict=True), start=1):
            try:
                got = _output(exercise, case, mistake.wrong)
                verdict = judge(exercise, case, want, Outcome(value=got), number=number)
                marks.append(CaseMark("pass" if verdict.passed else verdict.status, verdict.mistake))
            except Exception:  # noqa: BLE001 - the wrong implementation raises on this input, as a learner's would
                marks.append(CaseMark("error"))
        if any(m.status != "pass" for m in marks):
            found[mistake.name] = tuple(marks)
    return found


class Generator:
    """Writes generated classes of one notebook; the mistakes' marks are judged once."""

    def __init__(self, notebook: str) -> None:
        self.notebook = notebook
        self.exercises = by_notebook(notebook)
        self.cases = {e.id: e.cases(hidden_seed=SEED) for e in self.exercises}
        self.patterns = {e.id: _mistake_marks(e, SEED) for e in self.exercises}
        self.reference = {e.id: answer_forms([(0, reference_source(e))], [e]).get(e.id) for e in self.exercises}
        rng = np.random.default_rng(SEED)
        self.difficulty = {e.id: float(d) for e, d in zip(self.exercises, np.linspace(1.8, -0.6,
                                                                                     len(self.exercises)),
                                                          strict=True)}
        self.mistake_weights = {e.id: rng.dirichlet(np.ones(len(self.patterns[e.id]))) if self.patterns[e.id]
                                else np.zeros(0) for e in self.exercises}

    def meta(self, students: int) -> dict[str, Any]:
        return {"assignment": self.notebook, "seed": SEED, "shard": None,
                "exercises": [{"id": e.id, "title": e.title, "points": e.points, "cases": len(self.cases[e.id]),
                               **exercise_record(e, self.cases[e.id])} for e in self.exercises],
                "max_total": float(sum(e.points for e in self.exercises)), "limits": {},
                "coursekit_version": "benchmark", "isolation": [], "students": students, "finished": True}

    def _answer(self, exercise: Exercise, rng: np.random.Generator, ability: float, name: str,
                ring: str | None) -> ExerciseResult:
        count = len(self.cases[exercise.id])
        base = {"id": exercise.id, "title": exercise.title, "max_points": exercise.points, "total": count,
                "note": ""}
        ref = self.reference[exercise.id]
        own = hashlib.sha256(f"{name}/{exercise.id}".encode()).hexdigest()[:16]
        nodes = int(rng.integers(15, 90))
        if rng.random() < 1 / (1 + np.exp(-(ability + self.difficulty[exercise.id]))):
            if ring is not None and ref is not None:  # a small group with the same code
                digest, nodes, match = hashlib.sha256(f"{ring}/{exercise.id}".encode()).hexdigest()[:16], 60, ""
            elif ref is not None and rng.random() < 0.3:
                digest, nodes, match = ref.digest, ref.nodes, "reference" if ref.reference else ""
            else:
                digest, match = own, ""
            return ExerciseResult(**base, points=exercise.points, passed=count, status="pass",
                                  cases=(CaseMark("pass"),) * count, digest=digest, nodes=nodes, match=match)
        draw = rng.random()
        if draw < 0.12:
            return ExerciseResult(**base, points=0.0, passed=0, status="not_attempted", message="Not attempted yet")
        if draw < 0.18 or not self.patterns[exercise.id]:
            marks = (CaseMark("error"),) * count
            return ExerciseResult(**base, points=0.0, passed=0, status="error", cases=marks, digest=own, nodes=nodes)
        if draw < 0.20:
            stop = int(rng.integers(0, count))
            marks = (CaseMark("pass"),) * stop + (CaseMark("error"),) + (CaseMark("not_run"),) * (count - stop - 1)
            return ExerciseResult(**base, points=0.0, passed=stop, status="error", cases=marks, digest=own,
                                  nodes=nodes, problem=OVER_LIMIT)
        names = list(self.patterns[exercise.id])
        marks = self.patterns[exercise.id][names[int(rng.choice(len(names), p=self.mistake_weights[exercise.id]))]]
        passed = sum(m.status == "pass" for m in marks)
        weights = [c.weight for c in self.cases[exercise.id]]
        points = round(exercise.points * sum(w for w, m in zip(weights, marks, strict=True) if m.status == "pass")
                       / sum(weights), 2)
        status = "error" if any(m.status == "error" for m in marks) else "fail"
        return ExerciseResult(**base, points=points, passed=passed, status=status, cases=marks, digest=own,
                              nodes=nodes)

    def write(self, out: Path, students: int) -> None:
        """A finished output folder of `students` generated students."""
        rng = np.random.default_rng([SEED, students])
        (out / "results").mkdir(parents=True)
        results = []
        max_total = float(sum(e.points for e in self.exercises))
        for number in range(students):
            name = f"student{number:05d}"
            ring = f"ring{number // 4}" if number % 100 < 4 else None  # groups of four, 4% of the class
            if rng.random() < 0.005:
                answers = tuple(ExerciseResult(e.id, e.title, 0.0, e.points, 0, len(self.cases[e.id]), "error",
                                               "Not graded") for e in self.exercises)
                result = StudentResult(name, self.notebook, f"{name}.ipynb", "", 0.0, max_total, answers,
                                       problem="unreadable notebook: the file is not valid notebook JSON")
            else:
                ability = float(rng.normal())
                answers = tuple(self._answer(e, rng, ability, name, ring) for e in self.exercises)
                stopped = ("Cell 4 ran past the 60 s notebook time limit; it was skipped and the notebook run "
                           "again without it",) if rng.random() < 0.005 else ()
                result = StudentResult(name, self.notebook, f"{name}.ipynb", "", round(sum(a.points for a in answers),
                                                                                      2),
                                       max_total, answers, stopped=stopped)
            (out / "results" / f"{name}.json").write_text(json.dumps(result.to_json(), indent=1) + "\n")
            results.append(result)
        meta = self.meta(students)
        write_gradebook(out, results, meta)


def _time_report(out: Path) -> tuple[float, float, dict[str, Any]]:
    """The median wall time and CPU time of `write_report(out)` over REPEATS runs, and the report's data."""
    walls, cpus, data = [], [], {}
    for _ in range(REPEATS):
        start, cpu = time.perf_counter(), time.process_time()
        data = write_report(out).data
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), data


def _command_seconds(*args: str) -> float:
    script = Path(sys.executable).parent / "coursekit"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "coursekit"]
    start = time.perf_counter()
    subprocess.run([*command, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="03_activations")
    parser.add_argument("--sizes", default="200,2000,10000", help="class sizes, comma-separated, ascending")
    parser.add_argument("--keep", type=Path, default=None, help="write the classes here and keep them")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    root = args.keep or Path(tempfile.mkdtemp(prefix="coursekit-report-bench-"))
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} (1 min) at the start")
    generator = Generator(args.notebook)
    mistakes = sum(len(p) for p in generator.patterns.values())
    print(f"{args.notebook}: {len(generator.exercises)} exercises, "
          f"{sum(len(c) for c in generator.cases.values())} cases, {mistakes} mistakes judged on them")
    rows = []
    try:
        for size in sizes:
            out = root / f"class-{size}"
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            generator.write(out, size)
            written = time.perf_counter() - start
            wall, cpu, data = _time_report(out)
            rows.append((size, written, wall, cpu, (out / "report.html").stat().st_size, data))
        command = _command_seconds("report", str(root / f"class-{sizes[-1]}"))
        startup = _command_seconds("--version")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{'students':>9} {'write class s':>14} {'report wall s':>14} {'report CPU s':>13} "
          f"{'CPU ms/student':>15} {'report.html':>12}")
    for size, written, wall, cpu, html_bytes, _ in rows:
        print(f"{size:>9} {written:>14.2f} {wall:>14.2f} {cpu:>13.2f} {1000 * cpu / size:>15.3f} "
              f"{html_bytes / 2**20:>9.2f} MB")
    largest = rows[-1]
    print(f"`coursekit report` for {largest[0]} students, a fresh process with its imports: {command:.2f} s "
          f"(`coursekit --version`, the same start-up without a report: {startup:.2f} s)")
    # judged on CPU time: on a shared machine the wall time measures the other processes as much as this one
    growth = largest[3] / rows[-2][3] if len(rows) > 1 else 1.0
    size_ratio = largest[0] / rows[-2][0] if len(rows) > 1 else 1.0
    ok_time, ok_growth = largest[3] <= TARGET_SECONDS, growth <= GROWTH_LIMIT * size_ratio
    print(f"verdict: {largest[0]} students in {largest[3]:.2f} s of CPU (target <= {TARGET_SECONDS:g} s): "
          f"{'ok' if ok_time else 'MISSED'}; CPU time grew {growth:.2f}x for {size_ratio:g}x the students (limit "
          f"{GROWTH_LIMIT * size_ratio:.1f}x): {'ok' if ok_growth else 'MISSED'}")
    print(f"load {os.getloadavg()[0]:.1f} (1 min) at the end")
    summary = largest[5]
    scores = summary["scores"]
    print(f"the {largest[0]}-student report: mean {scores['mean']} of {scores['max_total']:g}, median "
          f"{scores['median']}, {scores['with_problems']} with a problem; hardest exercise "
          f"{summary['exercises'][0]['id']} ({summary['exercises'][0]['pass_rate']:.0%} pass)")
    return 0 if ok_time and ok_growth else 1


if __name__ == "__main__":
    sys.exit(main())
