"""check(), hint() and solution() in a learner's notebook for exercises the instructor grades from a private bank."""

from __future__ import annotations

import pytest

import coursekit
from coursekit import check, hint, private_exercises, solution
from coursekit.grading import private


@pytest.fixture(autouse=True)
def _fresh_kernel(monkeypatch):
    monkeypatch.setattr(private, "_declared", set())


def kl_by_hand(p, q):
    return (p * (p / q).log()).sum()


def test_a_declared_exercise_is_graded_by_the_instructor_and_nothing_else_is_said():
    shown = private_exercises("kl_by_hand", "entropy_bits")
    assert repr(shown) == ("Graded by your instructor: entropy_bits, kl_by_hand\ncheck() cannot check these exercises "
                           "here; your instructor grades them after you hand in the notebook.")
    result = check(kl_by_hand)
    assert result.status == "private" and (result.passed, result.total, result.points) == (0, 0, 0.0)
    assert repr(result) == ("kl_by_hand: Graded by your instructor. `kl_by_hand` is graded by your instructor after "
                            "you hand in the notebook; check() has no cases for it here. Keep the name `kl_by_hand` "
                            "and make sure its cell runs without errors.")
    html = result._repr_html_()
    assert "Graded by your instructor" in html and "cases" not in html.split("</code>")[0] and "points" not in html
    assert repr(check("entropy_bits", None)).startswith("entropy_bits: Graded by your instructor. Not answered yet.")
    assert repr(check("entropy_bits", 1.5)).startswith("entropy_bits: Graded by your instructor. `entropy_bits`")


def test_hint_and_solution_reveal_nothing_of_a_private_exercise():
    private_exercises("kl_by_hand")
    assert repr(hint("kl_by_hand")) == ("kl_by_hand is graded by your instructor\nIts hints are your instructor's: the "
                                        "course has none for it here.")
    assert repr(solution("kl_by_hand", reveal=True)) == ("kl_by_hand is graded by your instructor\nIts solution is "
                                                         "your instructor's: it is not part of the course.")


def test_a_typo_still_gets_did_you_mean_among_the_declared_and_the_course_ids():
    private_exercises("kl_by_hand")

    def kl_by_hnd(p, q):
        return 0

    assert repr(check(kl_by_hnd)).startswith("check() could not run: Unknown exercise 'kl_by_hnd'. Did you mean "
                                             "'kl_by_hand'? (check() looks the exercise up by your function's name")
    assert repr(check("kl_by_han", 1)) == "check() could not run: Unknown exercise 'kl_by_han'. Did you mean " \
                                          "'kl_by_hand'?"
    # a course id's typo reads as before
    assert repr(check("sofmax", 1)) == "check() could not run: Unknown exercise 'sofmax'. Did you mean 'softmax' or " \
                                       "'softmax_vjp'?"


def test_without_the_declaration_an_instructors_id_is_just_unknown():
    assert repr(check(kl_by_hand)).startswith("check() could not run: Unknown exercise 'kl_by_hand'. Run `coursekit "
                                              "exercises` to list them all.")


def test_a_declared_course_id_is_the_instructors_version_and_its_public_cases_stay_quiet():
    def scale_and_shift(x, a, b):
        return a * x + b

    assert check(scale_and_shift).status == "pass"
    private_exercises("scale_and_shift")  # the instructor's bank replaces it for this class
    assert check(scale_and_shift).status == "private"
    assert "Reference solution" not in repr(solution("scale_and_shift", reveal=True))


@pytest.mark.parametrize("ids", [(3,), ("not an id",), ()])
def test_a_bad_declaration_says_how_to_write_one_and_declares_nothing(ids):
    shown = repr(private_exercises(*ids))
    assert shown.startswith("private_exercises() takes exercise ids\nPass each id as a string, e.g. "
                            "private_exercises('kl_by_hand'); got ")
    assert private.declared() == []


def test_the_declaration_is_part_of_the_small_top_level():
    assert coursekit.private_exercises is private_exercises and "private_exercises" in coursekit.__all__
