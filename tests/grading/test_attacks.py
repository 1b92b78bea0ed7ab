"""The adversarial corpus: every attack is contained, scored with its reason, and harms nobody else."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from coursekit.exercises import by_notebook, get

from .conftest import SEED
from .corpus import HONEST, PLANTED, SKIPPED, TARGET, attacks

ATTACK_NAMES = [a.name for a in attacks(submissions=Path("/x"), out=Path("/y"), grader_pid=1)]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _rows(out) -> dict[str, dict[str, str]]:
    """Gradebook rows by student id (a spreadsheet's `'` in front of a formula-like id taken off)."""
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"].removeprefix("'"): row for row in csv.DictReader(handle)}


def _result(out, student) -> dict:
    return json.loads((out / "results" / f"{student}.json").read_text())


def test_corpus_is_large_enough():
    assert len(ATTACK_NAMES) >= 20 and len(set(ATTACK_NAMES)) == len(ATTACK_NAMES)


def test_gradebook_is_complete(hostile_class):
    rows = _rows(hostile_class.out)
    students = set(HONEST) | set(ATTACK_NAMES) | {p.student for p in PLANTED}
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


def _received(out: Path, student: str) -> str:
    """Everything about `student` that may be handed back: their results and their feedback page."""
    return (out / "results" / f"{student}.json").read_text() + (out / "feedback" / f"{student}.html").read_text()


def hidden_numbers(exercise_id: str, seed: int) -> set[str]:
    """The numbers of an exercise's hidden inputs as messages and reprs write them (rounded, or cut short)."""
    found = set()
    for case in get(exercise_id).cases(hidden_seed=seed):
        if case.hidden:
            for value in case.args:
                numbers = value.flatten().tolist() if isinstance(value, torch.Tensor) else \
                    [value] if isinstance(value, float) else []
                found |= {text for v in numbers for text in (f"{v:.4f}", f"{v:.6g}", repr(v)[:7 + (v < 0)])}
    return {n for n in found if len(n.lstrip("-")) >= 6}  # a short number ("0.5") says nothing


def test_no_hidden_input_reaches_what_a_student_receives(hostile_class):
    """Whatever the code does with a hidden input (raises it, keeps it for later, exits with it, carries it into a
    fresh worker through the kernel), neither the values nor the attacks' LEAK marker reach results or feedback."""
    numbers = hidden_numbers(TARGET, SEED)
    assert len(numbers) > 20
    for student in [*HONEST, *ATTACK_NAMES]:
        text = _received(hostile_class.out, student)
        assert "LEAK" not in text, (student, text)
        assert not [n for n in numbers if n in text], student
        for exercise in _result(hostile_class.out, student)["exercises"]:
            if exercise["message"].startswith("Hidden case"):
                assert "exited with code" not in exercise["message"] and "got" not in exercise["message"]


def test_failures_table_lists_the_hostile_ones(hostile_class):
    failed = {student for student, _ in hostile_class.report.failures}
    assert {"loop_forever", "os_exit", "segfault", "invalid_json", "wrong_kernel", "sleep_top_level"} <= failed
    assert not failed & set(HONEST)
    text = repr(hostile_class.report)
    assert "problem(s)" in text and "loop_forever" in text


@pytest.mark.parametrize("entry", PLANTED, ids=[p.student for p in PLANTED])
def test_every_planted_entry_has_a_row_of_its_own(hostile_class, entry):
    """Nothing vanishes, no two entries share an id, and a row says what its file was and why it was not read."""
    row = _rows(hostile_class.out)[entry.student]
    result = _result(hostile_class.out, entry.student)
    assert result["source"] == entry.name.replace("\x1b", "\\x1b") and row["source"].removeprefix("'") == \
        result["source"]
    if entry.points is not None:
        assert float(row[TARGET]) == entry.points, json.dumps(result, indent=1)
    assert entry.problem in row["problem"] and (entry.problem or row["problem"] == ""), row
    assert entry.flag in row["flags"], row


def test_ids_cannot_collide_and_accents_stay_readable(hostile_class):
    rows = _rows(hostile_class.out)
    assert float(rows["alice"][TARGET]) == 1.0 and float(rows["%2Ealice"][TARGET]) == 0.0
    assert {"x%20y", "x_y", "x_y-2", "Jos\u00e9", "Jos\u00e8"} <= set(rows)
    assert len(rows) == len({r["source"] for r in rows.values()}), "two rows name the same file"


def test_links_out_of_the_folder_are_refused_and_copies_flagged(hostile_class):
    rows = _rows(hostile_class.out)
    assert float(rows["link_out"]["total"]) == 0.0, "the instructor's own answer key was graded"
    assert "byte-identical to alice_copy" in rows["alice"]["flags"]
    assert "byte-identical to link_in" in rows["patch_torch"]["flags"]
    assert "byte-identical to hard_link" in rows["segfault"]["flags"] and "2 hard links" in rows["segfault"]["flags"]
    assert rows["bob"]["flags"] == ""


def test_files_that_are_not_submissions_are_listed_as_skipped(hostile_class):
    skipped = dict(hostile_class.report.skipped)
    for name, why in SKIPPED.items():
        assert why in skipped[name]
    meta = json.loads((hostile_class.out / "gradebook.meta.json").read_text())
    assert [name for name, _ in meta["skipped"]] == [name for name, _ in hostile_class.report.skipped]
    assert "Not submissions, not graded (1):" in repr(hostile_class.report)


def test_no_csv_cell_is_a_formula(hostile_class):
    with open(hostile_class.out / "gradebook.csv", newline="") as handle:
        table = list(csv.reader(handle))
    header = table[0]
    text_columns = [header.index(c) for c in ("student", "source", "problem", "flags")]
    for row in table[1:]:
        for column in text_columns:
            assert not row[column].startswith(FORMULA_START), row[column]
    rows = {r[0]: r for r in table[1:]}
    assert rows["'-2+3"][header.index("source")] == "'-2+3.ipynb"
    assert rows["%3Dcmd%7C%27-C%20calc%27%21A0"][header.index("source")] == "'=cmd|'-C calc'!A0.ipynb"


def _acting(text: str) -> list[str]:
    return sorted({c for c in text if (ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) < 0xA0
                   or c in "\u202e\u2028\u2029"})


def test_no_control_character_reaches_the_terminal_or_the_files(hostile_class):
    assert _acting(repr(hostile_class.report)) == []
    assert "\\x1b[HGraded 00_start_here" in repr(hostile_class.report), "the escape is shown, not obeyed"
    for path in hostile_class.out.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".json", ".html", ".jsonl"):
            assert _acting(path.read_text()) == [], path


def test_a_pasted_reference_is_flagged_and_never_scored_down(hostile_class):
    rows = _rows(hostile_class.out)
    pasted = rows["paste_reference"]
    assert float(pasted[TARGET]) == 1.0
    assert pasted["flags"] == f"{TARGET}: the code is the reference solution's (names, comments and formatting aside)"
    assert pasted["flags"] in _result(hostile_class.out, "paste_reference")["flags"]
    # the same one-liner written by a learner carries no docstring or comment of the reference: no flag
    assert "reference" not in rows["alice"]["flags"] and rows["bob"]["flags"] == ""
    assert "the reference solution's" not in (hostile_class.out / "feedback" / "paste_reference.html").read_text()
