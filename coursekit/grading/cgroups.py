"""Memory and process limits for a whole worker: one cgroup v2 per worker.

RLIMIT_AS counts one process's address space: eight processes forked by a submission
each get the full limit, and pages of a memfd or of the worker's tmpfs that are not
mapped count nowhere. A cgroup counts every page its processes are charged for (heap,
memfd, tmpfs, page tables) and every task, so each worker gets its own, below the
grader's:

    <grader's cgroup>/coursekit-<grader pid>/grader     the grader and its zygote
    <grader's cgroup>/coursekit-<grader pid>/w-<z>-<n>  one worker: memory.max, memory.swap.max = 0,
                                                        memory.oom.group = 1, pids.max

cgroup v2 lets a cgroup hand controllers to children only while it holds no process
itself, so the grader's own processes move into `grader` first. That is done only when
they are alone in their cgroup (a delegated scope: `systemd-run --scope -p Delegate=yes`,
a container, the root cgroup); otherwise, or where the memory controller is not
available, `setup` returns the reason, the grader lists it under `sandbox_warnings` and
the per-process limits stay the only ones.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HEADROOM_MB", "Cgroups", "setup"]

HEADROOM_MB = 256  # what the worker's own interpreter adds to the pages it shares with the zygote
PREFIX = "coursekit-"
MOUNTINFO, OWN = Path("/proc/self/mountinfo"), Path("/proc/self/cgroup")
NOT_COUNTED = ("memory is limited per process (RLIMIT_AS) only: the processes a submission forks, and its memfd "
               "and tmpfs pages, are not counted together")


def _mount(mountinfo: Path) -> Path | None:
    for line in mountinfo.read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own(cgroup_file: Path) -> str | None:
    for line in cgroup_file.read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    return None


def _write(path: Path, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _ancestry(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return chain


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove_tree(path: Path) -> bool:
    """rmdir a cgroup and its children (children first); False if one still holds a process."""
    done = True
    for child in sorted((p for p in path.iterdir() if p.is_dir()), reverse=True):
        done = _remove_tree(child) and done
    try:
        path.rmdir()
    except OSError:
        return False
    return done


@dataclass
class Cgroups:
    """The grader's worker cgroups: make one per worker, enter it from the worker, remove it when it ended."""

    base: Path  # <grader's cgroup>/coursekit-<grader pid>
    memory_max: int  # bytes, for all of a worker's processes together
    pids_max: int
    controllers: tuple[str, ...] = ("memory", "pids")
    pending: list[Path] = field(default_factory=list)
    _count: int = 0

    def make(self) -> Path:
        """A new worker cgroup with its limits set (called in the zygote before it forks the worker)."""
        self._count += 1
        path = self.base / f"w-{os.getpid()}-{self._count}"
        path.mkdir()
        _write(path / "memory.max", str(self.memory_max))
        for name, value in (("memory.swap.max", "0"), ("memory.oom.group", "1"), ("pids.max", str(self.pids_max))):
            if (path / name).exists():
                _write(path / name, value)
        if int((path / "memory.max").read_text()) != self.memory_max:
            raise OSError(errno.EIO, f"memory.max of {path} did not take")
        return path

    @staticmethod
    def enter(path: Path) -> None:
        """Move the calling process into `path` (its children are born there)."""
        _write(path / "cgroup.procs", str(os.getpid()))

    def describe(self) -> str:
        """The line of the isolation report that says what a worker's cgroup limits."""
        pids = f", pids.max {self.pids_max}" if "pids" in self.controllers else ""
        return (f"its own cgroup: memory.max {self.memory_max // 2**20} MB for all its processes together (memfd and "
                f"tmpfs pages included), no swap{pids}")

    @staticmethod
    def oom_killed(path: Path) -> bool | None:
        """Whether the kernel's OOM killer killed a process of this cgroup (memory.events' oom_kill); None if
        the cgroup cannot tell."""
        try:
            for line in (path / "memory.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        except (OSError, ValueError):
            pass
        return None

    def remove(self, path: Path) -> None:
        """Kill whatever is left in a worker's cgroup and remove it (retried later if the kernel is not done)."""
        if (path / "cgroup.kill").exists():
            try:
                _write(path / "cgroup.kill", "1")
            except OSError:
                pass
        try:
            path.rmdir()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self.pending.append(path)

    def sweep(self) -> None:
        """Remove the worker cgroups whose processes had not all gone when their worker ended."""
        waiting, self.pending = self.pending, []
        for path in waiting:
            self.remove(path)

    def close(self) -> None:
        deadline = time.monotonic() + 2.0
        self.sweep()
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.02)
            self.sweep()


def _enable(path: Path, controllers: list[str]) -> None:
    wanted = [c for c in controllers if c not in (path / "cgroup.subtree_control").read_text().split()]
    if wanted:
        _write(path / "cgroup.subtree_control", " ".join(f"+{c}" for c in wanted))


def _container(here: Path, grader_pid: int, controllers: list[str], *, root: bool) -> Path:
    """<here>/coursekit-<grader pid>; unless `here` is the root cgroup (which may hold processes and hand out
    controllers), the grader's processes move into its `grader` leaf first."""
    for stale in here.glob(PREFIX + "*"):
        pid = stale.name[len(PREFIX):]
        if pid.isdigit() and int(pid) != grader_pid and not _alive(int(pid)):
            _remove_tree(stale)
    base = here / f"{PREFIX}{grader_pid}"
    (base / "grader").mkdir(parents=True, exist_ok=True)
    if not root:
        for pid in (here / "cgroup.procs").read_text().split():
            _write(base / "grader" / "cgroup.procs", pid)
    _enable(here, controllers)
    _enable(base, controllers)
    return base


def setup(*, memory_mb: int, processes: int, grader_pid: int, mountinfo: Path = MOUNTINFO,
          cgroup_file: Path = OWN) -> tuple[Cgroups | None, str]:
    """Worker cgroups below the caller's cgroup (the caller is the grader or its child), or the reason why not."""
    try:
        mount, own = _mount(mountinfo), _own(cgroup_file)
    except OSError as exc:
        return None, f"cgroups could not be looked at ({exc.strerror}): {NOT_COUNTED}"
    if mount is None or own is None:
        return None, f"no cgroup v2 file system is mounted: {NOT_COUNTED}"
    here = mount / own.lstrip("/")
    try:
        available = (here / "cgroup.controllers").read_text().split()
    except OSError:
        return None, f"the grader's cgroup ({own}) cannot be read: {NOT_COUNTED}"
    if "memory" not in available:
        return None, (f"cgroup v2 does not offer the memory controller to the grader's cgroup ({own}; it may be "
                      f"bound to cgroup v1): {NOT_COUNTED}")
    controllers = ["memory"] + (["pids"] if "pids" in available else [])
    try:
        if here.name == "grader" and here.parent.name == f"{PREFIX}{grader_pid}":
            base = here.parent  # an earlier sandbox of this grader set it up
        else:
            procs = {int(p) for p in (here / "cgroup.procs").read_text().split()}
            strangers = {p for p in procs if grader_pid not in _ancestry(p)} if own != "/" else set()
            if strangers:
                return None, (f"the grader shares its cgroup ({own}) with {len(strangers)} other process(es), so it "
                              "cannot give each worker a cgroup of its own; run it alone in a delegated one, e.g. "
                              f"`systemd-run --scope -p Delegate=yes coursekit grade ...`: {NOT_COUNTED}")
            base = _container(here, grader_pid, controllers, root=own == "/")
    except OSError as exc:
        return None, f"worker cgroups could not be made under {own} ({exc.strerror}): {NOT_COUNTED}"
    return Cgroups(base, (memory_mb + HEADROOM_MB) * 2**20, processes + 1, tuple(controllers)), ""
