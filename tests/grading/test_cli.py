"""`coursekit grade` as an instructor meets it: the real command, its help, and clear refusals of bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.cli import main
from coursekit.grading.batch import grade

from .conftest import SEED
from .corpus import FIRST, GOOD, write_notebook

LOOP = "def scale_and_shift(x, a, b):\n    while True:\n        pass"


def _coursekit(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "coursekit"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "coursekit.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=240, check=False,
                          env={**os.environ, "COURSEKIT_DEVICE": "cpu"})


def _snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` but grading locks (a refused run holds the folder while it checks it)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "grading.lock"}


def test_help_tells_an_instructor_what_to_run_and_what_comes_out():
    done = _coursekit("grade", "--help")
    assert done.returncode == 0
    text = done.stdout
    for phrase in ("coursekit grade SUBMISSIONS --out OUT", "coursekit grade merge OUT1 OUT2 ... --out OUT",
                   "submitted/<student>/<assignment>/<notebook>.ipynb", "gradebook.csv", "results/<student>.json",
                   "feedback/<student>.html", "journal.jsonl", "--seed N", "--shard K/N", "--gradescope",
                   "--notebook-timeout", "--exercise-timeout", "--memory-mb", "examples:",
                   "coursekit grade submitted/ --out grades --seed 2024"):
        assert phrase in text, phrase


def test_the_command_grades_a_small_class_end_to_end(tmp_path):
    submissions = tmp_path / "submitted"
    write_notebook(submissions / "ada.ipynb", [FIRST, GOOD])
    write_notebook(submissions / "ben.ipynb", [FIRST, "def scale_and_shift(x, a, b):\n    return a * (x + b)"])
    write_notebook(submissions / "cy.ipynb", [FIRST, LOOP])
    (submissions / "dee.ipynb").write_bytes(b'{"cells": [')
    before = _snapshot(submissions)
    out = tmp_path / "grades"
    args = ["grade", str(submissions), "--out", str(out), "--seed", "7", "--exercise-timeout", "1",
            "--notebook-timeout", "5", "--workers", "2"]
    done = _coursekit(*args)
    assert done.returncode == 0, done.stderr
    assert "Graded 00_start_here for 4 students (seed 7): 4 graded now, 0 taken from the journal" in done.stdout
    assert f"Gradebook: {out / 'gradebook.csv'}" in done.stdout
    # the table of failures: the endless loop and the damaged file, each with its reason
    assert "2 problem(s):" in done.stdout
    lines = done.stdout.splitlines()
    assert any(line.split()[:1] == ["cy"] and "scale_and_shift: over the time or memory limit" in line
               for line in lines)
    assert any(line.split()[:1] == ["dee"] and "not valid notebook JSON" in line for line in lines)
    assert "grading 00_start_here" in done.stderr and "4/4" in done.stderr  # the progress bar (tqdm's)
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["ada", "ben", "cy", "dee"]
    assert float(rows["ada"]["total"]) == 1.0 and float(rows["ben"]["total"]) == 0.0
    assert "over the time or memory limit" in rows["cy"]["problem"] and "unreadable notebook" in rows["dee"]["problem"]
    cy = json.loads((out / "results" / "cy.json").read_text())["exercises"][0]
    assert "did not finish within 1 s" in cy["message"], "the details stay in the student's results"
    assert json.loads((out / "gradebook.meta.json").read_text())["seed"] == 7
    for student in rows:
        assert (out / "results" / f"{student}.json").is_file() and (out / "feedback" / f"{student}.html").is_file()
    assert len((out / "journal.jsonl").read_text().splitlines()) == 4
    assert _snapshot(submissions) == before, "grading changed the submissions"

    again = _coursekit(*args, "--quiet")
    assert again.returncode == 0 and "0 graded now, 4 taken from the journal" in again.stdout
    assert again.stderr == ""


@pytest.fixture()
def small_class(tmp_path) -> Path:
    submissions = tmp_path / "submitted"
    write_notebook(submissions / "ada.ipynb", [FIRST, GOOD])
    return submissions


def _refused(capsys, args: list[str], message: str) -> None:
    assert main(["grade", *args, "--quiet"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert captured.out == ""


def test_missing_or_empty_or_wrong_kind_of_submissions_folder(tmp_path, capsys, small_class):
    out = tmp_path / "grades"
    _refused(capsys, [str(tmp_path / "nowhere"), "--out", str(out)], "Submissions folder")
    _refused(capsys, [str(tmp_path / "nowhere"), "--out", str(out)], "does not exist")
    (tmp_path / "empty").mkdir()
    _refused(capsys, [str(tmp_path / "empty"), "--out", str(out)], "No notebooks found")
    _refused(capsys, [str(small_class / "ada.ipynb"), "--out", str(out)],
             "is a file but not a zip: pass the folder that holds the submitted notebooks")
    assert not out.exists()


def test_an_output_folder_overlapping_the_submissions_is_refused(tmp_path, capsys, small_class):
    before = _snapshot(tmp_path)
    for out in (small_class, small_class / "grades", tmp_path):
        _refused(capsys, [str(small_class), "--out", str(out)], "overlaps the submissions")
    (tmp_path / "a-file").write_text("keep me")
    _refused(capsys, [str(small_class), "--out", str(tmp_path / "a-file")], "is a file; give a folder")
    assert _snapshot(tmp_path) == {**before, "a-file": b"keep me"}


def test_unknown_assignment_suggests_the_closest_and_bad_options_are_refused(tmp_path, capsys, small_class):
    out = tmp_path / "grades"
    _refused(capsys, [str(small_class), "--out", str(out), "--assignment", "00_start_hre"],
             "No exercises for notebook '00_start_hre'. Did you mean '00_start_here'?")
    _refused(capsys, [str(small_class), "--out", str(out), "--shard", "3/2"], "--shard takes K/N with 1 <= K <= N")
    _refused(capsys, [str(small_class), "--out", str(out), "--exercise-timeout", "0"],
             "Limits.exercise_seconds must be positive")
    _refused(capsys, [str(small_class), "--out", str(out), "--memory-mb", "-1"], "Limits.memory_mb must be positive")
    _refused(capsys, ["one", "two", "--out", str(out)], "give one submissions folder")
    assert not out.exists()


def test_a_different_seed_for_a_graded_folder_is_refused_and_nothing_is_lost(tmp_path, capsys, sandbox, small_class):
    out = tmp_path / "grades"
    grade(submissions=small_class, out=out, seed=SEED, sandbox=sandbox, progress=False)
    before = _snapshot(out)
    _refused(capsys, [str(small_class), "--out", str(out), "--seed", str(SEED + 1)], f"use --seed {SEED}")
    other = tmp_path / "gradients"
    write_notebook(other / "ada.ipynb", [FIRST, "x = 1"], assignment="01_gradients")
    _refused(capsys, [str(other), "--out", str(out), "--seed", str(SEED)], "holds the gradebook of 00_start_here")
    assert _snapshot(out) == before
