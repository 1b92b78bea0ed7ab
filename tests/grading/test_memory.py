"""Memory is counted for the whole worker where cgroup v2 allows it, and the gradebook says so where it does not."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from coursekit.grading.cgroups import Cgroups, setup
from coursekit.grading.exchange import Ended, describe_exit, over_the_limit
from coursekit.grading.isolation import Limits


def _result(out: Path, student: str) -> dict:
    return json.loads((out / "results" / f"{student}.json").read_text())


def test_the_machine_is_reported_as_it_is(hostile_class):
    """With worker cgroups the hogs are killed; without, the metadata says memory is counted per process only."""
    meta = json.loads((hostile_class.out / "gradebook.meta.json").read_text())
    whole = any("memory.max" in line for line in meta["isolation"])
    for name in ("forked_hogs", "memfd_hog"):
        stopped = _result(hostile_class.out, name)["stopped"]
        killed = [s for s in stopped if "killed for using too much memory" in s or "killed (SIGKILL)" in s]
        if whole:
            assert len(stopped) == 1 and killed, stopped
        else:  # (on a loaded machine the cell may run past its time limit instead)
            assert killed == [], "without a cgroup nothing counts these pages (the warning below says so)"
    warned = [w for w in meta["sandbox_warnings"] if "not counted together" in w]
    assert bool(warned) != whole, (meta["isolation"], meta["sandbox_warnings"])


def test_the_worker_tmpfs_caps_files(hostile_class):
    """20,000 links fill the worker's inode budget: the cell stops with ENOSPC, the answer still counts."""
    result = _result(hostile_class.out, "many_links")
    assert any("OSError: [Errno 28] No space left on device" in note for note in result["notes"]), result["notes"]
    assert result["total"] == 1.0
    meta = json.loads((hostile_class.out / "gradebook.meta.json").read_text())
    if any("private read-only root" in line for line in meta["isolation"]):
        assert any("4096 files at most" in line for line in meta["isolation"])


def _tree(tmp_path: Path, *, controllers: str, procs: list[int], own: str = "/course.scope") -> tuple[Path, Path]:
    mount = tmp_path / "cgroup"
    here = mount / own.lstrip("/")
    here.mkdir(parents=True)
    (here / "cgroup.controllers").write_text(controllers + "\n")
    (here / "cgroup.subtree_control").write_text("\n")
    (here / "cgroup.procs").write_text("".join(f"{p}\n" for p in procs))
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 1 0:26 / /proc rw - proc proc rw\n"
                         f"41 31 0:38 / {mount} rw,relatime - cgroup2 cgroup2 rw\n")
    cgroup_file = tmp_path / "cgroup_file"
    cgroup_file.write_text(f"4:memory:/elsewhere\n0::{own}\n")
    return mountinfo, cgroup_file


def test_without_cgroup_v2_the_reason_is_given(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text("30 1 0:26 / /proc rw - proc proc rw\n33 31 0:28 / /sys/fs/cgroup/memory rw - cgroup "
                         "cgroup rw,memory\n")
    (tmp_path / "cgroup_file").write_text("4:memory:/session\n")
    groups, why = setup(memory_mb=512, processes=16, grader_pid=os.getpid(), mountinfo=mountinfo,
                        cgroup_file=tmp_path / "cgroup_file")
    assert groups is None and why.startswith("no cgroup v2 file system is mounted")


def test_without_the_memory_controller_the_reason_is_given(tmp_path):
    mountinfo, cgroup_file = _tree(tmp_path, controllers="cpu io hugetlb", procs=[os.getpid()])
    groups, why = setup(memory_mb=512, processes=16, grader_pid=os.getpid(), mountinfo=mountinfo,
                        cgroup_file=cgroup_file)
    assert groups is None and "does not offer the memory controller to the grader's cgroup (/course.scope" in why


def test_other_processes_in_the_graders_cgroup_are_never_moved(tmp_path):
    mountinfo, cgroup_file = _tree(tmp_path, controllers="cpu memory pids", procs=[1, os.getpid()])
    before = (tmp_path / "cgroup" / "course.scope" / "cgroup.procs").read_text()
    groups, why = setup(memory_mb=512, processes=16, grader_pid=os.getpid(), mountinfo=mountinfo,
                        cgroup_file=cgroup_file)
    assert groups is None and "shares its cgroup (/course.scope) with 1 other process" in why
    assert "systemd-run --scope -p Delegate=yes" in why
    assert not list((tmp_path / "cgroup" / "course.scope").glob("coursekit-*"))
    assert (tmp_path / "cgroup" / "course.scope" / "cgroup.procs").read_text() == before


def test_a_real_worker_cgroup_counts_all_processes_and_memfd_pages():
    """On a machine with cgroup v2: two processes of 60 MB each and a 60 MB memfd break a 100 MB cgroup."""
    groups, why = setup(memory_mb=64, processes=8, grader_pid=os.getpid())
    if groups is None:
        pytest.skip(f"no worker cgroups on this machine: {why}")
    groups.memory_max = 100 * 2**20  # without the headroom a worker's interpreter gets
    try:
        for hog in ("forks", "memfd"):
            path = groups.make()
            pid = os.fork()
            if pid == 0:
                try:
                    groups.enter(path)
                    if hog == "forks":
                        child = os.fork()
                        block = bytearray(60 * 2**20)
                        block[::4096] = b"x" * len(range(0, len(block), 4096))
                        if child:
                            os.waitpid(child, 0)
                    else:
                        fd = os.memfd_create("hog")
                        for _ in range(150):
                            os.write(fd, bytes(2**20))
                finally:
                    os._exit(0)
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9, (hog, status)
            assert groups.oom_killed(path) is True, "the cgroup's memory.events did not count the kill"
            groups.remove(path)
    finally:
        groups.close()


def _events(folder: Path, text: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if text is not None:
        (folder / "memory.events").write_text(text)
    return folder


def test_a_kill_by_the_memory_cgroup_is_told_from_a_kill_by_the_code(tmp_path):
    """memory.events' oom_kill says which it was; without a cgroup to ask, both read as they did."""
    killed = _events(tmp_path / "oom", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 1\n")
    itself = _events(tmp_path / "self", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
    assert Cgroups.oom_killed(killed) is True and Cgroups.oom_killed(itself) is False
    assert Cgroups.oom_killed(_events(tmp_path / "none", None)) is None
    limits = Limits(memory_mb=300)
    sigkill = 128 + 9
    assert describe_exit(Ended(sigkill, oom=True), limits) == \
        "it was killed for using too much memory (the memory limit is 300 MB)"
    assert describe_exit(Ended(sigkill, oom=False), limits).startswith("it was killed (SIGKILL), not for memory")
    assert "the memory limit (300 MB), the CPU limit, or the code killed itself" in \
        describe_exit(Ended(sigkill), limits)
    assert [over_the_limit(Ended(sigkill, oom)) for oom in (True, None, False)] == [True, True, False]
    assert not over_the_limit(Ended(1, None))


def test_the_zygote_reads_the_workers_cgroup_before_removing_it(tmp_path):
    """A worker that killed itself, in a cgroup whose memory.events counts no OOM kill: not a limit hit."""
    import signal
    import socket

    from coursekit.grading.zygote import Zygote

    class Folders(Cgroups):
        def remove(self, path: Path) -> None:
            self.removed.append(path)

    control, _ = socket.socketpair()
    zygote = Zygote(control, {"limits": {}, "mount_point": str(tmp_path / "root"), "uid_base": 0,
                              "fallback_root": str(tmp_path), "grader_pid": os.getpid()})
    zygote.cgroups = Folders(tmp_path, 2**30, 16)
    zygote.cgroups.removed = []
    for name, kills in (("itself", 0), ("oom", 1)):
        pid = os.fork()
        if pid == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        zygote.cgroup_of[pid] = _events(tmp_path / name, f"oom {kills}\noom_kill {kills}\n")
        _, status = os.waitpid(pid, 0)
        zygote.record(pid, status)
        assert zygote.ended[pid] == (128 + signal.SIGKILL, bool(kills))
    assert zygote.cgroups.removed == [tmp_path / "itself", tmp_path / "oom"]
