"""Checking and grading: compare learner outputs with the references, in-notebook and in batch."""

from coursekit.grading.check import CheckResult, check, hint, solution
from coursekit.grading.compare import Outcome, Verdict, compare, judge

__all__ = ["CheckResult", "Outcome", "Verdict", "check", "compare", "hint", "judge", "solution"]
