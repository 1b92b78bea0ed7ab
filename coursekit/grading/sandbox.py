"""Run one submission's code in confined worker processes and bring back plain data only.

The grader's side of the sandbox. A `Sandbox` starts the warm zygote once
(`coursekit.grading.zygote`); `Sandbox.run` then grades one submission: a fresh worker
runs the notebook's code cells, then calls the student's object for each exercise on the
case inputs sent from here. The grader enforces the wall-time limits (per notebook run,
per exercise, per submission) by killing the worker. A worker that hangs, crashes, breaks
a limit or sends garbage costs only what it was doing: a cell that stopped the worker is
skipped and the notebook is run again in a fresh worker; an exercise that stopped it
scores 0 and the remaining exercises go on in a fresh worker.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from coursekit.grading.channel import ChannelClosed, ChannelError, ChannelTimeout, receive, send
from coursekit.grading.compare import ErrorInfo, Outcome
from coursekit.grading.cores import Claim, wait_for_answer
from coursekit.grading.isolation import SCRUBBED_ENV, Limits

__all__ = ["CellNote", "ExerciseRequest", "ExerciseRun", "Failure", "Limits", "Sandbox", "SandboxError",
           "SubmissionRun", "remove_stale_folders"]

FailureKind = Literal["missing", "timeout", "crash", "invalid", "not_run"]


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


class SandboxError(RuntimeError):
    """The sandbox itself could not start or keep running (not a student's fault)."""


@dataclass(frozen=True)
class ExerciseRequest:
    """One exercise to grade: its id and its cases' inputs as plain data (args, kwargs, hidden, options)."""

    id: str
    cases: tuple[tuple[Any, Any, bool, dict[str, Any]], ...]


@dataclass(frozen=True)
class Failure:
    """Why an exercise could not be graded normally; `case` is the 1-based case it stopped at."""

    kind: FailureKind
    detail: str
    case: int | None = None


@dataclass(frozen=True)
class ExerciseRun:
    """The outcomes of the cases that finished, and a failure if the exercise did not finish."""

    id: str
    outcomes: tuple[Outcome, ...] = ()
    failure: Failure | None = None


@dataclass(frozen=True)
class CellNote:
    """A code cell that raised (it ran on) or stopped the worker (it was skipped on the next run)."""

    index: int
    text: str
    stopped: bool = False


@dataclass(frozen=True)
class SubmissionRun:
    """Everything the sandbox learned about one submission, as plain data."""

    exercises: dict[str, ExerciseRun]
    cells: tuple[CellNote, ...] = ()
    workers: int = 0
    seconds: float = 0.0


def describe_exit(code: int | None, limits: Limits) -> str:
    """Words for how a worker process ended, from its launcher's exit code ("it ...")."""
    if code is None:
        return "it ended without saying why"
    if code >= 128:
        sig = code - 128
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        if sig == signal.SIGKILL:
            return (f"it was killed ({name}): the memory limit ({limits.memory_mb} MB), the CPU limit, or the code "
                    "killed itself")
        if sig == signal.SIGXCPU:
            return f"it used more than {int(limits.submission_seconds) + 5} s of CPU time"
        if sig == signal.SIGSEGV:
            return "it crashed (segmentation fault)"
        return f"it was stopped by {name}"
    if code == 72:
        return "it could not be confined (a grader problem, not the student's)"
    return f"it exited with code {code} (os._exit() or a crash in native code)"


class _Worker:
    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid, self.conn = pid, conn

    def kill(self) -> None:
        for kill in (os.kill, os.killpg):
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.conn.close()


class Sandbox:
    """A warm zygote that forks a confined worker per submission; safe to share between threads."""

    def __init__(self, *, limits: Limits | None = None, hidden: Sequence[Path] = ()) -> None:
        self.limits = limits or Limits()
        self._hidden = [str(Path(p).resolve()) for p in hidden]
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
                  "limits": dataclasses.asdict(self.limits)}
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

    def _spawn(self, slot: int) -> _Worker:
        with self._lock:
            for attempt in range(2):
                try:
                    reply = self._request({"op": "fork", "slot": slot})
                    _, fds, _, _ = socket.recv_fds(self._control, 1, 1)
                    break
                except (ChannelError, OSError) as exc:
                    if attempt:
                        raise SandboxError(f"the zygote stopped answering ({exc})") from None
                    self._stop_zygote()
                    self._start()
            if not fds:
                raise SandboxError("the zygote sent no connection for the worker")
        worker = _Worker(int(reply["pid"]), socket.socket(fileno=fds[0]))
        try:
            hello, _ = receive(worker.conn, deadline=time.monotonic() + 30, max_bytes=2**16)
        except ChannelError as exc:
            worker.kill()
            raise SandboxError(f"a worker did not start ({exc})") from None
        if not self.isolation:
            self.isolation = tuple(str(m) for m in hello.get("isolation", ()))
        return worker

    def _exit_code(self, pid: int) -> int | None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            with self._lock:
                try:
                    code = self._request({"op": "status", "pid": pid}).get("code")
                except (ChannelError, OSError):
                    return None
            if isinstance(code, int):
                return code
            time.sleep(0.01)
        return None

    def run(self, cells: Sequence[tuple[int, str]], exercises: Sequence[ExerciseRequest], *,
            slot: int = 0, claim: Claim | None = None) -> SubmissionRun:
        """Grade one submission: its code cells (index, source) in order, then each exercise's cases.

        With a `claim` on a core (`coursekit.grading.cores`), the core is lent out while a worker sleeps.
        """
        limits, start = self.limits, time.monotonic()
        total_deadline = start + limits.submission_seconds
        stopped: dict[int, str] = {}
        raised: dict[int, str] = {}
        results: dict[str, ExerciseRun] = {}
        pending = list(exercises)
        workers = 0
        while pending:
            if claim is not None:
                claim.take()
            reason = ""
            if time.monotonic() >= total_deadline:
                reason = f"the submission used up its {limits.submission_seconds:g} s time limit"
            elif workers >= len(exercises) + 3:
                reason = "the notebook's code kept stopping the worker"
            if reason:
                results.update({e.id: ExerciseRun(e.id, failure=Failure("not_run", reason)) for e in pending})
                break
            workers += 1
            try:
                worker = self._spawn(slot)
            except SandboxError as exc:
                results.update({e.id: ExerciseRun(e.id, failure=Failure("not_run", str(exc))) for e in pending})
                break
            try:
                stop = self._run_cells(worker, [c for c in cells if c[0] not in stopped], raised, total_deadline,
                                       claim)
                if stop is not None:
                    index, why = stop
                    if index is None or index in stopped:
                        results.update({e.id: ExerciseRun(e.id, failure=Failure("not_run", f"the notebook {why}"))
                                        for e in pending})
                        break
                    stopped[index] = why
                    continue
                for exercise in list(pending):
                    run = self._run_exercise(worker, exercise, total_deadline, claim)
                    results[exercise.id] = run
                    pending.remove(exercise)
                    if run.failure is not None and run.failure.kind != "missing":
                        break
            finally:
                worker.kill()
        if claim is not None:
            claim.take()
        notes = [CellNote(i, t) for i, t in raised.items() if i not in stopped]
        notes += [CellNote(i, t, stopped=True) for i, t in stopped.items()]
        return SubmissionRun({e.id: results[e.id] for e in exercises}, tuple(sorted(notes, key=lambda n: n.index)),
                             workers, time.monotonic() - start)

    def _ended(self, worker: _Worker) -> str:
        return "the worker process ended: " + describe_exit(self._exit_code(worker.pid), self.limits)

    def _run_cells(self, worker: _Worker, cells: list[tuple[int, str]], raised: dict[int, str],
                   total_deadline: float, claim: Claim | None) -> tuple[int | None, str] | None:
        limits = self.limits
        deadline = min(time.monotonic() + limits.notebook_seconds, total_deadline)
        known = {i for i, _ in cells}
        current: int | None = None
        try:
            send(worker.conn, {"op": "cells"}, [[i, s] for i, s in cells])
            while True:
                wait_for_answer(worker.conn, worker.pid, deadline, claim)
                meta, _ = receive(worker.conn, deadline=deadline, max_bytes=2**16)
                event, index = meta.get("event"), meta.get("index")
                if event == "cells_done":
                    return None
                if event not in ("cell", "cell_done") or index not in known:
                    raise ChannelError("unexpected message while running cells")
                current = index
                if event == "cell_done" and isinstance(meta.get("error"), str) and meta["error"]:
                    raised[index] = meta["error"][:400]
        except ChannelTimeout:
            worker.kill()
            limit = "notebook" if deadline < total_deadline else "submission"
            seconds = limits.notebook_seconds if limit == "notebook" else limits.submission_seconds
            return current, f"ran past the {seconds:g} s {limit} time limit"
        except ChannelClosed:
            return current, "ended the worker process: " + describe_exit(self._exit_code(worker.pid), limits)
        except (ChannelError, OSError) as exc:
            worker.kill()
            return current, f"made the worker send invalid data ({exc})"

    def _run_exercise(self, worker: _Worker, exercise: ExerciseRequest, total_deadline: float,
                      claim: Claim | None) -> ExerciseRun:
        limits = self.limits
        deadline = min(time.monotonic() + limits.exercise_seconds, total_deadline)
        outcomes: list[Outcome] = []
        try:
            send(worker.conn, {"op": "exercise", "id": exercise.id}, [list(c) for c in exercise.cases])
            while len(outcomes) < len(exercise.cases):
                wait_for_answer(worker.conn, worker.pid, deadline, claim)
                meta, data = receive(worker.conn, deadline=deadline, max_bytes=(limits.result_mb + 1) * 2**20)
                if meta.get("event") == "missing" and not outcomes:
                    return ExerciseRun(exercise.id, failure=Failure("missing", f"`{exercise.id}` is not defined"))
                if meta.get("event") != "case" or meta.get("number") != len(outcomes):
                    raise ChannelError("unexpected message while running cases")
                outcomes.append(_outcome(data))
        except ChannelTimeout:
            worker.kill()
            which = "exercise" if deadline < total_deadline else "submission"
            seconds = limits.exercise_seconds if which == "exercise" else limits.submission_seconds
            return ExerciseRun(exercise.id, tuple(outcomes), Failure(
                "timeout", f"did not finish within {seconds:g} s (the {which} time limit): an endless loop or a "
                "very slow computation?", len(outcomes) + 1))
        except ChannelClosed:
            return ExerciseRun(exercise.id, tuple(outcomes), Failure("crash", self._ended(worker), len(outcomes) + 1))
        except (ChannelError, OSError) as exc:
            worker.kill()
            return ExerciseRun(exercise.id, tuple(outcomes),
                               Failure("invalid", f"the worker sent invalid data ({exc})", len(outcomes) + 1))
        return ExerciseRun(exercise.id, tuple(outcomes))

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


def _outcome(data: Any) -> Outcome:
    """Validate one case's answer from a worker and turn it into an Outcome."""
    if not isinstance(data, dict) or set(data) != {"value", "error", "mutated", "warnings", "violation", "restored"}:
        raise ChannelError("a case answer has the wrong fields")
    if not isinstance(data["violation"], str):
        raise ChannelError("a case answer has an invalid rule violation")
    error = data["error"]
    if error is not None:
        if not (isinstance(error, (list, tuple)) and len(error) == 2 and all(isinstance(e, str) for e in error)):
            raise ChannelError("a case answer has an invalid error")
        error = ErrorInfo(error[0][:100], error[1][:400])
    texts = []
    for key in ("mutated", "warnings", "restored"):
        items = data[key]
        if not isinstance(items, list) or len(items) > 50 or not all(isinstance(s, str) for s in items):
            raise ChannelError(f"a case answer has an invalid {key} list")
        texts.append(tuple(s[:300] for s in items))
    return Outcome(value=data["value"], error=error, mutated=texts[0], warnings=texts[1],
                   violation=data["violation"][:500], restored=texts[2])
