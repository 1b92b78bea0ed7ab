"""The class report of odd folders and classes: clear messages, never a traceback, and the statistics' rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from coursekit.cli import main
from coursekit.grading.gradebook import META
from coursekit.grading.report import HTML, JSON, write_report
from coursekit.grading.report_data import FLAG_FEW, FLAG_MANY, FLAG_MIN_STUDENTS
from coursekit.grading.report_schema import SCHEMA, check, markdown

from .report_folders import answer, exercise, student, write_folder


def _report(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_missing_folder_is_refused_and_not_created(tmp_path, capsys):
    code, _, err = _report(capsys, str(tmp_path / "grades"))
    assert code == 2 and "is not a folder: give the --out folder of `coursekit grade`" in err
    assert not (tmp_path / "grades").exists()


def test_a_folder_that_is_not_a_grading_output_is_refused_untouched(tmp_path, capsys):
    (tmp_path / "submitted").mkdir()
    (tmp_path / "submitted" / "ada.ipynb").write_text("{}")
    code, _, err = _report(capsys, str(tmp_path / "submitted"))
    assert code == 2 and "is not a grading output (it has no gradebook.meta.json)" in err
    assert sorted(p.name for p in (tmp_path / "submitted").iterdir()) == ["ada.ipynb"]


def test_an_unfinished_run_and_a_broken_metadata_file_are_named(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / META).write_text(json.dumps({"assignment": "x", "exercises": [], "finished": False}))
    code, _, err = _report(capsys, str(out))
    assert code == 2 and "has not finished (or was stopped): run the same `coursekit grade` command again" in err
    (out / META).write_text("{torn")
    code, _, err = _report(capsys, str(out))
    assert code == 2 and "gradebook.meta.json cannot be read" in err
    (out / META).write_text(json.dumps({"assignment": "x", "exercises": [{"id": "a"}]}))
    code, _, err = _report(capsys, str(out))
    assert code == 2 and "has no gradebook.csv" in err
    assert not (out / HTML).exists() and not (out / JSON).exists()


def test_no_folder_asks_for_one_and_the_schema_is_printed(capsys):
    code, _, err = _report(capsys)
    assert code == 2 and "name the output folder of `coursekit grade`" in err
    code, out, _ = _report(capsys, "--schema")
    assert code == 0
    for key in SCHEMA:
        assert f"- `{key}" in out
    assert out.strip() == markdown()


def test_a_folder_held_by_a_grader_is_refused_with_who_holds_it(tmp_path):
    ex = exercise("a")
    write_folder(tmp_path / "out", [student("ada", [answer(ex, "PPPP")], max_total=1)], [ex])
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom pathlib import Path\nfrom coursekit.grading.journal import "
         "hold\nwith hold(Path(sys.argv[1])):\n    print('held', flush=True)\n    time.sleep(60)",
         str(tmp_path / "out")], stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        assert holder.stdout.readline().strip() == "held"
        done = subprocess.run([sys.executable, "-m", "coursekit", "report", str(tmp_path / "out")],
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 1 and "is in use by another grader" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_class_of_one(tmp_path):
    ex = exercise("a", cases=4)
    data = write_report(write_folder(tmp_path / "out", [student("ada", [answer(ex, "PFPP", mistake="slip")],
                                                                max_total=1)], [ex])).data
    assert check(data) == []
    scores = data["scores"]
    assert (scores["students"], scores["mean"], scores["median"], scores["stdev"]) == (1, 0.75, 0.75, 0.0)
    assert sum(scores["histogram"]["counts"]) == 1
    assert all(c["discrimination"] is None and c["flag"] is None for c in data["cases"])
    assert [c["share_failed"] for c in data["cases"]] == [0.0, 1.0, 0.0, 0.0]
    assert data["mistakes"][0]["mistakes"][0]["ids"] == ["ada"]
    assert "<section id='similarity'>" in (tmp_path / "out" / HTML).read_text()


def test_a_class_where_everyone_is_a_problem(tmp_path, capsys):
    ex = exercise("a")
    students = [student(f"s{i}", [answer(ex, "", problem="")], problem="unreadable notebook: not JSON",
                        max_total=1) for i in range(3)]
    write_folder(tmp_path / "out", students, [ex])
    code, out, _ = _report(capsys, str(tmp_path / "out"))
    assert code == 0 and "(3 students)" in out
    data = json.loads((tmp_path / "out" / JSON).read_text())
    assert check(data) == []
    assert data["unavailable"] == {k: "no_graded_students" for k in ("exercises", "cases", "mistakes",
                                                                      "similarity")}
    assert data["scores"]["graded"] == 0 and data["scores"]["mean"] == 0.0
    assert data["problems"] == [{"kind": "unreadable", "students": 3, "occurrences": 3,
                                 "examples": ["unreadable notebook: not JSON"], "ids": ["s0", "s1", "s2"]}]
    page = (tmp_path / "out" / HTML).read_text()
    assert page.count("no student&#x27;s notebook could be graded (see Problems)") == 4


def test_an_empty_gradebook(tmp_path):
    ex = exercise("a")
    data = write_report(write_folder(tmp_path / "out", [], [ex])).data
    assert check(data) == [] and data["scores"]["students"] == 0 and data["scores"]["mean"] is None
    assert "The gradebook lists no students." in (tmp_path / "out" / HTML).read_text()


def test_a_broken_or_missing_results_file_is_named_and_a_stale_one_left_out(tmp_path):
    ex = exercise("a")
    out = write_folder(tmp_path / "out", [student(n, [answer(ex, "PPPP")], max_total=1)
                                          for n in ("ada", "ben", "cy")], [ex])
    (out / "results" / "ben.json").write_text("{torn")
    (out / "results" / "cy.json").unlink()
    (out / "results" / "old_student.json").write_text((out / "results" / "ada.json").read_text().replace(
        '"ada"', '"old_student"'))
    data = write_report(out).data
    assert data["scores"]["students"] == 1 and data["stale_results"] == 1
    assert [r["student"] for r in data["without_results"]] == ["ben", "cy"]
    assert "cannot be read" in data["without_results"][0]["why"]
    assert data["without_results"][1]["why"] == "it has no results file"
    assert "2 students of the gradebook are not in this report" in (out / HTML).read_text()


def test_exercises_come_hardest_first_and_cases_are_flagged_at_the_thresholds(tmp_path):
    easy, hard, middle = exercise("easy"), exercise("hard"), exercise("middle")
    n = 20
    students = []
    for i in range(n):
        # hard: only student 0 passes its case 1 (95% fail it); easy: nobody fails its case 1
        hard_marks = ("P" if i == 0 else "F") + "PPP"
        middle_marks = "PPPP" if i % 2 else "FPPP"
        students.append(student(f"s{i:02d}", [answer(easy, "PPPP"), answer(hard, hard_marks, mistake="slip"),
                                              answer(middle, middle_marks)], max_total=3))
    data = write_report(write_folder(tmp_path / "out", students, [easy, hard, middle])).data
    assert [e["id"] for e in data["exercises"]] == ["hard", "middle", "easy"]
    flags = {(c["exercise"], c["number"]): c["flag"] for c in data["cases"]}
    assert flags[("hard", 1)] == "almost_all_fail"  # 19 of 20 = 95% >= FLAG_MANY
    assert flags[("easy", 1)] == "almost_none_fail"
    assert flags[("middle", 1)] is None
    assert FLAG_MANY == 0.9 and FLAG_FEW == 0.05 and FLAG_MIN_STUDENTS == 10
    # the point-biserial correlation is Pearson's r of the 0/1 of failing with the totals
    totals = np.asarray([s.total for s in students])
    failed = np.asarray([i % 2 == 0 for i in range(n)], dtype=float)
    middle_1 = next(c for c in data["cases"] if (c["exercise"], c["number"]) == ("middle", 1))
    assert middle_1["discrimination"] == pytest.approx(np.corrcoef(failed, totals)[0, 1], abs=1e-4)
    page = (tmp_path / "out" / HTML).read_text()
    assert page.count("class='flagged'") == sum(f is not None for f in flags.values())


def test_the_same_code_is_bucketed_and_short_or_matched_code_is_not_clustered(tmp_path):
    ex = exercise("a")
    kinds = [("x" * 16, 50, ""), ("x" * 16, 50, ""), ("y" * 16, 50, ""), ("z" * 16, 10, ""), ("z" * 16, 10, ""),
             ("r" * 16, 50, "reference"), ("r" * 16, 50, "reference"), ("c" * 16, 5, "course")]
    students = [student(f"s{i}", [answer(ex, "PPPP", digest=d, nodes=k, match=m)], max_total=1)
                for i, (d, k, m) in enumerate(kinds)]
    (section,) = write_report(write_folder(tmp_path / "out", students, [ex])).data["similarity"]
    assert section["clusters"] == [{"size": 2, "students": ["s0", "s1"], "passed": 2}]
    assert (section["compared"], section["short"]) == (5, 2)
    assert section["reference"] == ["s5", "s6"] and section["course"] == ["s7"]
