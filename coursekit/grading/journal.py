"""Crash-safe files for the grader: atomic writes, and an append-only journal of graded content.

The journal has one JSON line per graded submission, keyed by the hash of the notebook's
bytes and of everything else that decides its grade (assignment, seed, limits, grader
version). Each line is flushed and fsync'ed before the grader moves on, so after a crash
or a kill a re-run takes every finished grade from the journal and grades only the rest;
a torn last line (the kill came mid-write) is ignored.

One grader at a time writes an output folder: `hold` takes an exclusive lock on
`OUT/grading.lock` (released by the kernel however the holder ends, even by SIGKILL) and
writes who holds it there, so a second run can say whom it is waiting for.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coursekit.grading.printable import printable

__all__ = ["FolderBusy", "Journal", "atomic_write", "content_key", "hold"]

LOCK = "grading.lock"


class FolderBusy(RuntimeError):
    """Another grader holds the output folder; the message names it."""


def _holder(text: str) -> str:
    try:
        who = json.loads(text)
        return (f"pid {int(who['pid'])} on {printable(who['host'])}, since {printable(who['since'])}: "
                f"{printable(who['command'])[:200]}")
    except (ValueError, KeyError, TypeError):
        return "a process that did not say who it is"


@contextlib.contextmanager
def hold(out: Path, *, what: str = "grading") -> Iterator[None]:
    """Hold `out` exclusively for the duration; raises FolderBusy (naming the holder) if another run has it."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
            raise FolderBusy(f"{printable(out)} is in use by another grader ({holder}). Wait for it to finish, or "
                             "write into another --out folder.") from None
        me = {"pid": os.getpid(), "host": socket.gethostname(), "what": what,
              "since": time.strftime("%Y-%m-%d %H:%M:%S %z"), "command": " ".join(sys.argv)}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never a half-written one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def content_key(data: bytes, config: dict[str, Any]) -> str:
    """The journal key of a notebook: sha256 of its bytes and of the grading configuration."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config, sort_keys=True).encode())
    digest.update(b"\0")
    digest.update(data)
    return digest.hexdigest()


class Journal:
    """The append-only record of what has been graded, read back on every run."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.entries: dict[str, dict[str, Any]] = {}
        self.lines = 0
        self._lock = threading.Lock()
        if self.path.exists():
            with open(self.path, "rb") as handle:
                for raw in handle:
                    try:
                        entry = json.loads(raw)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        continue  # a line torn by a crash mid-write
                    if isinstance(entry, dict) and isinstance(entry.get("key"), str) \
                            and isinstance(entry.get("result"), dict):
                        self.entries[entry["key"]] = entry
                        self.lines += 1
        self._repair_tail()

    def _repair_tail(self) -> None:
        # a torn last line would glue itself to the next record: end the file with a newline
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb+") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())

    def get(self, key: str) -> dict[str, Any] | None:
        """The journal entry for this content key, if it was graded before."""
        return self.entries.get(key)

    def record(self, key: str, result: dict[str, Any], *, seconds: float) -> None:
        """Append one graded submission and make it durable before returning."""
        entry = {"key": key, "seconds": round(seconds, 3), "result": result}
        line = (json.dumps(entry, sort_keys=True) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.entries[key] = entry
            self.lines += 1
