"""One exchange with a grading worker: run the notebook's cells, or one case, and read the answer.

Every exchange has a deadline. A worker that misses it is killed; one that closes its end
(it exited, crashed or was killed) or sends anything but a valid answer is reported with
what happened, and `coursekit.grading.schedule` decides what comes next. Nothing the worker
sends is trusted: answers are validated here and reduced to plain data (`Outcome`).
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from coursekit.grading.channel import ChannelClosed, ChannelError, ChannelTimeout, receive, send
from coursekit.grading.compare import ErrorInfo, Outcome
from coursekit.grading.cores import Claim, wait_for_answer
from coursekit.grading.isolation import Limits
from coursekit.i18n import _

__all__ = ["CaseAnswer", "CellNote", "CellsAnswer", "Ended", "ExerciseRequest", "ExerciseRun", "Failure",
           "SubmissionRun", "Worker", "describe_exit", "over_the_limit", "run_case", "run_cells"]

FailureKind = Literal["missing", "timeout", "crash", "invalid", "not_run"]


@dataclass(frozen=True)
class ExerciseRequest:
    """One exercise to grade: its id and its cases' inputs as plain data (args, kwargs, hidden, options)."""

    id: str
    cases: tuple[tuple[Any, Any, bool, dict[str, Any]], ...]


@dataclass(frozen=True)
class Failure:
    """Why an exercise could not be graded normally; `case` is the 1-based case it stopped at.

    `hidden`: it stopped on a hidden case, so `detail` is the grader's generic wording only.
    `over_limit`: the time or memory limit stopped it (a timeout, a MemoryError's kill, the memory cgroup).
    """

    kind: FailureKind
    detail: str
    case: int | None = None
    hidden: bool = False
    over_limit: bool = False


@dataclass(frozen=True)
class ExerciseRun:
    """The outcomes of the cases that finished, a failure if the exercise did not finish, and where the
    learner's object comes from when it is the course's own function (`origin`, for the instructor)."""

    id: str
    outcomes: tuple[Outcome, ...] = ()
    failure: Failure | None = None
    origin: str = ""


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


@dataclass(frozen=True)
class Ended:
    """How a worker ended, as its zygote saw it: the launcher's exit code, and whether the worker's memory
    cgroup killed it (None where there is no cgroup to ask)."""

    code: int | None
    oom: bool | None = None


def describe_exit(ended: Ended, limits: Limits) -> str:
    """Words for how a worker process ended ("it ...")."""
    code = ended.code
    if code is None:
        return _("it ended without saying why")
    if code >= 128:
        sig = code - 128
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = _("signal {number}").format(number=sig)
        if sig == signal.SIGKILL:
            if ended.oom:
                return _("it was killed for using too much memory (the memory limit is {mb} MB)").format(
                    mb=limits.memory_mb)
            if ended.oom is False:
                return _("it was killed ({signal}), not for memory: the code killed itself, or the CPU "
                         "limit").format(signal=name)
            return _("it was killed ({signal}): the memory limit ({mb} MB), the CPU limit, or the code killed "
                     "itself").format(signal=name, mb=limits.memory_mb)
        if sig == signal.SIGXCPU:
            return _("it used more than {seconds} s of CPU time").format(seconds=int(limits.submission_seconds) + 5)
        if sig == signal.SIGSEGV:
            return _("it crashed (segmentation fault)")
        return _("it was stopped by {signal}").format(signal=name)
    if code == 72:
        return _("it could not be confined (a grader problem, not the student's)")
    return _("it exited with code {code} (os._exit() or a crash in native code)").format(code=code)


def over_the_limit(ended: Ended) -> bool:
    """Whether an ending counts as a limit hit: a kill by the memory cgroup, or a SIGKILL nobody can tell apart
    from one (no cgroup to ask)."""
    return ended.code == 128 + signal.SIGKILL and ended.oom is not False


class Worker:
    """A worker process (its launcher's pid, whose process group holds the worker) and the grader's socket."""

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid, self.conn = pid, conn

    def kill(self) -> None:
        for kill in (os.kill, os.killpg):
            try:
                kill(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.conn.close()


@dataclass(frozen=True)
class CellsAnswer:
    """What running the cells showed: the cell that stopped the worker and why (None: all ran), and the
    error text of each cell that raised."""

    stop: tuple[int | None, str] | None
    raised: dict[int, str]


def run_cells(worker: Worker, cells: list[tuple[int, str]], *, deadline: float, limit: str, claim: Claim | None,
              ended: Callable[[int], Ended], limits: Limits) -> CellsAnswer:
    """Run the code cells (index, source) in order; `limit` names the time limit that `deadline` is."""
    raised: dict[int, str] = {}
    known = {i for i, _source in cells}
    current: int | None = None
    try:
        send(worker.conn, {"op": "cells"}, [[i, s] for i, s in cells])
        while True:
            wait_for_answer(worker.conn, worker.pid, deadline, claim)
            meta, _data = receive(worker.conn, deadline=deadline, max_bytes=2**16)
            event, index = meta.get("event"), meta.get("index")
            if event == "cells_done":
                return CellsAnswer(None, raised)
            if event not in ("cell", "cell_done") or index not in known:
                raise ChannelError("unexpected message while running cells")
            current = index
            if event == "cell_done" and isinstance(meta.get("error"), str) and meta["error"]:
                raised[index] = meta["error"][:400]
    except ChannelTimeout:
        worker.kill()
        return CellsAnswer((current, _("ran past the {limit} time limit").format(limit=limit)), raised)
    except ChannelClosed:
        return CellsAnswer((current, _("ended the worker process: {how}").format(
            how=describe_exit(ended(worker.pid), limits))), raised)
    except (ChannelError, OSError) as exc:
        worker.kill()
        return CellsAnswer((current, _("made the worker send invalid data ({error})").format(error=exc)), raised)


@dataclass(frozen=True)
class CaseAnswer:
    """The answer to one case: its outcome, or that the learner's object is not defined, or a failure
    (the worker is then gone); `origin` is what the worker says the object is, if a course function."""

    outcome: Outcome | None = None
    missing: bool = False
    failure: Failure | None = None
    origin: str = ""


def run_case(worker: Worker, exercise_id: str, number: int, case: tuple[Any, Any, bool, dict[str, Any]], *,
             deadline: float, limit: str, claim: Claim | None, ended: Callable[[int], Ended],
             limits: Limits) -> CaseAnswer:
    """Send case `number` (0-based) of an exercise, alone, and wait for its answer; `limit` names the time
    limit that `deadline` is, for the message when it passes."""
    try:
        send(worker.conn, {"op": "case", "id": exercise_id, "number": number}, list(case))
        wait_for_answer(worker.conn, worker.pid, deadline, claim)
        meta, data = receive(worker.conn, deadline=deadline, max_bytes=(limits.result_mb + 1) * 2**20)
        if meta.get("event") == "missing" and meta.get("number") == number:
            return CaseAnswer(missing=True)
        if meta.get("event") != "case" or meta.get("number") != number:
            raise ChannelError("unexpected message while running a case")
        outcome, origin = _outcome(data)
        return CaseAnswer(outcome, origin=origin)
    except ChannelTimeout:
        worker.kill()
        return CaseAnswer(failure=Failure("timeout", _("did not finish within {limit}: an endless loop or a very "
                                                       "slow computation?").format(limit=limit), over_limit=True))
    except ChannelClosed:
        how = ended(worker.pid)
        return CaseAnswer(failure=Failure("crash", _("the worker process ended: {how}").format(
            how=describe_exit(how, limits)), over_limit=over_the_limit(how)))
    except (ChannelError, OSError) as exc:
        worker.kill()
        return CaseAnswer(failure=Failure("invalid", _("the worker sent invalid data ({error})").format(error=exc)))


_FIELDS = {"value", "error", "mutated", "warnings", "violation", "restored", "origin"}
_ORIGIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.<>")


def _outcome(data: Any) -> tuple[Outcome, str]:
    """Validate one case's answer from a worker: the Outcome, and the origin it claims for the object."""
    if not isinstance(data, dict) or set(data) != _FIELDS:
        raise ChannelError("a case answer has the wrong fields")
    if not isinstance(data["violation"], str) or not isinstance(data["origin"], str):
        raise ChannelError("a case answer has an invalid rule violation or origin")
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
    origin = "".join(c for c in data["origin"][:120] if c in _ORIGIN_CHARACTERS)
    return Outcome(value=data["value"], error=error, mutated=texts[0], warnings=texts[1],
                   violation=data["violation"][:500], restored=texts[2]), origin
