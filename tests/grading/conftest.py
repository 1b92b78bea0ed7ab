"""Shared fixtures: one warm sandbox per test session, and the class graded once with and without attacks."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from coursekit.grading.batch import GradeReport, grade
from coursekit.grading.sandbox import Limits, Sandbox

from .corpus import Attack, write_class

SEED = 20240917
# small limits keep the suite fast: every hang costs at most a few seconds
TEST_LIMITS = Limits(notebook_seconds=4, exercise_seconds=3, submission_seconds=40, memory_mb=512, output_kb=64)


@dataclass(frozen=True)
class ClassRun:
    submissions: Path
    out: Path
    report: GradeReport
    attacks: dict[str, Attack]


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox(limits=TEST_LIMITS) as box:
        yield box


def _grade_class(root: Path, box: Sandbox, *, hostile: bool) -> ClassRun:
    submissions, out = root / "submitted", root / "out"
    attacks = write_class(submissions, out=out, grader_pid=os.getpid(), hostile=hostile)
    report = grade(submissions=submissions, out=out, seed=SEED, sandbox=box, workers=2, progress=False)
    return ClassRun(submissions, out, report, attacks)


@pytest.fixture(scope="session")
def hostile_class(tmp_path_factory, sandbox) -> ClassRun:
    """The honest students and every attack, graded together."""
    return _grade_class(tmp_path_factory.mktemp("hostile"), sandbox, hostile=True)


@pytest.fixture(scope="session")
def clean_class(tmp_path_factory, sandbox) -> ClassRun:
    """The honest students alone: what their grades must be whatever else is in the class."""
    return _grade_class(tmp_path_factory.mktemp("clean"), sandbox, hostile=False)
