"""The warm zygote: imports torch, numpy, IPython and coursekit once, then forks confined workers.

Started by `coursekit.grading.sandbox.Sandbox` as a fresh interpreter (it never sees a
submission, an expected output or the grading seed, so a worker forked from it cannot
find them in its memory). For each request it forks a launcher that enters new
namespaces and forks the worker proper; the worker's end of a fresh socket pair goes to
the worker, the other end goes back to the grader over this control socket.

    python -m coursekit.grading.zygote CONTROL_FD GRADER_PID
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

__all__ = ["main"]


def _exit_code(status: int) -> int:
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


class Zygote:
    """Forks one confined worker per request, in a cgroup of its own where possible, and remembers how each ended."""

    def __init__(self, control: socket.socket, config: dict) -> None:
        from coursekit.grading.cgroups import Cgroups
        from coursekit.grading.isolation import Limits, plan

        self.control = control
        self.limits = Limits(**config["limits"])
        self.conf = plan(Path(config["mount_point"]), hidden=tuple(config.get("hidden", ())))
        self.uid_base = int(config["uid_base"])
        self.fallback_root = str(config["fallback_root"])
        self.pid = os.getpid()
        self.namespaced = False
        self.ended: dict[int, tuple[int, bool | None]] = {}  # pid -> exit code, killed by its memory cgroup
        self.dirs: dict[int, str] = {}
        self.grader_pid = int(config["grader_pid"])
        self.cgroups: Cgroups | None = None
        self.cgroup_of: dict[int, Path] = {}

    def limit_memory(self) -> list[str]:
        """Give every worker a cgroup of its own if the machine allows; else say why not."""
        from coursekit.grading.cgroups import setup

        self.cgroups, why = setup(memory_mb=self.limits.memory_mb, processes=self.limits.processes,
                                  grader_pid=self.grader_pid)
        return [why] if why else []

    def probe(self) -> list[str]:
        """Find out once whether workers can get namespaces here, so every worker is confined alike."""
        from coursekit.grading.isolation import enter_namespaces

        pid = os.fork()
        if pid == 0:
            try:
                enter_namespaces(self.conf, file_mb=1, uid=None)
                os._exit(0 if os.path.isdir(self.conf.mount_point + "/tmp") else 1)
            except BaseException:  # noqa: BLE001 - any failure means: no namespaces
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.namespaced = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        return [] if self.namespaced else ["no namespaces: workers can read the file system like any local user"]

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            self.record(pid, status)
        if self.cgroups is not None:
            self.cgroups.sweep()

    def record(self, pid: int, status: int) -> None:
        """Note how a launcher ended, then remove its folder and cgroup."""
        group = self.cgroup_of.pop(pid, None)
        # read before the cgroup goes: a kill by the memory limit and one by the code itself look alike
        oom = self.cgroups.oom_killed(group) if group is not None and self.cgroups is not None else None
        self.ended[pid] = (_exit_code(status), oom)
        folder = self.dirs.pop(pid, None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        if group is not None and self.cgroups is not None:
            self.cgroups.remove(group)

    def fork_worker(self, slot: int) -> tuple[int, socket.socket]:
        """Fork a launcher (it never returns here) and hand back its pid and the grader's socket end."""
        grader_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        uid = self.uid_base + slot if self.conf.as_root else None
        folder = None
        if not self.namespaced:
            folder = tempfile.mkdtemp(dir=self.fallback_root)
            if uid is not None:
                os.chown(folder, uid, uid)
        group: Path | None = None
        if self.cgroups is not None:
            try:
                group = self.cgroups.make()
            except OSError:
                group = Path("/nonexistent")  # the launcher cannot enter it and refuses to run the worker
        pid = os.fork()
        if pid == 0:
            try:
                grader_end.close()
                self.control.close()
                self._launch(worker_end, uid, folder, group)
            finally:
                os._exit(71)
        worker_end.close()
        if folder:
            self.dirs[pid] = folder
        if group is not None:
            self.cgroup_of[pid] = group
        return pid, grader_end

    def _launch(self, conn: socket.socket, uid: int | None, folder: str | None, group: Path | None) -> NoReturn:
        from coursekit.grading.cgroups import Cgroups
        from coursekit.grading.isolation import enter_namespaces, set_parent_death_signal

        os.setsid()
        set_parent_death_signal()
        if os.getppid() != self.pid:
            os._exit(70)
        report = []
        if group is not None and self.cgroups is not None:
            try:
                Cgroups.enter(group)  # first: everything this process and the worker do is charged to it
            except OSError:
                os._exit(72)
            report.append(self.cgroups.describe())
        report += enter_namespaces(self.conf, file_mb=self.limits.file_mb, file_count=self.limits.file_count,
                                   uid=uid) if self.namespaced else \
            ["no namespaces: the worker can read the file system like any local user"]
        alive_r, alive_w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(alive_w)
            self._work(conn, alive_r, uid, folder, report)
        os.close(alive_r)
        conn.close()
        _, status = os.waitpid(child, 0)
        os._exit(_exit_code(status))

    def _work(self, conn: socket.socket, alive_r: int, uid: int | None, folder: str | None,
              report: list[str]) -> NoReturn:
        from coursekit.grading.isolation import confine_process, set_parent_death_signal
        from coursekit.grading.worker import serve

        try:
            report = report + confine_process(self.conf, self.limits, namespaced=self.namespaced, uid=uid,
                                              keep_fds=(conn.fileno(), alive_r), fallback_dir=folder)
            set_parent_death_signal()  # after the uid change, which clears it
            if select.select([alive_r], [], [], 0)[0]:  # the launcher already died: so must we
                os._exit(0)
            os.close(alive_r)
        except BaseException:  # noqa: BLE001 - never run student code in a half-confined process
            os._exit(72)
        serve(conn, limits=self.limits, isolation=report)

    def loop(self) -> None:
        from coursekit.grading.channel import ChannelError, receive, send

        while True:
            try:
                meta, _ = receive(self.control)
            except ChannelError:
                return
            self.reap()
            op = meta.get("op")
            if op == "fork":
                pid, grader_end = self.fork_worker(int(meta.get("slot", 0)))
                send(self.control, {"pid": pid})
                socket.send_fds(self.control, [b"F"], [grader_end.fileno()])
                grader_end.close()
            elif op == "status":
                code, oom = self.ended.pop(int(meta.get("pid", 0)), (None, None))
                send(self.control, {"code": code, "oom": oom})
            else:
                return


def main(argv: list[str] | None = None) -> int:
    """Entry point: warm up, report readiness, then serve fork requests until told to stop."""
    args = sys.argv[1:] if argv is None else argv
    control = socket.socket(fileno=int(args[0]))
    from coursekit.grading.isolation import set_parent_death_signal

    set_parent_death_signal()
    if os.getppid() != int(args[1]):
        return 1
    start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from coursekit.grading.channel import receive, send
    from coursekit.grading.worker import prepare

    config, _ = receive(control)
    from coursekit import i18n

    # the class's language, for what a worker says itself (a broken rule); its catalogue is read here, before
    # any worker is confined
    i18n.set_language(str(config.get("language", "en")))
    i18n.catalogue(i18n.language())
    _warm_imports()
    prepare()
    from coursekit.grading.withhold import hold_private

    hold_private(config.get("private", []))  # an instructor's private exercises, as the facts the worker needs
    import gc
    gc.collect()
    gc.freeze()  # objects made so far stay out of every collection: forked workers do not copy their pages
    zygote = Zygote(control, {**config, "grader_pid": int(args[1])})
    missing = zygote.probe() + zygote.limit_memory()
    send(control, {"ready": True, "seconds": time.perf_counter() - start, "missing": missing,
                   "namespaced": zygote.namespaced})
    try:
        zygote.loop()
    finally:
        if zygote.cgroups is not None:
            zygote.cgroups.close()
    return 0


# Modules a notebook may import lazily; loading them here makes them free in every worker and keeps
# them available where the worker's view of the file system is restricted.
_WARM = ("math", "cmath", "statistics", "random", "itertools", "functools", "operator", "collections",
         "copy", "dataclasses", "typing", "fractions", "decimal", "heapq", "bisect", "re", "json", "string",
         "textwrap", "time", "warnings", "contextlib", "enum", "numbers", "pprint", "inspect", "timeit",
         "numpy.linalg", "numpy.random", "numpy.fft", "numpy.testing", "torch.nn", "torch.nn.functional",
         "torch.autograd", "torch.autograd.functional", "torch.autograd.gradcheck", "torch.func",
         "torch.optim", "torch.utils.data", "torch.testing", "torch.distributions", "torch.linalg",
         "torch.special", "matplotlib.pyplot", "matplotlib.colors", "matplotlib.cm", "matplotlib.animation",
         "mpl_toolkits.mplot3d", "IPython.display", "ipywidgets",
         # the first torch.optim optimizer a process builds imports torch._dynamo (about 1.5 s of CPU)
         "torch._dynamo")


def _warm_imports() -> None:
    import importlib
    import pkgutil

    import coursekit

    for name in _WARM:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - optional modules
            pass
    for info in pkgutil.walk_packages(coursekit.__path__, prefix="coursekit."):
        if info.name.split(".")[-1] in ("cli", "lab", "zygote", "__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 - a module that cannot load here is not needed by notebooks
            pass
    import torch

    x = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64, requires_grad=True)
    (torch.nn.functional.softmax(x, dim=0) * x.tanh()).sum().backward()


if __name__ == "__main__":
    sys.exit(main())
