"""Share the machine's cores between the submissions being graded; a worker that only waits lends its core.

The grader keeps more submissions in flight than it has cores, but a submission computes
only while it holds one (`Cores.claim`). While the grader waits for a worker's answer, it
looks at how much CPU the worker's processes use: a worker that has been silent for a
while and used almost none is sleeping (`time.sleep`, `input()`, a lock), so its core goes
to the next submission until the worker computes again. Time limits are unchanged: a
sleeping submission still ends at its deadline, it just no longer holds a core that
long. A worker that spins keeps its core, so it never slows an honest submission down.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Claim", "Cores", "process_tree_cpu", "wait_for_answer"]

QUIET_SECONDS = 0.25  # how often a silent worker's CPU use is looked at
IDLE_SHARE = 0.05  # a worker below this share of one core is only waiting
BUSY_SHARE = 0.2  # a worker above it computes again and should get its core back
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class _FairCores:
    """A counting semaphore that serves its waiters first come, first served.

    `threading.Semaphore` lets a thread that asks at the right moment overtake one that has
    been waiting; under a steady stream of new submissions a worker that woke from a sleep
    could then wait for its core until the end of the run.
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._queue: deque[object] = deque()
        self._changed = threading.Condition()

    def acquire(self) -> None:
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            while self._queue[0] is not ticket or self._free == 0:
                self._changed.wait()
            self._queue.popleft()
            self._free -= 1
            self._changed.notify_all()  # the next in line may find a core free too

    def try_acquire(self) -> bool:
        with self._changed:
            if self._queue or self._free == 0:
                return False
            self._free -= 1
            return True

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._changed.notify_all()


class Claim:
    """One submission's hold on a core: given up while its worker sleeps, taken back before it computes."""

    def __init__(self, free: _FairCores) -> None:
        self._free = free
        self.held = False

    def take(self) -> None:
        """Hold a core, waiting in line for one if none is free."""
        if not self.held:
            self._free.acquire()
            self.held = True

    def try_take(self) -> bool:
        """Hold a core if one is free right now and nobody waits for it; True when held."""
        if not self.held:
            self.held = self._free.try_acquire()
        return self.held

    def lend(self) -> None:
        """Give the core to another submission."""
        if self.held:
            self.held = False
            self._free.release()


class Cores:
    """A fixed number of cores shared by the submissions in flight, handed out in the order asked for."""

    def __init__(self, count: int) -> None:
        if count < 1:
            raise ValueError(f"Cores needs at least one core, got {count}.")
        self.count = count
        self._free = _FairCores(count)

    @contextmanager
    def claim(self) -> Iterator[Claim]:
        """Hold a core for one submission; it is given back however the submission ends."""
        claim = Claim(self._free)
        claim.take()
        try:
            yield claim
        finally:
            claim.lend()


def process_tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a process and every process below it; None if the process is gone."""
    total, stack, first = 0.0, [pid], True
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            # after the command name: state, ppid, ... utime stime cutime cstime are fields 14 to 17
            total += sum(int(f) for f in fields[11:15]) / _TICKS
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack += [int(c) for c in handle.read().split()]
        except (OSError, ValueError, IndexError):
            if first:
                return None
        first = False
    return total


def wait_for_answer(conn: socket.socket, pid: int, deadline: float, claim: Claim | None) -> None:
    """Return when `conn` has data or the deadline passed, lending the core while the worker `pid` sleeps."""
    if claim is None:
        return
    last: tuple[float, float] | None = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        readable, _, _ = select.select([conn], [], [], min(left, QUIET_SECONDS))
        if readable:
            claim.try_take()
            return
        used, now = process_tree_cpu(pid), time.monotonic()
        if used is None:
            claim.try_take()
            return
        if last is not None:
            share = (used - last[0]) / max(now - last[1], 1e-3)
            if share < IDLE_SHARE:
                claim.lend()
            elif share > BUSY_SHARE:
                claim.try_take()
        last = (used, now)
