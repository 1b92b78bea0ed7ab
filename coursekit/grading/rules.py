"""The one guard that enforces an exercise's rules while the learner's code runs.

`RuleGuard` is a `torch.overrides.TorchFunctionMode`: while it is active, every call of a torch
function or tensor method made by the learner's code passes through it, so it sees
`torch.softmax(z)`, `z.softmax(...)`, `F.softmax(...)` and `nn.Softmax()(z)` alike, and every
backward call with its arguments. A few torch helpers are plain Python that never reach the
mode (`torch.autograd.functional.hessian`, `torch.func.jacrev`); a forbidden one of those is
recognised by its code object through a profile hook, set only while such a rule is watched.
The guard only records; it never raises into the learner's code (a `try`/`except` there cannot
hide a broken rule) and never changes a result. check() and the batch grader's worker both call
the learner's function through `guarded_call`, so a rule means the same in the notebook and in
the gradebook.

Calls made by the course's own helpers (functions passed to the learner as case inputs, such as
the f of numerical_gradient(f, x)) are not the learner's and are not recorded.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from coursekit.exercises.model import NamedFunction
from coursekit.exercises.rules import AUTOGRAD_CALLS, Rule
from coursekit.i18n import _

__all__ = ["RuleGuard", "display_name", "guarded_call", "resolve", "resolve_all"]

# Creating a leaf that requires grad, or asking for gradients, is building on autograd.
_GRAPH_STARTERS = ("torch.Tensor.requires_grad_", *AUTOGRAD_CALLS)


@functools.cache
def resolve(name: str) -> Any:
    """The torch callable a qualified name such as "torch.nn.functional.softmax" stands for."""
    if not name.startswith("torch."):
        raise ValueError(f"Rule names are torch callables such as 'torch.softmax', not {name!r}.")
    obj: Any = torch
    for part in name.split(".")[1:]:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{name!r} names nothing in this version of PyTorch ({torch.__version__}).") from None
    return obj


def display_name(name: str) -> str:
    """How messages write a callable: F.softmax, Tensor.softmax, torch.softmax."""
    return name.replace("torch.nn.functional.", "F.").replace("torch.Tensor.", "Tensor.")


def _keys(names: Iterable[str]) -> dict[Any, str]:
    return {resolve(n): n for n in names}


def _unseen_by_the_mode(obj: Any) -> bool:
    """A pure-Python torch helper that never calls handle_torch_function, so a TorchFunctionMode misses it."""
    code = getattr(obj, "__code__", None)
    return inspect.isfunction(obj) and code is not None and "handle_torch_function" not in code.co_names


def resolve_all(rules: Iterable[Rule]) -> None:
    """Resolve every name the rules use now (importing what they live in), e.g. before a grader forks."""
    for rule in rules:
        for name in rule.names:
            resolve(name)


def _builds_graph(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return any(isinstance(v, torch.Tensor) and v.requires_grad for v in value)
    return False


@functools.cache
def _signature(func: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(func)
    except (TypeError, ValueError):
        return None


def _asks_create_graph(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a backward call passes create_graph=True, by keyword or by position."""
    signature = _signature(func)
    try:
        bound = signature.bind(*args, **kwargs) if signature is not None else None
    except TypeError:
        bound = None
    return bool((bound.arguments if bound is not None else kwargs).get("create_graph"))


class RuleGuard(TorchFunctionMode):
    """Records, for one call of the learner's code, every torch call that one of `rules` is about."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        super().__init__()
        self.rules = tuple(rules)
        kinds = {r.kind for r in self.rules}
        self._forbidden = [(i, _keys(r.names)) for i, r in enumerate(self.rules) if r.kind == "forbid"]
        # forbidden plain-Python helpers, watched by code object: code -> (rule index, name)
        self._codes = {obj.__code__: (i, keys[obj]) for i, keys in self._forbidden for obj in keys
                       if _unseen_by_the_mode(obj)}
        self._previous_profile: Any = None
        self._limited = [(r, _keys(r.names)) for r in self.rules if r.kind == "calls_at_most"]
        self._counts: list[Counter[str]] = [Counter() for _ in self._limited]
        self._watch_graph = "no_autograd" in kinds
        self._autograd = _keys(AUTOGRAD_CALLS)
        self._starters = _keys(_GRAPH_STARTERS)
        self._forbidden_calls: dict[int, str] = {}  # rule index -> the first forbidden callable the code called
        self.graph_built = ""  # what first built an autograd graph, for "no autograd"
        self.backward_calls = 0
        self.create_graph_calls = 0
        self._paused = 0

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if self._paused:
            return func(*args, **kwargs)
        try:
            self._record(func, args, kwargs)
        except TypeError:  # an unhashable callable is none of the ones the rules name
            pass
        result = func(*args, **kwargs)
        if self._watch_graph and not self.graph_built and _builds_graph(result):
            made_by = getattr(func, "__name__", None) or _("a torch call")
            self.graph_built = _("your code made a tensor that requires grad (with {call})").format(call=made_by)
        return result

    def _record(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for index, keys in self._forbidden:
            if func in keys and index not in self._forbidden_calls:
                self._forbidden_calls[index] = keys[func]
        for i, (_rule, keys) in enumerate(self._limited):
            if func in keys:
                self._counts[i][keys[func]] += 1
        if func in self._autograd:
            self.backward_calls += 1
            if _asks_create_graph(func, args, kwargs):
                self.create_graph_calls += 1
        if self._watch_graph and not self.graph_built and func in self._starters:
            self.graph_built = _("your code called {call}").format(call=display_name(self._starters[func]))

    def __enter__(self) -> RuleGuard:
        if self._codes:
            self._previous_profile = sys.getprofile()
            sys.setprofile(self._profile)
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        if self._codes:
            sys.setprofile(self._previous_profile)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call" and not self._paused:
            hit = self._codes.get(frame.f_code)
            if hit is not None and hit[0] not in self._forbidden_calls:
                self._forbidden_calls[hit[0]] = hit[1]

    def paused(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn`, wrapped so that the torch calls it makes are not recorded (a course helper's own work)."""
        def call(*args: Any, **kwargs: Any) -> Any:
            self._paused += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self._paused -= 1
        return call

    def broken(self) -> list[tuple[int, str]]:
        """(index in `rules`, learner-facing message) for every rule the recorded calls broke, in rule order."""
        found = []
        limited = iter(zip(self._limited, self._counts, strict=True))
        for index, rule in enumerate(self.rules):
            detail = ""
            if rule.kind == "forbid" and index in self._forbidden_calls:
                detail = _("Your code called {call}.").format(call=display_name(self._forbidden_calls[index]))
            elif rule.kind == "no_autograd" and self.graph_built:
                detail = _("Instead, {what}.").format(what=self.graph_built)
            elif rule.kind == "use_autograd" and self.backward_calls == 0:
                detail = _("Your code never ran a backward pass (no backward() or torch.autograd.grad).")
            elif rule.kind == "create_graph" and self.create_graph_calls == 0:
                detail = _("Your code never called autograd with create_graph=True.")
            elif rule.kind == "calls_at_most":
                _rule, counts = next(limited)
                if sum(counts.values()) > rule.limit:
                    calls = ", ".join((_("{call} {count} times") if k > 1 else _("{call} {count} time")).format(
                        call=display_name(n), count=k) for n, k in counts.items())
                    detail = _("Your code called {calls} (at most {limit} in all).").format(calls=calls,
                                                                                           limit=rule.limit)
            if detail:
                found.append((index, rule.message(detail)))
        return found

    def violation(self) -> str:
        """The message of the first rule the recorded calls broke, or "" when every rule held."""
        broken = self.broken()
        return broken[0][1] if broken else ""


def _unwatched(value: Any, guard: RuleGuard) -> Any:
    """Case inputs with the course's helper functions wrapped so their own torch calls are not recorded."""
    if isinstance(value, NamedFunction):
        return dataclasses.replace(value, fn=guard.paused(value.fn))
    return value


def guarded_call(rules: tuple[Rule, ...], fn: Callable[..., Any], args: Iterable[Any],
                 kwargs: dict[str, Any]) -> tuple[Any, RuleGuard | None]:
    """Call `fn(*args, **kwargs)` under the rules: its result, and the guard that watched it (None if no rules)."""
    if not rules:
        return fn(*args, **kwargs), None
    guard = RuleGuard(rules)
    args = [_unwatched(a, guard) for a in args]
    kwargs = {k: _unwatched(v, guard) for k, v in kwargs.items()}
    with guard:
        result = fn(*args, **kwargs)
    return result, guard
