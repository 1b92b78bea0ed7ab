"""Compare a learner's output with the reference's for one case, and say what went wrong.

Pure: it sees only plain data (see `coursekit.grading.plain`), so the in-notebook
check() and the batch grader give the same verdict for the same output.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.explain import Explanation, explain
from coursekit.grading.plain import Array, FunctionRef, Other, encode
from coursekit.i18n import N_, _

__all__ = ["NO_GRADIENT", "ErrorInfo", "Outcome", "Verdict", "case_name", "compare", "contract", "describe_call",
           "failed", "judge", "recognised", "tally"]

Status = Literal["pass", "fail", "not_attempted", "error", "usage", "private"]


@dataclass(frozen=True)
class ErrorInfo:
    """An exception the learner's code raised: its type and the last line of the traceback."""

    type_name: str
    last_line: str

    @property
    def not_implemented(self) -> bool:
        return self.type_name == "NotImplementedError"


@dataclass(frozen=True)
class Outcome:
    """What happened when the learner's object was called on one case (plain data only)."""

    value: Any = None
    error: ErrorInfo | None = None
    mutated: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    violation: str = ""  # the message of the exercise rule the code broke, if any
    restored: tuple[str, ...] = ()  # inputs changed in place and put back, but not exactly (rounding)


@dataclass(frozen=True)
class Verdict:
    """The result of one case: a status, a learner-facing message, and a targeted hint if one applies."""

    status: Status
    message: str = ""
    hint: str | None = None
    explanation: Explanation | None = None  # what an error the learner's code raised means
    mistake: str | None = None  # the name of the recognised mistake the hint is for (for the class report)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def tally(verdicts: Sequence[Verdict], max_points: float,
          weights: Sequence[float] | None = None) -> tuple[int, float, Verdict | None]:
    """Cases passed, points (by case weight, two decimals) and the first failure: one rule for check() and grader."""
    weights = [1.0] * len(verdicts) if weights is None else list(weights)[:len(verdicts)]
    passed = sum(v.passed for v in verdicts)
    earned = sum(w for v, w in zip(verdicts, weights, strict=True) if v.passed)
    points = round(max_points * earned / sum(weights), 2) if verdicts else 0.0
    return passed, points, next((v for v in verdicts if not v.passed), None)


def contract(exercise: Exercise) -> str:
    """The note shown with every result: the exercise's conventions, then its rules, in the learner's words."""
    rules = " ".join(_("Rule: {text}").format(text=_(rule.text)) for rule in exercise.rules)
    return " ".join(part for part in (_(exercise.convention) if exercise.convention else "", rules) if part)


#: the error type a gradient case reports when no gradient flows through the learner's result
NO_GRADIENT = "NoGradient"

NOT_ATTEMPTED = N_("Not attempted yet: replace `raise NotImplementedError` (or `None`) with your answer, "
                 "then run the exercise cell and this cell again.")
#: the same, as the grader's feedback page says it: a page read after handing in, not a notebook cell
NOT_ATTEMPTED_HANDED_IN = N_("Not attempted: in the notebook you handed in, this exercise still holds "
                           "`raise NotImplementedError` (or `None`), so it earned no points.")


def _fmt_number(x: float) -> str:
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return str(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = f"{x:.6g}"
    return text + ".0" if isinstance(x, float) and text.lstrip("-").isdigit() else text


def _fmt_value(v: Any, *, limit: int = 8) -> str:
    """A short, deterministic rendering of a plain value for messages."""
    if isinstance(v, Array):
        kind = "tensor" if v.container == "tensor" else "array"
        dtype = v.dtype.split(".")[-1]
        if v.data.size <= limit:
            data = v.data if v.data.dtype.kind in "biu" else np.asarray(v.data, dtype=np.float64)
            body = np.array2string(data, precision=4, separator=", ", floatmode="maxprec", suppress_small=False)
            body = " ".join(body.split())
            return f"{kind}({body}" + (f", dtype={dtype})" if dtype != "float64" else ")")
        finite = v.data[np.isfinite(v.data)] if v.data.dtype.kind == "f" else v.data
        rng = _(", values in [{low}, {high}]").format(low=_fmt_number(float(finite.min())),
                                                       high=_fmt_number(float(finite.max()))) if finite.size else ""
        return _("{kind} of shape {shape} ({dtype}{range})").format(kind=kind, shape=tuple(v.shape), dtype=dtype,
                                                                    range=rng)
    if isinstance(v, FunctionRef):
        return v.name
    if isinstance(v, Other):
        return f"<{v.type_name}>"
    if isinstance(v, float):
        return _fmt_number(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_value(x) for x in v) + "]"
    if isinstance(v, str):
        return repr(v)
    return repr(v)


def _type_words(v: Any) -> str:
    if isinstance(v, Array):
        text = _("a tensor of shape {shape}") if v.container == "tensor" else _("a NumPy array of shape {shape}")
        return text.format(shape=tuple(v.shape))
    if isinstance(v, Other):
        return _("a {type}").format(type=v.type_name)
    if v is None:
        return "None"
    return _("a {type}").format(type=type(v).__name__)


def describe_call(exercise: Exercise, case: Case) -> str:
    """How a public case calls the learner's function, e.g. `sigmoid(x=tensor([0., 1.]))`."""
    if exercise.kind == "value":
        return exercise.id
    try:
        names = list(inspect.signature(exercise.reference).parameters)
    except (TypeError, ValueError):
        names = []
    parts = []
    for i, arg in enumerate(case.args):
        name = names[i] if i < len(names) else f"arg{i}"
        parts.append(f"{name}={_fmt_value(encode(arg, keep_dtype=True))}")
    parts += [f"{k}={_fmt_value(encode(v, keep_dtype=True))}" for k, v in case.kwargs.items()]
    return f"{exercise.id}({', '.join(parts)})"


def case_name(exercise: Exercise, case: Case, number: int) -> str:
    """How messages name case `number` (1-based): the call for a public case, only its number for a hidden one."""
    if case.hidden:
        name = _("Hidden case {number} (the autograd gradient)") if case.gradient else _("Hidden case {number}")
        name = name.format(number=number)
        return _("{name} ({label})").format(name=name, label=_(case.label)) if case.label else name
    if case.gradient:
        return _("Case {number}: the autograd gradient through {call}").format(number=number,
                                                                               call=describe_call(exercise, case))
    return _("Case {number}: {call}").format(number=number, call=describe_call(exercise, case))


def _where(index: tuple[int, ...]) -> str:
    return "" if not index else _(" at index {index}").format(index=list(index) if len(index) > 1 else index[0])


def _compare_arrays(expected: Array, got: Array, exercise: Exercise, hidden: bool) -> str | None:
    if expected.container == "tensor" and got.container == "ndarray":
        return _("You returned a NumPy array; return a torch.Tensor (do the computation with torch operations).")
    if got.shape != expected.shape:
        msg = _("Wrong shape: expected {expected}, got {got}.").format(expected=tuple(expected.shape),
                                                                        got=tuple(got.shape))
        if got.data.size == expected.data.size:
            msg += _(" Same number of entries: check for a transpose, a missing or extra dimension, or keepdim.")
        elif got.data.size == 1 and expected.data.size > 1:
            msg += _(" You returned a single number; the answer has one entry per input element.")
        return msg
    if exercise.check_dtype and expected.dtype.split(".")[-1] != got.dtype.split(".")[-1]:
        return _("Wrong dtype: expected {expected}, got {got}. A tensor created with torch.zeros/torch.tensor/"
                 "torch.ones defaults to float32: pass dtype=x.dtype (or use torch.zeros_like(x)).").format(
                     expected=expected.dtype.split(".")[-1], got=got.dtype.split(".")[-1])
    e = np.asarray(expected.data, dtype=np.float64)
    g = np.asarray(got.data, dtype=np.float64)
    bad_nonfinite = ~np.isfinite(g) & np.isfinite(e)
    if bad_nonfinite.any():
        idx = tuple(int(i) for i in np.argwhere(bad_nonfinite)[0])
        where = "" if hidden else _where(idx)
        text = _("Your result contains {value}{where} where the expected value is finite. An overflow (exp of a "
                 "large number) or a division by zero is the usual cause.") if hidden else \
            _("Your result contains {value}{where} where the expected value is finite ({expected}). An overflow "
              "(exp of a large number) or a division by zero is the usual cause.")
        return text.format(value=_fmt_number(float(g[idx])), where=where, expected=_fmt_number(float(e[idx])))
    close = np.isclose(g, e, rtol=exercise.rtol, atol=exercise.atol, equal_nan=True)
    if close.all():
        return None
    idx = tuple(int(i) for i in np.argwhere(~close)[0])
    # error sizes over the mismatched entries only; a NaN on one side counts as an infinite error.
    # A relative error means something only where the expected entry is not 0.
    bad_e, bad_g = e[~close], g[~close]
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.abs(bad_g - bad_e)
    abs_err = np.where(np.isnan(abs_err), np.inf, abs_err)
    nonzero = bad_e != 0
    tol = _tolerance(exercise)
    count = int((~close).sum())
    stats = _("{count} of {size} entries differ; max abs error {error}").format(
        count=count, size=close.size, error=_fmt_number(float(abs_err.max())))
    if nonzero.any():
        with np.errstate(invalid="ignore", over="ignore"):
            rel_err = abs_err[nonzero] / np.abs(bad_e[nonzero])
        rel_err = np.where(np.isnan(rel_err), np.inf, rel_err)
        stats += _(", max rel error {error}").format(error=_fmt_number(float(rel_err.max())))
    stats += _(" ({tolerance}).").format(tolerance=tol)
    if hidden:
        # error sizes would give the hidden expected values away (expected = got +- error): count only
        return _("Wrong values: {count} of {size} entries differ from the expected ones ({tolerance}).").format(
            count=count, size=close.size, tolerance=tol)
    if e.ndim == 0:
        return _("Expected {expected}, got {got}. {stats}").format(expected=_fmt_number(float(e)),
                                                                  got=_fmt_number(float(g)), stats=stats)
    return _("First mismatch{where}: expected {expected}, got {got}. {stats}").format(
        where=_where(idx), expected=_fmt_number(float(e[idx])), got=_fmt_number(float(g[idx])), stats=stats)


def _tolerance(exercise: Exercise) -> str:
    return _("tolerance: rtol={rtol}, atol={atol}").format(rtol=f"{exercise.rtol:g}", atol=f"{exercise.atol:g}")


def compare(expected: Any, got: Any, exercise: Exercise, *, hidden: bool = False, path: str = "") -> str | None:
    """None when `got` matches `expected` within the exercise's tolerances, else what is wrong."""
    prefix = _("In {path}: ").format(path=path) if path else ""
    if isinstance(expected, Array):
        if isinstance(got, Array):
            problem = _compare_arrays(expected, got, exercise, hidden)
            return prefix + problem if problem else None
        if isinstance(got, (int, float)) and not isinstance(got, bool) and expected.data.size == 1 \
                and expected.data.ndim == 0:
            if not exercise.accepts_float and expected.container == "tensor":
                return prefix + _("You returned a Python {type}; return a 0-d tensor. .item() or float() takes the "
                                  "number out of autograd's graph, so a loss returned that way could never be "
                                  "backpropagated (loss.backward() needs the tensor).").format(type=type(got).__name__)
            return compare(float(expected.data), float(got), exercise, hidden=hidden, path=path)
        return prefix + _("Expected a tensor of shape {shape}, got {got}.").format(shape=tuple(expected.shape),
                                                                                   got=_type_words(got))
    if isinstance(expected, bool):
        if got is expected or (isinstance(got, Array) and got.data.size == 1 and bool(got.data) == expected):
            return None
        return prefix + _("Expected {expected}, got {got}.").format(
            expected=expected, got=_fmt_value(got) if not hidden else _type_words(got))
    if isinstance(expected, (int, float)):
        if isinstance(got, Array) and got.data.size == 1:
            if got.attached:
                return prefix + _("You returned a tensor that is still attached to the autograd graph where "
                                  "a plain number is asked: return `.item()` of it (or `.detach()`).")
            got = float(got.data.reshape(()))
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return prefix + _("Expected a number, got {got}.").format(got=_type_words(got))
        e, g = float(expected), float(got)
        if np.isfinite(e) and not np.isfinite(g):
            return prefix + _("Your result is {got} where the expected value is finite.").format(got=_fmt_number(g))
        if np.isclose(g, e, rtol=exercise.rtol, atol=exercise.atol, equal_nan=True):
            return None
        tol = _tolerance(exercise)
        if hidden:
            return prefix + _("Wrong value ({tolerance}).").format(tolerance=tol)
        return prefix + _("Expected {expected}, got {got} ({tolerance}).").format(
            expected=_fmt_number(e), got=_fmt_number(g), tolerance=tol)
    if isinstance(expected, str):
        if isinstance(got, str) and got.strip().lower() == expected.strip().lower():
            return None
        if not isinstance(got, str):
            return prefix + _("Expected a string such as {expected!r}, got {got}.").format(expected=expected,
                                                                                          got=_type_words(got))
        return prefix + (_("Expected {expected!r}, got {got!r}.").format(expected=expected, got=got) if not hidden
                         else _("{got!r} is not the right answer.").format(got=got))
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return prefix + _("Expected {count} results (a tuple), got {got}.").format(count=len(expected),
                                                                                      got=_type_words(got))
        if len(got) != len(expected):
            return prefix + _("Expected {count} results, got {got}.").format(count=len(expected), got=len(got))
        names = exercise.output_names
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            name = _(names[i]) if i < len(names) else _("result {i}").format(i=i)
            problem = compare(e, g, exercise, hidden=hidden, path=f"{path}.{name}" if path else name)
            if problem:
                return problem
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return prefix + _("Expected a dict with keys {keys}, got {got}.").format(keys=sorted(expected),
                                                                                    got=_type_words(got))
        return _compare_dicts(expected, got, exercise, hidden=hidden, prefix=prefix, path=path)
    if expected is None:
        return None if got is None else prefix + _("Expected None, got {got}.").format(got=_type_words(got))
    raise TypeError(f"reference output of {exercise.id} is not plain data: {type(expected).__name__}")


def _compare_dicts(expected: dict[str, Any], got: dict[str, Any], exercise: Exercise, *, hidden: bool,
                   prefix: str, path: str) -> str | None:
    """Every unexpected and missing key (with the key it probably meant), then every wrong entry."""
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    if missing or unexpected:
        parts = []
        for key in unexpected:
            close = difflib.get_close_matches(key, missing or list(expected), n=1, cutoff=0.5)
            parts.append(_("{key!r} is not one of the keys (did you mean {close!r}?)").format(key=key, close=close[0])
                         if close else _("{key!r} is not one of the keys").format(key=key))
        if missing:
            parts.append(_("missing: {keys}").format(keys=", ".join(repr(k) for k in missing)))
        return prefix + _("Keys must be written exactly as given. {problems}.").format(problems="; ".join(parts))
    wrong = [(key, problem) for key in expected
             if (problem := compare(expected[key], got[key], exercise, hidden=hidden, path=f"{path}[{key!r}]"))]
    if not wrong:
        return None
    if len(wrong) == 1:
        return wrong[0][1]
    return _("{count} of {size} entries are wrong: {problems}").format(
        count=len(wrong), size=len(expected), problems=" ".join(problem for _key, problem in wrong))


def recognised(exercise: Exercise, case: Case, expected: Any, got: Any,
               wrong_output: Callable[[Case, Callable[..., Any]], Any]) -> Mistake | None:
    """The first of the exercise's known mistakes that `got` matches, or None."""
    for mistake in exercise.mistakes:
        try:
            if mistake.test is not None:
                if mistake.test(case, expected, got):
                    return mistake
            elif mistake.wrong is not None:
                wrong = wrong_output(case, mistake.wrong)
                if wrong is not None and compare(wrong, got, exercise) is None:
                    return mistake
        except Exception:  # noqa: BLE001 - a recogniser that does not apply to this case
            continue
    return None


def failed(message: str, mistake: Mistake | None) -> Verdict:
    """A failing verdict with the recognised mistake's hint (and name), if one was recognised."""
    return Verdict("fail", message, hint=None if mistake is None else _(mistake.message),
                   mistake=None if mistake is None else mistake.name)


def _run_wrong(exercise: Exercise) -> Callable[[Case, Callable[..., Any]], Any]:
    def run(case: Case, wrong: Callable[..., Any]) -> Any:
        from coursekit.grading.calls import call_case
        from coursekit.grading.plain import materialize
        if exercise.kind == "value":
            return encode(wrong())
        args = list(materialize(encode(tuple(case.args), keep_dtype=True)))
        kwargs = materialize(encode(dict(case.kwargs), keep_dtype=True))
        value, _violation = call_case(exercise, case, wrong, args, kwargs)
        return encode(value)
    return run


def _raised_mistake(exercise: Exercise, error: ErrorInfo) -> Mistake | None:
    text = error.last_line.lower()
    return next((m for m in exercise.mistakes if m.raised is not None and m.raised in text), None)


def _error_verdict(exercise: Exercise, error: ErrorInfo, name: str) -> Verdict:
    if error.type_name == NO_GRADIENT:
        return Verdict("fail", _("{name}: {problem}").format(name=name, problem=error.last_line))
    message = _("{name}: raised {error}: {text}").format(name=name, error=error.type_name, text=error.last_line)
    mistake = _raised_mistake(exercise, error)
    return Verdict("error", message, hint=None if mistake is None else _(mistake.message),
                   explanation=explain(error.last_line), mistake=None if mistake is None else mistake.name)


def judge(exercise: Exercise, case: Case, expected: Any, outcome: Outcome, *, number: int,
          wrong_output: Callable[[Case, Callable[..., Any]], Any] | None = None) -> Verdict:
    """The verdict for case `number` (1-based): rules, then compare, then look for a known mistake on failure.

    A hidden case's verdict says pass or fail in the grader's words only (`coursekit.grading.hidden`).
    """
    recognise_with = wrong_output or _run_wrong(exercise)
    if case.hidden:
        from coursekit.grading.hidden import hidden_verdict
        return hidden_verdict(exercise, case, expected, outcome, name=case_name(exercise, case, number),
                              wrong_output=recognise_with)
    if outcome.error is not None:
        if outcome.error.not_implemented:
            return Verdict("not_attempted", _(NOT_ATTEMPTED))
        return _error_verdict(exercise, outcome.error, case_name(exercise, case, number))
    if outcome.value is None and expected is not None:
        return Verdict("not_attempted", _(NOT_ATTEMPTED) if exercise.kind == "value" else
                       _("Your function returned None: did you forget the `return` statement? {not_attempted}").format(
                           not_attempted=_(NOT_ATTEMPTED)))
    # a broken rule, a changed input or a warning fails the case whatever the values are
    refused = bool(outcome.violation or outcome.restored or outcome.mutated or
                   (exercise.warning_free and outcome.warnings))
    problem = None if refused else compare(expected, outcome.value, exercise, hidden=case.hidden)
    if not refused and problem is None:
        return Verdict("pass")
    name = case_name(exercise, case, number)  # built only for a message: it formats every input
    if outcome.violation:
        # the rule decides the case; a recognised mistake in the same answer is still worth saying
        return failed(_("{name}: {problem}").format(name=name, problem=outcome.violation),
                      recognised(exercise, case, expected, outcome.value, recognise_with))
    if outcome.restored:
        return Verdict("fail", _("{name}: your function changed its input {inputs} in place and put it back, but "
                                 "not exactly: in floating point x + h − 2h + h is not always x (every addition "
                                 "rounds), so the caller's tensor came back slightly different. Leave the input "
                                 "alone: build x + h·eᵢ as a new tensor (or work on x.clone()).").format(
                                     name=name, inputs=", ".join(outcome.restored)))
    if outcome.mutated:
        return Verdict("fail", _("{name}: your function modified its input {inputs} in place. Compute a new tensor "
                                 "instead (x = x * 2, not x *= 2 or x.mul_(2)).").format(
                                     name=name, inputs=", ".join(outcome.mutated)))
    if exercise.warning_free and outcome.warnings:
        return failed(_("{name}: produced a warning: {warning}. The answer must be computed without overflow "
                        "or invalid operations.").format(name=name, warning=outcome.warnings[0]),
                      recognised(exercise, case, expected, outcome.value, recognise_with))
    if case.gradient:
        problem = _("the gradient autograd computes through your function (what a network using it would train "
                    "with) is not the derivative. {problem}").format(problem=problem)
    return failed(_("{name}: {problem}").format(name=name, problem=problem),
                  recognised(exercise, case, expected, outcome.value, recognise_with))
