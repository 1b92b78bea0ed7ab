"""Plain-language explanations of the autograd errors learners hit, each linked to the lesson that teaches it.

    explain(err)   -> an Explanation (renders as HTML in Jupyter and as text), or None for other errors
    install()      -> from now on, IPython shows the explanation after the usual traceback
    uninstall()    -> back to IPython's own handling

Only the exception's message is read: matching is on stable substrings of PyTorch's messages (and of the
loop exercises' checker), and where PyTorch words two situations alike, on what the message names.
The module itself is callable, so `coursekit.explain(err)` and `coursekit.explain.install()` both work.
"""

from __future__ import annotations

import dataclasses
import html
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

from coursekit.i18n import N_, _

__all__ = ["EXPLANATIONS", "Explanation", "explain", "install", "installed", "uninstall"]

RETAIN_NOTEBOOK = "06_retain_graph.ipynb"


@dataclass(frozen=True, repr=False)
class Explanation:
    """What an error means, why it happened, how to fix it, and the notebook section that teaches it.

    `match` is a lower-case substring of PyTorch's message; `pattern`, when given, a regular expression the
    lower-cased message must match as well (to tell apart two situations PyTorch words alike). `steps` are
    the checks to make, in order, after the `fix` sentence.
    """

    key: str
    match: str
    title: str
    why: str
    fix: str
    notebook: str
    section: str
    steps: tuple[str, ...] = ()
    pattern: str = ""

    @property
    def anchor(self) -> str:
        """JupyterLab's anchor for the section heading (its text with spaces as dashes), in the learner's language:
        the link is relative, so it opens the notebook of the same edition, whose heading is in that language."""
        return _(self.section).replace("`", "").replace(" ", "-")

    @property
    def where(self) -> str:
        return _("{notebook}, section “{section}”").format(notebook=self.notebook,
                                                            section=_(self.section).replace("`", ""))

    def translated(self) -> Explanation:
        """The same explanation with its words in the current language (what explain() returns)."""
        return dataclasses.replace(self, title=_(self.title), why=_(self.why), fix=_(self.fix),
                                   section=_(self.section), steps=tuple(_(step) for step in self.steps))

    def matches(self, text: str) -> bool:
        """Whether this explanation is about the (lower-cased) error message `text`."""
        return self.match in text and (not self.pattern or re.search(self.pattern, text) is not None)

    def __repr__(self) -> str:
        steps = "".join(f"\n  {i}. {_(step)}" for i, step in enumerate(self.steps, start=1))
        return (_("What this error means: {title}").format(title=_(self.title)) + f"\n{_(self.why)}\n"
                + _("How to fix it: {fix}").format(fix=_(self.fix)) + f"{steps}\n"
                + _("Learn more: {where}").format(where=self.where))

    def _repr_html_(self) -> str:
        esc = html.escape
        means, fix_it, more = esc(_("What this error means:")), esc(_("How to fix it:")), esc(_("Learn more:"))
        link = f"{esc(self.notebook)}#{esc(self.anchor)}"
        steps = "".join(f"<li>{esc(_(step))}</li>" for step in self.steps)
        steps = f"<ol style='margin:2px 0 0 0;padding-left:22px'>{steps}</ol>" if steps else ""
        return (f"<div class='coursekit-explain' style='border-left:4px solid #0072B2;padding:4px 10px;"
                f"margin:4px 0;font-family:sans-serif;font-size:13px'>"
                f"<b>{means}</b> {esc(_(self.title))}"
                f"<div style='margin-top:4px'>{esc(_(self.why))}</div>"
                f"<div style='margin-top:4px'><b>{fix_it}</b> {esc(_(self.fix))}{steps}</div>"
                f"<div style='margin-top:4px'><b>{more}</b> <a href='{link}'>{esc(self.where)}</a>"
                f"</div></div>")


#: where a learner meets the second-backward and the version errors: training loops
LOOP_SECTION = N_("9. Debug the loop: where this error really comes from")

EXPLANATIONS: tuple[Explanation, ...] = (
    Explanation(
        key="backward-twice",
        match="backward through the graph a second time",
        title=N_("this part of the graph was already used by a backward pass, which freed what it saved."),
        why=N_("Operations save tensors in the forward pass for use in the backward pass (softmax keeps its "
               "output, a matrix product its inputs). A backward() or autograd.grad() call frees them once it has "
               "used them, so a second pass through the same operations finds them gone."),
        fix=N_("Ask, in this order:"),
        steps=(
            N_("In a training loop: is a tensor from an earlier iteration still attached to that iteration's "
               "graph? A hidden state carried into the next step, a loss total kept as a tensor (total += loss), "
               "a generated batch that a second network trains on. Detach it (h = h.detach()), or keep only the "
               "number (total += loss.item())."),
            N_("Do not add retain_graph=True in a loop: it keeps every step's saved tensors (memory grows step "
               "after step, and each backward walks all the earlier steps again), and once optimizer.step() has "
               "changed the weights those graphs saved, the next backward fails with the in-place version error."),
            N_("Only if you really need two backward passes through one graph (the gradients of two outputs such "
               "as p[1] and p[2], or two losses that share layers): sum the losses into one backward, or get "
               "several gradients in one call (grad_outputs with is_grads_batched=True), or pass "
               "retain_graph=True to every call except the last one."),
        ),
        notebook=RETAIN_NOTEBOOK,
        section=LOOP_SECTION,
    ),
    Explanation(
        key="no-grad",
        match="does not require grad and does not have a grad_fn",
        title=N_("the tensor you differentiate is not connected to anything that requires grad."),
        why=N_("Autograd only records operations on tensors with requires_grad=True. Your output was computed "
               "from tensors that do not require grad, or inside torch.no_grad(), or after .detach(), .item() or "
               ".numpy(), so it has no grad_fn and there is nothing to differentiate. A gradient returned by "
               "autograd.grad() is such a tensor too, unless it was computed with create_graph=True."),
        fix=N_("Create the inputs you want gradients for with requires_grad=True (torch.tensor(..., "
               "requires_grad=True) or x.requires_grad_()) before computing the output, outside torch.no_grad(). "
               "To differentiate a gradient again (a second derivative), compute it with create_graph=True."),
        notebook=RETAIN_NOTEBOOK,
        section=N_("1. The computation graph and saved tensors"),
    ),
    Explanation(
        key="leaf-in-place",
        match="a leaf variable that requires grad is being used in an in-place operation",
        title=N_("you changed a leaf that requires grad in place while autograd was recording."),
        why=N_("A leaf with requires_grad=True (a weight, for example) is what gradients are computed for. "
               "Updating it in place (w -= lr * w.grad, w.add_(...), w[0] = ...) while autograd records would "
               "make the update part of the graph, so PyTorch refuses."),
        fix=N_("Do parameter updates inside `with torch.no_grad():` (that is what optimizers do), then clear the "
               "gradient (w.grad = None). To start over from new values, make a new leaf instead."),
        notebook=RETAIN_NOTEBOOK,
        section=N_("6. .grad accumulates: zero_grad and in-place updates"),
    ),
    Explanation(
        key="non-scalar-backward",
        match="grad can be implicitly created only for scalar outputs",
        title=N_("backward() without an argument needs a single number, such as a loss."),
        why=N_("y.backward() means “the gradient of y”, which only exists when y is a single number. For a tensor "
               "with several entries, autograd computes a vector–Jacobian product vᵀJ, and you have to say "
               "which vector v."),
        fix=N_("Reduce to a number first (loss = y.mean(); loss.backward()), or give v: y.backward(gradient=v) or "
               "torch.autograd.grad(y, x, grad_outputs=v). For every row at once use is_grads_batched=True or "
               "torch.autograd.functional.jacobian."),
        notebook=RETAIN_NOTEBOOK,
        section=N_("5. Better alternatives: several outputs in one call"),
    ),
    Explanation(
        key="saved-tensor-modified",
        match="modified by an inplace operation",
        # PyTorch names the operation whose result was saved ("which is output 0 of Exp"); a weight, a leaf
        # or a view of one (what optimizer.step() changes) is named without one, or as AsStrided.
        pattern=r"which is output \d+ of (?!asstrided\b)",
        title=N_("a tensor saved for the backward pass was changed in place afterwards."),
        why=N_("Some operations save tensors for their backward pass (exp saves its output, multiplication its "
               "inputs). An in-place operation (+=, .add_(), .relu_(), x[...] = ...) changed one of them after it "
               "was saved, so the gradient would be computed from the wrong values. Autograd notices through the "
               "tensor's version counter."),
        fix=N_("Use the out-of-place form (x = x + 1 instead of x += 1, torch.relu(x) instead of x.relu_()), or "
               "change a copy (y = x.clone(); y += 1) so that the saved tensor keeps its value."),
        notebook=RETAIN_NOTEBOOK,
        section=N_("4. Which operations save tensors"),
    ),
    Explanation(
        key="weight-changed-after-step",
        match="modified by an inplace operation",
        title=N_("a weight (or another leaf) that a graph saved was changed in place before that graph's backward."),
        why=N_("A graph saves the weights its matrix products need for their gradients. In a training loop "
               "optimizer.step() changes every weight in place, so a backward pass that runs into a graph built "
               "before the step finds a saved weight with a newer version. That happens when something from an "
               "earlier iteration is still attached to its graph, usually kept alive by retain_graph=True."),
        fix=N_("Ask, in this order:"),
        steps=(
            N_("Is a tensor from an earlier iteration still attached (a hidden state, a loss total, a generated "
               "batch)? Detach it (or keep the number with .item()), so that each backward stays inside its own "
               "step's graph."),
            N_("Did you add retain_graph=True to get past “Trying to backward through the graph a second time”? "
               "Remove it: it is what kept the old graph, and .clone() would keep it too."),
            N_("If you really update a tensor in place between a forward pass and its backward, update a copy, "
               "or run the forward pass again after the update."),
        ),
        notebook=RETAIN_NOTEBOOK,
        section=LOOP_SECTION,
    ),
    Explanation(
        key="graph-kept-alive",
        match="the loop checker found the graph of step",
        title=N_("your training loop keeps the graph of an earlier step alive."),
        why=N_("The exercise's checker counts the graphs the model's forward passes build. In a right loop each "
               "graph is dropped once its step is over. Here something from an earlier step still refers to its "
               "graph: a loss total or a list of losses kept as tensors, or a state carried into the next step "
               "without .detach(). Nothing fails yet, but memory grows with every step."),
        fix=N_("Keep numbers as Python numbers (total += loss.item(), losses.append(loss.item())), and .detach() "
               "whatever you carry into the next step."),
        notebook=RETAIN_NOTEBOOK,
        section=LOOP_SECTION,
    ),
    Explanation(
        key="graph-retained",
        match="the loop checker found",
        pattern=r"still held in step",
        title=N_("a backward pass in your loop kept the tensors it should have freed (retain_graph=True)."),
        why=N_("A backward pass frees the saved tensors it walks through, unless it is told retain_graph=True. "
               "The exercise's checker found the saved tensors of an earlier step still held after a backward pass "
               "went through them, so every step's forward memory stays alive."),
        fix=N_("Remove retain_graph=True. If a second backward pass then fails, find the tensor from an earlier "
               "step that is still attached and .detach() it; keep retain_graph=True only for a graph you really "
               "walk twice, and only on the calls before the last."),
        notebook=RETAIN_NOTEBOOK,
        section=LOOP_SECTION,
    ),
)


def explain(err: BaseException | str) -> Explanation | None:
    """A plain-language explanation of an autograd error (an exception or its message); None if unknown.

    The explanation depends on what the message says: the version error of a tensor saved by an operation
    is explained as an in-place change of that result, the same error for a weight as what a training loop
    that keeps old graphs runs into after optimizer.step().
    """
    try:
        text = str(err).lower()
    except Exception:  # noqa: BLE001 - an exception whose __str__ fails is simply not one we know
        return None
    for explanation in EXPLANATIONS:
        if explanation.matches(text):
            return explanation.translated()
    return None


# --- the opt-in IPython hook ---------------------------------------------------------------------------------

_state: dict[str, Any] = {}


def _handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> None:
    previous_types, previous_handler = _state["previous"]
    if previous_types and issubclass(etype, previous_types):
        previous_handler(etype, value, tb, tb_offset=tb_offset)
    else:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset, running_compiled_code=True)
    explanation = explain(value)
    if explanation is not None:
        from IPython.display import display

        display(explanation)


def install(shell: Any = None) -> None:
    """Show a plain explanation after the traceback of the autograd errors `explain` knows (IPython only)."""
    if shell is None:
        from IPython import get_ipython

        shell = get_ipython()
    if shell is None:
        raise RuntimeError(_("install() hooks into IPython: run it inside Jupyter or IPython. Elsewhere, call "
                             "coursekit.explain(err) on the exception yourself."))
    if _state.get("shell") is shell:
        return
    if _state:
        uninstall()
    previous = (tuple(shell.custom_exceptions), shell.CustomTB)
    _state.update(shell=shell, previous=previous)
    types = previous[0] + ((RuntimeError,) if RuntimeError not in previous[0] else ())
    shell.set_custom_exc(types, _handler)


def uninstall() -> None:
    """Remove the hook installed by `install()` and restore IPython's previous handling."""
    if not _state:
        return
    shell = _state["shell"]
    shell.custom_exceptions, shell.CustomTB = _state["previous"]
    _state.clear()


def installed() -> bool:
    """Whether the explanation hook is active."""
    return bool(_state)


class _CallableModule(types.ModuleType):
    """This module's type: calling the module calls `explain`."""

    def __call__(self, err: BaseException | str) -> Explanation | None:
        return explain(err)


sys.modules[__name__].__class__ = _CallableModule
