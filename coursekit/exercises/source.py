"""Answer sources built from the bank: an exercise's reference, or its unanswered stub, as notebook code.

`reference_source` makes a self-contained cell (imports, the bank's helpers the reference
calls, then the reference itself under the exercise's name): what a learner who got
everything right would hand in. Helpers from any exercise module are written out, never
imported: the grader's worker holds none of the exercise modules' functions. Tests and
benchmarks grade such cells through the batch path; an instructor can use them as an answer key.
"""

from __future__ import annotations

import builtins
import inspect
import sys
import textwrap
import types
from typing import Any

from coursekit.exercises.model import Exercise

__all__ = ["reference_source", "stub_source"]


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def reference_source(exercise: Exercise) -> str:
    """Source that defines the learner's object from the reference's own source (inspect.getsource)."""
    fn = exercise.reference
    if fn.__name__ == "<lambda>":
        if exercise.kind == "value":
            return f"{exercise.id} = {exercise.reference()!r}"
        raise ValueError(f"the reference of {exercise.id} is a lambda; give it a def so it has a source")
    imports: list[str] = []
    bodies: list[str] = []
    aliases: list[str] = []
    seen: set[int] = set()

    def need(f: Any) -> None:
        if id(f) in seen:
            return
        seen.add(id(f))
        module_globals = f.__globals__
        for name in sorted(_global_names(f.__code__)):
            if name not in module_globals or hasattr(builtins, name):
                continue
            obj = module_globals[name]
            if isinstance(obj, types.ModuleType):
                imports.append(f"import {obj.__name__} as {name}")
            elif inspect.isfunction(obj) and obj.__module__.startswith("coursekit.exercises.") and \
                    obj.__name__ != "<lambda>":
                need(obj)
                if obj.__name__ != name:
                    aliases.append(f"{name} = {obj.__name__}")
            elif getattr(sys.modules.get(getattr(obj, "__module__", ""), None), getattr(obj, "__qualname__", ""),
                         None) is obj and obj is not None:
                imports.append(f"from {obj.__module__} import {obj.__qualname__} as {name}")
            else:
                imports.append(f"{name} = {obj!r}")
        bodies.append(textwrap.dedent(inspect.getsource(f)))

    need(fn)
    tail = f"{exercise.id} = {fn.__name__}()" if exercise.kind == "value" else \
        ("" if fn.__name__ == exercise.id else f"{exercise.id} = {fn.__name__}")
    # annotations stay unevaluated, as in the topic modules themselves
    header = "from __future__ import annotations\n" + "\n".join(dict.fromkeys(imports))
    body = "\n\n".join(bodies) + "".join(f"\n{line}" for line in dict.fromkeys(aliases))
    return header + "\n\n" + body + "\n" + tail + "\n"


def stub_source(exercise: Exercise) -> str:
    """The committed notebook's stub for an exercise."""
    if exercise.kind == "value":
        return f"{exercise.id} = None\n"
    return f"def {exercise.id}(*args, **kwargs):\n    raise NotImplementedError\n"
