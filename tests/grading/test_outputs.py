"""What the grader writes and reads: Gradescope's results.json, and nbgrader's submitted/ tree."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from coursekit.exercises import by_notebook
from coursekit.grading.batch import grade

from .conftest import SEED
from .corpus import FIRST, GOOD, notebook, write_notebook

VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FULL = sum(e.points for e in by_notebook("00_start_here"))


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _check_gradescope(data: dict) -> None:
    """Gradescope's results.json: a score, and tests each with a name, score, max_score and output."""
    assert isinstance(data["score"], (int, float))
    assert data.get("visibility", "visible") in VISIBILITY
    assert data.get("stdout_visibility", "hidden") in VISIBILITY
    assert isinstance(data["tests"], list) and data["tests"]
    for test in data["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert 0 <= test["score"] <= test["max_score"]
        assert isinstance(test["output"], str)
        assert test.get("status", "passed") in {"passed", "failed"}
        assert test.get("visibility", "visible") in VISIBILITY
    assert abs(data["score"] - sum(t["score"] for t in data["tests"])) < 1e-9


def test_gradescope_results_follow_gradescopes_format(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    write_notebook(submissions / "ada.ipynb", [FIRST, GOOD])
    write_notebook(submissions / "ben.ipynb", [FIRST, "def scale_and_shift(x, a, b):\n    return a * (x + b)"])
    out = tmp_path / "out"
    grade(submissions=submissions, out=out, seed=SEED, gradescope=True, sandbox=sandbox, progress=False)
    rows = _rows(out)
    for student in ("ada", "ben"):
        raw = (out / "gradescope" / student / "results.json").read_text()
        data = json.loads(raw)
        _check_gradescope(data)
        assert data["score"] == float(rows[student]["total"])
        assert [t["max_score"] for t in data["tests"]] == [e.points for e in by_notebook("00_start_here")]
    ada = json.loads((out / "gradescope" / "ada" / "results.json").read_text())
    assert ada["score"] == FULL and all(t["status"] == "passed" and t["output"] == "" for t in ada["tests"])
    ben = json.loads((out / "gradescope" / "ben" / "results.json").read_text())
    failed = next(t for t in ben["tests"] if t["name"].startswith("scale_and_shift"))
    assert failed["status"] == "failed" and failed["score"] == 0
    assert "Hint: You shifted before scaling" in failed["output"]
    assert not (out / "results.json").exists(), "a class of two has no single results.json"


def test_a_single_submission_also_gets_gradescopes_top_level_results_json(tmp_path, sandbox):
    submissions = tmp_path / "submission"
    write_notebook(submissions / "solo.ipynb", [FIRST, GOOD])
    out = tmp_path / "results"
    grade(submissions=submissions, out=out, seed=SEED, gradescope=True, sandbox=sandbox, progress=False)
    top = json.loads((out / "results.json").read_text())
    _check_gradescope(top)
    assert top == json.loads((out / "gradescope" / "solo" / "results.json").read_text())
    assert top["score"] == FULL


def _nbgrader_course(root: Path) -> None:
    """An nbgrader course: submitted/<student>/<assignment>/<notebook>.ipynb, with the usual clutter."""
    submitted = root / "submitted"
    write_notebook(submitted / "ada" / "ps1" / "00_start_here.ipynb", [FIRST, GOOD])
    # a second notebook of another assignment in the same folder: only the graded one counts
    other = notebook([FIRST, "x = 1"], assignment="01_gradients")
    (submitted / "ada" / "ps1" / "01_gradients.ipynb").write_text(json.dumps(other))
    checkpoint = submitted / "ada" / "ps1" / ".ipynb_checkpoints" / "00_start_here-checkpoint.ipynb"
    write_notebook(checkpoint, [FIRST, "def scale_and_shift(x, a, b):\n    return x"])
    write_notebook(submitted / "ben" / "ps1" / "00_start_here.ipynb",
                   [FIRST, "def scale_and_shift(x, a, b):\n    return a * x"])
    write_notebook(submitted / "cy" / "ps1" / "renamed by cy.ipynb", [FIRST, GOOD])
    (submitted / "dee" / "ps1").mkdir(parents=True)  # a student who handed in nothing
    (submitted / ".hidden").mkdir()
    (root / "source" / "ps1").mkdir(parents=True)
    write_notebook(root / "source" / "ps1" / "00_start_here.ipynb", [FIRST, GOOD])


def test_nbgrader_layout_from_the_course_folder_or_its_submitted_folder(tmp_path, sandbox):
    course = tmp_path / "course"
    _nbgrader_course(course)
    from_root = grade(submissions=course, out=tmp_path / "a", seed=SEED, sandbox=sandbox, progress=False)
    from_submitted = grade(submissions=course / "submitted", out=tmp_path / "b", seed=SEED, sandbox=sandbox,
                           progress=False)
    assert from_root.assignment == from_submitted.assignment == "00_start_here"
    assert (tmp_path / "a" / "gradebook.csv").read_bytes() == (tmp_path / "b" / "gradebook.csv").read_bytes()
    rows = _rows(tmp_path / "a")
    assert set(rows) == {"ada", "ben", "cy", "dee"}, "a student who handed in nothing still gets a row"
    assert float(rows["ada"]["total"]) == FULL and float(rows["cy"]["total"]) == FULL
    assert float(rows["ben"]["total"]) == 0
    assert float(rows["dee"]["total"]) == 0 and "no notebook handed in" in rows["dee"]["problem"]
    assert rows["ada"]["source"] == "ada/ps1/00_start_here.ipynb"
    assert rows["ada"]["problem"] == "not graded: ada/ps1/01_gradients.ipynb (it answers 01_gradients)"
    assert from_root.skipped == ((".hidden", "a hidden folder with no notebooks"),)
    ada = json.loads((tmp_path / "a" / "results" / "ada.json").read_text())
    assert ada["source"] == "ada/ps1/00_start_here.ipynb"
    assert json.loads((tmp_path / "a" / "results" / "cy.json").read_text())["source"] == "cy/ps1/renamed by cy.ipynb"


def test_flat_folder_ids_are_safe_file_names(tmp_path, sandbox):
    submissions = tmp_path / "collected"
    write_notebook(submissions / "Zoë Smith.ipynb", [FIRST, GOOD])
    write_notebook(submissions / "..sneaky.ipynb", [FIRST, GOOD])
    shutil.copy(submissions / "Zoë Smith.ipynb", submissions / "Zoë_Smith.ipynb")
    out = tmp_path / "out"
    grade(submissions=submissions, out=out, seed=SEED, sandbox=sandbox, progress=False)
    students = set(_rows(out))
    assert len(students) == 3
    for student in students:
        assert "/" not in student and not student.startswith(".") and " " not in student
        assert (out / "results" / f"{student}.json").is_file() and (out / "feedback" / f"{student}.html").is_file()
    assert not list(tmp_path.glob("*.json")), "nothing may be written outside the output folder"


def test_every_worker_starts_from_a_clean_namespace(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    probe = ("names = ('warm', 'np', 'math', 'plt', 'hog', 'scale_and_shift')\n"
             "leftovers = sorted(n for n in names if n in globals())\nassert not leftovers, leftovers")
    write_notebook(submissions / "first.ipynb", [FIRST, probe, GOOD, "hog = [0] * 10"])
    write_notebook(submissions / "second.ipynb", [FIRST, probe, GOOD])
    out = tmp_path / "out"
    grade(submissions=submissions, out=out, seed=SEED, sandbox=sandbox, progress=False)
    for student in ("first", "second"):
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert result["notes"] == [] and result["total"] == FULL, result
