"""The class report of a graded class: every number of report.json is what the class was built with."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from coursekit.cli import main
from coursekit.exercises import get
from coursekit.grading.batch import GradeReport, grade
from coursekit.grading.gradebook import META, merge
from coursekit.grading.report import HTML, JSON, write_report
from coursekit.grading.report_schema import check

from .conftest import SEED
from .report_class import CASES, Built, write_report_class

EXERCISE = get("scale_and_shift")
RAN = ("pass", "fail", "error")


@dataclass(frozen=True)
class Graded:
    out: Path
    built: list[Built]
    report: GradeReport

    @property
    def data(self) -> dict:
        return json.loads((self.out / JSON).read_text())


@pytest.fixture(scope="module")
def graded(tmp_path_factory, sandbox) -> Graded:
    root = tmp_path_factory.mktemp("report")
    built = write_report_class(root / "submitted")
    report = grade(submissions=root / "submitted", out=root / "out", seed=SEED, sandbox=sandbox, workers=2,
                   progress=False)
    return Graded(root / "out", built, report)


def _graded(built: list[Built]) -> list[Built]:
    return [b for b in built if b.status != "unreadable"]


def _attempted(built: list[Built]) -> list[Built]:
    return [b for b in _graded(built) if b.status != "not_attempted"]


def test_grading_writes_the_report_and_says_where(graded):
    assert graded.report.class_report == graded.out / HTML
    assert f"Class report: {graded.out / HTML}" in repr(graded.report)
    assert (graded.out / JSON).is_file()


def test_the_grader_records_every_case_and_the_recognised_mistake(graded):
    for b in _graded(graded.built):
        result = json.loads((graded.out / "results" / f"{b.name}.json").read_text())
        (answer,) = result["exercises"]
        assert answer["status"] == b.status, b.name
        marks = [m["status"] for m in answer["cases"]]
        assert tuple(marks) == (b.marks or ()), (b.name, marks)
        made = {m["mistake"] for m in answer["cases"]} - {None}
        assert made == b.mistakes, (b.name, made)
    zero = json.loads((graded.out / "results" / "zero_a.json").read_text())["exercises"][0]["cases"]
    assert [m["mistake"] for m in zero] == [None, None, "shift-then-scale", None, None, None]


def test_scores_are_the_classes(graded):
    scores, built = graded.data["scores"], graded.built
    totals = [b.total for b in built]
    assert scores["students"] == len(built) == 26
    assert scores["graded"] == 25 and scores["not_graded"] == 1
    assert scores["with_problems"] == sum(bool(b.problem) for b in built) == 4
    assert scores["max_total"] == EXERCISE.points
    assert scores["mean"] == pytest.approx(statistics.fmean(totals), abs=1e-4)
    assert scores["median"] == pytest.approx(statistics.median(totals)) == 0.25
    assert scores["stdev"] == pytest.approx(statistics.pstdev(totals), abs=1e-4)
    assert (scores["lowest"], scores["highest"]) == (0.0, 1.0)
    assert scores["full_marks"] == sum(t == 1.0 for t in totals) == 11
    hist = scores["histogram"]
    assert hist["edges"][0] == 0.0 and hist["edges"][-1] == scores["max_total"]
    counts, _ = np.histogram(totals, bins=np.asarray(hist["edges"]))
    assert hist["counts"] == counts.tolist() and sum(hist["counts"]) == 26


def test_the_exercise_row_is_the_classes(graded):
    (row,) = graded.data["exercises"]
    graded_students = _graded(graded.built)
    counts = {k: sum(b.status == k for b in graded_students) for k in ("pass", "fail", "error", "not_attempted")}
    assert row["counts"] == counts == {"pass": 11, "fail": 10, "error": 3, "not_attempted": 1}
    assert row["students"] == 25
    assert row["pass_rate"] == pytest.approx(11 / 25, abs=1e-4)
    assert row["mean_points"] == pytest.approx(statistics.fmean(b.total for b in graded_students), abs=1e-4)
    assert row["not_attempted"] == pytest.approx(1 / 25, abs=1e-4)
    assert row["errors"] == pytest.approx(3 / 25, abs=1e-4)


def test_item_analysis_is_the_classes(graded):
    rows = graded.data["cases"]
    cases = EXERCISE.cases(hidden_seed=SEED)
    assert [r["number"] for r in rows] == list(range(1, CASES + 1))
    for row, case in zip(rows, cases, strict=True):
        k = row["number"] - 1
        assert (row["hidden"], row["label"]) == (case.hidden, case.label)
        assert (row["call"] is None) == case.hidden
        ran = [b for b in _attempted(graded.built) if b.marks[k] in RAN]
        failed = np.asarray([b.marks[k] != "pass" for b in ran], dtype=float)
        totals = np.asarray([b.total for b in ran])
        assert (row["ran"], row["failed"]) == (len(ran), int(failed.sum())), row
        assert row["share_failed"] == pytest.approx(failed.mean(), abs=1e-4)
        # point-biserial correlation = Pearson's r between the 0/1 of failing and the total
        assert row["discrimination"] == pytest.approx(np.corrcoef(failed, totals)[0, 1], abs=1e-4)
        assert row["discrimination"] < -0.5  # failing any case goes with a low total in this class
        assert row["flag"] is None
    assert [(r["ran"], r["failed"]) for r in rows] == [(24, 11), (22, 9), (22, 10), (22, 10), (22, 10), (22, 10)]


def test_mistakes_rank_the_recognised_mistakes_with_their_hints_and_students(graded):
    (section,) = graded.data["mistakes"]
    attempted = _attempted(graded.built)
    failing = [b for b in attempted if b.status in ("fail", "error")]
    assert (section["attempted"], section["failed"]) == (len(attempted), len(failing)) == (24, 13)
    assert section["unrecognised"] == sum(not b.mistakes for b in failing) == 4
    hints = {m.name: m.message for m in EXERCISE.mistakes}
    expected = [("shift-then-scale", sorted(b.name for b in attempted if "shift-then-scale" in b.mistakes)),
                ("swapped", sorted(b.name for b in attempted if "swapped" in b.mistakes))]
    assert [(m["name"], m["ids"]) for m in section["mistakes"]] == expected
    assert [m["students"] for m in section["mistakes"]] == [7, 2]
    assert [m["hint"] for m in section["mistakes"]] == [hints["shift-then-scale"], hints["swapped"]]
    assert section["mistakes"][0]["share"] == pytest.approx(7 / 24, abs=1e-4)


def test_problems_are_grouped_by_kind(graded):
    problems = {p["kind"]: p for p in graded.data["problems"]}
    expected = {b.problem: [b.name] for b in graded.built if b.problem}
    assert {k: p["ids"] for k, p in problems.items()} == expected
    assert all(p["students"] == p["occurrences"] == 1 for p in problems.values())
    assert "not valid notebook JSON" in problems["unreadable"]["examples"][0]
    assert problems["limit"]["examples"] == ["scale_and_shift: over the time or memory limit"]


def test_similarity_buckets_identical_code_and_reference_matches(graded):
    (section,) = graded.data["similarity"]
    compared = [b for b in _attempted(graded.built) if not b.reference]
    clustered = {b.cluster for b in compared} - {""}
    assert section["compared"] == len(compared) == 23
    assert section["short"] == sum(not b.cluster for b in compared) == 17
    expected = sorted(({"size": 3, "students": sorted(b.name for b in compared if b.cluster == c),
                        "passed": sum(b.status == "pass" for b in compared if b.cluster == c)} for c in clustered),
                      key=lambda c: c["students"][0])
    assert section["clusters"] == expected
    assert [c["passed"] for c in section["clusters"]] == [0, 3]  # copied, then long
    assert section["reference"] == ["paste"] and section["course"] == []


def test_the_report_says_everything_was_shown_and_follows_its_schema(graded):
    data = graded.data
    assert check(data) == []
    assert data["schema_version"] == 1 and data["assignment"] == "00_start_here" and data["seed"] == SEED
    assert data["unavailable"] == {} and data["without_results"] == [] and data["stale_results"] == 0
    assert data["unrecorded"] == {"cases": 0, "similarity": 0}


def test_the_page_is_self_contained_and_holds_every_section(graded):
    page = (graded.out / HTML).read_text()
    assert "<script" not in page.lower() and not re.search(r"(src|href)=['\"]?(https?:)?//", page)
    images = re.findall(r"<img src='([^']*)'", page)
    assert len(images) == 3 and all(i.startswith("data:image/png;base64,") for i in images)
    for section in ("scores", "exercises", "cases", "mistakes", "problems", "similarity"):
        assert f"<section id='{section}'>" in page
    assert "@media print" in page
    assert "it accuses no one" in page
    assert "point-biserial correlation" in page
    # a hidden case by its number and label only; the student's own text escaped
    assert "hidden case 4: random matrix and coefficients" in page
    assert EXERCISE.mistakes[1].message.replace("'", "&#x27;") in page


def test_coursekit_report_rebuilds_the_same_report(graded, capsys):
    before = (graded.out / JSON).read_bytes(), (graded.out / HTML).read_bytes()
    (graded.out / JSON).unlink()
    assert main(["report", str(graded.out)]) == 0
    assert "Class report of 00_start_here (26 students)" in capsys.readouterr().out
    assert ((graded.out / JSON).read_bytes(), (graded.out / HTML).read_bytes()) == before


def test_a_merged_folder_reports_the_whole_class(graded, tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    write_report_class(submissions)
    shards = [tmp_path / f"out-{k}" for k in (1, 2)]
    for k, out in enumerate(shards, start=1):
        grade(submissions=submissions, out=out, seed=SEED, sandbox=sandbox, workers=2, progress=False,
              shard=f"{k}/2")
        assert json.loads((out / JSON).read_text())["scores"]["students"] < 26  # each shard's own report
    merge(shards, tmp_path / "merged")
    merged = write_report(tmp_path / "merged").data
    assert merged["merged_shards"] == ["1/2", "2/2"] and merged["missing_shards"] == []
    whole = graded.data
    for key in ("scores", "exercises", "cases", "mistakes", "problems", "similarity"):
        assert merged[key] == whole[key], key


def test_an_older_graders_folder_gets_a_report_that_says_what_it_cannot_show(graded, tmp_path):
    old = tmp_path / "old"
    (old / "results").mkdir(parents=True)
    meta = json.loads((graded.out / META).read_text())
    for exercise in meta["exercises"]:
        del exercise["case_list"], exercise["mistakes"]
    (old / META).write_text(json.dumps(meta))
    (old / "gradebook.csv").write_bytes((graded.out / "gradebook.csv").read_bytes())
    for path in (graded.out / "results").glob("*.json"):
        result = json.loads(path.read_text())
        for answer in result["exercises"]:
            for key in ("cases", "digest", "nodes", "match"):
                del answer[key]
        (old / "results" / path.name).write_text(json.dumps(result))
    data = write_report(old).data
    assert check(data) == []
    assert data["unavailable"] == {"cases": "not_recorded", "mistakes": "not_recorded",
                                   "similarity": "not_recorded"}
    assert data["unrecorded"] == {"cases": 24, "similarity": 24}
    assert data["scores"] == graded.data["scores"] and data["exercises"] == graded.data["exercises"]
    assert data["problems"] == graded.data["problems"]
    page = (old / HTML).read_text()
    assert page.count("This section cannot be shown: the results were written by an older coursekit grader") == 3
