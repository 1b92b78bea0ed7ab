"""Confine a grading worker: its own namespaces, a read-only view of Python, no privileges, rlimits.

A worker is a process forked from the zygote. Before it runs any student code it:

1. enters new PID, mount, IPC and network namespaces (and a user namespace when the
   grader is not root), so it cannot see or signal any process outside, and has no network;
2. gets a private root filesystem: a tmpfs capped in size and in files (inodes) holding
   read-only bind mounts of the Python installation only (no submissions, no gradebook,
   no home directories, no exercise sources), fresh /proc and /tmp, and /dev/null,
   /dev/zero, /dev/urandom;
3. drops privileges: a uid of its own when the grader is root, no capabilities and
   no_new_privs in every case, and no kernel keyrings (`coursekit.grading.seccomp`);
4. gets resource limits (CPU seconds, address space, processes, file size, open files),
   an empty working directory, a scrubbed environment, and no descriptors but its socket;
   where cgroup v2 allows, the zygote also puts it in a cgroup of its own that limits the
   memory and tasks of all its processes together (`coursekit.grading.cgroups`).

Where the kernel refuses namespaces, the worker still gets steps 3 and 4 and the
report says what is missing.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.grading.seccomp import refuse_keyrings

__all__ = ["Confinement", "Limits", "confine_process", "enter_namespaces", "plan", "set_parent_death_signal"]

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
WORKDIR = "/tmp/work"
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
SCRUBBED_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": WORKDIR, "TMPDIR": WORKDIR, "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{WORKDIR}/.matplotlib",
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
    "COURSEKIT_DEVICE": "cpu", "CUDA_VISIBLE_DEVICES": "", "COURSEKIT_NO_SOLUTIONS": "1",
    "COURSEKIT_GRADING": "1",
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's grading (seconds, megabytes, counts)."""

    notebook_seconds: float = 60.0  # running the notebook's code cells, wall clock
    exercise_seconds: float = 10.0  # all cases of one exercise, wall clock
    submission_seconds: float = 300.0  # everything for one submission, restarts included
    memory_mb: int = 2048  # address space the student's code may add
    processes: int = 16  # processes and threads of the worker's user
    output_kb: int = 1024  # text printed by one cell or one case
    file_mb: int = 64  # all files the worker writes, together
    file_count: int = 4096  # files, folders and links the worker may create (its tmpfs's inodes)
    open_files: int = 64
    result_mb: int = 16  # data one case may send back

    def __post_init__(self) -> None:
        for name in ("notebook_seconds", "exercise_seconds", "submission_seconds", "memory_mb", "processes",
                     "output_kb", "file_mb", "file_count", "open_files", "result_mb"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}.")


@dataclass(frozen=True)
class Confinement:
    """What every worker is confined to: computed once, applied in each forked worker."""

    mount_point: str  # an empty directory the worker's private root is mounted on
    binds: tuple[str, ...] = ()  # directories visible (read-only) inside the worker
    links: tuple[tuple[str, str], ...] = ()  # top-level symlinks such as /lib -> usr/lib
    hidden: tuple[str, ...] = ()  # folders and files inside the binds that the worker sees empty
    as_root: bool = False  # the grader runs as root: workers get their own unprivileged uid
    report: list[str] = field(default_factory=list, compare=False)


def _outermost(paths: set[str]) -> tuple[str, ...]:
    ordered = sorted(paths, key=len)
    kept: list[str] = []
    for p in ordered:
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(p)
    return tuple(sorted(kept))


def plan(mount_point: Path, *, hidden: tuple[str, ...] = ()) -> Confinement:
    """The confinement for workers of this interpreter: bind the Python installation, nothing else."""
    binds: set[str] = set()
    links: list[tuple[str, str]] = []
    for top in ("usr", "etc", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            links.append((str(path), os.readlink(path)))
        elif path.is_dir():
            binds.add(str(path))
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                   str(Path(os.path.realpath(sys.executable)).parent.parent)}:
        if prefix and Path(prefix).is_dir() and prefix != "/":
            binds.add(os.path.realpath(prefix))
    import coursekit
    binds.add(str(Path(coursekit.__file__).resolve().parent))
    return Confinement(str(mount_point), _outermost(binds), tuple(links),
                       tuple(str(Path(h).resolve()) for h in hidden), os.geteuid() == 0)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                       flags, data.encode() if data else None), f"mount {target}")


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND)
    st = os.statvfs(target)
    # a remount inside a user namespace must keep the flags the original mount has locked
    keep = sum(ms for st_flag, ms in ((os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                                       (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
                                       (os.ST_RELATIME, MS_RELATIME)) if st.f_flag & st_flag)
    _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | keep)


def enter_namespaces(conf: Confinement, *, file_mb: int, uid: int | None, file_count: int = 4096) -> list[str]:
    """In a freshly forked process: unshare namespaces and build the private root. Returns what worked."""
    outer_uid, outer_gid = os.getuid(), os.getgid()
    base = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC
    user = 0 if conf.as_root else CLONE_NEWUSER
    done = []
    for flags, words in ((base | CLONE_NEWNET | user, "pid, mount, ipc and network namespaces"),
                         (base | user, "pid, mount and ipc namespaces (no network namespace)")):
        if _libc.unshare(flags) == 0:
            done.append(words + ("" if conf.as_root else " inside a user namespace"))
            break
    else:
        return [f"no namespaces ({os.strerror(ctypes.get_errno())}): the worker can see the file system"]
    if not conf.as_root:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"0 {outer_uid} 1")
        Path("/proc/self/gid_map").write_text(f"0 {outer_gid} 1")
    root = conf.mount_point
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # the mount points and devices below take a few dozen inodes of the worker's share
    inodes = file_count + 64 + 2 * len(conf.binds)
    _mount("coursekit-sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={file_mb}m,nr_inodes={inodes},mode=755")
    for link, target in conf.links:
        os.symlink(target, root + link)
    for path in conf.binds:
        os.makedirs(root + path, exist_ok=True)
        _bind_read_only(path, root + path)
    for path in conf.hidden:
        if os.path.isdir(root + path):
            _mount("hidden", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                   "size=4k,nr_inodes=8,mode=555")
        elif os.path.isfile(root + path):  # a file (an instructor's private bank): /dev/null over it reads empty
            _mount("/dev/null", root + path, None, MS_BIND)
    os.makedirs(root + "/dev", exist_ok=True)
    for device in DEVICES:
        if os.path.exists(device):
            Path(root + device).touch()
            _mount(device, root + device, None, MS_BIND)
    os.makedirs(root + "/proc", exist_ok=True)
    os.makedirs(root + WORKDIR, exist_ok=True)
    os.chmod(root + "/tmp", 0o1777)
    os.chmod(root + WORKDIR, 0o700)
    if uid is not None:
        os.chown(root + WORKDIR, uid, uid)
    done.append(f"a private read-only root (the Python installation only; empty {WORKDIR}; {file_mb} MB and "
                f"{file_count} files at most)")
    return done


def _drop_capabilities() -> None:
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    _check(_libc.capset(ctypes.byref(Header(0x20080522, 0)), data), "capset")


def confine_process(conf: Confinement, limits: Limits, *, namespaced: bool, uid: int | None,
                    keep_fds: tuple[int, ...], fallback_dir: str | None) -> list[str]:
    """In the worker itself, before any student code: chroot, drop privileges, set limits and descriptors."""
    done = []
    if namespaced:
        try:
            _mount("proc", conf.mount_point + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except OSError:
            pass  # an empty /proc is fine
        os.chroot(conf.mount_point)
        os.chdir(WORKDIR)
    elif fallback_dir is not None:
        os.chdir(fallback_dir)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    open_fds = [int(n) for n in os.listdir("/proc/self/fd")] if os.path.isdir("/proc/self/fd") else \
        list(range(3, 1024))
    for fd in open_fds:
        if fd > 2 and fd not in keep_fds:
            try:
                os.close(fd)
            except OSError:
                pass
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        done.append(f"runs as uid {uid} with no groups")
    if os.geteuid() == 0 or not conf.as_root:
        try:
            _drop_capabilities()
            done.append("no capabilities")
        except OSError as exc:
            done.append(f"could not drop capabilities ({exc.strerror})")
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    done.append(refuse_keyrings())  # keyrings are shared by a uid's processes, whatever their namespaces
    _set_limits(limits)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing the worker
    os.environ.clear()
    os.environ.update(SCRUBBED_ENV)
    os.umask(0o077)
    done.append("limits on CPU, memory, processes, file size and open files; scrubbed environment")
    return done


def _address_space_now() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _set_limits(limits: Limits) -> None:
    cpu = int(limits.submission_seconds) + 5
    pairs = {
        resource.RLIMIT_CPU: (cpu, cpu + 2),
        resource.RLIMIT_AS: (_address_space_now() + limits.memory_mb * 2**20,) * 2,
        resource.RLIMIT_NPROC: (limits.processes,) * 2,
        resource.RLIMIT_FSIZE: (limits.file_mb * 2**20,) * 2,
        resource.RLIMIT_NOFILE: (limits.open_files,) * 2,
        resource.RLIMIT_CORE: (0, 0),
    }
    for which, value in pairs.items():
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            low, high = (min(v, hard) if hard != resource.RLIM_INFINITY else v for v in value)
            resource.setrlimit(which, (low, high))


def set_parent_death_signal() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
