"""Where the grader reads a class from: a submissions folder, or a zip unpacked for the time it takes.

`opened(path)` yields the class's `Discovery`. A zip is unpacked by `coursekit.grading.archive`
into a private temporary folder, removed when the block ends; a folder is read where it is. An
LMS download (Canvas, Moodle, Gradescope; `coursekit.grading.lms`) is recognised by its names,
in a zip or unpacked; anything else is the flat or nbgrader layout of
`coursekit.grading.submissions`, and in a zip a notebook that could not be unpacked still gets
its student's row, with the reason.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from coursekit.grading.archive import MAX_DEPTH, MAX_MEMBERS, METADATA, Member, is_zip, unpacked
from coursekit.grading.lms import CANVAS, GRADESCOPE, MOODLE, recognise, sorted_discovery, tops
from coursekit.grading.printable import printable
from coursekit.grading.submissions import SUFFIX, Discovery, Submission, _refusal, discover, student_id

__all__ = ["opened"]


# ---------------------------------------------------------------- listing a folder


def _listing(root: Path) -> list[Member]:
    """Every file under `root` as a Member: notebooks checked like `submissions` does, never following links."""
    found: list[Member] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            found.append(Member(prefix.rstrip("/"), reason=f"the folder cannot be read ({exc.strerror})", refused=True))
            continue
        for entry in entries:
            rel = prefix + entry.name
            if len(found) >= MAX_MEMBERS:
                raise ValueError(f"{printable(root)} holds more than {MAX_MEMBERS:,} files: it is not one class's "
                                 "submissions")
            path = Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                if entry.name == ".ipynb_checkpoints":
                    continue  # Jupyter's autosaves, never the submission
                if entry.name.endswith(SUFFIX):
                    found.append(Member(rel, reason="it is a folder, not a notebook file", refused=True))
                elif rel.count("/") + 1 >= MAX_DEPTH:
                    found.append(Member(rel, reason=f"nested over {MAX_DEPTH} folders deep", refused=True))
                else:
                    stack.append((path, rel + "/"))
            elif entry.is_symlink() and os.path.isdir(path):
                found.append(Member(rel, reason="it is a link to a folder; links to folders are not followed",
                                    refused=True))
            elif entry.name.endswith(SUFFIX) or entry.name == METADATA:
                reason = _refusal(path, root)
                modified = entry.stat(follow_symlinks=False).st_mtime
                found.append(Member(rel, None if reason else path, reason or "", bool(reason), modified))
            else:
                found.append(Member(rel, reason="not a notebook (.ipynb)"))
    return sorted(found, key=lambda m: m.name)



# ---------------------------------------------------------------- a zip of the plain layouts


def _with_refused(found: Discovery, members: list[Member], base: Path) -> Discovery:
    """`found` (flat or nbgrader, read from the unpacked notebooks) with a row for every refused notebook."""
    subs = {s.source: s for s in found.submissions}
    skipped = list(found.skipped)
    for member in members:
        try:
            rel = (base / member.name).relative_to(found.root).as_posix()
        except ValueError:
            skipped.append((member.name, member.reason or "outside the submissions folder of the zip"))
            continue
        if not member.refused or not rel.endswith(SUFFIX):
            if member.path is None:
                skipped.append((rel, member.reason))
            continue
        if ("/" in rel) != (found.layout == "nbgrader"):  # flat: files at the top; nbgrader: inside student folders
            skipped.append((rel, member.reason))
            continue
        owner = rel.split("/", 1)[0]
        sub = subs.get(owner) or Submission(student_id(owner[:-len(SUFFIX)] if found.layout == "flat" else owner), (),
                                            found.root, owner)
        subs[owner] = Submission(sub.student, sub.candidates, sub.root, sub.source,
                                 (*sub.refused, (rel, member.reason)))
    return sorted_discovery(Discovery(tuple(subs.values()), found.root, found.layout, tuple(skipped)))


def _plain(members: list[Member], root: Path, shown: Path) -> Discovery:
    files, folders = tops([m for m in members if not m.name.startswith("__MACOSX/")])
    base = root
    if not files and len(folders) == 1:  # a zipped folder (`zip -r class.zip class/`) of a flat class or a course
        wrapper = next(iter(folders))
        inside = [m.name[len(wrapper) + 1:] for m in members if m.name.startswith(wrapper + "/")]
        if any("/" not in n and n.endswith(SUFFIX) for n in inside) or any(n.startswith("submitted/") for n in inside):
            base = root / wrapper
    try:
        found = discover(base)
    except FileNotFoundError:
        refused = [m for m in members if m.refused and m.name.endswith(SUFFIX)]
        if not refused:
            raise FileNotFoundError(f"No notebooks found in {printable(shown)}. Expected an LMS download (Canvas, "
                                    "Moodle, Gradescope), <student>.ipynb files, or nbgrader's "
                                    "submitted/<student>/<assignment>/<notebook>.ipynb.") from None
        found = Discovery((), base, "flat" if all("/" not in m.name for m in refused) else "nbgrader")
    return _with_refused(found, [m for m in members if m.path is None], root)


# ---------------------------------------------------------------- the entry point


def _looks_like_lms(folder: Path, *, wrapped: bool = True) -> bool:
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it]
    except OSError:
        return False
    if len(names) == 1 and wrapped and os.path.isdir(folder / names[0]) and not os.path.islink(folder / names[0]):
        return _looks_like_lms(folder / names[0], wrapped=False)
    return METADATA in names or any(CANVAS.match(n) or MOODLE.match(n) or GRADESCOPE.match(n) for n in names)


@contextlib.contextmanager
def opened(path: Path | str) -> Iterator[Discovery]:
    """The students in a submissions folder or zip (unpacked for the duration of the block, then removed)."""
    path = Path(path)
    if path.is_file() or (path.exists() and not path.is_dir()):
        if not is_zip(path):
            raise ValueError(f"{printable(path)} is a file but not a zip: pass the folder that holds the submitted "
                             "notebooks, or the zip the LMS gave you.")
        with unpacked(path) as archive:
            members = list(archive.members)
            yield _some(recognise(members, archive.root) or _plain(members, archive.root, path), path)
        return
    if path.is_dir() and _looks_like_lms(path):
        found = recognise(_listing(Path(os.path.realpath(path))), Path(os.path.realpath(path)))
        if found is not None:
            yield _some(found, path)
            return
    yield discover(path)


def _some(found: Discovery, path: Path) -> Discovery:
    if not found.submissions:
        raise FileNotFoundError(f"No submissions found in {printable(path)}: its {found.layout} layout names no "
                                "student's files.")
    return found
