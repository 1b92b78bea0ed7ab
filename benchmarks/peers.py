"""`coursekit grade` against the real peers: nbgrader's `autograde` and otter-grader's `otter run`, same class.

    make bench-peers          (installs nbgrader 0.9.6 and otter-grader 7.0.0 into their own venv first)
    python benchmarks/peers.py --peers-python bench-output/peers-venv/bin/python [--students 60] [--timeout 10]

The class is `benchmarks/grading.py`'s (reference answers, wrong or partial ones, and
hostile ones: an endless loop, a sleeping cell, a memory bomb, os._exit, an exception).
Each tool gets the assignment in its own format:

- nbgrader: a source notebook whose exercise cells are solution cells (`### BEGIN SOLUTION`)
  and one autograder test cell per exercise (partial credit: the cell's value is its points),
  `nbgrader generate_assignment`, each student's answers in the released notebook's solution
  cells under `submitted/<student>/ps1/`, then `nbgrader autograde ps1 --create`;
- otter: a master notebook (`# ASSIGNMENT CONFIG`, `# BEGIN QUESTION`, solution and test
  blocks, one test case per exercise case, the hidden ones `# HIDDEN`), `otter assign`, then
  `otter run` on each student's notebook, two at a time;
- coursekit: `coursekit grade` with two workers.

Every test cell calls `peer_kit/peer_checks.py`, which judges with coursekit's own cases and
comparison, so the three agree on every answer they get to judge; where they differ, it is
how each ran the notebook. Same limits: each cell (nbgrader) or notebook run and exercise
(coursekit) gets `--timeout` seconds; the peers have no memory limit of their own, so they run
under `ulimit -v` (the memory of a kernel that has imported torch, plus the grader's memory
limit), and otter has no time limit, so each `otter run` is killed after `--submission-timeout`,
which coursekit gets too.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from grading import MEMORY_MB, SEED, Student, build_class, kind_of

from coursekit.exercises import by_notebook
from coursekit.exercises.source import reference_source

HERE = Path(__file__).resolve().parent
KIT = HERE / "peer_kit"
NOTEBOOK = "03_activations"


def _code(source: str, **nbgrader: Any) -> dict[str, Any]:
    meta = {"nbgrader": {"schema_version": 3, "task": False, **nbgrader}} if nbgrader else {}
    return {"cell_type": "code", "metadata": meta, "source": source, "outputs": [], "execution_count": None}


def _raw(source: str) -> dict[str, Any]:
    return {"cell_type": "raw", "metadata": {}, "source": source}


def _exercise_cells(nb: dict[str, Any], exercises: list[Any]) -> dict[str, int]:
    """Index of the cell that answers each exercise in a submission (the one that defines its name)."""
    found = {}
    for index, cell in enumerate(nb["cells"]):
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code":
            continue
        for e in exercises:
            if e.id not in found and (f"def {e.id}(" in source or f"\n{e.id} = " in "\n" + source):
                found[e.id] = index
                break
    missing = [e.id for e in exercises if e.id not in found]
    if missing:
        raise ValueError(f"no cell answers {missing}")
    return found


# ---------------------------------------------------------------- nbgrader


NBGRADER_CONFIG = """\
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "bench"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.Execute.timeout = {timeout}
c.Execute.interrupt_on_timeout = True
c.Execute.iopub_timeout = {timeout}
c.Execute.raise_on_iopub_timeout = False


def _limit(cell):
    # the set-up cell imports torch, which coursekit's workers find already loaded: it gets no limit here
    return None if "import coursekit" in cell.source else {timeout}


c.Execute.timeout_func = _limit
"""


def nbgrader_course(root: Path, students: list[Student], exercises: list[Any], *, timeout: float) -> Path:
    """The course folder: config, source notebook, and every student's released notebook filled in."""
    template = json.loads(students[0].path.read_text())
    cells = _exercise_cells(template, exercises)
    source = copy.deepcopy(template)
    for ex in exercises:
        answer = reference_source(ex)
        source["cells"][cells[ex.id]] = _code(f"### BEGIN SOLUTION\n{answer}\n### END SOLUTION", grade=False,
                                              solution=True, locked=False, grade_id=ex.id)
    source["cells"] += [_code(f"from peer_checks import points\npoints({ex.id!r}, globals().get({ex.id!r}))",
                              grade=True, solution=False, locked=True, grade_id=f"test_{ex.id}", points=ex.points)
                        for ex in exercises]
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / f"{NOTEBOOK}.ipynb").write_text(json.dumps(source, indent=1))
    (root / "nbgrader_config.py").write_text(NBGRADER_CONFIG.format(root=str(root), timeout=int(timeout)))
    return root


def nbgrader_submissions(root: Path, students: list[Student], exercises: list[Any]) -> None:
    """Each student's notebook as nbgrader's released one with their answers in its solution cells."""
    released = json.loads((root / "release" / "ps1" / f"{NOTEBOOK}.ipynb").read_text())
    by_grade_id = {c["metadata"]["nbgrader"]["grade_id"]: c for c in released["cells"]
                   if "nbgrader" in c.get("metadata", {})}
    for student in students:
        mine = json.loads(student.path.read_text())
        cells = _exercise_cells(mine, exercises)
        for ex in exercises:
            cell = copy.deepcopy(by_grade_id[ex.id])
            cell["source"] = mine["cells"][cells[ex.id]]["source"]
            mine["cells"][cells[ex.id]] = cell
        mine["cells"] += [copy.deepcopy(by_grade_id[f"test_{ex.id}"]) for ex in exercises]
        path = root / "submitted" / student.name / "ps1" / f"{NOTEBOOK}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(mine, indent=1))


_NBGRADER_SCORES = """
import json, sys
from nbgrader.api import Gradebook
with Gradebook(sys.argv[1]) as gb:
    out = {}
    for sub in gb.assignment_submissions("ps1"):
        nb = sub.notebooks[0]
        out[sub.student.id] = {g.name[len("test_"):]: g.score for g in nb.grades if g.name.startswith("test_")}
print(json.dumps(out))
"""


def run_nbgrader(root: Path, peers: Path, students: list[Student], exercises: list[Any], *, timeout: float,
                 env: dict[str, str], ulimit_kb: int) -> tuple[float, dict[str, dict[str, float]]]:
    """nbgrader generate_assignment, then autograde (timed); returns (seconds, {student: {exercise: points}})."""
    nbgrader = str(peers.parent / "nbgrader")
    nbgrader_course(root, students, exercises, timeout=timeout)
    subprocess.run([nbgrader, "generate_assignment", "ps1", "--force"], cwd=root, env=env, check=True,
                   capture_output=True)
    nbgrader_submissions(root, students, exercises)
    start = time.perf_counter()
    done = subprocess.run(["bash", "-c", f"ulimit -v {ulimit_kb}; exec {nbgrader} autograde ps1 --create --force"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    (root / "autograde.log").write_text(done.stdout + done.stderr)
    scores = subprocess.run([str(peers), "-c", _NBGRADER_SCORES, f"sqlite:///{root}/gradebook.db"], env=env,
                            capture_output=True, text=True, check=True)
    found = json.loads(scores.stdout)
    return seconds, {s.name: {ex.id: float(found.get(s.name, {}).get(ex.id) or 0.0) for ex in exercises}
                     for s in students}


# ---------------------------------------------------------------- otter


ASSIGNMENT_CONFIG = """\
# ASSIGNMENT CONFIG
init_cell: false
check_all_cell: false
export_cell: false
run_tests: false
generate: true
"""


def otter_master(path: Path, template: dict[str, Any], exercises: list[Any]) -> None:
    """The otter-assign master notebook: each exercise a question with one test case per coursekit case."""
    cells = _exercise_cells(template, exercises)
    master = copy.deepcopy(template)
    new_cells: list[dict[str, Any]] = [_raw(ASSIGNMENT_CONFIG)]
    for index, cell in enumerate(master["cells"]):
        ex = next((e for e in exercises if cells[e.id] == index), None)
        if ex is None:
            new_cells.append(cell)
            continue
        cases = ex.cases(hidden_seed=SEED)
        weight = sum(c.weight for c in cases)
        # the question's points are those of its test cases: one per coursekit case, worth the case's share
        new_cells += [_raw(f"# BEGIN QUESTION\nname: {ex.id}"), _raw("# BEGIN SOLUTION"),
                      _code(f"# BEGIN SOLUTION NO PROMPT\n{reference_source(ex)}\n# END SOLUTION"),
                      _raw("# END SOLUTION"), _raw("# BEGIN TESTS")]
        new_cells += [_code(f'""" # BEGIN TEST CONFIG\nhidden: {str(case.hidden).lower()}\n'
                            f'points: {round(ex.points * case.weight / weight, 6)!r}\n""" # END TEST CONFIG\n'
                            "from peer_checks import case_passes\n"
                            f"assert case_passes({ex.id!r}, {k}, globals().get({ex.id!r}))")
                      for k, case in enumerate(cases, start=1)]
        new_cells += [_raw("# END TESTS"), _raw("# END QUESTION")]
    master["cells"] = new_cells
    path.write_text(json.dumps(master, indent=1))


def run_otter(root: Path, peers: Path, students: list[Student], exercises: list[Any], *, cap: float,
              env: dict[str, str], ulimit_kb: int,
              parallel: int = 2) -> tuple[float, dict[str, dict[str, float]], list[str]]:
    """otter assign, then `otter run` per submission, `parallel` at a time (timed); also who was killed at the cap."""
    otter = str(peers.parent / "otter")
    root.mkdir(parents=True)
    otter_master(root / "master.ipynb", json.loads(students[0].path.read_text()), exercises)
    made = subprocess.run([otter, "assign", "master.ipynb", "dist"], cwd=root, env=env, capture_output=True,
                          text=True, check=False)
    if made.returncode != 0:
        raise RuntimeError(f"otter assign failed:\n{made.stdout[-3000:]}{made.stderr[-3000:]}")
    autograder = next((root / "dist" / "autograder").glob("*.zip"))
    capped: list[str] = []

    def one(student: Student) -> tuple[str, dict[str, float]]:
        out = root / "results" / student.name
        out.mkdir(parents=True)
        command = f"ulimit -v {ulimit_kb}; exec {otter} run -a {autograder} -o {out} {student.path}"
        try:
            subprocess.run(["bash", "-c", command], env=env, capture_output=True, timeout=cap, check=False,
                           start_new_session=True)
        except subprocess.TimeoutExpired:
            capped.append(student.name)  # killed at the cap: whatever did not finish scores nothing
        found = {ex.id: 0.0 for ex in exercises}
        results = out / "results.json"
        if results.exists():
            for test in json.loads(results.read_text()).get("tests", []):
                name = str(test.get("name", "")).split(" ")[0]
                if name in found:
                    found[name] += float(test.get("score") or 0.0)
        return student.name, {k: round(v, 2) for k, v in found.items()}

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        scores = dict(pool.map(one, students))
    return time.perf_counter() - start, scores, sorted(capped)


# ---------------------------------------------------------------- coursekit and the report


def run_coursekit(folder: Path, out: Path, *, timeout: float, cap: float) -> tuple[float, dict[str, dict[str, float]]]:
    command = [str(Path(sys.executable).parent / "coursekit"), "grade", str(folder), "--out", str(out), "--seed",
               str(SEED), "--workers", "2", "--quiet", "--notebook-timeout", f"{timeout:g}", "--exercise-timeout",
               f"{timeout:g}", "--submission-timeout", f"{cap:g}", "--memory-mb", str(MEMORY_MB)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {r["student"]: r for r in csv.DictReader(handle)}
    ids = [e.id for e in by_notebook(NOTEBOOK)]
    return seconds, {s: {i: float(r[i]) for i in ids} for s, r in rows.items()}


def _kernel_address_space_kb(peers: Path, env: dict[str, str]) -> int:
    probe = ("import torch, coursekit, matplotlib.pyplot\n"
             "print(next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmSize:')))")
    done = subprocess.run([str(peers), "-c", probe], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers-python", type=Path, required=True, help="python of the venv with nbgrader and otter")
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per cell / notebook run / exercise")
    parser.add_argument("--submission-timeout", type=float, default=60.0,
                        help="seconds for one submission in all (coursekit's limit, and the cap on each otter run)")
    args = parser.parse_args(argv)
    peers = args.peers_python.absolute()
    exercises = by_notebook(NOTEBOOK)
    env = {**os.environ, "PYTHONPATH": str(KIT), "COURSEKIT_DEVICE": "cpu", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
           "PATH": f"{peers.parent}:{os.environ['PATH']}"}
    ulimit_kb = _kernel_address_space_kb(peers, env) + MEMORY_MB * 1024
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="coursekit-peers-") as tmp:
        root = Path(tmp)
        students = build_class(root / "submitted", notebook=NOTEBOOK, students=args.students, full=False)
        ours_s, ours = run_coursekit(root / "submitted", root / "grades", timeout=args.timeout,
                                     cap=args.submission_timeout)
        nbg_s, nbg = run_nbgrader(root / "nbgrader", peers, students, exercises, timeout=args.timeout, env=env,
                                  ulimit_kb=ulimit_kb)
        ott_s, ott, capped = run_otter(root / "otter", peers, students, exercises, cap=args.submission_timeout, env=env,
                               ulimit_kb=ulimit_kb)
        log_tail = (root / "nbgrader" / "autograde.log").read_text()[-1500:]
    n = len(students)
    print(f"{NOTEBOOK}: {len(exercises)} exercises, {n} students ({sum(s.kind == 'hostile' for s in students)} "
          f"hostile); limit {args.timeout:g} s per cell / notebook run / exercise, {args.submission_timeout:g} s a "
          f"submission, memory {MEMORY_MB} MB (the peers under ulimit -v {ulimit_kb // 1024} MB); "
          f"{os.cpu_count()} cores, load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(f"{'grader':<44} {'seconds':>8} {'subm/s':>7} {'coursekit is':>13}")
    for label, secs in (("coursekit grade (2 workers)", ours_s), ("nbgrader 0.9.6 autograde (one kernel at a time)",
                                                                 nbg_s),
                        ("otter-grader 7.0.0 otter run (two at a time)", ott_s)):
        print(f"{label:<44} {secs:>8.1f} {n / secs:>7.2f} {secs / ours_s:>12.1f}x")
    print("\nagreement: exercises whose points differ from coursekit's, by what the submission does")
    print(f"{'submissions':<14} {'n':>3} {'nbgrader':>9} {'otter':>9}  why")
    why = {"correct": "", "wrong": "", "loop": "the peer waits out its time limit; otter has none, so the run is "
           "killed and the whole notebook scores 0", "sleep": "a sleeping cell: nbgrader interrupts it and goes "
           "on; otter waits, and is killed at the cap", "memory": "MemoryError under ulimit -v, caught like any "
           "exception", "os_exit": "the kernel dies: the peers lose the rest of the notebook, coursekit only "
           "that exercise", "exception": "an exception in one exercise: all three score it 0"}
    ids = [e.id for e in exercises]
    for kind in ("correct", "wrong", "loop", "sleep", "memory", "os_exit", "exception"):
        group = [s for s in students if kind_of(s) == kind]
        if not group:
            continue
        counts = [sum(sum(abs(ours[s.name][i] - other[s.name][i]) > 0.011 for i in ids) for s in group)
                  for other in (nbg, ott)]
        total = len(group) * len(ids)
        print(f"{kind:<14} {len(group):>3} {counts[0]:>4}/{total:<4} {counts[1]:>4}/{total:<4} "
              f"{why[kind] if any(counts) else ''}".rstrip())
    totals = {label: sum(sum(g.values()) for g in grades.values()) for label, grades in
              (("coursekit", ours), ("nbgrader", nbg), ("otter", ott))}
    print("class total points: " + ", ".join(f"{k} {v:g}" for k, v in totals.items()))
    honest = [s for s in students if s.kind != "hostile"]
    honest_capped = [s.name for s in honest if s.name in capped]
    if honest_capped:
        print(f"otter runs of honest submissions killed at the {args.submission_timeout:g} s cap (they ran longer on "
              f"this machine; their points are lost): {', '.join(honest_capped)}")
    disagree = [(s.name, label) for s in honest for label, other in (("nbgrader", nbg), ("otter", ott))
                if any(abs(ours[s.name][i] - other[s.name][i]) > 0.011 for i in ids)
                and not (label == "otter" and s.name in capped)]
    if disagree:
        print(f"honest submissions graded differently: {disagree[:10]}\n--- nbgrader log tail\n{log_tail}")
    return 0 if not disagree else 1


if __name__ == "__main__":
    sys.exit(main())
