"""Hidden inputs never reach anything a student receives (see coursekit.grading.schedule and .hidden).

The worker gets one case at a time and every public case runs before any hidden one, so a public
case's message cannot carry a hidden input; a hidden case's message is the grader's own words;
and nothing carries a hidden input from one worker to the next (the kernel's keyrings are refused).
"""

from __future__ import annotations

import csv
import json

import pytest
import torch

from coursekit.exercises import by_notebook, get
from coursekit.exercises.source import reference_source
from coursekit.grading.batch import _Spec, grade
from coursekit.grading.compare import ErrorInfo, Outcome, judge
from coursekit.grading.plain import encode
from coursekit.grading.sandbox import ExerciseRequest

from .conftest import SEED
from .corpus import FIRST, KEYRING, notebook
from .test_attacks import hidden_numbers

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

# the order of the calls, and how many wire cases (args, kwargs, hidden, options) the worker's heap holds
COUNTER = """import gc, torch
calls = []
def _cases_held():
    def case(item):
        return isinstance(item, list) and len(item) == 4 and isinstance(item[2], bool) and isinstance(item[3], dict) \\
            and "rules" in item[3]
    return sum(case(obj) for obj in gc.get_objects())"""
ANSWER = """def {name}(*args, **kwargs):
    calls.append("{name}")
    return torch.tensor([float(len(calls)), float(_cases_held())])"""


def test_one_case_at_a_time_and_every_public_case_before_any_hidden_one(sandbox):
    specs = [_Spec.build(get(i), SEED) for i in ("grad_f", "directional_derivative")]
    cells = [(0, COUNTER), *((i + 1, ANSWER.format(name=s.exercise.id)) for i, s in enumerate(specs))]
    run = sandbox.run(cells, [s.request for s in specs])
    order = {}  # (exercise, case number) -> which call it was
    for spec in specs:
        outcomes = run.exercises[spec.exercise.id].outcomes
        assert len(outcomes) == len(spec.cases), run
        for number, (case, outcome) in enumerate(zip(spec.cases, outcomes, strict=True)):
            call, held = outcome.value.data.tolist()
            assert held == 1, "the worker held more than the case it was running"
            order[(spec.exercise.id, number, case.hidden)] = call
    public = [call for (_, _, hidden), call in order.items() if not hidden]
    hidden = [call for (_, _, hidden), call in order.items() if hidden]
    assert max(public) < min(hidden) and sorted(public + hidden) == list(range(1, len(order) + 1))


def test_nothing_crosses_from_one_worker_to_the_next_through_the_kernel(sandbox):
    """A worker's user keyring is shared with every later worker of its slot (the next student's too): refused."""
    whole = _Spec.build(get("scale_and_shift"), SEED).request
    request = ExerciseRequest(whole.id, whole.cases[:1])
    write = KEYRING + """
data = b"kept by the first worker"
added = _libc.syscall(_ADD_KEY, b"user", b"crossing", data, len(data), _USER_KEYRING)
def scale_and_shift(x, a, b):
    raise ValueError(f"added {added} errno {ctypes.get_errno()}")"""
    read = KEYRING + """
key = _libc.syscall(_KEYCTL, _SEARCH, _USER_KEYRING, b"user", b"crossing", 0)
def scale_and_shift(x, a, b):
    raise ValueError(f"found {key}")"""
    first = sandbox.run([(0, write)], [request], slot=7).exercises["scale_and_shift"].outcomes[0]
    assert first.error.last_line == "added -1 errno 1", first  # EPERM
    second = sandbox.run([(0, read)], [request], slot=7).exercises["scale_and_shift"].outcomes[0]
    assert second.error.last_line == "found -1", second
    assert any("keyrings" in line for line in sandbox.isolation)


# ---------------------------------------------------------------- across exercises, in a real class


def _renamed(exercise_id: str) -> str:
    """The reference answer of an exercise, under the name _right_<id>."""
    exercise = get(exercise_id)
    source = reference_source(exercise).replace(f"\n{exercise.id} = ", f"\n_right_{exercise.id} = ")
    return source.replace(f"def {exercise.id}(", f"def _right_{exercise.id}(", 1)


ACROSS = {
    # numerical_gradient keeps every input it gets; grad_f, the next exercise, raises what was kept
    "numerical_gradient": _renamed("numerical_gradient") + """
import builtins
def numerical_gradient(f, x, *args, **kwargs):
    builtins.__dict__.setdefault("kept", []).append(repr(x.tolist()))
    return _right_numerical_gradient(f, x, *args, **kwargs)""",
    "grad_f": _renamed("grad_f") + """
import builtins
def grad_f(p):
    if builtins.__dict__.get("kept"):
        raise ValueError("kept: " + " ".join(builtins.__dict__["kept"]))
    return _right_grad_f(p)""",
}


@pytest.fixture(scope="module")
def across(tmp_path_factory, sandbox):
    root = tmp_path_factory.mktemp("across")
    exercises = by_notebook("01_gradients")
    cells = [FIRST, *(ACROSS.get(e.id) or reference_source(e) for e in exercises)]
    (root / "submitted").mkdir()
    (root / "submitted" / "mallory.ipynb").write_text(json.dumps(notebook(cells, assignment="01_gradients")))
    grade(submissions=root / "submitted", out=root / "out", seed=SEED, sandbox=sandbox, workers=1, progress=False)
    return root / "out"


def test_a_later_exercise_cannot_show_what_an_earlier_exercises_hidden_case_received(across):
    text = (across / "results" / "mallory.json").read_text() + (across / "feedback" / "mallory.html").read_text()
    numbers = hidden_numbers("numerical_gradient", SEED)
    assert len(numbers) > 10 and not [n for n in numbers if n in text], text
    result = {e["id"]: e for e in json.loads((across / "results" / "mallory.json").read_text())["exercises"]}
    # grad_f's public cases ran before any hidden case: it saw only numerical_gradient's public inputs
    assert result["grad_f"]["message"].startswith("Case 1: grad_f(p=tensor([1., 2.])): raised ValueError: kept: "
                                                  "[1.0, 2.0]")
    assert result["numerical_gradient"]["status"] == "pass"
    with open(across / "gradebook.csv", newline="") as handle:
        assert float(next(csv.DictReader(handle))["numerical_gradient"]) == get("numerical_gradient").points


# ---------------------------------------------------------------- the words of a hidden case


def _hidden_case(exercise_id: str):
    exercise = get(exercise_id)
    case = next(c for c in exercise.cases(hidden_seed=SEED) if c.hidden)
    return exercise, case, encode(exercise.expected(case))


SECRET = "31415926"


@pytest.mark.parametrize("outcome", [
    Outcome(value=encode(torch.zeros(int(SECRET[:4])))),  # a shape
    Outcome(value=encode("pi is " + SECRET)),  # a string
    Outcome(value=encode({f"k{SECRET}": 1.0})),  # a key
    Outcome(value=encode(torch.full((1, 3), float(SECRET), dtype=torch.float64))),  # values
    Outcome(error=ErrorInfo(f"E{SECRET}", SECRET)),
    Outcome(value=encode(torch.zeros(1, 3, dtype=torch.float64)), mutated=(f"x{SECRET}",)),
    Outcome(value=encode(torch.zeros(1, 3, dtype=torch.float64)), warnings=(f"RuntimeWarning: {SECRET}",)),
], ids=["shape", "string", "key", "values", "error type and text", "mutated name", "warning"])
def test_a_hidden_case_says_what_went_wrong_in_the_graders_words_only(outcome):
    exercise, case, expected = _hidden_case("scale_and_shift")
    verdict = judge(exercise, case, expected, outcome, number=4)
    assert verdict.status != "pass" and verdict.message.startswith("Hidden case 4 (random matrix and coefficients): ")
    assert SECRET[:4] not in verdict.message and "details are not shown for hidden cases" in verdict.message


def test_a_hidden_rule_break_names_the_rule_but_not_what_the_code_did():
    exercise, case, expected = _hidden_case("two_output_grads")
    limited = next(r for r in exercise.rules if r.kind == "calls_at_most")
    count = 31415
    outcome = Outcome(value=expected, violation=limited.message(f"Your code called torch.softmax {count} times."))
    verdict = judge(exercise, case, expected, outcome, number=5)
    assert limited.text in verdict.message and str(count) not in verdict.message
