"""Exercises the instructor grades from a private bank, as the learner's notebook knows them.

A notebook that hands out private exercises declares their ids once, in its first cell:

    coursekit.private_exercises("kl_by_hand", "entropy_bits")

The learner's kernel holds only the public course, so without the declaration `check(kl_by_hand)`
could not tell the instructor's exercise from a typo. With it, check(), hint() and solution()
say that the exercise is graded by the instructor and reveal nothing else (the bank is not in the
package, so there is nothing they could show), and an id that is not declared still gets "Did you
mean ...?", the declared ids included. A declared id wins over a course exercise of the same id:
the instructor's bank replaces that exercise when grading, so its public cases would mislead.
"""

from __future__ import annotations

import difflib

__all__ = ["close_to", "declare", "declared", "is_private"]

_declared: set[str] = set()


def declare(ids: tuple[object, ...]) -> list[str]:
    """Add `ids` to this kernel's private exercises; returns the ones that are not valid ids (nothing is added then)."""
    bad = [repr(i) for i in ids if not (isinstance(i, str) and i.isidentifier())]
    if not bad:
        _declared.update(str(i) for i in ids)
    return bad


def declared() -> list[str]:
    """The private exercises declared in this kernel, sorted."""
    return sorted(_declared)


def is_private(exercise_id: object) -> bool:
    """Whether this kernel's notebook declared `exercise_id` as graded by the instructor."""
    return isinstance(exercise_id, str) and exercise_id in _declared


def close_to(name: str, public: list[str]) -> list[str]:
    """The ids closest to a mistyped `name` among the course's and the declared ones, when a declared one is close."""
    if not _declared:
        return []
    close = difflib.get_close_matches(name, sorted(set(public) | _declared), n=3, cutoff=0.6)
    return close if any(c in _declared for c in close) else []
