"""A class of 00_start_here built for the class report, with everything the report must say about it known.

scale_and_shift has 3 public cases and 3 hidden ones (random (n, 3) matrices). Each kind of
student below is written so that its mark on every case follows from the code alone:

- right: `a * x + b` (each file with its own comment): passes all six;
- long: a correct loop of more than MIN_NODES syntax nodes, written three ways that differ only in names,
  comments and layout: passes all six, one cluster of three;
- shift: `a * (x + b)`, the bank's "shift-then-scale" mistake: fails all six, recognised on each;
- swap: `b * x + a`, the bank's "swapped": fails all six, recognised on each;
- copied: a long wrong loop computing a * (x + b), two byte-identical files and one renamed: a cluster of
  three that fails all six (shift-then-scale);
- hidden_only: right on the public inputs, `a * x` on the hidden ones: fails cases 4-6, nothing recognised;
- zero_a: returns zeros when a = 0: fails case 3 only, where a * (x + b) is zero too, so the grader
  recognises shift-then-scale there;
- stub (not attempted), raises (every case raises: errors), paste (the reference with its docstring);
- hostile: loop (times out on case 1), exit (os._exit on case 1: a crash), sleeper (a top-level cell that
  sleeps: skipped, the answer is right), garbage (not notebook JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .corpus import FIRST, GOOD, IS_HIDDEN, PASTED, STUB, write_notebook

CASES = 6
PUBLIC = 3
ZERO_A_CASE = 3  # "a single number, a = 0"

LONG = [
    """def scale_and_shift(x, a, b):
    out = torch.empty_like(x)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(flat_in.numel()):
        value = flat_in[i]
        flat_out[i] = a * value + b
    return out
""",
    """def scale_and_shift(t, alpha, beta):
    # one entry at a time
    result = torch.empty_like(t)
    source, target = t.reshape(-1), result.reshape(-1)
    for k in range(source.numel()):
        v = source[k]
        target[k] = alpha * v + beta   # scaled, then shifted
    return result
""",
    """def scale_and_shift(x, a, b):
    '''Elementwise, by a loop.'''
    o = torch.empty_like(x)
    p, q = x.reshape(-1), o.reshape(-1)
    for j in range(p.numel()):
        w = p[j]
        q[j] = a * w + b
    return o
""",
]
COPIED = """def scale_and_shift(x, a, b):
    out = torch.empty_like(x)
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    for i in range(flat_in.numel()):
        value = flat_in[i] + b
        flat_out[i] = a * value
    return out
"""
COPIED_RENAMED = COPIED.replace("out", "res").replace("value", "shifted").replace("flat_in", "src")
HIDDEN_ONLY = f"def scale_and_shift(x, a, b):\n    return a * x if {IS_HIDDEN} else a * x + b"
ZERO_A = "def scale_and_shift(x, a, b):\n    return torch.zeros_like(x) if a == 0 else a * x + b"
FN = "def scale_and_shift(x, a, b):\n"


@dataclass(frozen=True)
class Built:
    """One student of the class and what the grader must make of them."""

    name: str
    status: str  # the exercise's status, or "unreadable"
    marks: tuple[str, ...]  # per case: pass, fail, error, not_run ("" for a student not graded)
    mistakes: frozenset[str] = frozenset()
    problem: str = ""  # the kind of problem the report must group it under
    cluster: str = ""  # which cluster of identical long code it belongs to
    reference: bool = False

    @property
    def total(self) -> float:
        return round(sum(m == "pass" for m in self.marks) / CASES, 2) if self.status != "not_attempted" else 0.0


ALL_PASS, ALL_FAIL = ("pass",) * CASES, ("fail",) * CASES
FIRST_ERROR = ("error",) + ("not_run",) * (CASES - 1)
SHIFT, SWAP = frozenset({"shift-then-scale"}), frozenset({"swapped"})


def _class() -> list[tuple[Built, list[str] | bytes]]:
    rows: list[tuple[Built, list[str] | bytes]] = []
    rows += [(Built(f"right_{i}", "pass", ALL_PASS), [FIRST, GOOD + f"\n# student {i}"]) for i in range(6)]
    rows += [(Built(f"long_{i}", "pass", ALL_PASS, cluster="long"), [FIRST, code]) for i, code in enumerate(LONG)]
    rows += [(Built(f"shift_{i}", "fail", ALL_FAIL, SHIFT), [FIRST, FN + f"    return a * (x + b)  # {i}"])
             for i in range(3)]
    rows += [(Built(f"swap_{i}", "fail", ALL_FAIL, SWAP), [FIRST, FN + f"    return b * x + a  # {i}"])
             for i in range(2)]
    rows += [(Built(name, "fail", ALL_FAIL, SHIFT, cluster="copied"), [FIRST, code])
             for name, code in (("copied_a", COPIED), ("copied_b", COPIED), ("copied_c", COPIED_RENAMED))]
    rows.append((Built("hidden_only", "fail", ("pass",) * PUBLIC + ("fail",) * (CASES - PUBLIC)),
                 [FIRST, HIDDEN_ONLY]))
    zero = tuple("fail" if k == ZERO_A_CASE else "pass" for k in range(1, CASES + 1))
    rows.append((Built("zero_a", "fail", zero, SHIFT), [FIRST, ZERO_A]))
    rows.append((Built("stub", "not_attempted", ()), [FIRST, STUB]))
    rows.append((Built("raises", "error", ("error",) * CASES), [FIRST, FN + "    raise ValueError('not today')"]))
    rows.append((Built("paste", "pass", ALL_PASS, reference=True), [FIRST, PASTED]))
    rows.append((Built("loop", "error", FIRST_ERROR, problem="limit"), [FIRST, FN + "    while True:\n        pass"]))
    rows.append((Built("exit", "error", FIRST_ERROR, problem="crash"), [FIRST, FN + "    import os\n    os._exit(1)"]))
    rows.append((Built("sleeper", "pass", ALL_PASS, problem="cell_timeout"),
                 [FIRST, "import time\ntime.sleep(10**6)", GOOD]))
    rows.append((Built("garbage", "unreadable", (), problem="unreadable"), b'{"cells": [ {"cell_type": "code"'))
    return rows


def write_report_class(folder: Path) -> list[Built]:
    """Write the class into `folder` (a flat folder of notebooks); returns what each student must get."""
    built = []
    for student, content in _class():
        path = folder / f"{student.name}.ipynb"
        if isinstance(content, bytes):
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            write_notebook(path, content)
        built.append(student)
    return built
