"""The class as the grader sees it: one entry per student, with the bytes to grade or the reason there are none.

`read_class` finds the submissions (`coursekit.grading.submissions.discover`), decides the
assignment with one vote per student, picks each student's file, reads it (size checked
first, never blocking, never leaving the submissions folder) and flags submissions that
are byte-identical to another student's. The whole class is looked at even when only one
shard is graded, so every shard flags the same students and the merged gradebook is the
one a single run writes.
"""

from __future__ import annotations

import collections
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from coursekit.grading.printable import printable
from coursekit.grading.submissions import (
    SUFFIX,
    Submission,
    Unreadable,
    discover,
    in_shard,
    read_file,
    read_notebook,
)

__all__ = ["Entry", "Roster", "choose_assignment", "label_of", "pick_file", "read_class"]

_NAMED = 5  # identical submissions named in a flag; the rest are counted


@dataclass(frozen=True)
class Entry:
    """One student's row: the bytes to grade (None if there are none, with `problem` saying why)."""

    student: str
    source: str
    data: bytes | None
    problem: str = ""
    unread: tuple[str, ...] = ()  # other files of the submission that were not graded, and why
    flags: tuple[str, ...] = ()  # for the instructor: byte-identical submissions, hard links


@dataclass(frozen=True)
class Roster:
    """The assignment and every student's entry (of the shard being graded), sorted by student id."""

    assignment: str
    root: Path
    layout: str
    entries: tuple[Entry, ...]
    skipped: tuple[tuple[str, str], ...] = ()


def label_of(path: Path, submission: Submission, known: list[str], *, layout: str) -> str | None:
    """The course notebook a file answers: nbgrader's assignment folder if named after one, else its
    metadata, else its file name; None if none of them is a known notebook (never raises)."""
    rel = path.relative_to(submission.root).parts
    if layout == "nbgrader" and len(rel) >= 3 and rel[1] in known:
        return rel[1]
    try:
        said = read_notebook(read_file(path, submission.root)).assignment
    except Unreadable:
        said = None
    if said in known:
        return said
    stem = path.name[:-len(SUFFIX)]
    return stem if stem in known else None


def choose_assignment(labels: dict[str, set[str]], known: list[str]) -> str:
    """The assignment of the class from each student's labels (one vote per student, split over their labels).

    Raises ValueError, naming --assignment, when no notebook has more than half of the votes.
    """
    votes: dict[str, float] = collections.defaultdict(float)
    for student_labels in labels.values():
        for label in student_labels:
            votes[label] += 1 / len(student_labels)
    if not votes:
        raise ValueError(f"Cannot tell which notebook these submissions answer (none carries coursekit "
                         f"metadata). Pass --assignment, one of: {', '.join(known)}.")
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    cast = sum(votes.values())
    if ranked[0][1] <= cast / 2:
        counts = ", ".join(f"{name}: {n:.3g} of {cast:.3g} students" for name, n in ranked)
        raise ValueError(f"The submissions answer different notebooks ({counts}; a student whose folder holds "
                         "several counts once, split between them). Pass --assignment to grade one of them.")
    return ranked[0][0]


def pick_file(submission: Submission, assignment: str,
              labels: dict[Path, str | None]) -> tuple[Path | None, tuple[str, ...]]:
    """The file of a submission that answers `assignment` (None if it has none), and the others, described."""
    candidates = submission.candidates
    if not candidates:
        return None, ()
    answering = [p for p in candidates if labels.get(p) == assignment]
    named = [p for p in answering if p.name == assignment + SUFFIX]
    if answering:
        chosen = (named or answering)[0]
    else:
        unlabelled = [p for p in candidates if labels.get(p) is None]
        chosen = (unlabelled or list(candidates))[0]

    def described(path: Path) -> str:
        label = labels.get(path)
        what = f"it also answers {assignment}" if label == assignment else f"it answers {label or 'no known notebook'}"
        return f"{printable(path.relative_to(submission.root))} ({what})"

    return chosen, tuple(described(p) for p in candidates if p != chosen)


def _refusals(sub: Submission) -> tuple[str, ...]:
    return tuple(f"{printable(path)}: {reason}" for path, reason in sub.refused)


def _entry(sub: Submission, assignment: str, labels: dict[Path, str | None]) -> tuple[Entry, int]:
    path, others = pick_file(sub, assignment, labels)
    unread = _refusals(sub) + others
    if path is None:
        problem = "; ".join(unread) if unread else "no notebook handed in (the folder holds no .ipynb file)"
        return Entry(sub.student, sub.source, None, f"not read: {problem}"), 1
    source = str(path.relative_to(sub.root))
    try:
        data = read_file(path, sub.root)
        links = os.stat(path).st_nlink
    except (Unreadable, OSError) as exc:
        return Entry(sub.student, source, None, f"not read: {exc}", unread), 1
    return Entry(sub.student, source, data, "", unread), links


def _identical(entries: list[Entry]) -> dict[str, list[str]]:
    by_content: dict[str, list[str]] = {}
    for entry in entries:
        if entry.data is not None:
            by_content.setdefault(hashlib.sha256(entry.data).hexdigest(), []).append(entry.student)
    return {s: [o for o in group if o != s] for group in by_content.values() if len(group) > 1 for s in group}


def _flag(others: list[str]) -> str:
    named = ", ".join(others[:_NAMED]) + (f" and {len(others) - _NAMED} more" if len(others) > _NAMED else "")
    return f"byte-identical to {named} (a copy or a hard link)"


def read_class(folder: Path, *, known: list[str], assignment: str | None = None,
               shard: tuple[int, int] | None = None) -> Roster:
    """Find, vote, pick and read the class in `folder`; raises ValueError/FileNotFoundError for the whole class."""
    found = discover(folder)
    labels = {p: label_of(p, sub, known, layout=found.layout) for sub in found.submissions for p in sub.candidates}
    if assignment is None:
        votes = {sub.student: {label for p in sub.candidates if (label := labels[p])} for sub in found.submissions}
        assignment = choose_assignment(votes, known)
    entries, links = [], {}
    for sub in found.submissions:
        entry, count = _entry(sub, assignment, labels)
        entries.append(entry)
        links[sub.student] = count
    same = _identical(entries)
    flagged = []
    for entry in entries:
        if shard is not None and not in_shard(entry.student, shard):
            continue
        flags = [_flag(same[entry.student])] if entry.student in same else []
        if links[entry.student] > 1:
            flags.append(f"the file has {links[entry.student]} hard links (other names for the same file)")
        flagged.append(Entry(entry.student, entry.source, entry.data, entry.problem, entry.unread, tuple(flags)))
    return Roster(assignment, found.root, found.layout, tuple(flagged), found.skipped)
