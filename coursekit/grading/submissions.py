"""Find the submissions in a folder and read each notebook into the code the grader runs.

Two layouts are read here: a flat folder of `<student>.ipynb`, and nbgrader's
`submitted/<student>/<assignment>/<notebook>.ipynb` (Canvas, Moodle and Gradescope downloads,
zipped or not, are recognised by `coursekit.grading.lms`). A notebook is matched to its
assignment (a course notebook's stem such as `03_activations`) by the notebook-level
metadata `"coursekit": {"notebook": ...}` that every course notebook carries, or by
nbgrader's assignment folder when that is named after a course notebook; the instructor
can force the assignment instead. The folder is trusted no more than the notebooks:

- student ids are injective: a name's characters are kept where they are safe in a file
  name and percent-encoded otherwise (`x y` is `x%20y`, `.good` is `%2Egood`), so two
  entries can never share an id, and the original path is kept as the row's `source`;
- every entry that looks like a submission gets a row: a FIFO, a folder named `*.ipynb`,
  a link to a folder or out of the submissions folder, an unreadable or oversized file
  each get their reason instead of vanishing (other files are listed as skipped);
- a file is opened without blocking and its size checked with `fstat` before any read;
  what was opened must lie inside the submissions folder.

Reading never executes anything and never raises on a bad file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.grading.printable import printable

__all__ = ["SUFFIX", "Discovery", "Notebook", "Submission", "Unreadable", "discover", "in_shard", "parse_shard",
           "read_file", "read_notebook", "student_id"]

MAX_NOTEBOOK_BYTES = 100 * 2**20
MAX_CANDIDATES = 20  # notebooks looked at in one student's folder
SKIP_TAG = "skip-grading"
SUFFIX = ".ipynb"
_ID_BYTES = 200  # longer ids end in a hash (the id names files: results/<id>.json)
_SAFE_PUNCTUATION = frozenset("_-.@+")


@dataclass(frozen=True)
class Submission:
    """One student: the id, the path the id comes from, the notebooks to consider and the entries refused."""

    student: str
    candidates: tuple[Path, ...]
    root: Path
    source: str = ""  # the file (flat layout) or folder (nbgrader) the id was made from, relative to root
    refused: tuple[tuple[str, str], ...] = ()  # (path relative to root, reason) of entries not read
    lms_id: str = ""  # the student's id in the LMS the files came from (coursekit.grading.lms)
    names: tuple[str, ...] = ()  # for LMS layouts: each candidate's name as handed in (candidates latest first)
    together: str = ""  # the LMS submission this student handed in with others (a Gradescope group)
    notes: tuple[str, ...] = ()  # for the instructor, from the LMS (a late submission, a missing id)


@dataclass(frozen=True)
class Discovery:
    """What a submissions folder holds: the students, and the other entries that were not read (with why)."""

    submissions: tuple[Submission, ...]
    root: Path
    layout: str  # "flat", "nbgrader", or an LMS's: "canvas", "moodle", "gradescope"
    skipped: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Notebook:
    """What the grader needs from a notebook: its code cells (index, source) and what it says it is."""

    cells: tuple[tuple[int, str], ...]
    assignment: str | None
    skipped: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())


class Unreadable(Exception):
    """A file that cannot be graded at all; the message says why, in words for the instructor."""


# ---------------------------------------------------------------- ids


def _safe_char(char: str, first: bool) -> bool:
    if char in _SAFE_PUNCTUATION:
        return not (first and char == ".")
    return unicodedata.category(char)[0] in "LNM"


def student_id(name: str) -> str:
    """The id of the entry called `name` (a file's stem or a folder's name): injective, safe as a file name.

    Letters, digits and combining marks of any script are kept (José and Josè stay distinct),
    as are `_ - . @ +` (a leading dot is encoded, so no id is a hidden file); every other
    character becomes `%XX` per UTF-8 byte, `%` included, so the encoding can be undone.
    """
    out = []
    for index, char in enumerate(name):
        if _safe_char(char, index == 0):
            out.append(char)
        else:
            raw = os.fsencode(char) if 0xDC80 <= ord(char) <= 0xDCFF else char.encode("utf-8", "surrogatepass")
            out.append("".join(f"%{b:02X}" for b in raw))
    encoded = "".join(out) or "%"  # the empty name (a file called `.ipynb`): `%` alone is never produced otherwise
    if len(encoded.encode()) <= _ID_BYTES:
        return encoded
    # `~` is always encoded above, so a shortened id can only meet another shortened one, by a 128-bit hash
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:32]
    return encoded.encode()[:_ID_BYTES - 40].decode("utf-8", "ignore").rstrip("%0123456789ABCDEF") + "~" + digest


# ---------------------------------------------------------------- finding entries


def _kind(mode: int) -> str:
    for test, words in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                        (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a regular file"


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _refusal(path: Path, root: Path) -> str | None:
    """Why the entry `path` (named like a notebook) cannot be a notebook file, from stat alone; None if it can."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        return f"it cannot be looked at ({exc.strerror})"
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        if not _inside(real, str(root)):
            return "it is a link to a file outside the submissions folder; such links are not followed"
        try:
            st = os.stat(path)
        except OSError:
            return "it is a link to nothing (a broken link)"
        if stat.S_ISDIR(st.st_mode):
            return "it is a link to a folder, not a notebook file; links to folders are not followed"
    if stat.S_ISDIR(st.st_mode):
        return "it is a folder, not a notebook file"
    if not stat.S_ISREG(st.st_mode):
        return f"it is {_kind(st.st_mode)}, not a notebook file"
    if st.st_size > MAX_NOTEBOOK_BYTES:
        return _too_large(st.st_size)
    return None


def _too_large(size: int) -> str:
    return f"file too large: {size / 2**20:,.0f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB limit"


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _walk_student(folder: Path, root: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """The notebooks under one nbgrader student folder, never following links to folders, and the refusals."""
    found: list[Path] = []
    refused: list[tuple[str, str]] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            entries = _entries(current)
        except OSError as exc:
            refused.append((str(current.relative_to(root)), f"the folder cannot be read ({exc.strerror})"))
            continue
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            rel = str(path.relative_to(root))
            if entry.is_dir(follow_symlinks=False):
                if entry.name == ".ipynb_checkpoints":
                    continue  # Jupyter's autosaves, never the submission
                if entry.name.endswith(SUFFIX):
                    refused.append((rel, "it is a folder, not a notebook file"))
                else:
                    subfolders.append(path)
            elif entry.is_symlink() and os.path.isdir(path):
                refused.append((rel, "it is a link to a folder; links to folders are not followed"))
            elif entry.name.endswith(SUFFIX):
                reason = _refusal(path, root)
                if reason is not None:
                    refused.append((rel, reason))
                else:
                    found.append(path)
        stack += reversed(subfolders)
    found.sort()
    if len(found) > MAX_CANDIDATES:
        refused += [(str(p.relative_to(root)), f"not looked at: the folder holds {len(found)} notebooks and only "
                     f"the first {MAX_CANDIDATES} are considered") for p in found[MAX_CANDIDATES:]]
        found = found[:MAX_CANDIDATES]
    return found, refused


def _flat(root: Path, entries: list[os.DirEntry[str]]) -> Discovery:
    subs, skipped = [], []
    for entry in entries:
        path = Path(entry.path)
        if entry.name.endswith(SUFFIX):
            reason = _refusal(path, root)
            refused = ((entry.name, reason),) if reason else ()
            subs.append(Submission(student_id(entry.name[:-len(SUFFIX)]), () if reason else (path,), root,
                                   entry.name, refused))
        elif entry.name == ".ipynb_checkpoints":
            continue
        elif entry.name.lower().endswith(SUFFIX):
            skipped.append((entry.name, f"named like a notebook but ending in {entry.name[-len(SUFFIX):]!r}, not "
                                        f"'{SUFFIX}': rename it to grade it"))
        else:
            skipped.append((entry.name, "a folder, not a notebook (the folder is read as a flat layout)"
                            if entry.is_dir(follow_symlinks=False) else "not a notebook (.ipynb)"))
    return Discovery(tuple(subs), root, "flat", tuple(skipped))


def _nbgrader(root: Path, entries: list[os.DirEntry[str]]) -> Discovery:
    subs, skipped = [], []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() and os.path.isdir(path):
            subs.append(Submission(student_id(entry.name), (), root, entry.name,
                                   ((entry.name, "the student folder is a link to a folder; links to folders are "
                                                 "not followed"),)))
            continue
        if not entry.is_dir(follow_symlinks=False):
            skipped.append((entry.name, "not a student folder"))
            continue
        found, refused = _walk_student(path, root)
        if not found and not refused and entry.name.startswith("."):
            skipped.append((entry.name, "a hidden folder with no notebooks"))
            continue
        subs.append(Submission(student_id(entry.name), tuple(found), root, entry.name, tuple(refused)))
    return Discovery(tuple(subs), root, "nbgrader", tuple(skipped))


def discover(folder: Path) -> Discovery:
    """Every student in `folder` (flat or nbgrader layout), sorted by id, with every entry accounted for."""
    folder = Path(folder)
    if folder.is_file():
        raise ValueError(f"{printable(folder)} is a file: pass the folder that holds the submitted notebooks.")
    if not folder.is_dir():
        raise FileNotFoundError(f"Submissions folder {printable(folder)} does not exist.")
    submitted = folder / "submitted" if (folder / "submitted").is_dir() else folder
    root = Path(os.path.realpath(submitted))
    entries = _entries(root)
    flat = any(e.name.endswith(SUFFIX) for e in entries)
    found = _flat(root, entries) if flat else _nbgrader(root, entries)
    if not found.submissions or (not flat and not any(s.candidates or s.refused for s in found.submissions)):
        raise FileNotFoundError(
            f"No notebooks found in {printable(folder)}. Expected <student>.ipynb files, or nbgrader's "
            "submitted/<student>/<assignment>/<notebook>.ipynb.")
    ids = [s.student for s in found.submissions]
    if len(set(ids)) != len(ids):  # cannot happen (student_id is injective): never let two rows share an id
        raise RuntimeError(f"two entries of {printable(folder)} were given the same id")
    return Discovery(tuple(sorted(found.submissions, key=lambda s: s.student)), root, found.layout, found.skipped)


# ---------------------------------------------------------------- reading


def read_file(path: Path, root: Path) -> bytes:
    """The bytes of a notebook file inside `root`: opened without blocking, its size checked before reading."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except PermissionError:
        raise Unreadable("the file cannot be read (permission denied)") from None
    except OSError as exc:
        raise Unreadable(_refusal(Path(path), Path(root)) or f"the file cannot be opened ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        where = os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc/self/fd") else os.path.realpath(path)
        if not _inside(where, str(root)):
            raise Unreadable("it is a link to a file outside the submissions folder; such links are not followed")
        if stat.S_ISDIR(st.st_mode):
            raise Unreadable("it is a folder, not a notebook file")
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(f"it is {_kind(st.st_mode)}, not a notebook file")
        if st.st_size > MAX_NOTEBOOK_BYTES:
            raise Unreadable(_too_large(st.st_size))
        chunks, left = [], MAX_NOTEBOOK_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise Unreadable(_too_large(MAX_NOTEBOOK_BYTES + 1))  # it grew while being read
        return b"".join(chunks)
    except OSError as exc:
        raise Unreadable(f"the file cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)


def _text(source: Any) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, list) and all(isinstance(s, str) for s in source):
        return "".join(source)
    raise Unreadable("a cell's source is not text")


def read_notebook(data: bytes) -> Notebook:
    """Parse notebook bytes (nbformat 4) into code cells; raises Unreadable with the reason."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise Unreadable(_too_large(len(data)))
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
    meta: dict[str, Any] = nb["metadata"] if isinstance(nb.get("metadata"), dict) else {}
    language = _language(meta)
    if language and language.lower() != "python":
        raise Unreadable(f"the notebook was written for the {printable(language)[:80]} kernel, not Python; it "
                         "cannot be graded")
    ours = meta.get("coursekit")
    assignment = ours.get("notebook") if isinstance(ours, dict) and isinstance(ours.get("notebook"), str) else None
    code: list[tuple[int, str]] = []
    skipped: list[int] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell_meta: dict[str, Any] = cell["metadata"] if isinstance(cell.get("metadata"), dict) else {}
        tags: list[Any] = cell_meta["tags"] if isinstance(cell_meta.get("tags"), list) else []
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


# ---------------------------------------------------------------- shards


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
