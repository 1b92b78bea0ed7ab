"""An instructor's private exercises, added to the course's (or replacing some) for one grading run.

    coursekit grade submitted/ --out grades --seed 2024 --bank ~/private/hw3_bank.py

A bank is a Python file, or a package (a folder with `__init__.py`), written with the course's
own API: `from coursekit.exercises import Case, Exercise, Mistake, register`, then
`register(Exercise(...))` for each exercise. An exercise whose id is a course exercise's
replaces it for the run; the others are added to the notebook their `notebook` names (a course
notebook, or one of the instructor's own).

`load_bank` runs the bank here, in the grader's trusted process, and only here:

- the worker never imports it: the zygote is told, per private exercise, only what a withheld
  course exercise keeps there (id, kind, rules, the names of its inputs; see
  `coursekit.grading.withhold.describe`), never its reference, cases, hints or mistakes;
- no bytecode is written next to it, and the files are hidden from the worker even where they lie
  inside a folder the worker sees (the Python installation); the grader refuses to use a bank on a
  machine where workers can read the file system (no namespaces; see `exposure`);
- case inputs travel as plain data, so a function handed to the learner's code must be one of the
  course's named functions (`coursekit.exercises.functions`): the worker holds those and no other.

Every problem with a bank is a `BankError` naming the file (and line), raised before any
submission is graded.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.exercises import functions, registry
from coursekit.exercises.model import Exercise
from coursekit.grading.plain import Array, FunctionRef, Other, encode
from coursekit.grading.printable import printable

__all__ = ["Bank", "BankError", "check_sandbox", "exercises_of", "exposure", "load_bank", "refuse_if_exposed",
           "with_bank"]

_CHECK_SEED = 0  # hidden cases are drawn once at load time too, so a broken generator is caught up front


class BankError(ValueError):
    """A private bank that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Bank:
    """A loaded private bank: its exercises, its source files and their digest."""

    path: Path
    exercises: tuple[Exercise, ...]
    files: tuple[Path, ...]
    sha256: str  # of every source file's name and bytes: a changed bank never reuses the journal's grades

    def meta(self) -> dict[str, Any]:
        """What gradebook.meta.json records of the bank (never its contents)."""
        return {"path": str(self.path), "sha256": self.sha256, "exercises": [e.id for e in self.exercises]}


def _files(path: Path) -> tuple[tuple[Path, ...], Path, list[str] | None]:
    """(the files, the file to import, the package's search path) of a bank file or package."""
    if path.is_dir():
        init = path / "__init__.py"
        if not init.is_file():
            raise BankError(f"--bank {printable(path)} is a folder without __init__.py: give a Python file, or a "
                            "package folder.")
        files = sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        return tuple(files), init, [str(path)]
    if path.suffix != ".py" or not path.is_file():
        raise BankError(f"--bank {printable(path)} is not a Python file (.py) or a package folder.")
    return (path,), path, None


def _digest(files: tuple[Path, ...], base: Path) -> str:
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(base)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _where(exc: BaseException, files: tuple[Path, ...]) -> str:
    if isinstance(exc, SyntaxError) and exc.filename:
        return f" (line {exc.lineno} of {printable(exc.filename)})"
    ours = {str(f) for f in files}
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in ours]
    return f" (line {frames[-1].lineno} of {printable(frames[-1].filename)})" if frames else ""


def _plain_only(value: Any) -> str:
    """What in an encoded case input could not travel to the worker, or ""."""
    if isinstance(value, Other):
        return f"an object of type {value.type_name}"
    if isinstance(value, FunctionRef):
        try:
            functions.lookup(value.name)
        except KeyError:
            return f"the function {value.name!r}"
        return ""
    if isinstance(value, (list, tuple)):
        return next((p for p in map(_plain_only, value) if p), "")
    if isinstance(value, dict):
        return next((p for p in map(_plain_only, value.values()) if p), "")
    return ""


def _validate(exercise: Exercise, path: Path) -> None:
    """Build the exercise's cases (hidden ones for a test seed) and expected answers, as grading will."""
    where = f"--bank {printable(path)}: private exercise {exercise.id!r}"
    try:
        cases = exercise.cases(hidden_seed=_CHECK_SEED)
    except Exception as exc:  # noqa: BLE001 - the instructor's code: any error is reported, never raised through
        raise BankError(f"{where}: its cases could not be built ({type(exc).__name__}: {printable(exc)})") from None
    if not cases:
        raise BankError(f"{where} has no cases: give public_cases (and hidden_cases) so it can be graded.")
    for number, case in enumerate(cases, start=1):
        inputs = encode((tuple(case.args), dict(case.kwargs)), keep_dtype=True)
        odd = _plain_only(inputs)
        if odd:
            raise BankError(f"{where}: case {number} passes {odd} to the learner's code. Case inputs travel to the "
                            "grading worker as plain data: tensors, arrays, numbers, strings, lists, tuples and "
                            "dicts of them, or one of the course's named functions (coursekit.exercises.functions).")
        try:
            expected = encode(exercise.expected(case))
        except Exception as exc:  # noqa: BLE001 - the instructor's reference
            raise BankError(f"{where}: its reference raised {type(exc).__name__} on case {number}: "
                            f"{printable(exc)}") from None
        if isinstance(expected, Other) or not isinstance(expected, (Array, int, float, bool, str, list, tuple, dict,
                                                                    type(None))):
            raise BankError(f"{where}: its reference returns {getattr(expected, 'type_name', type(expected).__name__)}"
                            f" on case {number}, which the grader cannot compare.")


def load_bank(path: Path | str) -> Bank:
    """Import an instructor's bank (file or package) without touching the course's registry; raises BankError."""
    path = Path(os.path.abspath(Path(path).expanduser()))
    if not path.exists():
        raise BankError(f"--bank {printable(path)}: no such file or folder.")
    files, location, search = _files(path)
    sha256 = _digest(files, path if path.is_dir() else path.parent)
    name = f"coursekit_private_bank_{sha256[:16]}"
    spec = importlib.util.spec_from_file_location(name, location, submodule_search_locations=search)
    if spec is None or spec.loader is None:
        raise BankError(f"--bank {printable(path)} cannot be imported as Python.")
    module = importlib.util.module_from_spec(spec)
    named_before = set(functions.registered())
    modules_before = set(sys.modules)
    sys.modules[name] = module
    writing, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ next to the bank
    try:
        with registry.collecting() as found:
            spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the instructor's code: any error becomes a message
        for loaded in set(sys.modules) - modules_before:
            sys.modules.pop(loaded, None)
        raise BankError(f"--bank {printable(path)}: loading it raised {type(exc).__name__}: "
                        f"{printable(exc)}{_where(exc, files)}") from None
    finally:
        sys.dont_write_bytecode = writing
    added = sorted(set(functions.registered()) - named_before)
    if added:
        for extra in added:
            functions._FUNCTIONS.pop(extra, None)
        raise BankError(f"--bank {printable(path)} registers case functions ({', '.join(added)}). A function handed "
                        "to the learner's code travels to the grading worker by name, and the worker holds only the "
                        "course's (coursekit.exercises.functions); pass data instead, or one of: "
                        f"{', '.join(functions.registered())}.")
    if not found:
        raise BankError(f"--bank {printable(path)} registers no exercise: call "
                        "coursekit.exercises.register(Exercise(...)) for each of its exercises.")
    for exercise in found.values():
        _validate(exercise, path)
    return Bank(path, tuple(found.values()), files, sha256)


def with_bank(course: list[Exercise], bank: Bank | None) -> list[Exercise]:
    """The course's exercises with the bank's replacing those of the same id, then the bank's new ones."""
    if bank is None:
        return list(course)
    private = {e.id: e for e in bank.exercises}
    ids = {e.id for e in course}
    return [private.get(e.id, e) for e in course] + [e for e in bank.exercises if e.id not in ids]


def exercises_of(notebook: str, exercises: list[Exercise]) -> list[Exercise]:
    """The exercises of one notebook among `exercises`; an unknown notebook raises UnknownExerciseError."""
    found = [e for e in exercises if e.notebook == notebook]
    if not found:
        known = sorted({e.notebook for e in exercises})
        close = difflib.get_close_matches(notebook, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(known)}."
        raise registry.UnknownExerciseError(f"No exercises for notebook {notebook!r}.{hint}")
    return found


def check_sandbox(bank: Bank, held: list[str]) -> None:
    """Refuse a sandbox (given to grade()) whose zygote was not told this bank's exercises."""
    if sorted(held) != sorted(e.id for e in bank.exercises):
        raise BankError("the sandbox given to grade() was not started with this bank's exercises: pass "
                        "Sandbox(private=[describe(e) for e in bank.exercises], hidden=[bank.path]), or no sandbox.")


def refuse_if_exposed(bank: Bank, *, namespaced: bool) -> None:
    """Raise BankError when the grading worker could read the bank's files on this machine."""
    exposed = exposure(bank, namespaced=namespaced)
    if exposed:
        raise BankError(f"--bank is not used here: {exposed}. Grade with a private bank on a machine where the "
                        "workers get namespaces (gradebook.meta.json's isolation lists them), or as root.")


def exposure(bank: Bank, *, namespaced: bool) -> str:
    """Why the grading worker could read the bank's files on this machine, or "" when it cannot."""
    if namespaced:
        return ""  # a private root with the Python installation only, the bank's files hidden in it
    if os.geteuid() != 0:
        return ("the grading sandbox has no namespaces on this machine, so students' code runs as your user and "
                "can read the bank's files")
    readable = [f for f in bank.files if os.stat(f).st_mode & 0o004]
    if readable:
        return (f"the grading sandbox has no namespaces here and {printable(readable[0])} is readable by every user "
                "(the workers' own uid too): chmod o-r it")
    return ""
