"""Rules an exercise states are enforced, with the rule's own text, in check() and in the batch grader alike."""

from __future__ import annotations

import json
import textwrap

import pytest
import torch

from coursekit.exercises import all_exercises, by_notebook, get
from coursekit.grading.batch import grade
from coursekit.grading.calls import applicable_rules
from coursekit.grading.check import check
from coursekit.grading.rules import guarded_call, resolve
from coursekit.grading.sandbox import Limits, Sandbox

from .answers import BREAKS, RIGHT
from .conftest import SEED
from .corpus import FIRST, notebook

RULED = [e for e in all_exercises() if e.rules]
PREAMBLE = "import torch\n"


@pytest.fixture(scope="module")
def roomy_sandbox():
    """Limits that no correct answer comes near even on a loaded machine: this test is about rules, not time."""
    with Sandbox(limits=Limits(notebook_seconds=30, exercise_seconds=30, submission_seconds=120,
                               memory_mb=1024)) as box:
        yield box


def _define(source: str, name: str):
    namespace: dict = {}
    exec(PREAMBLE + textwrap.dedent(source), namespace)  # noqa: S102 - the test's own answers
    return namespace[name]


def test_every_exercise_with_rules_has_breaking_and_right_answers_here():
    assert sorted(BREAKS) == sorted(RIGHT) == sorted(e.id for e in RULED)
    for exercise in RULED:
        broken = {index for _, index in BREAKS[exercise.id]}
        assert broken == set(range(len(exercise.rules))), f"{exercise.id}: a rule without a breaking answer"


@pytest.mark.parametrize("exercise", RULED, ids=[e.id for e in RULED])
def test_every_rule_names_real_callables_and_applies_to_some_case(exercise):
    for rule in exercise.rules:
        for name in rule.names:
            assert callable(resolve(name)), name
    applies = [set(applicable_rules(exercise, case)) for case in exercise.cases(hidden_seed=SEED)]
    for index, rule in enumerate(exercise.rules):
        assert any(index in a for a in applies), f"{exercise.id}: rule {rule.text!r} applies to no case"
        if rule.kind in ("forbid", "no_autograd", "calls_at_most"):
            assert all(index in a for a in applies), f"{exercise.id}: the reference itself breaks {rule.text!r}"


@pytest.mark.parametrize("exercise", RULED, ids=[e.id for e in RULED])
def test_a_rule_breaking_answer_fails_with_the_rules_text(exercise):
    cases = exercise.cases()
    for source, index in BREAKS[exercise.id]:
        result = check(_define(source, exercise.id))
        assert result.status == "fail", repr(result)
        assert exercise.rules[index].text in result.verdict.message, repr(result)
        assert result.verdict.message.count("This exercise asks:") == 1
        # every case the rule applies to scores 0 (a demand such as "use autograd" does not apply to steps = 0)
        exempt = sum(c.weight for c in cases if index not in applicable_rules(exercise, c))
        assert result.points <= round(exercise.points * exempt / sum(c.weight for c in cases), 2), repr(result)


@pytest.mark.parametrize("exercise", RULED, ids=[e.id for e in RULED])
def test_the_reference_and_a_differently_written_answer_pass(exercise):
    assert check(exercise.id, exercise.reference).status == "pass"
    result = check(_define(RIGHT[exercise.id], exercise.id))
    assert result.status == "pass", repr(result)


@pytest.mark.parametrize("exercise", RULED, ids=[e.id for e in RULED])
def test_the_rules_are_stated_in_the_note_before_an_attempt(exercise):
    def stub(*args, **kwargs):
        raise NotImplementedError

    stub.__name__ = exercise.id
    note = check(stub).note
    assert all(rule.text in note for rule in exercise.rules)


def test_rules_watch_only_the_learners_code_not_the_course_helpers():
    """numerical_gradient forbids autograd; a case function that uses autograd inside is not the learner's."""
    from coursekit.exercises.functions import named
    from coursekit.exercises.model import NamedFunction

    def uses_autograd(x):
        y = x.detach().clone().requires_grad_(True)
        (y ** 2).sum().backward()
        return (x ** 2).sum()

    helper = named("test_helper_with_autograd", uses_autograd)
    assert isinstance(helper, NamedFunction)
    rules = get("numerical_gradient").rules
    _, guard = guarded_call(rules, lambda f, x: f(x), [helper, torch.ones(2, dtype=torch.float64)], {})
    assert guard.violation() == ""
    _, guard = guarded_call(rules, lambda f, x: uses_autograd(x), [helper, torch.ones(2, dtype=torch.float64)], {})
    assert "no autograd" in guard.violation()


def test_a_forbidden_call_inside_try_except_is_still_caught():
    def softmax(z, dim=-1):
        try:
            return torch.softmax(z, dim=dim)
        except Exception:  # noqa: BLE001
            return z

    assert "torch.softmax" in check(softmax).verdict.message


@pytest.mark.parametrize("assignment", sorted({e.notebook for e in RULED}))
def test_the_batch_grader_enforces_the_same_rules(tmp_path, roomy_sandbox, assignment):
    exercises = [e for e in by_notebook(assignment) if e.rules]
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    most = max(len(BREAKS[e.id]) for e in exercises)
    students = {f"breaks{k}": [BREAKS[e.id][min(k, len(BREAKS[e.id]) - 1)][0] for e in exercises] for k in range(most)}
    students["right"] = [RIGHT[e.id] for e in exercises]
    for student, sources in students.items():
        cells = [FIRST, *(PREAMBLE + textwrap.dedent(s) for s in sources)]
        (submissions / f"{student}.ipynb").write_text(json.dumps(notebook(cells, assignment=assignment)))
    out = tmp_path / "out"
    report = grade(submissions=submissions, out=out, seed=SEED, sandbox=roomy_sandbox, workers=2, progress=False)
    assert report.failures == ()
    right = {e["id"]: e for e in json.loads((out / "results" / "right.json").read_text())["exercises"]}
    for exercise in exercises:
        assert right[exercise.id]["status"] == "pass", right[exercise.id]["message"]
        assert right[exercise.id]["points"] == exercise.points
    for k in range(most):
        results = {e["id"]: e for e in json.loads((out / "results" / f"breaks{k}.json").read_text())["exercises"]}
        for exercise in exercises:
            source, index = BREAKS[exercise.id][min(k, len(BREAKS[exercise.id]) - 1)]
            got = results[exercise.id]
            assert got["status"] == "fail" and got["points"] < exercise.points, got
            assert exercise.rules[index].text in got["message"], got["message"]
