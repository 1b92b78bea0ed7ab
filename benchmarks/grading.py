"""Grading throughput: `coursekit grade` against a fresh kernel per submission (nbclient), in one run.

    python benchmarks/grading.py [--students 200] [--sample 20] [--notebook 03_activations] [--full]
                                 [--compare-source DIR]

A class of generated submissions of one course notebook: 60% reference answers, 25% wrong
or partly answered, 15% hostile (an endless loop, a sleeping cell, a memory bomb,
os._exit, an exception), in a shuffled order. Every file is different, so the grader's
journal cannot reuse one grade for another. A submission is the course notebook with
its stubs answered; its demonstration cells are left out unless `--full`, so what is
measured is the cost of grading rather than of the notebook's plots.

The grader is the real CLI (`coursekit grade`, a fresh output folder, so the zygote's
start-up is counted), with two workers. The baseline does what nbgrader's and otter's
autograde do: each submission runs in a fresh Jupyter kernel (nbclient); every cell
gets the grader's time limit and errors do not stop the run; then one appended cell
per exercise runs its public and hidden cases in that kernel and prints the points.
Kernels get the grader's memory limit and one thread and run one at a time, as nbgrader's
autograde runs them (`--kernels 2` runs two at once, a stronger baseline than the tools
it stands for: the grader still wins by about 14x there). The baseline only times a sample: every attack once and
reference and wrong answers in the class's proportion; its rate for the class weights
each group's mean time by the group's share of the class. Both must grade the sample's
honest submissions alike, and the grader every submission as expected.
Targets: >= 20x the baseline's rate and >= 10 submissions/s; the exit status is 1 if missed.
`--compare-source DIR` also times the grader of another source tree (a checkout's folder that
holds `coursekit/`, e.g. the previous release) on the same class in the same run, before this one.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.exercises.source import reference_source, stub_source

ROOT = Path(__file__).resolve().parent.parent
RATIO_TARGET = 20.0
RATE_TARGET = 10.0
SEED = 2024
MEMORY_MB = 1024
# every block of 20 submissions (in a shuffled order): 12 reference answers, 5 wrong or partial, 3 hostile
BLOCK = ["correct"] * 12 + ["wrong"] * 5 + ["hostile"] * 3
HOSTILE = ["loop", "sleep", "memory", "os_exit", "exception"]


@dataclass(frozen=True)
class Student:
    """One generated submission and what its grade must be."""

    name: str
    kind: str  # correct, wrong or hostile
    attack: str = ""
    target: str = ""  # the exercise the attack is aimed at
    path: Path = Path()


# ---------------------------------------------------------------- answers


def wrong_source(exercise: Any) -> str:
    """A wrong answer: the reference's output moved (a 'sign or scale slip'), or a wrong value."""
    if exercise.kind == "value":
        return f"{exercise.id} = 12345\n"
    body = reference_source(exercise).replace(f"\n{exercise.id} = ", "\n_ref = ")
    name = exercise.reference.__name__
    if name == exercise.id:
        body = body.replace(f"def {name}(", "def _ref(", 1)
    return body + f"\n\ndef {exercise.id}(*args, **kwargs):\n    return _ref(*args, **kwargs) * 2 + 1\n"


def hostile_source(exercise: Any, attack: str) -> str:
    """An answer that attacks the grader (or the kernel) when it is called."""
    head = f"def {exercise.id}(*args, **kwargs):\n"
    return {
        "loop": head + "    while True:\n        pass\n",
        "memory": head + "    hog = []\n    while True:\n        hog.append(bytearray(2**27))\n",
        "os_exit": head + "    import os\n    os._exit(1)\n",
        "exception": head + "    raise RuntimeError('the answer gave up')\n",
    }[attack]


def keep_clear_of(source: str, name: str) -> str:
    """`source` with a helper it writes out under the name of another exercise (the reference sigmoid inside
    sigmoid_grad's answer) renamed, so that a later cell never redefines the learner's own answer."""
    if not name or f"def {name}(" not in source:
        return source
    return re.sub(rf"(?<![.\w]){name}\(", f"_{name}_helper(", source)


# ---------------------------------------------------------------- the class


def _code(source: str, cell_id: str) -> dict[str, Any]:
    return {"cell_type": "code", "id": cell_id, "metadata": {}, "source": source, "outputs": [],
            "execution_count": None}


def build_class(folder: Path, *, notebook: str, students: int, full: bool) -> list[Student]:
    """Write `students` submissions of `notebook` into `folder`, in a fixed, shuffled mix."""
    import numpy as np

    from coursekit.exercises import by_notebook

    exercises = {e.id: e for e in by_notebook(notebook)}
    template = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())
    template["metadata"].pop("widgets", None)
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    # each block of 20 in its own shuffled order, so no kind sits at a fixed place in the class (or at its end)
    kinds = [str(k) for _ in range(0, students, len(BLOCK)) for k in rng.permutation(BLOCK)][:students]
    for number, kind in enumerate(kinds):
        name = f"s{number:03d}"
        attack = HOSTILE[sum(w.kind == "hostile" for w in written) % len(HOSTILE)] if kind == "hostile" else ""
        target = list(exercises)[number % len(exercises)] if attack and attack != "sleep" else ""
        cells, first = [], True
        for cell in template["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "code":
                cells.append(copy.deepcopy(cell))
                continue
            if first:
                cells.append(_code(f"# submitted by {name}\n" + source, cell.get("id", "setup")))
                if attack == "sleep":
                    cells.append(_code("import time\ntime.sleep(3600)  # waits for what never comes", "sleep"))
                first = False
            elif "exercise" in tags:
                exercise = next(e for i, e in exercises.items() if f"def {i}(" in source or f"{i} =" in source)
                if exercise.id == target:
                    answer = hostile_source(exercise, attack)
                elif kind == "wrong":
                    answer = [reference_source, wrong_source, stub_source][int(rng.integers(0, 3))](exercise)
                else:
                    answer = reference_source(exercise)
                if exercise.id != target:
                    answer = keep_clear_of(answer, target)
                cells.append(_code(f"# {name}'s answer\n" + answer, cell.get("id", exercise.id)))
            elif full or "check(" in source:
                cells.append(copy.deepcopy(cell))
        nb = {**template, "cells": cells}
        path = folder / f"{name}.ipynb"
        path.write_text(json.dumps(nb, indent=1))
        written.append(Student(name, kind, attack, target, path))
    return written


def kind_of(student: Student) -> str:
    """The group a submission is timed in: correct, wrong, or the attack's name."""
    return student.attack or student.kind


def stratified_sample(students: list[Student], size: int) -> list[Student]:
    """About `size` submissions spread evenly over the class: every attack once, the rest in the class's mix."""
    groups: dict[str, list[Student]] = {}
    for student in students:
        groups.setdefault(kind_of(student), []).append(student)
    attacks = [k for k in groups if k not in ("correct", "wrong")]
    honest = len(groups.get("correct", [])) + len(groups.get("wrong", []))
    room = max(2, size - len(attacks))
    quota = {k: max(1, round(room * len(groups[k]) / honest)) for k in ("correct", "wrong") if k in groups}
    quota.update({k: 1 for k in attacks})
    picked = []
    for kind, members in groups.items():
        n = min(quota[kind], len(members))
        picked += [members[int((j + 0.5) * len(members) / n)] for j in range(n)]
    return sorted(picked, key=lambda s: s.name)


# ---------------------------------------------------------------- the two graders


def run_grader(folder: Path, out: Path, *, timeout: float,
               source: Path | None = None) -> tuple[float, dict[str, dict[str, str]]]:
    """`coursekit grade` as an instructor runs it (from `source` if given); returns (seconds, rows by student)."""
    script = Path(sys.executable).parent / "coursekit"
    command = [str(script)] if script.exists() and source is None else [sys.executable, "-m", "coursekit.cli"]
    env = {**os.environ, "PYTHONPATH": str(source)} if source is not None else None
    command += ["grade", str(folder), "--out", str(out), "--seed", str(SEED), "--workers", "2", "--quiet",
                "--notebook-timeout", f"{timeout:g}", "--exercise-timeout", f"{timeout:g}",
                "--memory-mb", str(MEMORY_MB)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"coursekit grade failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with open(out / "gradebook.csv", newline="") as handle:
        return seconds, {row["student"]: row for row in csv.DictReader(handle)}


_LIMIT = """\
import resource as _resource, torch as _torch
_torch.set_num_threads(1)
_vm = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmSize:')) * 1024
_resource.setrlimit(_resource.RLIMIT_AS, (_vm + {memory} * 2**20,) * 2)
"""

_AUTOGRADE = """\
def _autograde(exercise_id, seed):
    import json
    from coursekit.exercises import get
    from coursekit.grading.check import run_case
    from coursekit.grading.compare import judge
    from coursekit.grading.plain import encode
    exercise = get(exercise_id)
    candidate, passed, total = globals().get(exercise_id), 0, 0
    for number, case in enumerate(exercise.cases(hidden_seed=seed), start=1):
        verdict = judge(exercise, case, encode(exercise.expected(case)), run_case(exercise, case, candidate),
                        number=number)
        if verdict.status == "not_attempted":
            passed, total = 0, 1
            break
        passed, total = passed + verdict.passed, total + 1
    print("AUTOGRADE " + json.dumps([exercise_id, round(exercise.points * passed / total, 2)]))
"""


async def _baseline_one(path: Path, exercise_ids: list[str], *, timeout: float) -> tuple[float, float]:
    """Run one submission in a fresh kernel and its grading cells after it; returns (points, seconds)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    start = time.perf_counter()
    nb = nbformat.read(path, as_version=4)
    limit = _LIMIT.format(memory=MEMORY_MB)
    nb.cells.insert(0, nbformat.v4.new_code_cell(limit))
    nb.cells.append(nbformat.v4.new_code_cell(_AUTOGRADE))
    nb.cells += [nbformat.v4.new_code_cell(f"_autograde({i!r}, {SEED})") for i in exercise_ids]
    with tempfile.TemporaryDirectory(prefix="baseline-") as work:
        # every cell gets the grader's time limit, except the limit-setting cell this baseline adds
        client = NotebookClient(nb, timeout_func=lambda cell: None if cell.source == limit else timeout,
                                interrupt_on_timeout=True, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": work}},
                                extra_arguments=["--IPKernelApp.log_level=ERROR"])
        try:
            await client.async_execute()
        except DeadKernelError:
            pass  # the kernel died (os._exit): what did not run scores nothing
    total = 0.0
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in str(output.get("text", "")).splitlines():
                if line.startswith("AUTOGRADE "):
                    total += float(json.loads(line[len("AUTOGRADE "):])[1])
    return round(total, 2), time.perf_counter() - start


def run_baseline(sample: list[Student], exercise_ids: list[str], *, timeout: float,
                 parallel: int = 1) -> tuple[float, dict[str, tuple[float, float]]]:
    """A fresh kernel per submission, `parallel` at a time; returns (seconds, {student: (points, seconds)})."""
    os.environ.update({"COURSEKIT_DEVICE": "cpu", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                       "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    gate = asyncio.Semaphore(parallel)

    async def one(student: Student) -> tuple[str, tuple[float, float]]:
        async with gate:
            return student.name, await _baseline_one(student.path, exercise_ids, timeout=timeout)

    async def everyone() -> list[tuple[str, tuple[float, float]]]:
        return await asyncio.gather(*(one(s) for s in sample))

    start = time.perf_counter()
    totals = dict(asyncio.run(everyone()))
    return time.perf_counter() - start, totals


# ---------------------------------------------------------------- checks and report


def wrong_grades(students: list[Student], rows: dict[str, dict[str, str]], points: dict[str, float]) -> list[str]:
    """Grades the grader got wrong: reference answers below full marks, attacks not contained."""
    problems = []
    for s in students:
        row = rows.get(s.name)
        if row is None:
            problems.append(f"{s.name}: missing from the gradebook")
            continue
        expected = {i: (0.0 if i == s.target else None if s.kind == "wrong" else full) for i, full in points.items()}
        for i, want in expected.items():
            if want is not None and float(row[i]) != want:
                problems.append(f"{s.name} ({s.kind} {s.attack}): {i} got {row[i]}, expected {want:g}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--sample", type=int, default=20, help="submissions the baseline runs (about)")
    parser.add_argument("--notebook", default="03_activations")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds per cell (baseline) and per "
                        "notebook run and per exercise (grader)")
    parser.add_argument("--full", action="store_true", help="keep the notebook's demonstration cells")
    parser.add_argument("--kernels", type=int, default=1, help="baseline kernels at a time (nbgrader runs one)")
    parser.add_argument("--compare-source", type=Path, default=None, metavar="DIR",
                        help="also time the grader whose package is DIR/coursekit, in the same run")
    args = parser.parse_args(argv)
    from coursekit.exercises import by_notebook

    exercises = by_notebook(args.notebook)
    exercise_ids = [e.id for e in exercises]
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        students = build_class(Path(tmp) / "submitted", notebook=args.notebook, students=args.students,
                               full=args.full)
        sample = stratified_sample(students, args.sample)
        other = None
        if args.compare_source is not None:
            other = run_grader(Path(tmp) / "submitted", Path(tmp) / "grades-other", timeout=args.timeout,
                               source=args.compare_source.resolve())
        grader_s, rows = run_grader(Path(tmp) / "submitted", Path(tmp) / "grades", timeout=args.timeout)
        journal = [json.loads(line) for line in (Path(tmp) / "grades" / "journal.jsonl").read_text().splitlines()]
        graded = len(journal)
        base_s, base = run_baseline(sample, exercise_ids, timeout=args.timeout, parallel=args.kernels)
    problems = wrong_grades(students, rows, {e.id: e.points for e in exercises})
    if graded != len(students):
        problems.append(f"the grader graded {graded} notebooks, not {len(students)}")
    honest = [s for s in sample if s.kind != "hostile"]
    disagree = [f"{s.name}: grader {rows[s.name]['total']}, baseline {base[s.name][0]:g}" for s in honest
                if float(rows[s.name]["total"]) != base[s.name][0]]
    # the baseline's time for the whole class: each group's mean kernel time in the sample, weighted by the
    # group's size in the class, shared by the kernels that run at once
    seconds: dict[str, list[float]] = {}
    for s in sample:
        seconds.setdefault(kind_of(s), []).append(base[s.name][1])
    class_s = sum(sum(seconds[kind_of(s)]) / len(seconds[kind_of(s)]) for s in students) / args.kernels
    grader_rate, sample_rate, base_rate = len(students) / grader_s, len(sample) / base_s, len(students) / class_s
    ratio = grader_rate / base_rate
    mix = {k: sum(s.kind == k for s in students) for k in ("correct", "wrong", "hostile")}
    sample_mix = {k: sum(s.kind == k for s in sample) for k in ("correct", "wrong", "hostile")}
    contents = "the whole notebook" if args.full else "setup, exercise and check cells"
    print(f"{args.notebook}: {len(exercise_ids)} exercises, {contents}; time limit {args.timeout:g} s, memory "
          f"{MEMORY_MB} MB; grader 2 workers, baseline {args.kernels} kernel(s) at a time; {os.cpu_count()} cores "
          f"({len(os.sched_getaffinity(0))} usable), load average {load:.1f} when started, "
          f"{os.getloadavg()[0]:.1f} at the end")
    print(f"class: {mix['correct']} reference answers, {mix['wrong']} wrong or partial, {mix['hostile']} hostile "
          f"({', '.join(HOSTILE)})")
    print(f"baseline sample: {sample_mix['correct']} reference, {sample_mix['wrong']} wrong, one of each attack; "
          "its class rate weights each group's mean time by the group's share of the class")
    print(f"{'grader':<46} {'submissions':>11} {'seconds':>8} {'subm/s':>7}")
    rows_out = [("coursekit grade (CLI, cold start)", len(students), grader_s, grader_rate),
                ("fresh kernel each (nbclient), the sample", len(sample), base_s, sample_rate),
                ("fresh kernel each, the class (from the sample)", len(students), class_s, base_rate)]
    if other is not None:
        other_label = f"coursekit grade from {args.compare_source}"[:46]
        rows_out.insert(1, (other_label, len(students), other[0], len(students) / other[0]))
    for label, n, secs, rate in rows_out:
        print(f"{label:<46} {n:>11} {secs:>8.1f} {rate:>7.2f}")
    if other is not None:
        print(f"{'this tree over the other (rate)':<46} {'':>11} {'':>8} {other[0] / grader_s:>6.2f}x; "
              f"the other over the baseline {len(students) / other[0] / base_rate:.1f}x")
    print(f"{'speed-up (class rate over class rate)':<46} {'':>11} {'':>8} {ratio:>6.1f}x")
    # where the time goes: each group's mean seconds per submission (the grader's from its journal)
    worker: dict[str, list[float]] = {}
    by_name = {e["result"]["student"]: e["seconds"] for e in journal}
    for s in students:
        worker.setdefault(kind_of(s), []).append(by_name[s.name])
    groups = [g for g in ("correct", "wrong", *HOSTILE) if g in seconds and g in worker]
    print(f"{'mean seconds per submission':<28}" + "".join(f"{g:>10}" for g in groups))
    for label, times in (("  grader, one worker slot", worker), ("  baseline, one kernel", seconds)):
        print(f"{label:<28}" + "".join(f"{sum(times[g]) / len(times[g]):>10.2f}" for g in groups))
    ok_ratio, ok_rate = ratio >= RATIO_TARGET, grader_rate >= RATE_TARGET
    print(f"verdict: >= {RATIO_TARGET:g}x the baseline, measured in this run: {'ok' if ok_ratio else 'MISSED'}; "
          f"aim (absolute, not judged: load changes it): >= {RATE_TARGET:g} submissions/s: "
          f"{'met' if ok_rate else 'not met at this load'}")
    print(f"grades: {len(students) - len({p.split(':')[0] for p in problems})}/{len(students)} as expected; "
          f"grader and baseline agree on {len(honest) - len(disagree)}/{len(honest)} sample submissions "
          "that are not hostile")
    for line in (problems + disagree)[:20]:
        print("  " + line)
    return 0 if ok_ratio and not problems and not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
