"""A submissions zip read without trusting it: its notebooks unpacked into a private temporary folder.

An LMS hands the class over as one zip. Nothing in it is believed: the archive's size, member
count and central directory are read from its end record before the member list is loaded,
every member is judged from the central directory before a byte is unpacked, and only the
members the grader needs (notebooks, and Gradescope's `submission_metadata.yml`) are written,
into a fresh folder only this user can enter, each as a new regular file that cannot follow
or replace anything. What cannot be unpacked is listed with the reason, so the student it
belongs to still gets a row:

- a name that climbs out (`..`), is absolute (`/x`, `C:\\x`), holds a NUL, or nests too deep;
- a symbolic link, FIFO or device stored in the zip (links are never created);
- an encrypted member, or one compressed with a method Python cannot read;
- a member over the notebook size limit, or one its header says is compressed more than
  MAX_RATIO times (a zip bomb), and one that unpacks to more than its header declared;
- two members with the same name (which one is the student's cannot be told).

The whole archive is refused, with a message, when it is not a zip, holds more than
MAX_MEMBERS members, or its notebooks add up to more than MAX_TOTAL_BYTES, counted from the
headers before unpacking and again, byte by byte, while unpacking.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import struct
import tempfile
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coursekit.grading.printable import printable
from coursekit.grading.submissions import MAX_NOTEBOOK_BYTES, SUFFIX

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "MAX_TOTAL_BYTES", "ArchiveRefused", "Member", "Unpacked", "is_zip",
           "unpacked"]

MAX_MEMBERS = 50_000  # a class of thousands with several files each
MAX_TOTAL_BYTES = 4 * 2**30  # what the notebooks of one zip may take unpacked
MAX_RATIO = 200  # uncompressed / compressed size of one member; notebook JSON is typically 3 to 20
RATIO_FLOOR = 2**20  # members smaller than this are never judged by their ratio
MAX_DEPTH = 32  # folders in a member's name
MAX_CENTRAL_DIRECTORY = 64 * 2**20
METADATA = "submission_metadata.yml"  # Gradescope's list of who handed in which submission folder
_METADATA_BYTES = 16 * 2**20
_READABLE_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_CHUNK = 2**20


class ArchiveRefused(ValueError):
    """The zip as a whole cannot be read safely; the message says why, in words for the instructor."""


@dataclass(frozen=True)
class Member:
    """One file of the zip: where it was unpacked, or why it was not (`refused` when that is a problem)."""

    name: str  # the member's name inside the zip, with `/` between folders
    path: Path | None = None  # the unpacked file, for the members the grader reads
    reason: str = ""  # why `path` is None
    refused: bool = False  # True: the member could be a submission but is unsafe or unreadable
    modified: float = 0.0  # the member's date (seconds since the epoch, local time as the zip records it)


@dataclass(frozen=True)
class Unpacked:
    """A zip unpacked into a private temporary folder: the folder and every file member, in the zip's order."""

    archive: Path
    root: Path
    members: tuple[Member, ...]


def _end_record(handle) -> tuple[int, int]:
    """(members, central directory bytes) from the zip's end record (zip64 too), before anything else is read."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    tail_size = min(size, 22 + 65535)
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ArchiveRefused("it is not a zip file (no end-of-archive record): download it again from the LMS")
    _, _, _, _, members, directory, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if members == 0xFFFF or directory == 0xFFFFFFFF:
        locator = tail[at - 20:at] if at >= 20 else b""
        if locator[:4] == b"PK\x06\x07":
            offset = struct.unpack("<4sLQL", locator)[2]
            handle.seek(offset)
            record = handle.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                members, directory = struct.unpack("<Q", record[32:40])[0], struct.unpack("<Q", record[40:48])[0]
    return members, directory


def is_zip(path: Path) -> bool:
    """Whether `path` is a regular file that ends like a zip archive (never blocks on a FIFO)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            _end_record(handle)
        return True
    except (OSError, ArchiveRefused):
        return False


def _name_problem(name: str) -> str:
    if "\x00" in name:
        return "its name holds a NUL character"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        return "its name is an absolute path; members are only ever unpacked inside a temporary folder"
    parts = name.split("/")
    if ".." in parts:
        return "its name climbs out of the archive's folder (`..`); such members are never unpacked"
    if len(parts) - 1 > MAX_DEPTH:
        return f"its name nests {len(parts) - 1} folders deep, over the limit of {MAX_DEPTH}"
    if any(len(os.fsencode(p)) > 255 for p in parts):
        return "a part of its name is longer than 255 bytes"
    return ""


def _kind_problem(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # made on Unix: the high bits are st_mode
        if stat.S_ISLNK(mode):
            return "it is a symbolic link stored in the zip; links are never unpacked"
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "it is a special file (a FIFO or a device) stored in the zip; it is never unpacked"
    if info.flag_bits & 0x1:
        return "it is encrypted (password-protected); download the submissions again without a password"
    if info.compress_type not in _READABLE_METHODS:
        return (f"it is compressed with method {info.compress_type}, which cannot be read"
                + (" (AES encryption)" if info.compress_type == 99 else ""))
    return ""


def _size_problem(info: zipfile.ZipInfo) -> str:
    if info.file_size > MAX_NOTEBOOK_BYTES:
        return (f"file too large: {info.file_size / 2**20:,.0f} MB unpacked, over the "
                f"{MAX_NOTEBOOK_BYTES // 2**20} MB limit")
    if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        return (f"it would unpack to {ratio:,.0f} times its compressed size (over {MAX_RATIO} times): a zip bomb, "
                "or a damaged header")
    return ""


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(SUFFIX) or base == METADATA


def _modified(info: zipfile.ZipInfo) -> float:
    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def _judge(infos: list[zipfile.ZipInfo]) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[Member]]:
    """The members to unpack (with their clean name), and every other file member with its reason."""
    names = [i.filename.replace("\\", "/") for i in infos]
    counts = Counter(names)
    todo, others = [], []
    for info, name in zip(infos, names, strict=True):
        if name.endswith("/") and not _kind_problem(info):
            continue  # a folder: made as needed
        shown = printable(name)
        problem = _name_problem(name) or _kind_problem(info)
        if not problem and counts[name] > 1:
            problem = f"the zip holds {counts[name]} members named {shown}; which one is the student's cannot be told"
        clean = "/".join(p for p in name.split("/") if p not in ("", "."))
        if not problem and not _wanted(clean):
            others.append(Member(clean, reason="not a notebook (.ipynb)", modified=_modified(info)))
            continue
        if not problem and clean.endswith(METADATA) and info.file_size > _METADATA_BYTES:
            problem = (f"the metadata file is {info.file_size / 2**20:,.0f} MB, over the "
                       f"{_METADATA_BYTES // 2**20} MB limit")
        problem = problem or _size_problem(info)
        if problem:  # named as the zip names it: a cleaned name could pass for another member
            others.append(Member(shown, reason=problem, refused=True, modified=_modified(info)))
        else:
            todo.append((info, clean))
    return todo, others


def _target(root: Path, name: str) -> Path:
    """A new file's path inside `root`, making the folders on the way (never through a link)."""
    parts = name.split("/")
    folder = root
    for part in parts[:-1]:
        folder = folder / part
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise NotADirectoryError(f"{printable(part)} is both a file and a folder in the zip") from None
    return folder / parts[-1]


class _MemberRefused(Exception):
    pass


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: list[int]) -> None:
    """Stream one member into a new file, counting bytes against its header and the archive's budget."""
    sink = os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600), "wb")
    written = 0
    try:
        with sink, archive.open(info) as source:  # the file is closed even when the member cannot be opened
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                budget[0] -= len(chunk)
                if written > info.file_size or written > MAX_NOTEBOOK_BYTES:
                    raise _MemberRefused(f"it unpacks to more than the {info.file_size:,} bytes its header declares")
                if budget[0] < 0:
                    raise ArchiveRefused(f"the zip's notebooks unpack to more than {MAX_TOTAL_BYTES / 2**30:.0f} GB, "
                                         "more than their headers declare: the archive is damaged or hostile")
                sink.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
        target.unlink(missing_ok=True)
        raise _MemberRefused(f"it cannot be unpacked ({printable(exc)[:200]}): the zip is damaged") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _open(path: Path) -> zipfile.ZipFile:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ArchiveRefused(f"it cannot be opened ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise ArchiveRefused("it is not a regular file")
    try:
        with open(path, "rb") as handle:
            members, directory = _end_record(handle)
    except OSError as exc:
        raise ArchiveRefused(f"it cannot be read ({exc.strerror})") from None
    if members > MAX_MEMBERS:
        raise ArchiveRefused(f"it holds {members:,} members, over the limit of {MAX_MEMBERS:,}: an LMS download has "
                             "a few per student, so this is not one (a zip bomb?)")
    if directory > MAX_CENTRAL_DIRECTORY:
        raise ArchiveRefused(f"its list of members takes {directory / 2**20:,.0f} MB, over the "
                             f"{MAX_CENTRAL_DIRECTORY // 2**20} MB limit")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ArchiveRefused(f"it is not a readable zip file ({printable(exc)[:200]}); download it again") from None


@contextlib.contextmanager
def unpacked(path: Path | str, *, into: Path | None = None) -> Iterator[Unpacked]:
    """Unpack the notebooks of the zip `path` into a new private folder, removed when the block ends.

    Raises ArchiveRefused (a ValueError) naming the zip when it cannot be read safely as a whole.
    """
    path = Path(path)
    try:
        archive = _open(path)
    except ArchiveRefused as exc:
        raise ArchiveRefused(f"{printable(path)} cannot be graded: {exc}") from None
    root = Path(os.path.realpath(tempfile.mkdtemp(prefix="coursekit-submissions-", dir=into)))
    try:
        with archive:
            try:
                members = tuple(_unpack_all(archive, root))
            except ArchiveRefused as exc:
                raise ArchiveRefused(f"{printable(path)} cannot be graded: {exc}") from None
        yield Unpacked(path, root, members)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _unpack_all(archive: zipfile.ZipFile, root: Path) -> list[Member]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:  # the end record undercounted: the central directory is what zipfile read
        raise ArchiveRefused(f"it holds {len(infos):,} members, over the limit of {MAX_MEMBERS:,}")
    todo, members = _judge(infos)
    declared = sum(info.file_size for info, _ in todo)
    if declared > MAX_TOTAL_BYTES:
        raise ArchiveRefused(f"its notebooks would take {declared / 2**30:,.1f} GB unpacked, over the "
                             f"{MAX_TOTAL_BYTES / 2**30:.0f} GB limit (a zip bomb?)")
    free = shutil.disk_usage(root).free
    if declared > free:
        raise ArchiveRefused(f"its notebooks need {declared / 2**20:,.0f} MB and the temporary folder "
                             f"{printable(root)} has {free / 2**20:,.0f} MB free; set TMPDIR to a roomier folder")
    budget = [MAX_TOTAL_BYTES]
    for info, name in todo:
        try:
            target = _target(root, name)
            _unpack(archive, info, target, budget)
        except _MemberRefused as exc:
            members.append(Member(name, reason=str(exc), refused=True, modified=_modified(info)))
            continue
        except OSError as exc:
            members.append(Member(name, reason=f"it cannot be unpacked ({printable(exc)[:200]})", refused=True,
                                  modified=_modified(info)))
            continue
        members.append(Member(name, target, modified=_modified(info)))
    return sorted(members, key=lambda m: m.name)
