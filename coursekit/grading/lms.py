"""Submissions as a learning management system hands them over: Canvas, Moodle and Gradescope downloads.

`recognise(members, root)` finds the students in a listing of files (a zip's members, or a
folder's files listed by `coursekit.grading.intake`) when their names follow the layout one of
the three systems writes (Canvas's and Moodle's read from their own source code, Gradescope's from
the exports it writes):

- **Canvas**, "Download Submissions": one flat zip whose files are named
  `<lastfirst>[_LATE]_<user id>_<file id>_<name as uploaded>`; `lastfirst` is the student's sortable
  name in lower case, stripped of everything but letters, digits and `_`; an anonymously graded
  assignment has `anon_<id>` instead of name and user id; a file uploaded again under the same name
  carries `-N` before its extension (`hw-1.ipynb`). The zip holds each student's last attempt; when
  several files of one student share a name, the one with the highest file id (then `-N`) is the
  latest.
- **Moodle**, "Download all submissions": one folder per participant,
  `<Full Name>_<participant id>_assignsubmission_file[_]/` (underscores of the name become spaces;
  the participant id is the assignment's own, also under blind marking, where the name is
  "Participant"); without "download submissions in folders" the same prefix starts each file's name.
- **Gradescope**, "Export Submissions": `assignment_<id>_export/` holding `submission_<id>/` folders
  and `submission_metadata.yml`, which names each submission's submitters (`:name:`, `:sid:`,
  `:email:`) and its `:created_at:`. A student in several submissions is graded on the latest.

Each student keeps the LMS's id (`lms_id`: the Canvas user id, the Moodle participant id, the
Gradescope email) next to the grader's own injective id. Superseded and non-notebook files are
listed as not graded; a student who handed in no notebook gets a row saying what they handed in.
Anything else is left to the flat and nbgrader layouts of `coursekit.grading.submissions`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coursekit.grading.archive import METADATA, Member
from coursekit.grading.printable import printable
from coursekit.grading.submissions import (
    MAX_CANDIDATES,
    SUFFIX,
    Discovery,
    Submission,
    Unreadable,
    read_file,
    student_id,
)

__all__ = ["CANVAS", "GRADESCOPE", "MOODLE", "recognise", "sorted_discovery", "tops"]

CANVAS = re.compile(r"^(?:(?P<name>.*?)_)??(?:(?P<late>LATE)_)?(?P<user>\d+|anon_[A-Za-z0-9]+)_"
                    r"(?:(?P<file>\d+)_(?P<original>.+)|(?P<kind>text|link)\.html)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_(?P<plugin>[A-Za-z0-9]+)(?:_(?P<original>.*))?$")
GRADESCOPE = re.compile(r"^submission_(?P<id>\d+)$")
_RESUBMITTED = re.compile(r"^(?P<base>.*?)-(?P<n>\d+)(?P<ext>\.[^.]*)$")
_MACOS = "macOS metadata, not a submission"


# ---------------------------------------------------------------- one student


def _student(student: str, files: list[Member], root: Path, *, source: str, lms_id: str = "",
             order: Callable[[Member], Any] = lambda m: (m.modified, m.name),
             handed_in: Callable[[Member], str] = lambda m: m.name.rsplit("/", 1)[-1],
             same: Callable[[Member], str] = lambda m: m.name, together: str = "",
             notes: tuple[str, ...] = ()) -> tuple[Submission, list[tuple[str, str]]]:
    """One student's Submission (notebooks latest first) and the files listed as not graded.

    Of the notebooks for which `same` gives one key, only the latest (by `order`) counts: the
    others are earlier uploads of it. Other files are reasons only when nothing else was handed in.
    """
    notebooks = sorted((m for m in files if m.name.endswith(SUFFIX)), key=order, reverse=True)
    others = [m for m in files if not m.name.endswith(SUFFIX)]
    latest: dict[str, Member] = {}
    skipped: list[tuple[str, str]] = []
    for member in notebooks:
        key = same(member)
        if key in latest:
            skipped.append((member.name, f"an earlier upload of {printable(latest[key].name)} (superseded)"))
        else:
            latest[key] = member
    kept = list(latest.values())
    readable = [m for m in kept if m.path is not None]
    refused = [(m.name, m.reason) for m in kept if m.path is None]
    refused += [(m.name, m.reason) for m in others if m.refused]
    if len(readable) > MAX_CANDIDATES:
        refused += [(m.name, f"not looked at: {len(readable)} notebooks and only the latest {MAX_CANDIDATES} are "
                             "considered") for m in readable[MAX_CANDIDATES:]]
        readable = readable[:MAX_CANDIDATES]
    plain = [(m.name, m.reason) for m in others if not m.refused]
    if kept:
        skipped += plain
    else:
        refused += plain  # no notebook at all: the row says what was handed in instead
    submission = Submission(student, tuple(m.path for m in readable if m.path is not None), root, source,
                            tuple(refused), lms_id=lms_id, names=tuple(handed_in(m) for m in readable),
                            together=together, notes=notes)
    return submission, skipped


def _extra(member: Member, root: Path, taken: set[str]) -> Submission:
    """A notebook named unlike the rest of an LMS download: a row of its own, its id from its file name."""
    stem = member.name[:-len(SUFFIX)] if member.name.endswith(SUFFIX) else member.name
    student = student_id(stem)
    if student in taken:  # an LMS id is never a whole file name, so this one is free
        student = student_id(member.name)
    refused = ((member.name, member.reason),) if member.path is None else ()
    return Submission(student, (member.path,) if member.path else (), root, member.name, refused,
                      notes=("named unlike the rest of the download: no LMS id",))


# ---------------------------------------------------------------- the three layouts


def _resubmission(original: str) -> tuple[str, int]:
    match = _RESUBMITTED.match(original)
    return (match["base"] + match["ext"], int(match["n"])) if match else (original, 0)


def _canvas(members: list[Member], root: Path) -> Discovery:
    by_user: dict[str, list[tuple[Member, re.Match[str]]]] = {}
    extras, skipped = [], []
    for member in members:
        match = CANVAS.match(member.name) if "/" not in member.name else None
        if match:
            by_user.setdefault(match["user"], []).append((member, match))
        elif member.name.endswith(SUFFIX) and "/" not in member.name:
            extras.append(member)
        else:
            skipped.append((member.name, "not named like a file of a Canvas download"
                            + (f" ({member.reason})" if member.reason else "")))
    subs = []
    for user, files in by_user.items():
        matches = {m.name: match for m, match in files}
        name = next((match["name"] for _, match in files if match["name"]), "")
        notes = ("Canvas marks the submission late",) if any(match["late"] for _, match in files) else ()

        def order(m: Member, matches: dict[str, re.Match[str]] = matches) -> tuple[int, int]:
            match = matches[m.name]
            return int(match["file"] or 0), _resubmission(match["original"] or "")[1]

        def handed_in(m: Member, matches: dict[str, re.Match[str]] = matches) -> str:
            return _resubmission(matches[m.name]["original"] or m.name)[0]

        sub, more = _student(student_id(f"{name}_{user}" if name else user), [m for m, _ in files], root,
                             source=files[0][0].name, lms_id=user, order=order, handed_in=handed_in,
                             same=handed_in, notes=notes)
        subs.append(sub)
        skipped += more
    taken = {s.student for s in subs}
    subs += [_extra(m, root, taken) for m in extras]
    return Discovery(tuple(subs), root, "canvas", tuple(skipped))


def _moodle_name(member: Member) -> str:
    """The name a file was uploaded under: inside the participant's folder, or after the prefix of a flat file."""
    if "/" in member.name:
        return member.name.rsplit("/", 1)[-1]
    match = MOODLE.match(member.name)
    return match["original"] if match and match["original"] else member.name


def _moodle(members: list[Member], root: Path) -> Discovery:
    by_id: dict[str, list[Member]] = {}
    names: dict[str, str] = {}
    folders: dict[str, list[Member]] = {}
    extras, skipped = [], []
    for member in members:
        top, _, rest = member.name.partition("/")
        match = MOODLE.match(top)
        if match and (rest or match["original"]):
            names.setdefault(match["id"], match["name"])
            by_id.setdefault(match["id"], []).append(member)
        elif rest:
            folders.setdefault(top, []).append(member)
        elif member.name.endswith(SUFFIX):
            extras.append(member)
        else:
            skipped.append((member.name, "not named like a participant's folder of a Moodle download"))
    subs, more = [], []
    for participant, files in by_id.items():
        source = files[0].name.split("/", 1)[0]
        sub, extra_skipped = _student(student_id(f"{names[participant]}_{participant}"), files, root, source=source,
                                      lms_id=participant, handed_in=_moodle_name)
        subs.append(sub)
        more += extra_skipped
    taken = {s.student for s in subs}
    for folder, files in folders.items():  # a folder named otherwise (Moodle's default team): a row, no LMS id
        student = student_id(folder) if student_id(folder) not in taken else student_id(folder + "/")
        sub, extra_skipped = _student(student, files, root, source=folder,
                                      notes=("a folder named unlike Moodle's participant folders: no LMS id",))
        subs.append(sub)
        more += extra_skipped
    subs += [_extra(m, root, taken) for m in extras]
    return Discovery(tuple(subs), root, "moodle", tuple(skipped + more))


def _created(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    try:
        return dt.datetime.fromisoformat(str(value).strip()).timestamp()
    except ValueError:
        return 0.0


def _metadata(members: list[Member], root: Path) -> tuple[dict[str, Any], str]:
    """Gradescope's submission_metadata.yml as a dict, or {} and why it could not be read."""
    found = [m for m in members if m.name == METADATA]
    if not found or found[0].path is None:
        return {}, "no readable submission_metadata.yml" + (f" ({found[0].reason})" if found else "")
    try:
        import yaml  # type: ignore[import-untyped]  # PyYAML, which Jupyter's own packages install
    except ImportError:
        return {}, "submission_metadata.yml needs PyYAML to be read (pip install pyyaml)"
    try:
        data = yaml.safe_load(read_file(found[0].path, root).decode("utf-8", "replace"))
    except (Unreadable, yaml.YAMLError, RecursionError) as exc:
        return {}, f"submission_metadata.yml cannot be read ({printable(exc)[:200]})"
    return (data, "") if isinstance(data, dict) else ({}, "submission_metadata.yml holds no list of submissions")


def _submitters(info: Any) -> list[dict[str, str]]:
    people = info.get(":submitters") if isinstance(info, dict) else None
    found = []
    for person in people if isinstance(people, list) else []:
        if isinstance(person, dict):
            entry = {k: str(person.get(f":{k}") or "").strip() for k in ("name", "sid", "email")}
            if any(entry.values()):
                found.append(entry)
    return found


def _gradescope(members: list[Member], root: Path) -> Discovery:
    meta, why = _metadata(members, root)
    folders: dict[str, list[Member]] = {}
    skipped = []
    for member in members:
        top, _, rest = member.name.partition("/")
        if rest:
            folders.setdefault(top, []).append(member)
        elif member.name != METADATA:
            skipped.append((member.name, "not in a submission folder of the Gradescope export"))
    # each student's submissions: (created, folder, lms id, submitters of the folder)
    claims: dict[str, list[tuple[float, str, str, list[str]]]] = {}
    for folder in folders:
        info = meta.get(folder)
        people = _submitters(info)
        created = _created(info.get(":created_at")) if isinstance(info, dict) else 0.0
        if not people:
            match = GRADESCOPE.match(folder)
            claims.setdefault(student_id(folder), []).append((created, folder, match["id"] if match else "", []))
            continue
        keys = [p["email"] or p["sid"] or p["name"] for p in people]
        for person, key in zip(people, keys, strict=True):
            claims.setdefault(student_id(key), []).append((created, folder, person["email"] or person["sid"], keys))
    subs = []
    for student, held in claims.items():
        held.sort(reverse=True)
        created, folder, lms_id, keys = held[0]
        skipped += [(f, f"an earlier submission of {student}, superseded by {folder}") for _, f, _, _ in held[1:]]
        notes = () if keys else (f"{folder} is not listed in submission_metadata.yml" + (f": {why}" if why else ""),)
        group = folder if len(keys) > 1 else ""
        sub, more = _student(student, folders[folder], root, source=folder, lms_id=lms_id, together=group,
                             notes=notes)
        subs.append(sub)
        skipped += more
    return Discovery(tuple(subs), root, "gradescope", tuple(skipped))


# ---------------------------------------------------------------- recognising a layout


def tops(members: list[Member]) -> tuple[set[str], set[str]]:
    """The top-level files and folders named by `members`."""
    files = {m.name for m in members if "/" not in m.name}
    return files, {m.name.split("/", 1)[0] for m in members if "/" in m.name}


def _layout(members: list[Member]) -> str | None:
    files, folders = tops(members)
    names = files | folders
    if not names:
        return None
    if METADATA in files or (folders and sum(bool(GRADESCOPE.match(f)) for f in folders) * 2 >= len(folders)):
        return "gradescope"
    if sum(bool(MOODLE.match(t)) for t in names) * 2 >= len(names):
        return "moodle"
    if files and sum(bool(CANVAS.match(f)) for f in files) * 2 >= len(names):
        return "canvas"
    return None


def _named_within(name: str) -> bool:
    """Whether a member's name stays inside the download (no `..`, not absolute)."""
    parts = name.split("/")
    return not (name.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":"))


def _under(members: list[Member], folder: str) -> list[Member]:
    return [Member(m.name[len(folder) + 1:], m.path, m.reason, m.refused, m.modified) for m in members
            if m.name.startswith(folder + "/")]


def recognise(members: list[Member], root: Path) -> Discovery | None:
    """The LMS layout of a listing (looking inside one wrapping folder too), or None if it is none of them."""
    skipped = [(m.name, _MACOS) for m in members if m.name.startswith("__MACOSX/") or
               m.name.rsplit("/", 1)[-1] == ".DS_Store"]
    members = [m for m in members if not (m.name.startswith("__MACOSX/") or m.name.rsplit("/", 1)[-1] == ".DS_Store")]
    trusted = [m for m in members if _named_within(m.name)]  # a name that climbs out is no evidence of a layout
    layout = _layout(trusted)
    files, folders = tops(trusted)
    if layout is None and not files and len(folders) == 1:  # Gradescope's assignment_<id>_export/, or any wrapper
        wrapper = next(iter(folders))
        skipped += [(m.name, m.reason or "outside the download's folder") for m in members
                    if not m.name.startswith(wrapper + "/")]
        members, root = _under(members, wrapper), root / wrapper
        layout = _layout([m for m in members if _named_within(m.name)])
    if layout is None:
        return None
    found = {"canvas": _canvas, "moodle": _moodle, "gradescope": _gradescope}[layout](members, root)
    return sorted_discovery(Discovery(found.submissions, found.root, found.layout, tuple(skipped) + found.skipped))


def sorted_discovery(found: Discovery) -> Discovery:
    """`found` with its students sorted by id (refused if two share one) and its skipped entries sorted."""
    ids = [s.student for s in found.submissions]
    if len(set(ids)) != len(ids):  # never: LMS ids and file names do not meet; refuse rather than merge two rows
        raise ValueError("two students of the download were given the same id; rename one of the files")
    return Discovery(tuple(sorted(found.submissions, key=lambda s: s.student)), found.root, found.layout,
                     tuple(sorted(found.skipped)))
