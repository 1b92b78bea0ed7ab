"""The class as the grader sees it: one entry per student, with the bytes to grade or the reason there are none.

`read_class` finds the submissions (a folder or an LMS's zip, `coursekit.grading.intake.opened`),
decides the assignment with one vote per student, picks each student's file (in an LMS
download, the latest that answers the assignment), reads it (size checked first, never
blocking, never leaving the submissions folder) and flags submissions that are byte-identical
to another student's (other than a group's own members). The whole class is looked at even when only one
shard is graded, so every shard flags the same students and the merged gradebook is the
one a single run writes.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from coursekit.grading.intake import opened
from coursekit.grading.printable import printable
from coursekit.grading.submissions import (
    SUFFIX,
    Discovery,
    Submission,
    Unreadable,
    in_shard,
    read_file,
    read_notebook,
)

__all__ = ["Entry", "Roster", "choose_assignment", "handed_in", "label_of", "pick_file", "read_class"]

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
    lms_id: str = ""  # the student's id in the LMS the class was downloaded from


@dataclass(frozen=True)
class Roster:
    """The assignment and every student's entry (of the shard being graded), sorted by student id."""

    assignment: str
    root: Path  # the submissions folder, or the zip they came in
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
    name = handed_in(path, submission)
    stem = name[:-len(SUFFIX)] if name.endswith(SUFFIX) else name
    return stem if stem in known else None


def handed_in(path: Path, submission: Submission) -> str:
    """The name a candidate file was handed in under (an LMS adds the student's ids to it)."""
    if submission.names and path in submission.candidates:
        return submission.names[submission.candidates.index(path)]
    return path.name


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
    named = [p for p in answering if handed_in(p, submission) == assignment + SUFFIX]
    if answering:  # an LMS download lists a student's files latest first: the latest answer counts
        chosen = answering[0] if submission.names else (named or answering)[0]
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
        return Entry(sub.student, sub.source, None, f"not read: {problem}", lms_id=sub.lms_id), 1
    source = str(path.relative_to(sub.root))
    try:
        data = read_file(path, sub.root)
        links = os.stat(path).st_nlink
    except (Unreadable, OSError) as exc:
        return Entry(sub.student, source, None, f"not read: {exc}", unread, lms_id=sub.lms_id), 1
    return Entry(sub.student, source, data, "", unread, lms_id=sub.lms_id), links


def _identical(entries: list[Entry], together: dict[str, str]) -> dict[str, list[str]]:
    """Student -> the other students whose file is byte for byte theirs (a group's own members excepted)."""
    by_content: dict[str, list[str]] = {}
    for entry in entries:
        if entry.data is not None:
            by_content.setdefault(hashlib.sha256(entry.data).hexdigest(), []).append(entry.student)
    same = {s: [o for o in group if o != s and not (together.get(s) and together.get(s) == together.get(o))]
            for group in by_content.values() if len(group) > 1 for s in group}
    return {s: others for s, others in same.items() if others}


def _named(others: list[str]) -> str:
    return ", ".join(others[:_NAMED]) + (f" and {len(others) - _NAMED} more" if len(others) > _NAMED else "")


def _flag(others: list[str]) -> str:
    return f"byte-identical to {_named(others)} (a copy or a hard link)"


def read_class(folder: Path, *, known: list[str], assignment: str | None = None,
               shard: tuple[int, int] | None = None) -> Roster:
    """Find, vote, pick and read the class in `folder` (or zip); raises ValueError/FileNotFoundError for the whole
    class."""
    with opened(Path(folder)) as found:
        roster = _read(found, known=known, assignment=assignment, shard=shard)
    return roster if not Path(folder).is_file() else dataclasses.replace(roster, root=Path(folder))


def _read(found: Discovery, *, known: list[str], assignment: str | None,
          shard: tuple[int, int] | None) -> Roster:
    labels = {p: label_of(p, sub, known, layout=found.layout) for sub in found.submissions for p in sub.candidates}
    if assignment is None and not labels:  # every notebook was refused: say why rather than "cannot tell"
        first = next((s for s in found.submissions if s.refused), None)
        example = f" (e.g. {first.student}: {printable(first.refused[0][1])})" if first else ""
        raise ValueError(f"None of the {len(found.submissions)} students' notebooks can be read{example}. Pass "
                         "--assignment to grade the class anyway: every student then gets a row with the reason.")
    if assignment is None:
        votes = {sub.student: {label for p in sub.candidates if (label := labels[p])} for sub in found.submissions}
        assignment = choose_assignment(votes, known)
    entries, links = [], {}
    for sub in found.submissions:
        entry, count = _entry(sub, assignment, labels)
        entries.append(entry)
        links[sub.student] = count
    together = {sub.student: sub.together for sub in found.submissions if sub.together}
    groups: dict[str, list[str]] = {}
    for student, group in together.items():
        groups.setdefault(group, []).append(student)
    notes = {sub.student: sub.notes for sub in found.submissions}
    same = _identical(entries, together)
    flagged = []
    for entry in entries:
        if shard is not None and not in_shard(entry.student, shard):
            continue
        flags = list(notes[entry.student])
        if entry.student in together:
            partners = [s for s in groups[together[entry.student]] if s != entry.student]
            flags.append(f"handed in as one group submission ({together[entry.student]}) with {_named(partners)}")
        if entry.student in same:
            flags.append(_flag(same[entry.student]))
        if links[entry.student] > 1:
            flags.append(f"the file has {links[entry.student]} hard links (other names for the same file)")
        flagged.append(dataclasses.replace(entry, flags=tuple(flags)))
    return Roster(assignment, found.root, found.layout, tuple(flagged), found.skipped)
