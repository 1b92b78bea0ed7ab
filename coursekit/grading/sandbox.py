"""Run one submission's code in confined worker processes and bring back plain data only.

The grader's side of the sandbox, in three parts:

- start-up (this module): a `Sandbox` starts the warm zygote once (`coursekit.grading.zygote`),
  asks it for a fresh confined worker per try, and asks it how a worker ended;
- one exchange with a worker, cells or one case, validated (`coursekit.grading.exchange`);
- the order of the cases, the time budgets and the recovery from crashes
  (`coursekit.grading.schedule`), lending the core while a worker sleeps (`coursekit.grading.cores`).

`Sandbox.run` grades one submission; the grader enforces every wall-time limit by killing
the worker, and a worker that hangs, crashes, breaks a limit or sends garbage costs only what
it was doing.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from coursekit import i18n
from coursekit.grading.channel import ChannelError, receive, send
from coursekit.grading.cores import Claim
from coursekit.grading.exchange import (
    CellNote,
    Ended,
    ExerciseRequest,
    ExerciseRun,
    Failure,
    SubmissionRun,
    Worker,
    describe_exit,
)
from coursekit.grading.isolation import SCRUBBED_ENV, Limits
from coursekit.grading.schedule import SandboxError, run_submission

__all__ = ["CellNote", "Ended", "ExerciseRequest", "ExerciseRun", "Failure", "Limits", "Sandbox", "SandboxError",
           "SubmissionRun", "describe_exit", "remove_stale_folders"]

FOLDER_PREFIX = "coursekit-sandbox-"  # then the grader's process id


def remove_stale_folders(parent: Path | None = None) -> list[Path]:
    """Remove sandbox folders left by graders that were killed (their process is gone); returns them."""
    parent = Path(parent or tempfile.gettempdir())
    removed = []
    for folder in parent.glob(FOLDER_PREFIX + "*"):
        pid_text = folder.name[len(FOLDER_PREFIX):].split("-", 1)[0]
        try:
            if not pid_text.isdigit() or folder.is_symlink() or folder.stat().st_uid != os.geteuid():
                continue
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        except OSError:
            continue  # alive (another user's, or ours), or not ours to look at
    return removed


class Sandbox:
    """A warm zygote that forks a confined worker per try; safe to share between threads.

    `language` is the one the workers write their messages in (a broken rule, a result autograd cannot
    differentiate); it must be the class's, and it is passed explicitly since the zygote's environment is
    scrubbed (default: the current language). `private` are an instructor's private exercises, as
    `coursekit.grading.withhold.describe` reduces them.
    """

    def __init__(self, *, limits: Limits | None = None, hidden: Sequence[Path] = (),
                 language: str | None = None, private: Sequence[dict[str, Any]] = ()) -> None:
        self.limits = limits or Limits()
        self.language = i18n.language() if language is None else i18n.normalise(language)
        self._hidden = [str(Path(p).resolve()) for p in hidden]
        # an instructor's private exercises, as `coursekit.grading.withhold.describe` reduces them
        self.private: tuple[dict[str, Any], ...] = tuple(private)
        self._lock = threading.Lock()
        remove_stale_folders()
        self._tmp = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        os.chmod(self._tmp, 0o711)
        for name in ("root", "work", "home"):
            (self._tmp / name).mkdir()
        os.chmod(self._tmp / "work", 0o711)
        self.isolation: tuple[str, ...] = ()  # what confines a worker, as its first worker reported it
        self.warnings: tuple[str, ...] = ()  # what could not be set up on this machine
        self.namespaced = False
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._start()

    def _start(self) -> None:
        import coursekit
        import coursekit.exercises

        control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        home = self._tmp / "home"
        env = {**SCRUBBED_ENV, "HOME": str(home), "TMPDIR": str(home), "IPYTHONDIR": str(home / ".ipython"),
               "MPLCONFIGDIR": str(home / ".matplotlib"),
               "PYTHONPATH": str(Path(coursekit.__file__).resolve().parent.parent)}
        log = open(self._tmp / "zygote.log", "wb")
        with log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "coursekit.grading.zygote", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), env=env, cwd=home, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=log)
        theirs.close()
        self._control = control
        uid_base = 1_000_000_000 + (os.getpid() % 4_000_000) * 256
        config = {"mount_point": str(self._tmp / "root"), "fallback_root": str(self._tmp / "work"),
                  "uid_base": uid_base, "hidden": [str(Path(coursekit.exercises.__file__).resolve().parent),
                                                   *self._hidden],
                  "limits": dataclasses.asdict(self.limits), "language": self.language,
                  "private": list(self.private)}
        try:
            send(control, config)
            ready, _ = receive(control, deadline=time.monotonic() + 180)
        except (ChannelError, OSError) as exc:
            log_text = (self._tmp / "zygote.log").read_text(errors="replace")[-3000:]
            self.close()
            raise SandboxError(f"the grading sandbox did not start ({exc}).\n{log_text}") from None
        self.startup_seconds = float(ready.get("seconds", 0.0))
        self.namespaced = bool(ready.get("namespaced"))
        self.warnings = tuple(str(m) for m in ready.get("missing", ()))

    def _request(self, meta: dict[str, Any]) -> dict[str, Any]:
        assert self._control is not None
        send(self._control, meta)
        reply, _ = receive(self._control, deadline=time.monotonic() + 60)
        return reply

    def spawn(self, slot: int) -> Worker:
        """A fresh confined worker (restarting the zygote once if it stopped answering)."""
        with self._lock:
            for attempt in range(2):
                try:
                    reply = self._request({"op": "fork", "slot": slot})
                    assert self._control is not None  # _request started the zygote
                    _, fds, _, _ = socket.recv_fds(self._control, 1, 1)
                    break
                except (ChannelError, OSError) as exc:
                    if attempt:
                        raise SandboxError(f"the zygote stopped answering ({exc})") from None
                    self._stop_zygote()
                    self._start()
            if not fds:
                raise SandboxError("the zygote sent no connection for the worker")
        worker = Worker(int(reply["pid"]), socket.socket(fileno=fds[0]))
        try:
            hello, _ = receive(worker.conn, deadline=time.monotonic() + 30, max_bytes=2**16)
        except ChannelError as exc:
            worker.kill()
            raise SandboxError(f"a worker did not start ({exc})") from None
        if not self.isolation:
            self.isolation = tuple(str(m) for m in hello.get("isolation", ()))
        return worker

    def ended(self, pid: int) -> Ended:
        """How worker `pid` ended, once its zygote has reaped it (waiting up to a second for that)."""
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with self._lock:
                try:
                    reply = self._request({"op": "status", "pid": pid})
                except (ChannelError, OSError):
                    return Ended(None)
            code, oom = reply.get("code"), reply.get("oom")
            if isinstance(code, int):
                return Ended(code, oom if isinstance(oom, bool) else None)
            time.sleep(0.01)
        return Ended(None)

    def run(self, cells: Sequence[tuple[int, str]], exercises: Sequence[ExerciseRequest], *,
            slot: int = 0, claim: Claim | None = None) -> SubmissionRun:
        """Grade one submission: its code cells (index, source) in order, then each exercise's cases, every
        public case before any hidden one (`coursekit.grading.schedule`)."""
        return run_submission(self, cells, exercises, slot=slot, claim=claim)

    def _stop_zygote(self) -> None:
        if self._control is not None:
            try:
                send(self._control, {"op": "stop"})
            except OSError:
                pass
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def close(self) -> None:
        """Stop the zygote and remove the sandbox's temporary folders."""
        self._stop_zygote()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
