"""The adversarial corpus: every attack is contained, scored with its reason, and harms nobody else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from coursekit.exercises import by_notebook

from .corpus import HONEST, TARGET, attacks

ATTACK_NAMES = [a.name for a in attacks(submissions=Path("/x"), out=Path("/y"), grader_pid=1)]


def _rows(out) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def _result(out, student) -> dict:
    return json.loads((out / "results" / f"{student}.json").read_text())


def test_corpus_is_large_enough():
    assert len(ATTACK_NAMES) >= 20 and len(set(ATTACK_NAMES)) == len(ATTACK_NAMES)


def test_gradebook_is_complete(hostile_class):
    rows = _rows(hostile_class.out)
    students = set(HONEST) | set(ATTACK_NAMES)
    assert set(rows) == students
    ids = [e.id for e in by_notebook("00_start_here")]
    for row in rows.values():
        assert all(row[i] != "" for i in ids) and row["total"] != ""
    for student in students:
        assert (hostile_class.out / "results" / f"{student}.json").exists()
        assert (hostile_class.out / "feedback" / f"{student}.html").exists()
    meta = json.loads((hostile_class.out / "gradebook.meta.json").read_text())
    assert meta["seed"] == hostile_class.report.seed and meta["students"] == len(students)


def test_honest_students_are_graded_exactly_as_in_a_clean_class(hostile_class, clean_class):
    hostile, clean = _rows(hostile_class.out), _rows(clean_class.out)
    for student in HONEST:
        assert hostile[student] == clean[student], student
        mine, theirs = _result(hostile_class.out, student), _result(clean_class.out, student)
        assert mine == theirs, student
        assert (hostile_class.out / "feedback" / f"{student}.html").read_text() == \
            (clean_class.out / "feedback" / f"{student}.html").read_text()


def test_honest_grades_are_right(clean_class):
    rows = _rows(clean_class.out)
    full = sum(e.points for e in by_notebook("00_start_here"))
    assert float(rows["alice"]["total"]) == full and float(rows["dave"]["total"]) == full
    assert float(rows["bob"][TARGET]) == 0 and float(rows["carol"][TARGET]) == 0
    assert float(rows["erin"][TARGET]) == 1.0  # an error in a demo cell costs nothing
    bob = _result(clean_class.out, "bob")["exercises"][0]
    assert bob["hint"] == "You shifted before scaling: a * (x + b) is not a * x + b."
    assert _result(clean_class.out, "carol")["exercises"][0]["status"] == "not_attempted"
    assert any("NameError" in n for n in _result(clean_class.out, "erin")["notes"])


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_attack_is_contained_with_its_reason(hostile_class, name):
    attack = hostile_class.attacks[name]
    result = _result(hostile_class.out, name)
    target = next(e for e in result["exercises"] if e["id"] == TARGET)
    if attack.points is not None:
        assert target["points"] == attack.points, json.dumps(result, indent=1)
    if attack.reason:
        text = json.dumps(result)
        assert attack.reason in text, json.dumps(result, indent=1)
    if attack.points == 0.0:
        assert target["status"] != "pass"
        assert target["message"], "a zero must come with a message"


def test_gradebook_was_not_overwritten_by_a_student(hostile_class):
    rows = _rows(hostile_class.out)
    assert "me" not in rows
    assert json.loads((hostile_class.out / "results" / "alice.json").read_text())["student"] == "alice"


def test_hidden_case_inputs_never_appear_in_feedback(hostile_class):
    for student in ("bob", "patch_torch", "loop_forever", "read_others"):
        result = _result(hostile_class.out, student)
        for exercise in result["exercises"]:
            if exercise["message"].startswith("Hidden case"):
                assert "tensor(" not in exercise["message"]
                assert "No such file" not in exercise["message"]


def test_failures_table_lists_the_hostile_ones(hostile_class):
    failed = {student for student, _ in hostile_class.report.failures}
    assert {"loop_forever", "os_exit", "segfault", "invalid_json", "wrong_kernel", "sleep_top_level"} <= failed
    assert not failed & set(HONEST)
    text = repr(hostile_class.report)
    assert "problem(s)" in text and "loop_forever" in text
