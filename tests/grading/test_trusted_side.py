"""The grader trusts no file: one vote per student, sizes checked before reading, unreadable files reported."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from coursekit.exercises import notebooks
from coursekit.grading.batch import grade
from coursekit.grading.roster import read_class

from .conftest import SEED
from .corpus import FIRST, GOOD, SHIFT_FIRST, nbgrader_class, write_notebook


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_one_student_cannot_choose_the_assignment_for_the_class(tmp_path, sandbox):
    submitted = nbgrader_class(tmp_path / "course")
    report = grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    assert report.assignment == "00_start_here", "five extra notebooks outvoted the class"
    rows = _rows(tmp_path / "out")
    assert float(rows["ada"]["total"]) == 1.0 and float(rows["mallory"]["total"]) == 1.0
    assert rows["mallory"]["source"] == "mallory/ps1/00_start_here.ipynb"
    extras = [p for p in rows["mallory"]["problem"].split("; ") if "05_softmax" in p]
    assert len(extras) == 5 and extras[0] == "not graded: mallory/ps1/extra_0.ipynb (it answers 05_softmax)"


def test_nbgraders_assignment_folder_decides_over_a_notebooks_label(tmp_path, sandbox):
    submitted = nbgrader_class(tmp_path / "course")
    grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    dora = json.loads((tmp_path / "out" / "results" / "dora.json").read_text())
    assert dora["source"] == "dora/00_start_here/my answers.ipynb" and dora["total"] == 1.0


def test_a_student_folder_that_is_a_link_gets_a_row_with_the_reason(tmp_path, sandbox):
    submitted = nbgrader_class(tmp_path / "course")
    grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    linked = _rows(tmp_path / "out")["linked"]
    assert float(linked["total"]) == 0.0 and "the student folder is a link to a folder" in linked["problem"]


def test_an_ambiguous_class_is_refused_naming_assignment(tmp_path):
    folder = tmp_path / "flat"
    for name in ("ada", "ben"):
        write_notebook(folder / f"{name}.ipynb", [FIRST, GOOD])
    for name in ("cy", "dee"):
        write_notebook(folder / f"{name}.ipynb", [FIRST, "x = 1"], assignment="05_softmax")
    with pytest.raises(ValueError, match=r"00_start_here: 2 of 4 students, 05_softmax: 2 of 4 .*Pass --assignment"):
        read_class(folder, known=notebooks())
    write_notebook(folder / "eve.ipynb", [FIRST, "x = 1"], assignment="01_gradients")
    with pytest.raises(ValueError, match="Pass --assignment"):  # 2 of 5 is no majority either
        read_class(folder, known=notebooks())
    assert read_class(folder, known=notebooks(), assignment="00_start_here").assignment == "00_start_here"


_READ_UNDER_A_MEMORY_LIMIT = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30,) * 2)
from coursekit.exercises import notebooks
from coursekit.grading.roster import read_class
for assignment in (None, "00_start_here"):
    roster = read_class(sys.argv[1], known=notebooks(), assignment=assignment)
print(json.dumps({e.student: e.problem for e in roster.entries}))
"""


def test_an_8_gb_sparse_notebook_is_never_read(tmp_path):
    """The size comes from stat before any read, in assignment detection too: 3 GB of memory is plenty."""
    folder = tmp_path / "class"
    write_notebook(folder / "ada.ipynb", [FIRST, GOOD])
    write_notebook(folder / "ben.ipynb", [FIRST, GOOD])
    with open(folder / "huge.ipynb", "wb") as handle:
        handle.truncate(8 * 2**30)
    done = subprocess.run([sys.executable, "-c", _READ_UNDER_A_MEMORY_LIMIT, str(folder)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    problems = json.loads(done.stdout)
    too_large = "not read: huge.ipynb: file too large: 8,192 MB, over the 100 MB limit"
    assert problems == {"ada": "", "ben": "", "huge": too_large}


_AS_NOBODY = """
import json, os, sys
from coursekit.exercises import notebooks
from coursekit.grading.roster import read_class
known = notebooks()
os.setgroups([]); os.setgid(65534); os.setuid(65534)  # the interpreter's own files may be root's only: import first
roster = read_class(sys.argv[1], known=known, assignment=sys.argv[2] if len(sys.argv) > 2 else None)
print(json.dumps({e.student: [e.problem, list(e.unread)] for e in roster.entries}))
"""


def _read_as_someone_else(folder: Path, *extra: str) -> dict[str, list]:
    """read_class run by a user who may not read what is locked (root reads everything)."""
    if os.geteuid() != 0:
        roster = read_class(folder, known=notebooks(), assignment=extra[0] if extra else None)
        return {e.student: [e.problem, list(e.unread)] for e in roster.entries}
    done = subprocess.run([sys.executable, "-c", _AS_NOBODY, str(folder), *extra], capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "HOME": "/"})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.fixture()
def open_folder():
    """A folder every user can enter (pytest's tmp_path is private to its owner)."""
    folder = Path(tempfile.mkdtemp(prefix="coursekit-unreadable-"))
    os.chmod(folder, 0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            os.chmod(path, 0o755)
    shutil.rmtree(folder)


def test_unreadable_files_and_folders_get_a_row_with_the_reason(open_folder):
    flat = open_folder / "flat"
    for name in ("ada", "locked"):
        write_notebook(flat / f"{name}.ipynb", [FIRST, GOOD])
    os.chmod(flat, 0o755)
    os.chmod(flat / "ada.ipynb", 0o644)
    os.chmod(flat / "locked.ipynb", 0o000)
    found = _read_as_someone_else(flat)
    assert found["ada"] == ["", []]
    assert found["locked"][0] == "not read: the file cannot be read (permission denied)"

    tree = open_folder / "course" / "submitted"
    for name in ("ada", "ben", "shut"):
        write_notebook(tree / name / "ps1" / "00_start_here.ipynb", [FIRST, SHIFT_FIRST])
    for path in [open_folder / "course", *(open_folder / "course").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(tree / "shut" / "ps1", 0o000)
    found = _read_as_someone_else(tree)
    assert found["ada"] == ["", []] and found["ben"] == ["", []]
    assert found["shut"][0] == "not read: shut/ps1: the folder cannot be read (Permission denied)"


def test_a_memory_bomb_reads_the_same_whichever_limit_stopped_it():
    """MemoryError on one machine, a timeout on a slower one, a kill by the memory cgroup on a third: one row.
    A SIGKILL the code sent itself reads as a crash where the cgroup can tell (its memory.events)."""
    from coursekit.exercises import get
    from coursekit.grading.batch import OVER_LIMIT, _score, _Spec
    from coursekit.grading.compare import ErrorInfo, Outcome
    from coursekit.grading.exchange import Ended, describe_exit, over_the_limit
    from coursekit.grading.sandbox import ExerciseRun, Failure, Limits
    from coursekit.grading.submissions import Notebook

    spec = _Spec.build(get("scale_and_shift"), SEED)
    right = Outcome(value=spec.expected[0])
    oom = Outcome(error=ErrorInfo("MemoryError", ""))

    def killed(oom_kill: bool | None) -> Failure:
        ended = Ended(128 + 9, oom_kill)
        return Failure("crash", "the worker process ended: " + describe_exit(ended, Limits()), 2,
                       over_limit=over_the_limit(ended))

    runs = {
        "MemoryError": ExerciseRun(spec.exercise.id, (right, *[oom] * (len(spec.cases) - 1))),
        "timeout": ExerciseRun(spec.exercise.id, (right,), Failure(
            "timeout", "did not finish within 10 s (the exercise time limit): an endless loop?", 2, over_limit=True)),
        "cgroup kill": ExerciseRun(spec.exercise.id, (right,), killed(True)),
        "a SIGKILL nobody can tell apart": ExerciseRun(spec.exercise.id, (right,), killed(None)),
    }
    scored = {how: _score(spec, run, Notebook((), None), {}) for how, run in runs.items()}
    assert {(r.points, r.problem) for r in scored.values()} == {(0.0, OVER_LIMIT)}, scored
    assert "MemoryError" in scored["MemoryError"].message and "10 s" in scored["timeout"].message
    assert "killed for using too much memory" in scored["cgroup kill"].message
    itself = _score(spec, ExerciseRun(spec.exercise.id, (right,), killed(False)), Notebook((), None), {})
    assert itself.points == 0.0 and itself.problem.startswith("crash: the worker process ended: it was killed "
                                                              "(SIGKILL), not for memory"), itself
