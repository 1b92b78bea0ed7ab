"""Find the submissions in a folder and read each notebook into the code the grader runs.

Two layouts are read: a flat folder of `<student>.ipynb`, and nbgrader's
`submitted/<student>/<assignment>/<notebook>.ipynb`. A notebook is matched to its
assignment (a course notebook's stem such as `03_activations`) by the notebook-level
metadata `"coursekit": {"notebook": ...}` that every course notebook carries; the
instructor can force the assignment instead. Reading never executes anything and
never raises on a bad file: an unreadable notebook is reported with the reason.
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Notebook", "Submission", "Unreadable", "choose_assignment", "discover", "in_shard", "parse_shard",
           "peek_assignment", "pick_file", "read_notebook"]

MAX_NOTEBOOK_BYTES = 100 * 2**20
SKIP_TAG = "skip-grading"


@dataclass(frozen=True)
class Submission:
    """One student's notebook(s): the student id and the candidate files (nbgrader may hold several)."""

    student: str
    candidates: tuple[Path, ...]
    root: Path


@dataclass(frozen=True)
class Notebook:
    """What the grader needs from a notebook: its code cells (index, source) and what it says it is."""

    cells: tuple[tuple[int, str], ...]
    assignment: str | None
    skipped: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())


class Unreadable(Exception):
    """A file that cannot be graded at all; the message says why, in words for the instructor."""


def _safe_id(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip(".")
    return cleaned or "student"


def _unique(ids: list[str]) -> list[str]:
    seen: collections.Counter[str] = collections.Counter()
    out = []
    for i in ids:
        seen[i] += 1
        out.append(i if seen[i] == 1 else f"{i}-{seen[i]}")
    return out


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file())


def discover(folder: Path) -> list[Submission]:
    """Every student's submission in `folder` (flat or nbgrader layout), sorted by student id."""
    folder = Path(folder)
    if folder.is_file():
        raise ValueError(f"{folder} is a file: pass the folder that holds the submitted notebooks.")
    if not folder.is_dir():
        raise FileNotFoundError(f"Submissions folder {folder} does not exist.")
    submitted = folder / "submitted" if (folder / "submitted").is_dir() else folder
    flat = sorted(p for p in submitted.glob("*.ipynb") if p.is_file())
    if flat:
        ids = _unique([_safe_id(p.stem) for p in flat])
        return sorted((Submission(i, (p,), submitted) for i, p in zip(ids, flat, strict=True)),
                      key=lambda s: s.student)
    students = sorted(d for d in submitted.iterdir() if d.is_dir() and not d.name.startswith("."))
    found = [(d, _notebooks_in(d)) for d in students]
    found = [(d, nbs) for d, nbs in found if nbs]
    if not found:
        raise FileNotFoundError(
            f"No notebooks found in {folder}. Expected <student>.ipynb files, or nbgrader's "
            "submitted/<student>/<assignment>/<notebook>.ipynb.")
    ids = _unique([_safe_id(d.name) for d, _ in found])
    return [Submission(i, tuple(nbs), submitted) for i, (_, nbs) in zip(ids, found, strict=True)]


def _text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    raise Unreadable("a cell's source is not text")


def read_notebook(data: bytes) -> Notebook:
    """Parse notebook bytes (nbformat 4) into code cells; raises Unreadable with the reason."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"the file is {len(data) / 2**20:.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit")
    notes = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        notes.append(f"the file has bytes that are not UTF-8 (first at byte {exc.start}); they were replaced "
                     "by \ufffd before grading")
    if not text.strip():
        raise Unreadable("the file is empty")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"the file is not valid notebook JSON ({exc.msg}: line {exc.lineno}, column "
                         f"{exc.colno}); it was probably damaged: ask for the file again") from None
    except RecursionError:
        raise Unreadable("the file's JSON is nested too deeply") from None
    if not isinstance(nb, dict):
        raise Unreadable("the file is JSON but not a notebook (no top-level object)")
    if "worksheets" in nb:
        raise Unreadable("the notebook uses the old nbformat 3; open it in Jupyter and save it again")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise Unreadable("the file is JSON but not a notebook (no list of cells)")
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    language = _language(meta)
    if language and language.lower() != "python":
        raise Unreadable(f"the notebook was written for the {language} kernel, not Python; it cannot be graded")
    ours = meta.get("coursekit")
    assignment = ours.get("notebook") if isinstance(ours, dict) and isinstance(ours.get("notebook"), str) else None
    code: list[tuple[int, str]] = []
    skipped: list[int] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = cell_meta.get("tags") if isinstance(cell_meta.get("tags"), list) else []
        if SKIP_TAG in tags:
            skipped.append(index)
            continue
        code.append((index, _text(cell.get("source", ""))))
    if not code:
        notes.append("the notebook has no code cells")
    return Notebook(tuple(code), assignment, tuple(skipped), tuple(notes))


def _language(meta: dict[str, Any]) -> str | None:
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        section = meta.get(key)
        if isinstance(section, dict) and isinstance(section.get(field_name), str) and section[field_name].strip():
            return section[field_name].strip()
    return None


def peek_assignment(path: Path) -> str | None:
    """The assignment a notebook file says it belongs to, or None (never raises)."""
    try:
        return read_notebook(path.read_bytes()).assignment
    except (OSError, Unreadable):
        return None


def choose_assignment(submissions: list[Submission], known: list[str]) -> str:
    """The assignment most submissions say they answer; raises ValueError when that is unclear."""
    votes: collections.Counter[str] = collections.Counter()
    for sub in submissions:
        for path in sub.candidates:
            stem = peek_assignment(path)
            stem = stem if stem in known else (path.stem if path.stem in known else None)
            if stem:
                votes[stem] += 1
    if not votes:
        raise ValueError(f"Cannot tell which notebook these submissions answer (none carries coursekit "
                         f"metadata). Pass --assignment, one of: {', '.join(known)}.")
    ranked = votes.most_common()
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        raise ValueError(f"Submissions answer different notebooks ({', '.join(f'{k}: {n}' for k, n in ranked)}). "
                         "Pass --assignment to grade one of them.")
    return ranked[0][0]


def pick_file(submission: Submission, assignment: str) -> Path:
    """The file of a submission that answers `assignment` (by metadata, then by file name, else the first)."""
    if len(submission.candidates) == 1:
        return submission.candidates[0]
    for path in submission.candidates:
        if peek_assignment(path) == assignment:
            return path
    for path in submission.candidates:
        if path.stem == assignment:
            return path
    return submission.candidates[0]


def parse_shard(text: str) -> tuple[int, int]:
    """'K/N' (1 <= K <= N) as a pair; raises ValueError with the expected form."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ValueError(f"--shard takes K/N with 1 <= K <= N, e.g. 2/8; got {text!r}.")
    return int(match[1]), int(match[2])


def in_shard(student: str, shard: tuple[int, int]) -> bool:
    """Whether a student belongs to shard K of N: a stable hash of the id, the same on every machine."""
    k, n = shard
    return int.from_bytes(hashlib.sha256(student.encode()).digest()[:8], "big") % n == k - 1
