"""What runs inside a confined grading worker: a submission's cells, then its objects on the cases.

The worker executes code cells with IPython (so magics and `!` lines behave as in Jupyter;
shell commands are not run), then answers the grader's cases one at a time: it calls the
student's object on the one case it was sent and answers with plain data only. The
grader compares; nothing this process says is trusted, so patching torch, numpy, builtins
or the checker in here changes nothing but this process's own answers. The exercise bank
in here holds no reference solutions (`coursekit.grading.withhold`).
"""

from __future__ import annotations

import functools
import io
import os
import random
import socket
import sys
import traceback
import types
from typing import Any, NoReturn

import numpy as np
import torch

from coursekit.exercises import registry
from coursekit.exercises.model import Case
from coursekit.grading.channel import receive, send
from coursekit.grading.check import Message, run_case
from coursekit.grading.compare import ErrorInfo, Outcome
from coursekit.grading.isolation import Limits
from coursekit.grading.plain import Array, Other, WireError, materialize
from coursekit.grading.rules import resolve_all
from coursekit.grading.withhold import withhold_references

__all__ = ["OutputLimitExceeded", "prepare", "serve"]

_SHELL: Any = None


class OutputLimitExceeded(BaseException):
    """Raised inside student code that prints more than the output limit."""


class _CappedText(io.TextIOBase):
    """A text stream that counts what is printed, keeps none of it, and stops the code at the limit."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.used = 0
        self.tripped = False

    def reset(self) -> None:
        self.used, self.tripped = 0, False

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        size = len(text)
        self.used += size
        if self.used > self.limit and not self.tripped:
            self.tripped = True
            raise OutputLimitExceeded(f"printed more than {self.limit // 1024} KB")
        return size


class _SkippedCheck:
    def __repr__(self) -> str:
        return "check() is skipped while grading: the grader checks every exercise itself."


def _skipped_check(*args: Any, **kwargs: Any) -> _SkippedCheck:
    return _SkippedCheck()


def _no_solution(exercise_id: str, *args: Any, **kwargs: Any) -> Message:
    return Message(f"The solution of {exercise_id} is not available while grading.",
                   "The grader holds no reference solutions where your notebook runs.")


def _no_shell_command(*args: Any, **kwargs: Any) -> None:
    print("(shell commands are not run while grading)")


def prepare() -> None:
    """In the zygote, once: a warm IPython shell, Agg plots, no check(), no solution() and no reference solutions."""
    global _SHELL
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.text import SList
    from traitlets.config import Config

    import coursekit
    import coursekit.grading

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    # no shell escapes: `!cmd` and `x = !cmd` do nothing (instance attributes shadow the methods)
    setattr(shell, "system", _no_shell_command)  # noqa: B010
    setattr(shell, "getoutput", lambda *args, **kwargs: SList())  # noqa: B010
    for magic in ("matplotlib", "pylab"):  # keep the Agg backend: figures are never rendered
        shell.register_magic_function(lambda line: None, "line", magic)  # type: ignore[arg-type]  # IPython's decorator typing
    check_module = sys.modules["coursekit.grading.check"]
    for holder in (coursekit, coursekit.grading, check_module):
        setattr(holder, "check", _skipped_check)  # noqa: B010
        setattr(holder, "solution", _no_solution)  # noqa: B010
    for exercise in registry.all_exercises():
        resolve_all(exercise.rules)  # imports torch.func and friends once, here, not in every worker
    withhold_references()
    # draw once so fonts, the text engine and the PNG writer are loaded before any fork
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1], label="warm")
    ax.set_title(r"$\nabla f(x)$ warm-up")
    ax.legend()
    fig.savefig(io.BytesIO(), format="png")
    plt.close("all")
    # one typical first cell, so IPython's lazy set-up happens here once instead of in every worker;
    # the namespace is then put back exactly as it was
    names = dict(shell.user_ns)
    shell.run_cell(_WARM_CELL, store_history=False, silent=True)
    shell.user_ns.clear()
    shell.user_ns.update(names)
    _SHELL = shell


_WARM_CELL = """\
import math
import numpy as np
import torch
import matplotlib.pyplot as plt
from coursekit import check, hint, solution


def warm(x):
    return torch.where(x > 0, x, 0.5 * x)


warm(torch.linspace(-1.0, 1.0, 5))
"""


def _error_text(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    try:
        lines = traceback.format_exception_only(type(exc), exc)
        text = lines[-1].strip() if lines else type(exc).__name__
    except BaseException:  # noqa: BLE001 - a hostile exception may break its own formatting
        text = "an exception that could not be described"
    return text[:400]


def _only_the_worker(pid: int) -> None:
    # a process the student's code forked comes back here: it must not answer for the worker
    if os.getpid() != pid:
        os._exit(0)


def _run_cells(conn: socket.socket, cells: list[Any], out: _CappedText, pid: int) -> None:
    import matplotlib.pyplot as plt

    for index, source in cells:
        send(conn, {"event": "cell", "index": index})
        out.reset()
        sys.stdout = sys.stderr = out
        try:
            result = _SHELL.run_cell(source, store_history=False, silent=True)
            error = _error_text(result.error_before_exec or result.error_in_exec)
        except BaseException as exc:  # noqa: BLE001 - student code may raise through IPython
            error = _error_text(exc)
        _only_the_worker(pid)
        if out.tripped:
            error = f"OutputLimitExceeded: printed more than {out.limit // 1024} KB"
        try:
            plt.close("all")
        except BaseException:  # noqa: BLE001 - the student may have broken pyplot
            pass
        send(conn, {"event": "cell_done", "index": index, "error": error})
    send(conn, {"event": "cells_done"})


def _size(value: Any) -> int:
    if isinstance(value, Array):
        return int(value.data.nbytes)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    return 0


def _answer(conn: socket.socket, number: int, outcome: Outcome, limits: Limits, origin: str) -> None:
    value = outcome.value
    size = _size(value)
    if size > limits.result_mb * 2**20:
        value = Other(f"result of {size / 2**20:.0f} MB (over the {limits.result_mb} MB limit)")
    error = [outcome.error.type_name, outcome.error.last_line] if outcome.error else None
    payload = {"value": value, "error": error, "mutated": [str(m) for m in outcome.mutated][:20],
               "warnings": [str(w)[:300] for w in outcome.warnings][:20], "violation": str(outcome.violation)[:500],
               "restored": [str(m) for m in outcome.restored][:20], "origin": origin}
    try:
        send(conn, {"event": "case", "number": number}, payload)
    except WireError as exc:
        payload["value"] = Other("result", str(exc)[:200])
        send(conn, {"event": "case", "number": number}, payload)


_COURSEKIT = os.path.dirname(os.path.abspath(sys.modules["coursekit"].__file__ or "")) + os.sep


def _origin(candidate: Any) -> str:
    """The course function the learner's object is (e.g. coursekit.engine.vjps.mul_vjp), or ""."""
    try:
        while isinstance(candidate, (functools.partial, types.MethodType)):
            candidate = candidate.func if isinstance(candidate, functools.partial) else candidate.__func__
        code = candidate.__code__ if isinstance(candidate, types.FunctionType) else None
        if code is None or not code.co_filename.startswith(_COURSEKIT):
            return ""
        module = code.co_filename[len(_COURSEKIT):].removesuffix(".py").replace(os.sep, ".")
        if module.startswith("grading."):  # the grader's own stand-ins (a withheld reference): nothing to flag
            return ""
        return f"coursekit.{module}.{code.co_qualname}".replace(".__init__.", ".")
    except BaseException:  # noqa: BLE001 - a hostile object may break attribute access
        return ""


def _run_case(conn: socket.socket, exercise_id: str, number: int, data: Any, out: _CappedText, limits: Limits,
              pid: int) -> None:
    """Call the learner's object on the one case the grader sent, and answer; nothing of it is kept."""
    missing = object()
    candidate = _SHELL.user_ns.get(exercise_id, missing)
    if candidate is missing:
        send(conn, {"event": "missing", "number": number})
        return
    exercise = registry.get(exercise_id)
    out.reset()
    sys.stdout = sys.stderr = out
    try:
        args, kwargs, hidden, extra = data
        case = Case(tuple(materialize(args)), dict(materialize(kwargs)), "", bool(hidden),
                    gradient=bool(extra.get("gradient")), grad_output=materialize(extra.get("grad_output")))
        rules = tuple(i for i in extra.get("rules", ()) if isinstance(i, int) and 0 <= i < len(exercise.rules))
        del args, kwargs, data
        outcome = run_case(exercise, case, candidate, rules=rules)
        del case
    except BaseException as exc:  # noqa: BLE001 - e.g. a result whose conversion raises
        outcome = Outcome(error=ErrorInfo(type(exc).__name__, f"the result could not be read: {_error_text(exc)}"))
    _only_the_worker(pid)
    if out.tripped:
        outcome = Outcome(error=ErrorInfo("OutputLimitExceeded", f"printed more than {out.limit // 1024} KB"))
    _answer(conn, number, outcome, limits, "" if exercise.kind == "value" else _origin(candidate))


def serve(conn: socket.socket, *, limits: Limits, isolation: list[str]) -> NoReturn:
    """The worker's loop: answer the grader's requests until it says goodbye (never returns)."""
    pid = os.getpid()
    torch.set_num_threads(1)
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    out = _CappedText(limits.output_kb * 1024)
    send(conn, {"event": "hello", "isolation": isolation})
    while True:
        try:
            meta, data = receive(conn)
        except BaseException:  # noqa: BLE001 - the grader went away
            os._exit(0)
        op = meta.get("op")
        try:
            if op == "cells":
                _run_cells(conn, data, out, pid)
            elif op == "case":
                _run_case(conn, str(meta.get("id")), int(meta.get("number", -1)), data, out, limits, pid)
            else:
                os._exit(0)
        except BaseException:  # noqa: BLE001 - the connection broke or the student broke this process
            _only_the_worker(pid)
            os._exit(3)
