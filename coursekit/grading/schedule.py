"""One submission's grading across as many workers as it takes: which case runs next, and what survives a crash.

A worker runs the notebook's code cells, then gets the cases one at a time: the grader sends
a case, waits for its answer, then sends the next, so a worker never holds more than the case
it is running. Every public case of every exercise runs before the first hidden case, so
nothing a public case reports (its values, errors, printed text) can carry a hidden input.
Once a hidden input has been sent the submission is *tainted*: from then on nothing the
student's code produces reaches its feedback except each hidden case's pass or fail, in the
grader's own words (no cell notes, no exit codes, no error texts; see `Failure.hidden`).

Recovery: a cell that stops the worker is skipped and the notebook runs again in a fresh
worker; a case that stops it (a hang, crash, limit hit or garbage) ends that exercise with the
reason and the rest go on in a fresh worker. The exercise time limit covers all of an
exercise's cases, public and hidden together.
"""

from __future__ import annotations

import dataclasses
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coursekit.grading.compare import ErrorInfo, Outcome
from coursekit.grading.cores import Claim
from coursekit.grading.exchange import (
    CellNote,
    Ended,
    ExerciseRequest,
    ExerciseRun,
    Failure,
    SubmissionRun,
    Worker,
    run_case,
    run_cells,
)
from coursekit.grading.hidden import HIDDEN_DETAILS
from coursekit.grading.isolation import Limits

__all__ = ["Forker", "SandboxError", "run_submission"]

_HIDDEN_WORDS = {"timeout": "did not finish in time", "crash": "the worker process ended",
                 "invalid": "the worker sent invalid data"}
_RERUN_STOPPED = ("the notebook's code stopped the worker when the notebook ran again for the hidden cases "
                  f"({HIDDEN_DETAILS})")


class SandboxError(RuntimeError):
    """The sandbox itself could not start or keep running (not a student's fault)."""


class Forker(Protocol):
    """What the schedule needs from the sandbox: its limits, fresh workers, and how a worker ended."""

    limits: Limits

    def spawn(self, slot: int) -> Worker: ...

    def ended(self, pid: int) -> Ended: ...


@dataclass
class _Exercise:
    request: ExerciseRequest
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    failure: Failure | None = None
    seconds: float = 0.0  # of its exercise time limit, spent so far
    origin: str = ""

    def run(self) -> ExerciseRun:
        done: list[Outcome] = []
        while len(done) in self.outcomes:  # outcomes stop where a failure did
            done.append(self.outcomes[len(done)])
        return ExerciseRun(self.request.id, tuple(done), self.failure, self.origin)


class _Submission:
    def __init__(self, forker: Forker, cells: Sequence[tuple[int, str]], exercises: Sequence[ExerciseRequest],
                 *, slot: int, claim: Claim | None) -> None:
        self.forker, self.limits, self.slot, self.claim = forker, forker.limits, slot, claim
        self.cells = list(cells)
        self.exercises = [_Exercise(e) for e in exercises]
        public = [(e, k) for e in self.exercises for k, c in enumerate(e.request.cases) if not c[2]]
        hidden = [(e, k) for e in self.exercises for k, c in enumerate(e.request.cases) if c[2]]
        self.queue = deque(public + hidden)
        self.start = time.monotonic()
        self.deadline = self.start + self.limits.submission_seconds
        self.stopped: dict[int, str] = {}
        self.raised: dict[int, str] = {}
        self.tainted = False  # a hidden input has been sent to a worker
        self.workers = 0

    def pending(self) -> bool:
        """Drop the cases of exercises that ended; True while a case is left to run."""
        while self.queue and (self.queue[0][0].failure is not None or self.queue[0][1] in self.queue[0][0].outcomes):
            self.queue.popleft()
        return bool(self.queue)

    def not_run(self, reason: str) -> None:
        for exercise in self.exercises:
            if exercise.failure is None and len(exercise.outcomes) < len(exercise.request.cases):
                exercise.failure = Failure("not_run", reason, hidden=self.tainted)

    def run(self) -> SubmissionRun:
        while self.pending():
            if self.claim is not None:
                self.claim.take()
            if time.monotonic() >= self.deadline:
                self.not_run(f"the submission used up its {self.limits.submission_seconds:g} s time limit")
                break
            if self.workers >= len(self.exercises) + 3:
                self.not_run("the notebook's code kept stopping the worker")
                break
            self.workers += 1
            try:
                worker = self.forker.spawn(self.slot)
            except SandboxError as exc:
                self.not_run(str(exc))
                break
            try:
                if self.run_cells(worker):
                    self.run_cases(worker)
            finally:
                worker.kill()
        if self.claim is not None:
            self.claim.take()
        notes = [CellNote(i, t) for i, t in self.raised.items() if i not in self.stopped]
        notes += [CellNote(i, t, stopped=True) for i, t in self.stopped.items()]
        return SubmissionRun({e.request.id: e.run() for e in self.exercises},
                             tuple(sorted(notes, key=lambda n: n.index)), self.workers, time.monotonic() - self.start)

    def run_cells(self, worker: Worker) -> bool:
        """Run the cells that did not stop a worker before; True when the worker is ready for cases."""
        deadline = min(time.monotonic() + self.limits.notebook_seconds, self.deadline)
        limit = f"{self.limits.notebook_seconds:g} s notebook" if deadline < self.deadline else \
            f"{self.limits.submission_seconds:g} s submission"
        answer = run_cells(worker, [c for c in self.cells if c[0] not in self.stopped], deadline=deadline,
                           limit=limit, claim=self.claim, ended=self.forker.ended, limits=self.limits)
        if not self.tainted:  # after a hidden input went out, a cell's text could carry it (via a file, say)
            for index, text in answer.raised.items():
                self.raised.setdefault(index, text)
        if answer.stop is None:
            return True
        cell, why = answer.stop
        if self.tainted:
            self.not_run(_RERUN_STOPPED)
        elif cell is None or cell in self.stopped:
            self.not_run(f"the notebook {why}")
        else:
            self.stopped[cell] = why
        return False

    def run_cases(self, worker: Worker) -> None:
        """Run cases in the worker until none is left or one stops it."""
        while self.pending():
            exercise, number = self.queue[0]
            case = exercise.request.cases[number]
            hidden = bool(case[2])
            left = self.limits.exercise_seconds - exercise.seconds
            began = time.monotonic()
            deadline = min(began + left, self.deadline)
            which = ("exercise", self.limits.exercise_seconds) if deadline < self.deadline else \
                ("submission", self.limits.submission_seconds)
            limit = f"{which[1]:g} s (the {which[0]} time limit)"
            if deadline <= began:
                self.fail(exercise, number, Failure("timeout", f"did not finish within {limit}: an endless loop "
                                                    "or a very slow computation?", over_limit=True))
                continue
            self.tainted = self.tainted or hidden
            answer = run_case(worker, exercise.request.id, number, case, deadline=deadline, limit=limit,
                              claim=self.claim, ended=self.forker.ended, limits=self.limits)
            exercise.seconds += time.monotonic() - began
            if answer.failure is not None:
                self.fail(exercise, number, answer.failure)
                return  # the worker is gone
            if answer.missing:
                if not exercise.outcomes:
                    exercise.failure = Failure("missing", f"`{exercise.request.id}` is not defined")
                    continue
                answer = dataclasses.replace(answer, outcome=Outcome(error=ErrorInfo(
                    "NameError", f"name '{exercise.request.id}' is not defined")))
            if answer.origin and not hidden:
                exercise.origin = answer.origin
            assert answer.outcome is not None
            self.record(exercise, number, answer.outcome)

    def record(self, exercise: _Exercise, number: int, outcome: Outcome) -> None:
        exercise.outcomes[number] = outcome
        if outcome.error is not None and outcome.error.type_name == "MemoryError":
            # the remaining cases would only fill the memory limit again: the same verdict, without running them
            skipped = Outcome(error=ErrorInfo("MemoryError", "not run: an earlier case of this exercise ran out of "
                                              "memory"))
            for later in range(number + 1, len(exercise.request.cases)):
                exercise.outcomes.setdefault(later, skipped)

    def fail(self, exercise: _Exercise, number: int, failure: Failure) -> None:
        hidden = bool(exercise.request.cases[number][2])
        if hidden:  # the grader's words only: an exit code or an error text could carry the hidden input
            failure = dataclasses.replace(failure, detail=f"{_HIDDEN_WORDS.get(failure.kind, failure.kind)} "
                                          f"({HIDDEN_DETAILS})")
        exercise.failure = dataclasses.replace(failure, case=number + 1, hidden=hidden)


def run_submission(forker: Forker, cells: Sequence[tuple[int, str]], exercises: Sequence[ExerciseRequest], *,
                   slot: int = 0, claim: Claim | None = None) -> SubmissionRun:
    """Grade one submission: its code cells (index, source) in order, then every exercise's cases, public
    ones first, one case at a time. With a `claim` on a core, the core is lent out while a worker sleeps."""
    return _Submission(forker, cells, exercises, slot=slot, claim=claim).run()
