"""What an exercise forbids or demands, declared once: the text the learner reads and what is enforced.

An exercise lists its rules (``Exercise(rules=(...))``); ``coursekit.grading.rules`` enforces
them with one guard, in the learner's ``check()`` and in the batch grader alike. A rule is plain
data: its kind, the torch callables it is about (by qualified name, e.g. ``"torch.softmax"`` or
``"torch.Tensor.softmax"``), a limit, and the sentence shown to the learner. The sentence is the
rule's own ``text``, so what the learner is told and what is enforced cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from coursekit.i18n import N_, _

__all__ = ["AUTOGRAD_CALLS", "EXP", "LOG_SOFTMAX", "SIGMOID", "SOFTMAX", "Rule", "calls_at_most",
           "forbid", "must_create_graph", "must_use_autograd", "no_autograd", "rules_table"]

RuleKind = Literal["forbid", "no_autograd", "use_autograd", "create_graph", "calls_at_most"]


@dataclass(frozen=True)
class Rule:
    """One rule of an exercise; `text` is the learner-facing sentence, the other fields are enforced."""

    kind: RuleKind
    text: str
    names: tuple[str, ...] = ()
    limit: int = 0

    def __post_init__(self) -> None:
        if self.kind in ("forbid", "calls_at_most") and not self.names:
            raise ValueError(f"A {self.kind!r} rule needs the names of the callables it is about.")
        if not self.text.strip():
            raise ValueError("A rule needs the sentence the learner reads.")

    def message(self, detail: str) -> str:
        """What a learner whose code broke this rule is told; `detail` says what the code did."""
        return _("This exercise asks: {rule} {detail}").format(rule=_(self.text), detail=detail)

    @property
    def enforced(self) -> str:
        """What the guard checks, in words for an instructor."""
        names = ", ".join(n.replace("torch.nn.functional.", "F.").replace("torch.Tensor.", "Tensor.")
                          for n in self.names)
        return {
            "forbid": f"a call of {names} fails the case",
            "no_autograd": "the case fails if the code builds an autograd graph (requires_grad_, backward, "
                           "autograd.grad, a result that requires grad)",
            "use_autograd": "the case fails unless the code runs backward() or autograd.grad",
            "create_graph": "the case fails unless the code calls autograd with create_graph=True",
            "calls_at_most": f"the case fails after more than {self.limit} call(s) of {names} in all",
        }[self.kind]


# Families of torch callables that rules name together: every spelling a learner may use.
SOFTMAX = ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax", "torch.special.softmax")
LOG_SOFTMAX = ("torch.log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax",
               "torch.special.log_softmax")
SIGMOID = ("torch.sigmoid", "torch.Tensor.sigmoid", "torch.special.expit")  # F.sigmoid calls Tensor.sigmoid
EXP = ("torch.exp", "torch.Tensor.exp", "torch.special.exp2", "torch.exp2", "torch.Tensor.exp2")
#: the calls that run autograd's backward pass
AUTOGRAD_CALLS = ("torch.autograd.grad", "torch.Tensor.backward", "torch.autograd.backward")


def forbid(*names: str, text: str) -> Rule:
    """The learner's code must not call any of `names` (e.g. write softmax yourself, not torch.softmax)."""
    return Rule("forbid", text, tuple(names))


def no_autograd(text: str = N_("work out the derivative by hand: no autograd (no backward(), "
                               "torch.autograd.grad, requires_grad or torch.func transforms).")) -> Rule:
    """The learner's code must build no autograd graph: the derivative is derived, not computed by PyTorch."""
    return Rule("no_autograd", text)


def must_use_autograd(text: str = N_("compute the gradient with autograd (backward() or "
                                     "torch.autograd.grad), not with a formula.")) -> Rule:
    """The learner's code must run at least one backward pass."""
    return Rule("use_autograd", text, AUTOGRAD_CALLS)


def must_create_graph(text: str = N_("differentiate a gradient with autograd: compute the first derivative "
                                     "with create_graph=True, then differentiate it again.")) -> Rule:
    """The learner's code must call autograd with create_graph=True (a derivative of a derivative)."""
    return Rule("create_graph", text, AUTOGRAD_CALLS)


def calls_at_most(names: tuple[str, ...], limit: int, *, text: str) -> Rule:
    """The learner's code may call the callables in `names` at most `limit` times in all (e.g. one forward pass)."""
    if limit < 0:
        raise ValueError("limit must be >= 0")
    return Rule("calls_at_most", text, tuple(names), limit)


def rules_table(exercises: Iterable[Any]) -> str:
    """A Markdown table of the rules of `exercises` (objects with .id, .notebook and .rules)."""
    lines = ["| notebook | exercise | rule, as the learner reads it | enforced |", "|---|---|---|---|"]
    for exercise in exercises:
        for rule in exercise.rules:
            text = rule.text.replace("|", "\\|")
            lines.append(f"| {exercise.notebook} | `{exercise.id}` | {text} | {rule.enforced} |")
    return "\n".join(lines)
