"""Named functions that exercises pass to learners' code (e.g. f in numerical_gradient(f, x)).

The batch grader sends a case's functions to the worker by name, so every function
used as a case input is registered here with `named()`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coursekit.exercises.model import NamedFunction

__all__ = ["lookup", "named", "registered"]

_FUNCTIONS: dict[str, NamedFunction] = {}


def named(name: str, fn: Callable[..., Any], formula: str = "") -> NamedFunction:
    """Register `fn` under `name` (idempotent for the same function) and return it as a NamedFunction."""
    existing = _FUNCTIONS.get(name)
    if existing is not None:
        if existing.fn is not fn:
            raise ValueError(f"Two different functions are registered as {name!r}.")
        return existing
    _FUNCTIONS[name] = NamedFunction(name, fn, formula)
    return _FUNCTIONS[name]


def lookup(name: str) -> NamedFunction:
    """The registered function with this name."""
    try:
        return _FUNCTIONS[name]
    except KeyError:
        raise KeyError(f"No case function named {name!r} is registered.") from None


def registered() -> list[str]:
    """Names of every registered case function."""
    return sorted(_FUNCTIONS)
