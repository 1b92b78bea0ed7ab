"""Answers whose code is a reference solution's are flagged for the instructor (coursekit.grading.copies)."""

from __future__ import annotations

import ast
import textwrap

import pytest

from coursekit.exercises import all_exercises, get
from coursekit.exercises.source import reference_source
from coursekit.grading.copies import MIN_NODES, normalised, reference_copies

from .answers import RIGHT
from .corpus import GOOD, PASTED

FUNCTIONS = [e for e in all_exercises() if e.kind == "function"]


def _form(source: str) -> str:
    return normalised(ast.parse(textwrap.dedent(source)).body[0])[0]


def test_names_docstrings_comments_annotations_and_layout_do_not_count():
    first = '''
def softplus(x: torch.Tensor) -> torch.Tensor:
    """Reference."""
    pos, neg = x.clamp(min=0), x.clamp(max=0)  # each side
    return torch.where(x > 0, pos + torch.log1p(torch.exp(-pos)), torch.log1p(torch.exp(neg)))
'''
    second = '''
def my_softplus(values):
    import math
    a, b = values.clamp(min=0), values.clamp(max=0)
    return T.where(values > 0,
                   a + T.log1p(T.exp(-a)),
                   T.log1p(T.exp(b)))
'''
    assert _form(first) != _form(second)  # the import is code
    assert _form(first) == _form(second.replace("    import math\n", ""))
    assert _form(first) != _form(first.replace("log1p(torch.exp(neg))", "log(1 + torch.exp(neg))"))
    assert _form(first) != _form(first.replace("min=0", "min=0.0"))


@pytest.mark.parametrize("exercise", FUNCTIONS, ids=lambda e: e.id)
def test_every_pasted_reference_is_flagged(exercise):
    flags = reference_copies([(0, "import torch"), (1, reference_source(exercise))], [exercise])
    assert flags == [f"{exercise.id}: the code is the reference solution's (names, comments and formatting aside)"]


@pytest.mark.parametrize("exercise_id", sorted(i for i in RIGHT if get(i).kind == "function"))
def test_a_right_answer_written_otherwise_is_not_flagged(exercise_id):
    assert reference_copies([(0, "import torch\n" + RIGHT[exercise_id])], [get(exercise_id)]) == []


def test_a_short_reference_is_flagged_only_with_its_docstring_or_a_comment():
    exercise = get("scale_and_shift")
    assert normalised(ast.parse(GOOD).body[0])[1] < MIN_NODES
    assert reference_copies([(0, GOOD)], [exercise]) == []  # what anyone writes
    assert len(reference_copies([(0, PASTED)], [exercise])) == 1
    # IPython's own lines in the cell do not hide it
    assert len(reference_copies([(0, "%time\n" + PASTED + "\n!ls")], [exercise])) == 1
    assert reference_copies([(0, "%%time\n" + PASTED)], [exercise]) == []  # a cell magic's body is not Python


def test_the_last_definition_is_the_answer():
    exercise = get("sigmoid")
    later = "def sigmoid(x):\n    return 1 / (1 + torch.exp(-x))"
    assert reference_copies([(0, reference_source(exercise)), (1, later)], [exercise]) == []
    assert len(reference_copies([(0, later), (1, reference_source(exercise))], [exercise])) == 1
