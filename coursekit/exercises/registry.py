"""The registry of exercises: look one up by id (with "did you mean"), list them by notebook."""

from __future__ import annotations

import difflib

from coursekit.exercises.model import Exercise
from coursekit.i18n import _

__all__ = ["UnknownExerciseError", "all_exercises", "by_notebook", "get", "notebooks", "register"]

_REGISTRY: dict[str, Exercise] = {}


class UnknownExerciseError(KeyError):
    """Raised by get() for an id that is not in the bank; the message suggests the closest ids."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


def register(exercise: Exercise) -> Exercise:
    """Add an exercise to the bank; ids are unique across the whole course."""
    if exercise.id in _REGISTRY and _REGISTRY[exercise.id] is not exercise:
        raise ValueError(f"Exercise id {exercise.id!r} is defined twice "
                         f"({_REGISTRY[exercise.id].notebook} and {exercise.notebook}).")
    _REGISTRY[exercise.id] = exercise
    return exercise


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
