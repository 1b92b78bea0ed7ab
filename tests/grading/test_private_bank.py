"""Private exercises: an instructor's bank graded with the course's machinery, and never seen by the students' code.

The bank below adds an exercise to the warm-up notebook and replaces the course's own exercise there.
Its reference carries a marker and its hidden inputs distinctive numbers (9876.5..., 5555.1...), so
"never importable from the sandbox" and "never in the feedback" are searched for, not assumed.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import sys
import uuid
from pathlib import Path

import pytest
import torch

from coursekit.cli import main
from coursekit.exercises import all_exercises, functions, get
from coursekit.grading.bank import BankError, exposure, load_bank
from coursekit.grading.batch import _Spec, grade
from coursekit.grading.exchange import ExerciseRequest
from coursekit.grading.sandbox import Sandbox
from coursekit.grading.withhold import describe

from .conftest import SEED, TEST_LIMITS
from .corpus import FIRST, GOOD, notebook

MARKER = "PRIVATE-REFERENCE-7f3a"
BANK = f'''"""An instructor's private exercises for the warm-up notebook."""
import torch

from coursekit.exercises import Case, Exercise, Mistake, register


def squash_shift(x):
    """{MARKER}: three and a half times tanh, shifted by an eighth."""
    return 3.5 * torch.tanh(x) + 0.125


def _public():
    return [Case((torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64),), label="three points")]


def _hidden(rng):
    x = torch.tensor(rng.uniform(0.0, 0.5, size=4) + 9876.5, dtype=torch.float64)
    return [Case((x,), label="far to the right"), Case((-x,), label="far to the left")]


def _no_tanh(x):
    return 3.5 * x + 0.125


register(Exercise("squash_shift", "00_start_here", "Squash and shift", squash_shift, _public, _hidden, points=2.0,
                  hints=("PRIVATE-HINT: think of tanh.",),
                  mistakes=(Mistake("no_tanh", "Squash the input before you scale it.", wrong=_no_tanh),)))


def scale_and_shift(x, a, b):  # the course's exercise, replaced for this class: scale, then subtract
    return a * x - b


def _public_line():
    return [Case((torch.tensor([1.0, 2.0], dtype=torch.float64), 2.0, 0.5), label="two points")]


def _hidden_line(rng):
    return [Case((torch.tensor(rng.uniform(size=3) + 5555.125, dtype=torch.float64), 3.0, 1.0), label="hidden line")]


register(Exercise("scale_and_shift", "00_start_here", "Scale, then subtract", scale_and_shift, _public_line,
                  _hidden_line))
'''
DECLARE = "coursekit.private_exercises('squash_shift', 'scale_and_shift')"
SQUASH = "def squash_shift(x):\n    return 3.5 * torch.tanh(x) + 0.125"
SUBTRACT = "def scale_and_shift(x, a, b):\n    return a * x - b"
LEAKY = ("def squash_shift(x):\n    print('INPUT', x.tolist())\n    if x.abs().max() > 100:\n"
         "        raise ValueError(f'LEAKED {x.tolist()}')\n    return 3.5 * torch.tanh(x) + 0.125")
NO_TANH = "def squash_shift(x):\n    return 3.5 * x + 0.125"


@pytest.fixture(scope="module")
def bank_files(tmp_path_factory):
    """The bank outside every folder the worker sees, and copies inside one (the Python installation)."""
    folder = tmp_path_factory.mktemp("private")
    path = folder / "hw_bank.py"
    path.write_text(BANK)
    inside = Path(sys.prefix) / f"coursekit-test-bank-{uuid.uuid4().hex[:8]}"
    (inside / "package").mkdir(parents=True)
    (inside / "package" / "__init__.py").write_text(BANK)
    (inside / "bank_file.py").write_text(BANK)
    (inside / "control.txt").write_text("visible")  # not hidden: proves the folder is in the worker's view
    try:
        yield path, inside
    finally:
        shutil.rmtree(inside, ignore_errors=True)


@pytest.fixture(scope="module")
def private_box(bank_files):
    path, inside = bank_files
    bank = load_bank(path)
    with Sandbox(limits=TEST_LIMITS, private=[describe(e) for e in bank.exercises],
                 hidden=[path, inside / "package", inside / "bank_file.py"]) as box:
        yield box, bank


SEARCH = """import gc, importlib.util, linecache, os, sys, types
import coursekit
gc.unfreeze()  # what the zygote made before forking is frozen, out of gc.get_objects()'s sight
BANK, INSIDE = {bank!r}, {inside!r}
functions = [f for f in gc.get_objects() if isinstance(f, types.FunctionType)]
found = {{"modules": sorted(n for n in sys.modules if "private_bank" in n),
         "functions": sorted(f.__code__.co_name for f in functions if f.__code__.co_filename in (BANK,)),
         "marker": any({marker!r} in (f.__doc__ or "") for f in functions),
         "lines": linecache.getlines(BANK)}}
tries = {{}}
for name, attempt in (("open", "open(BANK).read()"),
                      ("import", "importlib.util.spec_from_file_location('b', BANK).loader.exec_module("
                                 "types.ModuleType('b'))"),
                      ("reference", "coursekit.exercises.get('squash_shift').reference(torch.zeros(2))"),
                      ("replaced", "coursekit.exercises.get('scale_and_shift').reference(torch.zeros(2), 1.0, 1.0)"),
                      ("inside_file", "open(INSIDE + '/bank_file.py').read()"),
                      ("inside_package", "os.listdir(INSIDE + '/package')"),
                      ("control", "open(INSIDE + '/control.txt').read()")):
    try:
        tries[name] = repr(eval(attempt))[:200]
    except BaseException as exc:
        tries[name] = f"{{type(exc).__name__}}: {{exc}}"[:200]
held = coursekit.exercises.get("squash_shift")
found["held"] = [held.kind, held.title, len(held.cases()), list(held.hints), len(held.mistakes),
                 held.derivative is None]
def scale_and_shift(x, a, b):
    return found, tries"""


def test_a_private_reference_is_never_importable_in_the_worker(private_box, bank_files):
    box, bank = private_box
    path, inside = bank_files
    replaced = next(e for e in bank.exercises if e.id == "scale_and_shift")
    request = _Spec.build(replaced, SEED).request
    run = box.run([(0, "import torch"), (1, SEARCH.format(bank=str(path), inside=str(inside), marker=MARKER))],
                  [ExerciseRequest(request.id, request.cases[:1])])
    found, tries = run.exercises["scale_and_shift"].outcomes[0].value
    assert found["modules"] == [] and found["functions"] == [] and found["marker"] is False and found["lines"] == []
    assert tries["open"].startswith("FileNotFoundError") and tries["import"].startswith("FileNotFoundError")
    assert tries["reference"] == "ReferenceWithheld: The reference solution of squash_shift is not available while " \
                                 "grading."
    assert tries["replaced"] == "ReferenceWithheld: The reference solution of scale_and_shift is not available " \
                                "while grading."
    # inside a folder the worker sees, the bank's file reads empty (or not at all) and its package folder is empty
    assert MARKER not in tries["inside_file"] and tries["inside_package"] == "[]"
    assert tries["control"] == "'visible'"
    # the stand-in: what grading needs, nothing the learner could answer with
    assert found["held"] == ["function", "Squash and shift", 0, [], 0, True]


def _class(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    students = {"right": [SQUASH, SUBTRACT], "public": [GOOD], "leaky": [LEAKY, SUBTRACT],
                "no_tanh": [NO_TANH, SUBTRACT]}
    for name, cells in students.items():
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook([FIRST + "\n" + DECLARE, *cells])))
    return folder


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_private_exercises_are_graded_and_their_hidden_cases_never_reach_feedback(tmp_path, private_box, bank_files):
    box, _ = private_box
    path, _ = bank_files
    submitted = _class(tmp_path / "submitted")
    report = grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=box, progress=False, bank=path)
    book = _rows(tmp_path / "out")
    assert list(book["right"]) == ["student", "source", "lms_id", "scale_and_shift", "squash_shift", "total",
                                   "problem", "flags"]
    assert (book["right"]["scale_and_shift"], book["right"]["squash_shift"], book["right"]["total"]) == ("1", "2", "3")
    assert (book["public"]["scale_and_shift"], book["public"]["squash_shift"]) == ("0", "0")  # the course's formula
    assert book["leaky"]["scale_and_shift"] == "1" and 0 < float(book["leaky"]["squash_shift"]) < 2
    assert book["no_tanh"]["squash_shift"] == "0"
    meta = json.loads((tmp_path / "out" / "gradebook.meta.json").read_text())
    assert meta["bank"]["sha256"] == load_bank(path).sha256 and meta["bank"]["exercises"] == ["squash_shift",
                                                                                              "scale_and_shift"]
    assert [e["id"] for e in meta["exercises"]] == ["scale_and_shift", "squash_shift"]
    leaky = json.loads((tmp_path / "out" / "results" / "leaky.json").read_text())
    message = next(e["message"] for e in leaky["exercises"] if e["id"] == "squash_shift")
    assert message.startswith("Hidden case 2 (far to the right): your code raised an error (details are not shown")
    no_tanh = json.loads((tmp_path / "out" / "results" / "no_tanh.json").read_text())
    assert next(e["hint"] for e in no_tanh["exercises"] if e["id"] == "squash_shift") == \
        "Squash the input before you scale it."
    for student in book:
        sent = (tmp_path / "out" / "feedback" / f"{student}.html").read_text() + \
            (tmp_path / "out" / "results" / f"{student}.json").read_text()
        for secret in ("9876", "5555.1", "LEAKED", "INPUT", MARKER, "PRIVATE-HINT"):
            assert secret not in sent, f"{secret} reached {student}'s feedback"
    leaked = (tmp_path / "out" / "feedback" / "leaky.html").read_text()
    assert "3.625" not in leaked  # the hidden cases' expected answer (3.5 tanh(x) + 0.125 far out)
    assert report.failures == ()


def test_a_changed_bank_is_graded_again_and_an_unchanged_one_reused(tmp_path, private_box, bank_files):
    box, _ = private_box
    path, _ = bank_files
    submitted = _class(tmp_path / "submitted")
    first = grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=box, progress=False, bank=path)
    again = grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=box, progress=False, bank=path)
    assert (first.graded, again.graded, again.reused) == (4, 0, 4)
    changed = tmp_path / "changed_bank.py"
    changed.write_text(path.read_text() + "\n# points unchanged, but the file is not: its grades are not reused\n")
    third = grade(submissions=submitted, out=tmp_path / "out", seed=SEED, sandbox=box, progress=False, bank=changed)
    assert (third.graded, third.reused) == (4, 0)


def test_loading_a_bank_leaves_the_course_as_it_was_and_writes_no_bytecode(tmp_path):
    path = tmp_path / "bank.py"
    path.write_text(BANK)
    course = {e.id: e for e in all_exercises()}
    bank = load_bank(path)
    assert [e.id for e in bank.exercises] == ["squash_shift", "scale_and_shift"]
    assert {e.id: e for e in all_exercises()} == course and get("scale_and_shift") is course["scale_and_shift"]
    with pytest.raises(KeyError):
        get("squash_shift")
    assert not (tmp_path / "__pycache__").exists()


def test_a_sandbox_without_the_bank_is_refused(tmp_path, sandbox, bank_files):
    path, _ = bank_files
    with pytest.raises(BankError, match="was not started with this bank's exercises"):
        grade(submissions=_class(tmp_path / "submitted"), out=tmp_path / "out", seed=SEED, sandbox=sandbox,
              progress=False, bank=path)


CASE_WITH = 'register(Exercise("odd", "00_start_here", "Odd", lambda x: x, lambda: [Case(({arg},))]))'


@pytest.mark.parametrize("source, message", [
    ("def broken(:\n    pass", r"loading it raised SyntaxError: .*\(line 1 of .*bad_bank.py\)"),
    ("import torch\nraise RuntimeError('no data folder')", r"loading it raised RuntimeError: no data folder \(line 2 "),
    ("x = 1", r"registers no exercise: call coursekit.exercises.register\(Exercise\(...\)\)"),
    ("from coursekit.exercises import register\nregister('squash')", r"TypeError: register\(\) takes an Exercise"),
    ("from coursekit.exercises.functions import named\nnamed('mine', abs)",
     r"registers case functions \(mine\)\. A function handed to the learner's code travels"),
    ("import torch\nfrom coursekit.exercises import Case, Exercise, register\n" + CASE_WITH.format(arg="object()"),
     r"private exercise 'odd': case 1 passes an object of type object to the learner's code"),
    ("import torch\nfrom coursekit.exercises import Case, Exercise, register\n"
     "register(Exercise('odd', '00_start_here', 'Odd', lambda x: 1 / 0, lambda: [Case((1.0,))]))",
     r"private exercise 'odd': its reference raised ZeroDivisionError on case 1"),
    ("import torch\nfrom coursekit.exercises import Case, Exercise, register\n"
     "register(Exercise('odd', '00_start_here', 'Odd', lambda x: x, lambda: []))", r"'odd' has no cases"),
    ("from coursekit.exercises import Case, Exercise, register\nfor _ in range(2):\n"
     "    register(Exercise('odd', 'nb', 'Odd', lambda x: x, lambda: [Case((1.0,))]))",
     r"Exercise id 'odd' is defined twice"),
])
def test_a_bank_that_cannot_be_used_is_refused_with_what_to_fix(tmp_path, source, message):
    path = tmp_path / "bad_bank.py"
    path.write_text(source)
    registered = functions.registered()
    with pytest.raises(BankError, match=message):
        load_bank(path)
    assert functions.registered() == registered  # a refused bank leaves nothing behind


def test_a_bank_path_that_is_neither_a_file_nor_a_package_is_refused(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    for path, message in ((tmp_path / "missing.py", "no such file or folder"),
                          (tmp_path / "folder", "is a folder without __init__.py"),
                          (tmp_path / "notes.txt", r"is not a Python file \(.py\) or a package folder")):
        with pytest.raises(BankError, match=message):
            load_bank(path)


def test_a_package_bank_loads_with_its_own_modules(tmp_path):
    package = tmp_path / "hw3"
    package.mkdir()
    (package / "cases.py").write_text("import torch\nfrom coursekit.exercises import Case\n"
                                      "def public():\n    return [Case((torch.ones(2, dtype=torch.float64),))]\n")
    (package / "__init__.py").write_text("from coursekit.exercises import Exercise, register\n"
                                         "from .cases import public\n"
                                         "register(Exercise('doubled', 'hw3', 'Doubled', lambda x: 2 * x, public))\n")
    bank = load_bank(package)
    assert [e.id for e in bank.exercises] == ["doubled"] and len(bank.files) == 2
    assert not (package / "__pycache__").exists()


def test_the_command_refuses_a_broken_bank_in_one_line(tmp_path, capsys):
    (tmp_path / "bank.py").write_text("raise ImportError('needs scipy')")
    submitted = _class(tmp_path / "submitted")
    assert main(["grade", str(submitted), "--out", str(tmp_path / "out"), "--bank", str(tmp_path / "bank.py"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coursekit grade: --bank ") and "loading it raised ImportError: needs scipy" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_bank_is_refused_where_the_worker_could_read_it(tmp_path, monkeypatch):
    path = tmp_path / "bank.py"
    path.write_text(BANK)
    bank = load_bank(path)
    assert exposure(bank, namespaced=True) == ""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "students' code runs as your user and can read the bank's files" in exposure(bank, namespaced=False)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    os.chmod(path, 0o644)
    assert "is readable by every user" in exposure(bank, namespaced=False)
    os.chmod(path, 0o600)
    assert exposure(bank, namespaced=False) == ""


def test_the_readmes_worked_example_is_a_bank_that_loads(tmp_path):
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text[text.index("**Private exercises.**"):text.index("**What a hostile class tries")]
    source = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    command = re.search(r"```console\n\$ (.*?)\n```", section, re.S).group(1)
    assert command == "coursekit grade submitted/ --out grades --seed 2024 --bank ~/private/activations_bank.py"
    path = tmp_path / "activations_bank.py"
    path.write_text(source)
    bank = load_bank(path)
    (softsign,) = bank.exercises
    assert (softsign.id, softsign.notebook, softsign.points) == ("softsign", "03_activations", 2.0)
    x = torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(softsign.reference(x), torch.nn.functional.softsign(x))
    hidden = softsign.cases(hidden_seed=2024)[1:]
    assert len(hidden) == 1 and hidden[0].hidden and hidden[0].args[0].shape == (64,)
    assert "private_exercises(\"softsign\")" in section and "check(softsign)" in section


def test_merge_refuses_shards_graded_with_different_banks():
    from coursekit.grading.gradebook import _differences

    base = {"assignment": "00_start_here", "seed": 1, "exercises": []}
    assert _differences({**base, "bank": {"sha256": "a"}}, {**base, "bank": {"sha256": "a"}}) == []
    assert _differences({**base, "bank": {"sha256": "a"}}, {**base, "bank": {"sha256": "b"}}) == \
        ["a different private bank (--bank)"]
    assert _differences({**base, "bank": {"sha256": "a"}}, base) == ["a different private bank (--bank)"]
