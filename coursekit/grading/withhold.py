"""The exercise bank as the grading worker holds it: every exercise's contract, none of its answers.

The zygote imports every coursekit module before it forks workers, so without this a learner's
`from coursekit.exercises.activations import sigmoid` would score full marks (the empty mount
over the exercise sources hides files, not loaded modules). `withhold_references`, run once in
the zygote, leaves the worker what grading needs: each exercise's id, kind, rules and the names
of its inputs (in the registry), and the functions that cases pass to the learner's code by name
with what they use (`coursekit.exercises.functions`). Everything else the topic modules held
(references, the analytic derivatives, the known-wrong implementations, case builders, constants)
is deleted and garbage-collected, so it is not in the worker's memory at all; each topic module in
`sys.modules` becomes a stand-in whose every name raises `ReferenceWithheld`.

An instructor's private exercises (`coursekit.grading.bank`) are never imported where the worker
runs: `describe` reduces each to the same plain facts a withheld exercise keeps, sent to the
zygote as data, and `hold_private` registers the stand-ins built from them there.

The infrastructure modules (model, registry, cases, functions, rules, source) stay whole; they hold
no answers. The course engine of notebook 08 (`coursekit.engine`) stays too: its operations run the
notebook's demonstrations and the learner's own backward passes. Several of its functions are what
notebook 08 asks for, so an answer that is one of them is flagged for the instructor instead
(the worker reports the origin of the learner's object; see `coursekit.grading.batch`).
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import inspect
import linecache
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from coursekit.exercises import functions, registry
from coursekit.exercises.model import Exercise, NamedFunction
from coursekit.exercises.rules import Rule
from coursekit.grading.rules import resolve_all

__all__ = ["KEPT_MODULES", "ReferenceWithheld", "describe", "hold_private", "needed_names", "withhold_references",
           "withheld_exercise"]

PACKAGE = "coursekit.exercises"
#: modules of the bank that hold no answers and stay whole in the worker
KEPT_MODULES = frozenset(f"{PACKAGE}.{name}" for name in ("model", "registry", "cases", "functions", "rules",
                                                           "source"))


class ReferenceWithheld(ImportError):
    """A name of an exercise module was asked for in the grading worker, where the modules hold no answers."""


class _WithheldModule(types.ModuleType):
    """What a topic module is in the worker: every name raises ReferenceWithheld (so does importing one)."""

    def __init__(self, name: str, exercises: frozenset[str]) -> None:
        super().__init__(name, "Not available while grading.")
        self.__dict__["_exercises"] = exercises

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self.__dict__["_exercises"]:
            raise ReferenceWithheld(f"The reference solution of {name} is not available while grading: the "
                                    f"grader holds no solutions where your notebook runs ({self.__name__}).")
        raise ReferenceWithheld(f"{self.__name__}.{name} is not available while grading: the exercise modules hold "
                                "no solutions where your notebook runs.")


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _bank_module(obj: Any) -> str | None:
    """The exercise module whose globals a function runs in, if any."""
    name = getattr(obj, "__globals__", {}).get("__name__", "")
    return name if name.startswith(PACKAGE + ".") and name not in KEPT_MODULES else None


def needed_names(roots: Iterable[Any]) -> dict[str, set[str]]:
    """Module -> the global names of that exercise module that `roots` (case functions) use, directly or through
    the functions, classes, closures and defaults they reach."""
    needed: dict[str, set[str]] = {}
    stack, seen = list(roots), set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None), types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, NamedFunction):
            stack.append(obj.fn)
        elif isinstance(obj, functools.partial):
            stack += [obj.func, *obj.args, *obj.keywords.values()]
        elif isinstance(obj, types.MethodType):
            stack.append(obj.__func__)
        elif isinstance(obj, (tuple, list, set, frozenset)):
            stack += list(obj)
        elif isinstance(obj, dict):
            stack += list(obj.values())
        elif isinstance(obj, type) and (obj.__module__ or "").startswith(PACKAGE + "."):
            stack += list(vars(obj).values())
        elif isinstance(obj, (staticmethod, classmethod)):
            stack.append(obj.__func__)
        elif inspect.isfunction(obj):
            stack += [cell.cell_contents for cell in obj.__closure__ or () if _filled(cell)]
            stack += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
            module = _bank_module(obj)
            if module is not None:
                found = needed.setdefault(module, set())
                for name in _global_names(obj.__code__) & set(obj.__globals__):
                    found.add(name)
                    stack.append(obj.__globals__[name])
    return needed


def _filled(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018 - an empty cell raises
    except ValueError:
        return False
    return True


def _no_cases() -> list[Any]:
    return []


def _no_hidden_cases(rng: Any) -> list[Any]:
    return []


def _inputs(exercise: Exercise) -> list[tuple[str, int]] | None:
    """The names and kinds of the reference's parameters (none of its defaults), or None if it has no signature."""
    try:
        return [(p.name, int(p.kind)) for p in inspect.signature(exercise.reference).parameters.values()]
    except (TypeError, ValueError):
        return None


def _stand_in(exercise_id: str, inputs: list[tuple[str, int]] | None) -> Callable[..., Any]:
    """A reference that raises ReferenceWithheld and keeps only the input names (messages name inputs by them)."""

    def reference(*args: Any, **kwargs: Any) -> Any:
        raise ReferenceWithheld(f"The reference solution of {exercise_id} is not available while grading.")

    if inputs is not None:
        reference.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect._ParameterKind(kind)) for name, kind in inputs])
    reference.__name__ = reference.__qualname__ = exercise_id
    return reference


def withheld_exercise(exercise: Exercise) -> Exercise:
    """The exercise as the worker holds it: id, kind, rules, tolerances and the names of its inputs only."""
    return dataclasses.replace(exercise, reference=_stand_in(exercise.id, _inputs(exercise)), public_cases=_no_cases,
                               hidden_cases=_no_hidden_cases, mistakes=(), derivative=None)


def describe(exercise: Exercise) -> dict[str, Any]:
    """A private exercise as plain data for the zygote: what the worker's stand-in of it holds, nothing more."""
    return {"id": exercise.id, "notebook": exercise.notebook, "title": exercise.title, "kind": exercise.kind,
            "inputs": _inputs(exercise), "rules": [dataclasses.asdict(rule) for rule in exercise.rules]}


def hold_private(descriptions: list[dict[str, Any]]) -> list[str]:
    """In the zygote, after `withhold_references`: register a stand-in for each private exercise; returns the ids."""
    held = []
    for item in descriptions:
        rules = tuple(Rule(r["kind"], r["text"], tuple(r.get("names", ())), int(r.get("limit", 0)))
                      for r in item.get("rules", ()))
        inputs = item.get("inputs")
        stand_in = Exercise(str(item["id"]), str(item["notebook"]), str(item["title"]),
                            reference=_stand_in(str(item["id"]), [(str(n), int(k)) for n, k in inputs]
                                                if inputs is not None else None),
                            public_cases=_no_cases, hidden_cases=_no_hidden_cases, kind=item["kind"], rules=rules)
        resolve_all(rules)  # the torch callables they name, looked up once here rather than in every worker
        registry._REGISTRY[stand_in.id] = stand_in
        held.append(stand_in.id)
    return held


def withhold_references() -> list[str]:
    """In the zygote, before any fork: drop every answer from the exercise modules; returns the modules withheld.

    Raises ValueError if a case function needs a reference solution (the bank's tests keep that from happening).
    """
    package = sys.modules[PACKAGE]
    exercises = registry.all_exercises()
    references = {id(e.reference): e.id for e in exercises}
    needed = needed_names(functions.lookup(name) for name in functions.registered())
    for module, names in needed.items():
        for name in names:
            owner = references.get(id(sys.modules[module].__dict__[name]))
            if owner is not None:
                raise ValueError(f"a case function needs {module}.{name}, the reference solution of {owner}: case "
                                 "inputs must not use a reference, which the grading worker does not hold")
    for exercise in exercises:
        registry._REGISTRY[exercise.id] = withheld_exercise(exercise)
    ids = frozenset(e.id for e in exercises)
    withheld = sorted(name for name in sys.modules if name.startswith(PACKAGE + ".") and name not in KEPT_MODULES)
    for name in withheld:
        namespace = sys.modules[name].__dict__
        keep = needed.get(name, set())
        for key in [k for k in namespace if k not in keep and not k.startswith("__")]:
            del namespace[key]
        stand_in = _WithheldModule(name, ids)
        sys.modules[name] = stand_in
        setattr(package, name.rsplit(".", 1)[1], stand_in)
        linecache.cache.pop(namespace.get("__file__") or "", None)
    del exercises, references
    gc.collect()
    return withheld
