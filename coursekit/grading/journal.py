"""Crash-safe files for the grader: atomic writes, and an append-only journal of graded content.

The journal has one JSON line per graded submission, keyed by the hash of the notebook's
bytes and of everything else that decides its grade (assignment, seed, limits, grader
version). Each line is flushed and fsync'ed before the grader moves on, so after a crash
or a kill a re-run takes every finished grade from the journal and grades only the rest;
a torn last line (the kill came mid-write) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["Journal", "atomic_write", "content_key"]


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
