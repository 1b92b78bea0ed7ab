"""The exercise bank: one module per notebook, each registering its exercises on import."""

import importlib
import pkgutil

from coursekit.exercises.model import Case, Exercise, Mistake, NamedFunction
from coursekit.exercises.registry import (
    UnknownExerciseError,
    all_exercises,
    by_notebook,
    get,
    notebooks,
    register,
)

_INFRASTRUCTURE = {"model", "registry", "functions", "cases", "rules"}

# Every other module of this package is a topic module (gradients, softmax, ...): import them all.
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name not in _INFRASTRUCTURE and not _info.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "Case",
    "Exercise",
    "Mistake",
    "NamedFunction",
    "UnknownExerciseError",
    "all_exercises",
    "by_notebook",
    "get",
    "notebooks",
    "register",
]
