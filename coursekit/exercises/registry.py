"""The registry of exercises: look one up by id (with "did you mean"), list them by notebook."""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterator

from coursekit.exercises.model import Exercise
from coursekit.i18n import _

__all__ = ["UnknownExerciseError", "all_exercises", "by_notebook", "collecting", "get", "notebooks", "register"]

_REGISTRY: dict[str, Exercise] = {}
_collector: dict[str, Exercise] | None = None


class UnknownExerciseError(KeyError):
    """Raised by get() for an id that is not in the bank; the message suggests the closest ids."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the bank (or to the collection being made, see `collecting`); ids are unique in it."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"register() takes an Exercise, not {type(exercise).__name__}.")
    target = _REGISTRY if _collector is None else _collector
    if exercise.id in target and target[exercise.id] is not exercise:
        raise ValueError(f"Exercise id {exercise.id!r} is defined twice "
                         f"({target[exercise.id].notebook} and {exercise.notebook}).")
    target[exercise.id] = exercise
    return exercise


@contextlib.contextmanager
def collecting() -> Iterator[dict[str, Exercise]]:
    """Within the block, register() adds to the dict it yields instead of the course's bank.

    How an instructor's private bank is loaded (`coursekit.grading.bank`): its exercises may
    reuse a course id (to replace that exercise for one grading run) without touching the course.
    """
    global _collector
    previous, _collector = _collector, {}
    try:
        yield _collector
    finally:
        _collector = previous


def get(exercise_id: str) -> Exercise:
    """The exercise with this id; an unknown id raises with the closest matches."""
    if not isinstance(exercise_id, str):
        raise UnknownExerciseError(
            _("Exercise ids are strings such as 'sigmoid_grad', not {type}.").format(type=type(exercise_id).__name__))
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        pass
    close = difflib.get_close_matches(exercise_id, list(_REGISTRY), n=3, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in _REGISTRY}
        close = [lowered[exercise_id.lower()]] if exercise_id.lower() in lowered else []
    hint = _(" Did you mean {names}?").format(names=_(" or ").join(repr(c) for c in close)) if close else \
        _(" Run `coursekit exercises` to list them all.")
    raise UnknownExerciseError(_("Unknown exercise {id!r}.{hint}").format(id=exercise_id, hint=hint))


def all_exercises() -> list[Exercise]:
    """Every exercise, ordered by notebook and then by definition order."""
    order = {nb: i for i, nb in enumerate(notebooks())}
    return sorted(_REGISTRY.values(), key=lambda e: order[e.notebook])


def notebooks() -> list[str]:
    """The notebooks that have exercises, in course order."""
    return sorted({e.notebook for e in _REGISTRY.values()})


def by_notebook(notebook: str) -> list[Exercise]:
    """The exercises of one notebook (e.g. '03_activations'), in the order they appear."""
    found = [e for e in _REGISTRY.values() if e.notebook == notebook]
    if not found:
        known = notebooks()
        close = difflib.get_close_matches(notebook, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(known)}."
        raise UnknownExerciseError(f"No exercises for notebook {notebook!r}.{hint}")
    return found
