"""While grading, the worker's exercise modules hold no reference solutions (coursekit.grading.withhold)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import coursekit.exercises
from coursekit.exercises import all_exercises, by_notebook, get
from coursekit.exercises.functions import lookup, registered
from coursekit.exercises.source import stub_source
from coursekit.grading.batch import _Spec, grade
from coursekit.grading.exchange import ExerciseRequest
from coursekit.grading.withhold import KEPT_MODULES, needed_names

from .conftest import SEED
from .corpus import FIRST, notebook

BANK = str(Path(coursekit.exercises.__file__).resolve().parent)


def _answers() -> set[tuple[str, str, int]]:
    """(file, name, first line) of every reference and analytic derivative that the bank's own modules define."""
    found = set()
    for exercise in all_exercises():
        for fn in (exercise.reference, exercise.derivative):
            code = getattr(fn, "__code__", None)
            if code is not None and code.co_filename.startswith(BANK):
                found.add((code.co_filename, code.co_name, code.co_firstlineno))
    return found


SEARCH = """import gc, types, coursekit
gc.unfreeze()  # what the zygote made before forking is frozen, out of gc.get_objects()'s sight
ANSWERS = {answers!r}
held = sorted({{f.__code__.co_name for f in gc.get_objects() if isinstance(f, types.FunctionType)
               and (f.__code__.co_filename, f.__code__.co_name, f.__code__.co_firstlineno) in ANSWERS}})
tries = []
for attempt in ("from coursekit.exercises.activations import sigmoid",
                "import coursekit.exercises.losses as m; m._softplus",
                "coursekit.exercises.get('sigmoid').reference(torch.zeros(2))"):
    try:
        exec(attempt)
        tries.append("worked")
    except Exception as exc:
        tries.append(f"{{type(exc).__name__}}: {{exc}}")
shown = repr(coursekit.solution("sigmoid", reveal=True))
def scale_and_shift(x, a, b):
    return held, tries, shown"""


def test_the_worker_holds_no_reference_and_says_so(sandbox):
    answers = _answers()
    assert len(answers) > 40
    whole = _Spec.build(get("scale_and_shift"), SEED).request
    run = sandbox.run([(0, "import torch"), (1, SEARCH.format(answers=answers))],
                      [ExerciseRequest(whole.id, whole.cases[:1])])
    held, tries, shown = run.exercises["scale_and_shift"].outcomes[0].value
    assert list(held) == [], f"the worker still holds {held}"
    assert tries[0] == ("ReferenceWithheld: The reference solution of sigmoid is not available while grading: the "
                        "grader holds no solutions where your notebook runs (coursekit.exercises.activations).")
    assert tries[1].startswith("ReferenceWithheld: coursekit.exercises.losses._softplus is not available while")
    assert tries[2] == "ReferenceWithheld: The reference solution of sigmoid is not available while grading."
    assert shown.startswith("The solution of sigmoid is not available while grading.")


def test_withholding_leaves_every_topic_module_a_stand_in():
    """In a fresh interpreter (it changes the registry for good): what withhold_references does, module by module."""
    script = """
import json, sys
import coursekit.exercises
from coursekit.grading.withhold import withhold_references, KEPT_MODULES
before = sorted(n for n in sys.modules if n.startswith("coursekit.exercises.") and n not in KEPT_MODULES)
withheld = withhold_references()
import coursekit.exercises.activations as activations
print(json.dumps([before, withheld, [n for n in vars(activations) if not n.startswith("__")],
                  type(sys.modules["coursekit.exercises.softmax"]).__name__]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, withheld, names, kind = json.loads(done.stdout)
    assert withheld == before and "coursekit.exercises.activations" in withheld
    assert "coursekit.exercises.model" not in withheld and "coursekit.exercises.functions" not in withheld
    assert names == ["_exercises"] and kind == "_WithheldModule"


def test_no_case_function_needs_a_reference():
    """The functions cases pass to learners (f of numerical_gradient, 08's programs) use no reference solution."""
    references = {id(e.reference): e.id for e in all_exercises()}
    needed = needed_names(lookup(name) for name in registered())
    assert needed, "the bank's case functions use module globals: the check would be empty otherwise"
    for module, names in needed.items():
        assert module not in KEPT_MODULES
        for name in names:
            owner = references.get(id(sys.modules[module].__dict__[name]))
            assert owner is None, f"{module}.{name} is the reference of {owner}"


def test_an_answer_that_is_the_engines_own_function_is_flagged_not_scored_down(tmp_path, sandbox):
    """Notebook 08's engine stays importable (its demonstrations run on it); its VJPs are what 08 asks for."""
    exercises = by_notebook("08_build_autograd")
    cells = [FIRST, "from coursekit.engine.vjps import mul_vjp, unbroadcast",
             *(stub_source(e) for e in exercises if e.id not in ("mul_vjp", "unbroadcast"))]
    (tmp_path / "submitted").mkdir()
    (tmp_path / "submitted" / "eve.ipynb").write_text(json.dumps(notebook(cells, assignment="08_build_autograd")))
    grade(submissions=tmp_path / "submitted", out=tmp_path / "out", seed=SEED, sandbox=sandbox, progress=False)
    with open(tmp_path / "out" / "gradebook.csv", newline="") as handle:
        row = next(csv.DictReader(handle))
    assert float(row["mul_vjp"]) == get("mul_vjp").points and float(row["unbroadcast"]) == get("unbroadcast").points
    assert row["flags"] == ("unbroadcast: the answer is the course's own function coursekit.engine.vjps.unbroadcast; "
                            "mul_vjp: the answer is the course's own function coursekit.engine.vjps.mul_vjp")
    assert "course's own" not in (tmp_path / "out" / "feedback" / "eve.html").read_text()


@pytest.mark.parametrize("exercise", [e for e in all_exercises() if e.kind == "function"], ids=lambda e: e.id)
def test_every_reference_keeps_the_names_of_its_inputs_while_withheld(exercise):
    import inspect

    from coursekit.grading.withhold import withheld_exercise

    stand_in = withheld_exercise(exercise)
    assert list(inspect.signature(stand_in.reference).parameters) == \
        list(inspect.signature(exercise.reference).parameters)
    assert stand_in.mistakes == () and stand_in.derivative is None and stand_in.cases() == []
