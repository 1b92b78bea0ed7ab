"""A grading run killed mid-way (SIGKILL) and re-run ends with the same gradebook, grading nothing twice."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from coursekit.grading.batch import grade
from coursekit.grading.journal import Journal

from .conftest import SEED, TEST_LIMITS
from .corpus import FIRST, GOOD, write_notebook

_RUN = """
import sys
from coursekit.grading.batch import grade
from coursekit.grading.sandbox import Limits
limits = Limits(**{limits})
grade(submissions=sys.argv[1], out=sys.argv[2], seed={seed}, workers=1, limits=limits, progress=False)
"""


def _zygotes_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"coursekit.grading.zygote" in args and str(pid).encode() in args:
            found.append(int(entry.name))
    return found


def _unique_contents(folder: Path) -> int:
    """Different contents among the notebooks the grader can read (no FIFO, folder, link or 8 GB file)."""
    return len({p.read_bytes() for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink()
                and p.stat().st_size < 2**27})


def test_killed_run_resumes_to_the_same_gradebook(tmp_path, hostile_class, sandbox):
    out = tmp_path / "out"
    script = _RUN.format(limits=dataclasses.asdict(TEST_LIMITS), seed=SEED)
    process = subprocess.Popen([sys.executable, "-c", script, str(hostile_class.submissions), str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists() and journal.read_bytes().count(b"\n") >= 8:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    graded_before = len(Journal(journal).entries)
    unique = _unique_contents(hostile_class.submissions)
    assert 8 <= graded_before < unique
    time.sleep(0.5)
    assert _zygotes_of(process.pid) == [], "the killed run left its zygote behind"

    report = grade(submissions=hostile_class.submissions, out=out, seed=SEED, sandbox=sandbox, workers=2,
                   progress=False)
    assert (out / "gradebook.csv").read_text() == (hostile_class.out / "gradebook.csv").read_text()
    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.strip().startswith("{")]
    keys = [entry["key"] for entry in lines]
    assert len(keys) == len(set(keys)) == unique, "some content was graded twice (or not at all)"
    assert report.graded + report.reused + report.not_read == report.students
    assert report.reused >= graded_before and len(lines) - graded_before == unique - graded_before

    again = grade(submissions=hostile_class.submissions, out=out, seed=SEED, sandbox=sandbox, progress=False)
    assert again.graded == 0 and again.reused + again.not_read == again.students
    assert len(Journal(journal).entries) == unique


def test_folders_of_a_killed_grader_are_removed_by_the_next_one(tmp_path):
    from coursekit.grading.sandbox import FOLDER_PREFIX, remove_stale_folders

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{FOLDER_PREFIX}{gone.pid}-abc"
    (stale / "home").mkdir(parents=True)
    (stale / "home" / "zygote.log").write_text("left behind")
    alive = tmp_path / f"{FOLDER_PREFIX}{os.getpid()}-def"
    alive.mkdir()
    unrelated = tmp_path / f"{FOLDER_PREFIX}notapid"
    unrelated.mkdir()
    assert remove_stale_folders(tmp_path) == [stale]
    assert not stale.exists() and alive.exists() and unrelated.exists()


_SEEDLESS = """
import sys
from coursekit.grading.batch import grade
from coursekit.grading.sandbox import Limits
grade(submissions=sys.argv[1], out=sys.argv[2], workers=1, limits=Limits(**{limits}), progress=False)
"""


def test_one_grader_at_a_time_and_a_killed_seedless_run_resumes_with_its_seed(tmp_path, sandbox):
    COUNT = 24  # noqa: N806 - a constant of this test
    submissions = tmp_path / "submitted"
    # each notebook sleeps a while, so the first run is still going when the second starts (24 of them: a loaded
    # machine may take half a minute to start the second grader)
    for i in range(COUNT):
        write_notebook(submissions / f"s{i:02d}.ipynb", [FIRST, f"import time\ntime.sleep(1.5)  # {i}", GOOD])
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-c", _SEEDLESS.format(limits=dataclasses.asdict(TEST_LIMITS)),
                              str(submissions), str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None and not (
            journal.exists() and journal.read_bytes().count(b"\n") >= 2):
        time.sleep(0.05)
    assert first.poll() is None, first.stderr.read().decode()[-2000:] if first.stderr else ""
    started = json.loads((out / "gradebook.meta.json").read_text())
    assert started["finished"] is False and isinstance(started["seed"], int)

    script = Path(sys.executable).parent / "coursekit"
    second = subprocess.run([str(script), "grade", str(submissions), "--out", str(out), "--seed", "8", "--quiet"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert first.poll() is None, "the first run ended before the second one tried"
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"is in use by another grader (pid {first.pid} on " in second.stderr, second.stderr

    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    graded_before = len(Journal(journal).entries)
    assert 2 <= graded_before < COUNT
    resumed = grade(submissions=submissions, out=out, sandbox=sandbox, workers=2, progress=False)  # no seed
    assert resumed.seed == started["seed"], "a killed run without --seed must resume with its own seed"
    assert resumed.reused == graded_before and resumed.graded == COUNT - graded_before
    assert len(Journal(journal).entries) == COUNT, "the journal mixes two seeds"
    assert json.loads((out / "gradebook.meta.json").read_text())["finished"] is True
