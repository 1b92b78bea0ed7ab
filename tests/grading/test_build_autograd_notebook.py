"""Notebook 08 itself, answered: every check() passes when it runs, and `coursekit grade` agrees.

The answers replace only the learner's functions; the adapters the exercise cells give
(`engine_gradients`, `backward_twice`) stay as the notebook has them, so this runs the path a
learner's notebook takes, in the kernel and in the grader's worker.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest

from coursekit.cli import main
from coursekit.exercises import by_notebook
from coursekit.exercises.source import reference_source

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "08_build_autograd.ipynb"

WALK = '''
    grads = {output: torch.ones_like(output.value) if grad is None else grad}
    for t in topological_order(engine.inputs_of(output), output):
        for inp, g in zip(t.node.inputs, t.node.vjp(grads[t])):
            grads[inp] = grads[inp] + g if inp in grads else g
        FREE
    for t, g in grads.items():
        if t.node is None and t.requires_grad:
            t.grad = g if t.grad is None else t.grad + g
'''

ANSWERS = {
    "unbroadcast": '''
def unbroadcast(grad, shape):
    while grad.dim() > len(shape):
        grad = grad.sum(dim=0)
    for i, n in enumerate(shape):
        if n == 1 and grad.shape[i] != 1:
            grad = grad.sum(dim=i, keepdim=True)
    return grad
''',
    "mul_vjp": '''
def mul_vjp(grad, a, b):
    return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)
''',
    "matmul_vjp": '''
def matmul_vjp(grad, a, b):
    return unbroadcast(grad @ b.mT, a.shape), unbroadcast(a.mT @ grad, b.shape)
''',
    "softmax_vjp": '''
def softmax_vjp(grad, p):
    return p * (grad - (grad * p).sum(dim=-1, keepdim=True))
''',
    "topological_order": '''
def topological_order(inputs, output):
    done, seen = [], set()
    def visit(n):
        if n not in seen:
            seen.add(n)
            for i in inputs[n]:
                visit(i)
            done.append(n)
    visit(output)
    return [n for n in reversed(done) if inputs[n]]
''',
    "backward": "def backward(output, grad=None):" + WALK.replace("FREE", "pass"),
    "backward_freeing": "def backward_freeing(output, grad=None, retain_graph=False):" + WALK.replace(
        "FREE", "if not retain_graph:\n            t.node.free()"),
}


def _answered(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with each learner function's stub replaced by its answer (adapters kept)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    replaced = set()
    for cell in nb.cells:
        if "exercise" not in cell.metadata.get("tags", []):
            continue
        blocks = cell.source.split("\n\n\n")
        for k, block in enumerate(blocks):
            for name, answer in ANSWERS.items():
                if block.startswith(f"def {name}("):
                    blocks[k] = answer.strip("\n")
                    replaced.add(name)
        cell.source = "\n\n\n".join(blocks)
    assert replaced == set(ANSWERS), f"stubs not found: {set(ANSWERS) - replaced}"
    return nb


def _with_references(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with each exercise cell replaced by the bank's reference source for its exercise."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    exercises = by_notebook("08_build_autograd")
    filled = []
    for cell in nb.cells:
        if "exercise" in cell.metadata.get("tags", []):
            (exercise,) = [e for e in exercises if f"def {e.id}(" in cell.source]
            cell.source = reference_source(exercise)
            filled.append(exercise.id)
    assert filled == [e.id for e in exercises]
    return nb


@pytest.fixture(scope="module")
def stored():
    return nbformat.read(NOTEBOOK, as_version=4)


def test_every_check_passes_when_the_answered_notebook_runs(tmp_path, stored):
    from nbclient import NotebookClient

    nb = _answered(stored)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    results = [o["data"]["text/plain"] for c in nb.cells if c.cell_type == "code" and c.source.startswith("check(")
               for o in c.outputs if o.get("output_type") == "execute_result"]
    ids = [e.id for e in by_notebook("08_build_autograd")]
    assert len(results) == len(ids) == 7
    for exercise_id, text in zip(ids, results, strict=True):
        assert text.startswith(f"{exercise_id}: All cases pass."), text


def test_coursekit_grade_gives_the_answers_full_marks_and_the_stubs_zero(tmp_path, stored, capsys):
    submissions = tmp_path / "submitted"
    submissions.mkdir()
    nbformat.write(_answered(stored), submissions / "answered.ipynb")
    nbformat.write(_with_references(stored), submissions / "references.ipynb")
    nbformat.write(stored, submissions / "stubs.ipynb")
    out = tmp_path / "grades"
    code = main(["grade", str(submissions), "--out", str(out), "--seed", "2024", "--workers", "2", "--quiet"])
    assert code == 0, capsys.readouterr()
    with open(out / "gradebook.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    exercises = by_notebook("08_build_autograd")
    assert float(rows["stubs"]["total"]) == 0
    for student in ("answered", "references"):
        assert float(rows[student]["total"]) == sum(e.points for e in exercises) == 7
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert [(e["id"], e["status"]) for e in result["exercises"]] == [(e.id, "pass") for e in exercises]
        # the hidden cases ran too
        assert all(e["total"] > len(ex.cases()) for e, ex in zip(result["exercises"], exercises, strict=True))
    stubs = json.loads((out / "results" / "stubs.json").read_text())
    assert [e["status"] for e in stubs["exercises"]] == ["not_attempted"] * len(exercises)
