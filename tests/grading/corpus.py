"""Submissions for the grader's tests, generated from tables of cell sources.

Honest students answer the warm-up notebook (00_start_here) correctly, wrongly or not at
all; each attack is a real notebook that tries one way of breaking, cheating or
escaping the grader. Every attack targets `scale_and_shift`; the other exercises of the
notebook (if any) are answered with their reference source so only the attack differs.
The planted entries attack the grader's trusted side instead: names that collide, a FIFO,
a folder named like a notebook, links into and out of the folder, an 8 GB sparse file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.exercises import by_notebook
from coursekit.exercises.source import reference_source

ASSIGNMENT = "00_start_here"
TARGET = "scale_and_shift"
FIRST = ("import coursekit\nfrom coursekit import check, hint, solution\nimport torch\n"
         "device = coursekit.device()\ncoursekit.seed(0)")
GOOD = "def scale_and_shift(x, a, b):\n    return a * x + b"
SHIFT_FIRST = "def scale_and_shift(x, a, b):\n    return a * (x + b)"
STUB = "def scale_and_shift(x, a, b):\n    raise NotImplementedError"
# six processes of 150 MB each: every one is under a 512 MB per-process limit, together they are far over it
FORKED_HOGS = """import os, time
ready_r, ready_w = os.pipe()
for _ in range(6):
    if os.fork() == 0:
        hog = bytearray(150 * 2**20)
        hog[::4096] = b"x" * len(range(0, len(hog), 4096))  # touch every page
        os.write(ready_w, b"!")
        time.sleep(3600)
        os._exit(0)
for _ in range(6):
    os.read(ready_r, 1)"""
# 900 MB in memfds written with write(): never mapped, so no address-space limit sees them
MEMFD_HOG = """import os
held = [os.memfd_create(f"hog{i}") for i in range(20)]
for fd in held:
    for _ in range(45):
        os.write(fd, bytes(2**20))"""
# 20,000 symbolic links in the worker's tmpfs: tiny each, but every one is an inode of kernel memory
MANY_LINKS = """import os
os.makedirs("links", exist_ok=True)
for i in range(20_000):
    os.symlink("x" * 40, f"links/{i}")"""
# hidden cases: scale_and_shift's hidden inputs are (n, 3) matrices, its public ones are not
IS_HIDDEN = "x.dim() == 2 and x.shape[1] == 3"
# a public case walks the stack and the heap to the grader's list of cases and raises the hidden ones it finds
FRAME_WALK = """def scale_and_shift(x, a, b):
    import gc, sys
    def hidden(item):
        return isinstance(item, (list, tuple)) and len(item) == 4 and item[2] is True and isinstance(item[3], dict) \
            and "rules" in item[3]
    found, frame = [], sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            found += [repr(v)[:300] for v in (value if isinstance(value, (list, tuple)) else [value]) if hidden(v)]
        frame = frame.f_back
    found += [repr(obj)[:300] for obj in gc.get_objects() if hidden(obj)]
    if found:
        raise ValueError("LEAK " + " | ".join(found))
    return a * x + b"""
# the first hidden case keeps its input; the next ones give it back in an exception's type name and a shape
STASH_REPLAY = f"""import builtins
def scale_and_shift(x, a, b):
    stash = builtins.__dict__.setdefault("stash", [])
    if stash:
        secret = int(abs(stash[0]) * 1e6)
        if len(stash) == 1:
            stash.append(secret)
            raise type(f"LEAK_{{secret}}", (Exception,), {{}})(f"LEAK {{stash[0]!r}}")
        return torch.zeros(secret % 9973 + 1)
    if {IS_HIDDEN}:
        stash.append(a)
    return a * x + b"""
# a hidden case's input as the worker's exit code
EXIT_CODE = f"""def scale_and_shift(x, a, b):
    import os
    if {IS_HIDDEN}:
        os._exit(int(abs(a) * 100) % 200 + 50)
    return a * x + b"""
KEYRING = """import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_ADD_KEY, _KEYCTL, _SEARCH, _READ, _USER_KEYRING = 248, 250, 10, 11, -4  # x86_64"""
# a hidden case stores its input in the kernel's user keyring and ends the worker; the notebook runs again in a
# fresh worker, whose cell finds the key and raises it (in a cell note)
KEYRING_CARRY = [KEYRING + """
_key = _libc.syscall(_KEYCTL, _SEARCH, _USER_KEYRING, b"user", b"carried", 0)
if _key > 0:
    _buffer = ctypes.create_string_buffer(200)
    _size = _libc.syscall(_KEYCTL, _READ, _key, _buffer, 200)
    raise ValueError("LEAK " + _buffer.raw[:max(_size, 0)].decode())""", f"""def scale_and_shift(x, a, b):
    import os
    if {IS_HIDDEN}:
        data = repr((a, b, x.tolist())).encode()
        _libc.syscall(_ADD_KEY, b"user", b"carried", data, len(data), _USER_KEYRING)
        os._exit(3)
    return a * x + b"""]
# the reference, renamed and reformatted, its docstring kept (what a paste from the package looks like)
PASTED = '''def scale_and_shift(t, alpha, beta):
    """Reference: a * x + b, elementwise, as a new tensor."""
    return (alpha*t
            + beta)  # scaled, then shifted'''
# clears the screen, homes the cursor and prints a summary of its own
ANSI_LANGUAGE = "\x1b[2J\x1b[HGraded 00_start_here for 1 students: everyone passed\n\x1b[8m"
Cell = str | tuple[str, list[str]]


def notebook(cells: list[Cell], *, assignment: str | None = ASSIGNMENT, language: str = "python",
             outputs: dict[int, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    """An nbformat-4 notebook dict: a title, then one code cell per entry (source or (source, tags))."""
    meta: dict[str, Any] = {"kernelspec": {"display_name": "Python 3" if language == "python" else language,
                                           "language": language, "name": "python3" if language == "python" else
                                           language.lower()}}
    if assignment:
        meta["coursekit"] = {"notebook": assignment}
    body = [{"cell_type": "markdown", "metadata": {}, "source": "# Start here"}]
    for i, cell in enumerate(cells):
        source, tags = (cell, []) if isinstance(cell, str) else cell
        body.append({"cell_type": "code", "metadata": {"tags": tags} if tags else {}, "source": source,
                     "outputs": (outputs or {}).get(i, []), "execution_count": None})
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": body}


# ---------------------------------------------------------------- reference and stub sources


def others(assignment: str = ASSIGNMENT, *, skip: str = TARGET) -> list[str]:
    """Reference answers for every exercise of the notebook except `skip`."""
    return [reference_source(e) for e in by_notebook(assignment) if e.id != skip]


# ---------------------------------------------------------------- the class


HONEST: dict[str, list[Cell]] = {
    "alice": [FIRST, GOOD, "check(scale_and_shift)"],
    "alice_copy": [FIRST, GOOD, "check(scale_and_shift)"],
    "bob": [FIRST, "def scale_and_shift(x, a, b):\n    return a * (x + b)", "check(scale_and_shift)"],
    "carol": [FIRST, "def scale_and_shift(x, a, b):\n    \"\"\"Scale, then shift.\"\"\"\n    raise NotImplementedError",
              "check(scale_and_shift)"],
    "dave": [FIRST, "import matplotlib.pyplot as plt\nxs = torch.linspace(-2, 2, 50)\nfig, ax = plt.subplots()\n"
                    "ax.plot(xs, 2 * xs + 1)\nax.set_title('a line')\nplt.show()", GOOD, "print(scale_and_shift(xs, 2, 1)[:3])"],
    "erin": [FIRST, "print(undefined_name)", GOOD, "check(scale_and_shift)"],
}


@dataclass(frozen=True)
class Attack:
    """A hostile submission and what the grader must make of it."""

    name: str
    cells: list[Cell] = field(default_factory=list)
    raw: bytes | None = None  # the file's bytes, when it is not a well-formed notebook
    points: float | None = 0.0  # scale_and_shift's points; None: whatever the answer deserves
    reason: str = ""  # must appear in the student's results (message, problem, notes)
    language: str = "python"


def attacks(*, submissions: Path, out: Path, grader_pid: int) -> list[Attack]:
    """The adversarial corpus; paths of the other submissions and of the gradebook are known to the attacker."""
    fn = "def scale_and_shift(x, a, b):\n"
    return [
        Attack("loop_forever", [FIRST, fn + "    while True:\n        pass"], reason="did not finish within"),
        Attack("sleep_top_level", [FIRST, "import time\ntime.sleep(10**6)", GOOD], points=1.0,
               reason="time limit; it was skipped"),
        Attack("fork_bomb", [FIRST, fn + "    import os\n    while True:\n        os.fork()"],
               reason="raised BlockingIOError"),
        Attack("memory_bomb", [FIRST, fn + "    hog = []\n    while True:\n        hog.append(bytearray(50 * 2**20))"],
               reason="raised MemoryError"),
        Attack("os_exit", [FIRST, fn + "    import os\n    os._exit(0)"], reason="exited with code 0"),
        Attack("sys_exit", [FIRST, "import sys\nsys.exit('leaving early')", fn + "    import sys\n    sys.exit(1)"],
               reason="raised SystemExit"),
        Attack("kill_self", [FIRST, fn + "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                                    "    return a * x + b"], points=None),
        Attack("kill_parent", [FIRST, fn + "    import os, signal\n    os.kill(os.getppid(), signal.SIGKILL)\n"
                                      f"    os.kill({grader_pid}, signal.SIGKILL)\n    return a * x + b"],
               reason="raised ProcessLookupError"),
        Attack("segfault", [FIRST, fn + "    import ctypes\n    return ctypes.string_at(0)"], reason="segmentation fault"),
        Attack("patch_torch", [FIRST, "torch.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True\n"
                                      "torch.Tensor.__eq__ = lambda self, other: torch.tensor(True)\n"
                                      "torch.testing.assert_close = lambda *a, **k: None", fn + "    return x"],
               reason="First mismatch"),
        Attack("patch_numpy", [FIRST, "import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                      "np.isclose = lambda a, b, **k: np.ones(np.shape(a), dtype=bool)\n"
                                      "np.array_equal = lambda *a, **k: True", fn + "    return x * a"],
               reason="First mismatch"),
        Attack("patch_builtins", [FIRST, "import builtins\nfor name in ('all', 'any', 'abs', 'max', 'min', 'round'):\n"
                                         "    setattr(builtins, name, lambda *a, **k: True)", fn + "    return x + b"],
               reason="First mismatch"),
        Attack("patch_checker", [FIRST, "import sys\nimport coursekit.grading.compare as cmp\n"
                                        "from coursekit.grading.compare import Outcome, Verdict\n"
                                        "cmp.compare = lambda *a, **k: None\ncmp.judge = lambda *a, **k: Verdict('pass')\n"
                                        "sys.modules['coursekit.grading.check'].run_case = lambda *a, **k: Outcome(value=1.0)\n"
                                        "import coursekit.grading.worker as w\nw.run_case = lambda *a, **k: Outcome(value=1.0)",
                                 fn + "    return None"], reason="got a float"),
        Attack("always_equal", [FIRST, "class Same:\n    def __eq__(self, other):\n        return True\n"
                                       "    def __ne__(self, other):\n        return False\n    __hash__ = object.__hash__",
                                fn + "    return Same()"], reason="got a Same"),
        Attack("tensor_subclass", [FIRST, "class Liar(torch.Tensor):\n    def __eq__(self, other):\n        return True\n"
                                          "    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
                                          "        if func in (torch.allclose, torch.equal):\n            return True\n"
                                          "        return super().__torch_function__(func, types, args, kwargs or {})",
                                   fn + "    return torch.zeros_like(x).as_subclass(Liar)"], reason="First mismatch"),
        Attack("read_others", [FIRST, fn + f"    return open({str(submissions / 'alice.ipynb')!r}).read()"],
               reason="raised FileNotFoundError"),
        Attack("read_reference_file", [FIRST, fn + "    import inspect, coursekit.exercises.start as s\n"
                                                   "    exec(inspect.getsource(s.scale_and_shift), globals())\n"
                                                   "    return a * x + b"], reason="not available while grading"),
        Attack("read_reference_registry", [FIRST, fn + "    from coursekit.exercises import get\n"
                                                       "    return get('scale_and_shift').reference(x, a, b)"],
               reason="not available while grading"),
        Attack("write_gradebook", [FIRST, f"open({str(out / 'gradebook.csv')!r}, 'w').write('student,total\\nme,100\\n')",
                                   fn + f"    open({str(out / 'results' / 'alice.json')!r}, 'w').write('{{}}')\n"
                                        "    return a * x + b"], reason="raised FileNotFoundError"),
        Attack("print_1gb", [FIRST, fn + "    for _ in range(1_000_000):\n        print('x' * 1000)\n    return a * x + b"],
               reason="OutputLimitExceeded"),
        Attack("return_56mb", [FIRST, fn + "    return torch.zeros(7_000_000, dtype=torch.float64)"],
               reason="over the 16 MB limit"),
        Attack("stored_50mb_output", [FIRST, GOOD], points=1.0),
        Attack("junk_on_socket", [FIRST, fn + "    import os\n    for fd in range(3, 64):\n        try:\n"
                                              "            os.write(fd, b'\\xff' * 64)\n        except OSError:\n"
                                              "            pass\n    return a * x + b"], reason="invalid data"),
        Attack("close_all_fds", [FIRST, fn + "    import os\n    os.closerange(0, 1024)\n    return a * x + b"],
               reason="the worker process ended"),
        Attack("network", [FIRST, fn + "    import socket\n    socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
                                       "    return a * x + b"], reason="raised OSError"),
        Attack("fill_disk", [FIRST, fn + "    with open('big.bin', 'wb') as f:\n        for _ in range(200):\n"
                                         "            f.write(bytes(2**20))\n    return a * x + b"], reason="raised OSError"),
        Attack("magics_and_shell", [FIRST, "%matplotlib inline\n!pip install something\nfiles = !ls\n%timeit -n1 -r1 1 + 1",
                                    "%%time\n" + GOOD], points=1.0),
        Attack("skip_grading_tag", [FIRST, ("while True:\n    pass", ["skip-grading"]), GOOD], points=1.0),
        Attack("stderr_warnings", [FIRST, fn + "    import sys, warnings\n    warnings.warn('careful')\n"
                                               "    print('noise', file=sys.stderr)\n    return a * x + b"], points=1.0),
        Attack("invalid_json", raw=b'{"cells": [ {"cell_type": "code", "source": "def scale_and', points=0.0,
               reason="not valid notebook JSON"),
        Attack("no_cells", raw=json.dumps({**notebook([]), "cells": []}).encode(), reason="no code cells"),
        Attack("wrong_kernel", [FIRST, GOOD], language="R", reason="written for the R kernel"),
        # memory: RLIMIT_AS is per process and does not see memfd pages; a cgroup counts the worker as a whole
        Attack("forked_hogs", [FIRST, FORKED_HOGS, GOOD], points=1.0),
        Attack("memfd_hog", [FIRST, MEMFD_HOG, GOOD], points=1.0),
        Attack("many_links", [FIRST, MANY_LINKS, GOOD], points=1.0, reason="No space left on device"),
        Attack("ansi_kernel", [FIRST, GOOD], language=ANSI_LANGUAGE, reason="x1b[HGraded 00_start_here"),
        Attack("non_utf8", raw=json.dumps(notebook([FIRST, GOOD + "  # caf\u00e9"])).encode().replace(
            b"caf\\u00e9", b"caf\xe9\xff"), points=1.0, reason="not UTF-8"),
        # hidden cases: nothing a hidden input touched reaches what the student receives
        Attack("frame_walk", [FIRST, FRAME_WALK], points=0.5, reason="raised an error (details are not shown"),
        Attack("stash_replay", [FIRST, STASH_REPLAY], points=0.67,
               reason="Hidden case 5 (random matrix and coefficients): your code raised an error (details are not "
                      "shown for hidden cases)."),
        Attack("exit_code", [FIRST, EXIT_CODE], reason="the worker process ended (details are not shown"),
        Attack("keyring_carry", [FIRST, *KEYRING_CARRY], reason="the worker process ended (details are not shown"),
        # references while grading: the bank's modules hold none; a pasted one is flagged, never scored down
        Attack("import_reference", [FIRST, "from coursekit.exercises.start import scale_and_shift"],
               reason="The reference solution of scale_and_shift is not available while grading"),
        Attack("reference_object", [FIRST, "import gc\ngc.unfreeze()  # the zygote's objects, out of gc's sight\n"
                                    "scale_and_shift = next(o for o in gc.get_objects() if "
                                    "callable(o) and getattr(o, '__module__', '') == 'coursekit.exercises.start' "
                                    "and getattr(o, '__name__', '') == 'scale_and_shift')"],
               reason="raised StopIteration"),
        Attack("paste_reference", [FIRST, PASTED], points=1.0),
    ]


# ---------------------------------------------------------------- the trusted side


@dataclass(frozen=True)
class Planted:
    """An entry planted in the submissions folder and the row the grader must give it."""

    name: str  # the entry's file name
    student: str  # the id its row must have
    make: Callable[[Path, Path], None]  # (the entry's path, a folder outside the submissions) -> creates it
    points: float | None = None  # scale_and_shift's points; None: whatever the answer deserves
    problem: str = ""  # must appear in its row's problem column ("" : graded normally, no problem)
    flag: str = ""  # must appear in its row's flags column


def _answer(cells: list[Cell]) -> Callable[[Path, Path], None]:
    return lambda path, outside: write_notebook(path, [FIRST, *cells]) and None


def _fifo(path: Path, outside: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path, outside: Path) -> None:
    write_notebook(path / "inside.ipynb", [FIRST, GOOD])


def _link_out(path: Path, outside: Path) -> None:
    key = write_notebook(outside / "answer_key.ipynb", [FIRST, GOOD])  # the instructor's, readable by root only
    os.chmod(key, 0o600)
    path.symlink_to(key)


def _link_to(target: str) -> Callable[[Path, Path], None]:
    return lambda path, outside: path.symlink_to(target)


def _hard_link_to(target: str) -> Callable[[Path, Path], None]:
    return lambda path, outside: os.link(path.parent / target, path)


def _sparse(path: Path, outside: Path) -> None:
    with open(path, "wb") as handle:
        handle.truncate(8 * 2**30)  # 8 GB that take no disk space: reading it whole needs 8 GB of memory


PLANTED = [
    # ids: a leading dot must not take alice's name; `-N` suffixes must not meet a real name; accents stay
    Planted(".alice.ipynb", "%2Ealice", _answer([SHIFT_FIRST]), points=0.0),
    Planted("x y.ipynb", "x%20y", _answer([GOOD]), points=1.0),
    Planted("x_y.ipynb", "x_y", _answer([SHIFT_FIRST]), points=0.0),
    Planted("x_y-2.ipynb", "x_y-2", _answer([STUB]), points=0.0),
    Planted("Jos\u00e9.ipynb", "Jos\u00e9", _answer([GOOD]), points=1.0),
    Planted("Jos\u00e8.ipynb", "Jos\u00e8", _answer([SHIFT_FIRST]), points=0.0),
    # nothing vanishes
    Planted("fifo.ipynb", "fifo", _fifo, points=0.0, problem="it is a FIFO (named pipe), not a notebook file"),
    Planted("folder.ipynb", "folder", _folder, points=0.0, problem="it is a folder, not a notebook file"),
    Planted("huge.ipynb", "huge", _sparse, points=0.0, problem="file too large: 8,192 MB, over the 100 MB limit"),
    # links: out of the folder refused; into it followed, and flagged like a copy or a hard link
    Planted("link_out.ipynb", "link_out", _link_out, points=0.0, problem="a link to a file outside the submissions"),
    Planted("link_in.ipynb", "link_in", _link_to("patch_torch.ipynb"), points=0.0,
            flag="byte-identical to patch_torch"),
    Planted("hard_link.ipynb", "hard_link", _hard_link_to("segfault.ipynb"), points=0.0, problem="segmentation fault",
            flag="the file has 2 hard links"),
    # the instructor's spreadsheet and terminal
    Planted("-2+3.ipynb", "-2+3", _answer([GOOD]), points=1.0),
    Planted("=cmd|'-C calc'!A0.ipynb", "%3Dcmd%7C%27-C%20calc%27%21A0", _answer([GOOD]), points=1.0),
    Planted("esc\x1b[2J.ipynb", "esc%1B%5B2J", _answer([GOOD]), points=1.0),
]
SKIPPED = {"LOUD.IPYNB": "ending in '.IPYNB', not '.ipynb'"}


def plant(folder: Path, outside: Path) -> list[Planted]:
    """Create the planted entries (after the attacks: some link to them); returns them."""
    outside.mkdir(parents=True, exist_ok=True)
    for entry in PLANTED:
        entry.make(folder / entry.name, outside)
    for name in SKIPPED:
        write_notebook(folder / name, [FIRST, GOOD])
    return PLANTED


def write_notebook(path: Path, cells: list[Cell], **kwargs: Any) -> Path:
    """Write a generated notebook (with the reference answers of the notebook's other exercises)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook([*cells[:1], *others(), *cells[1:]], **kwargs), indent=1))
    return path


def write_class(folder: Path, *, out: Path, grader_pid: int, honest: bool = True,
                hostile: bool = True) -> dict[str, Attack]:
    """Write the honest students and/or the attacks (and planted entries) into `folder`; returns the attacks."""
    written: dict[str, Attack] = {}
    if honest:
        for name, cells in HONEST.items():
            write_notebook(folder / f"{name}.ipynb", cells)
    if hostile:
        for attack in attacks(submissions=folder, out=out, grader_pid=grader_pid):
            path = folder / f"{attack.name}.ipynb"
            if attack.raw is not None:
                path.write_bytes(attack.raw)
            elif attack.name == "stored_50mb_output":
                nb = notebook([FIRST, *others(), GOOD], outputs={1 + len(others()): [
                    {"output_type": "stream", "name": "stdout", "text": "y" * (50 * 2**20)}]})
                path.write_text(json.dumps(nb))
            else:
                write_notebook(path, attack.cells, language=attack.language)
            written[attack.name] = attack
        plant(folder, folder.parent / "outside")
    return written


def nbgrader_class(root: Path, *, extra: int = 5, folder: str = "ps1") -> Path:
    """nbgrader's tree: three honest students, mallory with her own notebook plus `extra` notebooks labelled
    05_softmax (to have the class graded as 05_softmax), a student folder that is a link to another's, and
    one whose notebook is mislabelled but sits in an assignment folder named after the course notebook."""
    submitted = root / "submitted"
    for name, answer in (("ada", GOOD), ("ben", SHIFT_FIRST), ("cy", GOOD)):
        write_notebook(submitted / name / folder / f"{ASSIGNMENT}.ipynb", [FIRST, answer])
    write_notebook(submitted / "mallory" / folder / f"{ASSIGNMENT}.ipynb", [FIRST, GOOD])
    for k in range(extra):
        write_notebook(submitted / "mallory" / folder / f"extra_{k}.ipynb", [FIRST, "x = 1"], assignment="05_softmax")
    (submitted / "linked").symlink_to(submitted / "ada", target_is_directory=True)
    write_notebook(submitted / "dora" / ASSIGNMENT / "my answers.ipynb", [FIRST, GOOD], assignment="05_softmax")
    return submitted


# ---------------------------------------------------------------- a class for the scale-out test

SCALE_ASSIGNMENT = "03_activations"
SCALE_HOSTILE = {
    "memory_bomb": "    hog = []\n    while True:\n        hog.append(bytearray(2**27))\n",
    "os_exit": "    import os\n    os._exit(1)\n",
    "gives_up": "    raise RuntimeError('the answer gave up')\n",
}


def _wrong(exercise: Any) -> str:
    """A reference answer whose output is moved: right shape, wrong numbers."""
    if exercise.kind == "value":
        return f"{exercise.id} = 12345\n"
    body = reference_source(exercise).replace(f"\n{exercise.id} = ", "\n_ref = ")
    if exercise.reference.__name__ == exercise.id:
        body = body.replace(f"def {exercise.id}(", "def _ref(", 1)
    return body + f"\n\ndef {exercise.id}(*args, **kwargs):\n    return _ref(*args, **kwargs) * 2 + 1\n"


def scale_class(folder: Path, *, students: int = 32) -> list[str]:
    """`students` submissions of 03_activations: reference answers, wrong ones, and one of each attack."""
    from coursekit.exercises.source import stub_source

    exercises = by_notebook(SCALE_ASSIGNMENT)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    attacks = list(SCALE_HOSTILE)
    for i in range(students):
        name = f"student{i:03d}"
        cells = [FIRST + f"\n# {name}"]
        attack = attacks[i // 10] if i % 10 == 9 and i // 10 < len(attacks) else None
        for k, exercise in enumerate(exercises):
            if attack and k == i % len(exercises):
                cells.append(f"def {exercise.id}(*args, **kwargs):\n" + SCALE_HOSTILE[attack])
            elif i % 5 == 3:
                cells.append([_wrong, stub_source][(i + k) % 2](exercise))
            else:
                cells.append(reference_source(exercise))
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook(cells, assignment=SCALE_ASSIGNMENT), indent=1))
        names.append(name)
    return names
