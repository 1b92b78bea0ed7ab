"""Through the batch path, for every exercise in the bank: the reference scores full marks, the stub 0."""

from __future__ import annotations

import csv
import json

import pytest

from coursekit.exercises import by_notebook, notebooks
from coursekit.exercises.source import reference_source, stub_source
from coursekit.grading.batch import grade

from .conftest import SEED
from .corpus import FIRST, notebook


@pytest.mark.parametrize("assignment", notebooks())
def test_reference_scores_full_marks_and_stub_scores_zero(tmp_path, sandbox, assignment):
    exercises = by_notebook(assignment)
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    for student, source in (("reference", reference_source), ("stub", stub_source)):
        nb = notebook([FIRST, *(source(e) for e in exercises)], assignment=assignment)
        (submissions / f"{student}.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "out"
    report = grade(submissions=submissions, out=out, seed=SEED, sandbox=sandbox, workers=2, progress=False)
    assert report.assignment == assignment and report.failures == ()
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    full = sum(e.points for e in exercises)
    reference = json.loads((out / "results" / "reference.json").read_text())
    failed = [(e["id"], e["message"]) for e in reference["exercises"] if e["status"] != "pass"]
    assert failed == [] and float(rows["reference"]["total"]) == full
    assert all(e["passed"] == e["total"] > 0 for e in reference["exercises"])
    assert any(e["total"] > len(ex.cases()) for e, ex in zip(reference["exercises"], exercises, strict=True)) or \
        all(not ex.hidden_cases(__import__("numpy").random.default_rng(0)) for ex in exercises)
    stub = json.loads((out / "results" / "stub.json").read_text())
    assert float(rows["stub"]["total"]) == 0
    assert [e["status"] for e in stub["exercises"]] == ["not_attempted"] * len(exercises)
    page = (out / "feedback" / "stub.html").read_text()  # read after handing in: no "run this cell again"
    assert "in the notebook you handed in" in page and "this cell again" not in page
