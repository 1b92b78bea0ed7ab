"""The instant in-notebook check(): run an exercise's public cases in the learner's kernel.

check() never raises: whatever it is given, it returns a result that renders as HTML in
Jupyter and as text elsewhere. It leaves the kernel as it found it (random state, default
dtype, grad mode), so running a check never changes what the notebook computes next.
"""

from __future__ import annotations

import html
import inspect
import os
import random
import traceback
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from coursekit.exercises import all_exercises, get
from coursekit.exercises.model import Case, Exercise
from coursekit.grading import private
from coursekit.grading.calls import NoGradient, applicable_rules, call_case
from coursekit.grading.compare import NO_GRADIENT, NOT_ATTEMPTED, ErrorInfo, Outcome, Verdict, contract, judge, tally
from coursekit.grading.plain import Array, encode, materialize
from coursekit.i18n import N_, _

__all__ = ["CheckResult", "Message", "check", "hint", "private_exercises", "rich_text", "run_case", "solution"]

SOLUTIONS_OFF_VAR = "COURSEKIT_NO_SOLUTIONS"
#: the headline of a result, by status
HEADLINES = {"pass": N_("All cases pass"), "not_attempted": N_("Not attempted yet"),
             "usage": N_("check() could not run"), "error": N_("Your code raised an error"), "fail": N_("Not quite")}
_MISSING = object()
_hints_shown: dict[str, int] = {}


@dataclass(frozen=True)
class CheckResult:
    """The outcome of check(): passed/total, points, and the first failure explained."""

    exercise_id: str
    title: str
    passed: int
    total: int
    points: float
    max_points: float
    verdict: Verdict | None = None  # the first case that did not pass
    note: str = ""  # convention the check follows (e.g. ReLU'(0) = 0)

    @property
    def status(self) -> str:
        if self.total and self.passed == self.total:
            return "pass"
        return self.verdict.status if self.verdict else "fail"

    @property
    def headline(self) -> str:
        if self.status == "private":
            return _("Graded by your instructor")
        return _(HEADLINES[self.status])

    def __repr__(self) -> str:
        if self.status == "usage":
            return _("{headline}: {message}").format(headline=self.headline,
                                                     message=self.verdict.message if self.verdict else "")
        if self.status == "private":
            return _("{id}: {headline}. {message}").format(id=self.exercise_id, headline=self.headline,
                                                           message=self.verdict.message if self.verdict else "")
        lines = [_("{id}: {headline}. {passed}/{total} cases, {points}/{max_points} points.").format(
            id=self.exercise_id, headline=self.headline, passed=self.passed, total=self.total,
            points=f"{self.points:g}", max_points=f"{self.max_points:g}")]
        if self.verdict and self.status != "pass":
            lines.append(self.verdict.message)
            if self.verdict.hint:
                lines.append(_("Hint: {hint}").format(hint=self.verdict.hint))
            if self.verdict.explanation is not None:
                lines.append(repr(self.verdict.explanation))
        if self.note:
            lines.append(_("Note: {note}").format(note=self.note))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {"pass": "#009E73", "not_attempted": "#E69F00", "fail": "#D55E00", "error": "#D55E00",
                  "usage": "#0072B2", "private": "#CC79A7"}[self.status]
        icon = {"pass": "&#10004;", "not_attempted": "&#9998;", "fail": "&#10008;", "error": "&#10008;",
                "usage": "&#9432;", "private": "&#128274;"}[self.status]
        parts = [f'<div class="coursekit-check coursekit-{self.status}" style="border-left:4px solid {colour};'
                 f'padding:4px 10px;margin:4px 0;font-family:sans-serif;font-size:13px">',
                 f'<b style="color:{colour}">{icon} {html.escape(self.headline)}</b>']
        if self.status == "private":
            parts.append(f' <code>{html.escape(self.exercise_id)}</code>')
        elif self.status != "usage":
            parts.append(_(" {id}: {passed}/{total} cases, {points}/{max_points} points").format(
                id=f"<code>{html.escape(self.exercise_id)}</code>", passed=self.passed, total=self.total,
                points=f"{self.points:g}", max_points=f"{self.max_points:g}"))
        if self.verdict and self.status != "pass":
            parts.append(f'<div style="margin-top:4px;white-space:pre-wrap">{rich_text(self.verdict.message)}</div>')
            if self.verdict.hint:
                label = html.escape(_("Hint:"))
                parts.append(f'<div style="margin-top:4px"><b>{label}</b> {rich_text(self.verdict.hint)}</div>')
            if self.verdict.explanation is not None:
                parts.append(self.verdict.explanation._repr_html_())
        if self.note:
            parts.append(f'<div style="margin-top:4px;color:#555"><i>{rich_text(self.note)}</i></div>')
        parts.append("</div>")
        return "".join(parts)


def rich_text(text: str) -> str:
    """`text` as HTML, with `backticked` spans shown as code (an unpaired backtick stays as it is)."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:
        return html.escape(text)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(pieces))


@dataclass(frozen=True)
class Message:
    """A short message (a hint, a solution, a usage note) that renders as HTML and as text."""

    title: str
    body: str = ""
    code: bool = False
    lines: tuple[str, ...] = field(default=())

    def __repr__(self) -> str:
        return self.title + ("\n" + self.body if self.body else "")

    def _repr_html_(self) -> str:
        body = ""
        if self.body:
            tag = "pre" if self.code else "div"
            text = html.escape(self.body) if self.code else rich_text(self.body)
            body = f"<{tag} style='margin:4px 0'>{text}</{tag}>"
        return (f"<div class='coursekit-message' style='border-left:4px solid #0072B2;padding:4px 10px;"
                f"font-family:sans-serif;font-size:13px'><b>{html.escape(self.title)}</b>{body}</div>")


@contextmanager
def _kernel_state_preserved():
    """Run learner code without letting it change the notebook's random streams, dtype or grad mode."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    dtype = torch.get_default_dtype()
    grad = torch.is_grad_enabled()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
            torch.set_default_dtype(dtype)
            torch.set_grad_enabled(grad)


def _last_line(exc: BaseException) -> str:
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    # an exception class defined in a module is written with its module: mymodule.MyError: message
    for prefix in (f"{type(exc).__module__}.{type(exc).__qualname__}: ", f"{type(exc).__name__}: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return text if len(text) <= 300 else text[:299].rstrip() + "…"


def _input_names(exercise: Exercise, case: Case) -> list[str]:
    try:
        names = list(inspect.signature(exercise.reference).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i}" for i in range(len(case.args))] + list(case.kwargs)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Array) and isinstance(b, Array):
        return a.shape == b.shape and np.array_equal(a.data, b.data, equal_nan=a.data.dtype.kind == "f")
    return True


def _nearly_same(a: Any, b: Any) -> bool:
    """Changed, but only by rounding: what an input nudged in place and "restored" looks like."""
    if not (isinstance(a, Array) and isinstance(b, Array) and a.shape == b.shape and a.data.dtype.kind == "f"):
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.allclose(a.data, b.data, rtol=1e-9, atol=1e-12, equal_nan=True))


_API_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def run_case(exercise: Exercise, case: Case, candidate: Any, *, rules: tuple[int, ...] | None = None) -> Outcome:
    """Call the learner's object on one case (or take its value) and reduce what happened to plain data.

    `rules` are the indices of the exercise's rules that apply to this case; by default they are
    found by running the reference (the batch worker, which holds no reference, is told them).
    """
    if exercise.kind == "value":
        if callable(candidate) and not isinstance(candidate, torch.Tensor):
            try:
                candidate = candidate()
            except BaseException as exc:  # noqa: BLE001 - learner code
                return Outcome(error=ErrorInfo(type(exc).__name__, _last_line(exc)))
        return Outcome(value=encode(candidate))
    pristine = [encode(a, keep_dtype=True) for a in (*case.args, *case.kwargs.values())]
    args = [materialize(p) for p in pristine[:len(case.args)]]
    kwargs = {k: materialize(p) for k, p in zip(case.kwargs, pristine[len(case.args):], strict=True)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            indices = applicable_rules(exercise, case) if rules is None else rules
            result, violation = call_case(exercise, case, candidate, args, kwargs,
                                          rules=tuple(exercise.rules[i] for i in indices))
        except NoGradient as exc:
            return Outcome(error=ErrorInfo(NO_GRADIENT, str(exc)))
        except BaseException as exc:  # noqa: BLE001 - learner code; KeyboardInterrupt handled by check()
            if isinstance(exc, KeyboardInterrupt):
                raise
            return Outcome(error=ErrorInfo(type(exc).__name__, _last_line(exc)))
    after = [encode(a, keep_dtype=True) for a in (*args, *kwargs.values())]
    names = _input_names(exercise, case)
    changed = [(n, p, a) for n, p, a in zip(names, pristine, after, strict=True) if not _same(p, a)]
    restored = tuple(n for n, p, a in changed if _nearly_same(p, a))
    mutated = tuple(n for n, _before, _after in changed if n not in restored)
    # API deprecation notices (e.g. NumPy functions applied to tensors) say nothing about the numbers
    shown = tuple(f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, _API_NOTICES))
    return Outcome(value=encode(result), mutated=mutated, warnings=shown, violation=violation, restored=restored)


def _usage(text: str, title: str = N_("check() needs an exercise")) -> CheckResult:
    return CheckResult("?", _(title), 0, 0, 0.0, 0.0, Verdict("usage", text))


def check(target: Any, value: Any = _MISSING) -> CheckResult:
    """Check an exercise: `check(my_function)` or `check("exercise_id", answer)`. Never raises."""
    try:
        return _check(target, value)
    except KeyboardInterrupt:
        return _usage(_("The check was interrupted (does your function loop forever?). Your notebook's state "
                        "is unchanged; fix the function and run the cell again."), N_("interrupted"))
    except Exception as exc:  # noqa: BLE001 - check() must never raise into a learner's notebook
        return _usage(_("The checker itself hit a problem: {error}: {text}. Please report it to your "
                        "instructor.").format(error=type(exc).__name__, text=_last_line(exc)), N_("checker error"))


def _private(exercise_id: str, candidate: Any) -> CheckResult:
    """What check() says of an exercise the instructor grades from a private bank: that, and nothing else."""
    text = _("`{id}` is graded by your instructor after you hand in the notebook; check() has no cases for it "
             "here. Keep the name `{id}` and make sure its cell runs without errors.").format(id=exercise_id)
    if candidate is None:
        text = _("Not answered yet.") + " " + text
    return CheckResult(exercise_id, exercise_id, 0, 0, 0.0, 0.0, Verdict("private", text))


def _unknown(name: str, exc: KeyError) -> str:
    """The unknown-exercise message, suggesting a declared private exercise when one is closest."""
    close = private.close_to(name, [e.id for e in all_exercises()])
    if not close:
        return str(exc)
    return _("Unknown exercise {name}. Did you mean {close}?").format(
        name=repr(name), close=_(" or ").join(repr(c) for c in close))


def _check(target: Any, value: Any) -> CheckResult:
    named = target if isinstance(target, str) else getattr(target, "__name__", None)
    if isinstance(named, str) and private.is_private(named):
        return _private(named, value if isinstance(target, str) else target)
    if isinstance(target, str):
        try:
            exercise = get(target)
        except KeyError as exc:
            return _usage(_unknown(target, exc))
        if value is _MISSING:
            return _usage(_("Pass your answer too: check({id!r}, your_answer).").format(id=target))
        candidate = value
    else:
        name = getattr(target, "__name__", None)
        if not callable(target) or not isinstance(name, str):
            return _usage(_("check() got {type}. Pass your function, e.g. check(sigmoid), or an exercise id and "
                            "your answer, e.g. check('largest_stable_lr', 0.5).").format(type=type(target).__name__))
        if name == "<lambda>":
            return _usage(_("check() cannot tell which exercise a lambda answers: use check('exercise_id', fn)."))
        try:
            exercise = get(name)
        except KeyError as exc:
            return _usage(_("{problem} (check() looks the exercise up by your function's name; keep the name the "
                            "exercise cell gives it, or call check('exercise_id', your_function).)").format(
                                problem=_unknown(name, exc)))
        candidate = target
    if exercise.kind == "value" and value is _MISSING:
        return _usage(_("{id} asks for a value: check({id!r}, your_answer).").format(id=exercise.id))
    cases = exercise.cases()
    if candidate is None:
        return CheckResult(exercise.id, _(exercise.title), 0, len(cases), 0.0, exercise.points,
                           Verdict("not_attempted", _(NOT_ATTEMPTED)), contract(exercise))
    if exercise.kind == "function" and not callable(candidate):
        return _usage(_("{id} asks for a function; you passed {type}. Define `def {signature}:` and call "
                        "check({id}).").format(id=exercise.id, type=type(candidate).__name__,
                                               signature=exercise.signature or exercise.id + "(...)"))
    verdicts: list[Verdict] = []
    with _kernel_state_preserved():
        for number, case in enumerate(cases, start=1):
            expected = encode(exercise.expected(case))
            outcome = run_case(exercise, case, candidate)
            verdict = judge(exercise, case, expected, outcome, number=number)
            if verdict.status == "not_attempted":
                return CheckResult(exercise.id, _(exercise.title), 0, len(cases), 0.0,
                                   exercise.points, verdict, contract(exercise))
            verdicts.append(verdict)
    passed, points, first = tally(verdicts, exercise.points, [c.weight for c in cases])
    return CheckResult(exercise.id, _(exercise.title), passed, len(verdicts), points, exercise.points, first,
                       contract(exercise))


def hint(exercise_id: str) -> Message:
    """The next hint for an exercise (each call reveals one more, then repeats the last)."""
    if private.is_private(exercise_id):
        return Message(_("{id} is graded by your instructor").format(id=exercise_id),
                       _("Its hints are your instructor's: the course has none for it here."))
    try:
        exercise = get(exercise_id)
    except KeyError as exc:
        return Message(str(exc))
    if not exercise.hints:
        return Message(_("No hints for {id}.").format(id=exercise.id), _("Re-read the section above the exercise."))
    shown = _hints_shown.get(exercise.id, 0)
    index = min(shown, len(exercise.hints) - 1)
    _hints_shown[exercise.id] = shown + 1
    return Message(_("Hint {number} of {count} for {id}").format(number=index + 1, count=len(exercise.hints),
                                                                 id=exercise.id), _(exercise.hints[index]))


def solution(exercise_id: str, *, reveal: bool = False) -> Message:
    """The reference solution's source, shown only with reveal=True and when the class allows it."""
    if private.is_private(exercise_id):
        return Message(_("{id} is graded by your instructor").format(id=exercise_id),
                       _("Its solution is your instructor's: it is not part of the course."))
    try:
        exercise = get(exercise_id)
    except KeyError as exc:
        return Message(str(exc))
    if os.environ.get(SOLUTIONS_OFF_VAR, "").strip() not in ("", "0"):
        return Message(_("Solutions are switched off for this class ({id}).").format(id=exercise.id),
                       _("Your instructor has disabled solution(); use hint() and check() instead."))
    if not reveal:
        return Message(_("Sure you want to see the solution of {id}?").format(id=exercise.id),
                       _("Try hint({id!r}) first. To reveal it: solution({id!r}, reveal=True).").format(id=exercise.id))
    try:
        source = inspect.getsource(exercise.reference)
    except (OSError, TypeError):
        source = repr(exercise.expected(exercise.cases()[0]))
    return Message(_("Reference solution of {id}").format(id=exercise.id), source, code=True)


def private_exercises(*ids: str) -> Message:
    """Declare the exercises of this notebook that the instructor grades from a private bank (see
    `coursekit.grading.private`): check(), hint() and solution() then say so and reveal nothing."""
    bad = private.declare(ids)
    if bad or not ids:
        return Message(_("private_exercises() takes exercise ids"),
                       _("Pass each id as a string, e.g. private_exercises('kl_by_hand'); got {bad}.").format(
                           bad=", ".join(bad) or _("nothing")))
    return Message(_("Graded by your instructor: {ids}").format(ids=", ".join(private.declared())),
                   _("check() cannot check these exercises here; your instructor grades them after you hand in "
                     "the notebook."))
