"""Exercises of 03_activations: activation functions, their derivatives, and dead ReLU units."""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, shares, tensor, uniform, weigh_extremes
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import SIGMOID, forbid, no_autograd
from coursekit.i18n import N_

NOTEBOOK = "03_activations"

# Inputs shared by most exercises: ordinary values around the kink, 0 alone, the extremes
# |x| = 1e4 (where exp overflows in float64), tiny numbers, and a batch holding one sample.
ORDINARY = [-2.0, -0.5, 0.0, 0.5, 2.0]
HUGE = [-1e4, -50.0, 50.0, 1e4]
TINY = [-1e-300, 5e-324, 1e-12, -1e-12]
GRAD_ONLY = "The gradient cases differentiate your function with autograd and compare with the true derivative."


def _elementwise_public(*, extra: tuple[Case, ...] = ()) -> list[Case]:
    return [
        Case((tensor(ORDINARY),), label="ordinary values around 0"),
        Case((tensor(0.0),), label="x = 0 exactly (a single number)"),
        Case((tensor(HUGE),), label="huge |x| up to 1e4"),
        Case((tensor(TINY),), label="tiny values near 0"),
        Case((tensor([[3.0, -3.0, 0.25]]),), label="a batch of one sample (shape 1x3)"),
        *extra,
    ]


def _elementwise_hidden(rng: np.random.Generator) -> list[Case]:
    n = int(rng.integers(2, 9))
    return [
        Case((normal(rng, (n,), scale=3.0),), label=N_("random vector, x ~ N(0, 3^2)")),
        Case((normal(rng, (int(rng.integers(1, 5)), 4)),), label=N_("random batch, x ~ N(0, 1)")),
        Case((uniform(rng, (n,), low=-1e4, high=1e4),), label=N_("random vector, x ~ U(-1e4, 1e4)")),
    ]


def _stable_public(*, extra: tuple[Case, ...] = ()) -> list[Case]:
    """A stability exercise's cases: values half the points, autograd's gradient the other half.

    An answer whose value or gradient breaks down at huge |x| earns at most half the points.
    """
    values = _elementwise_public()
    huge = [c for c in values if c.label.startswith("huge")]
    return shares(
        (0.2, [c for c in values if c not in huge] + list(extra)),
        (0.2, huge),
        (0.1, [Case((tensor(ORDINARY),), label="gradient at ordinary values, x = 0 included", gradient=True)]),
        (0.5, [Case((tensor(HUGE),), label="gradient at huge |x| up to 1e4", gradient=True)]),
    )


def _stable_hidden(rng: np.random.Generator, *, extra: tuple[Case, ...] = ()) -> list[Case]:
    values = _elementwise_hidden(rng)
    huge = [values.pop()]
    n = int(rng.integers(2, 9))
    return shares(
        (0.2, values + list(extra)),
        (0.2, huge),
        (0.1, [Case((normal(rng, (n,), scale=3.0),), label=N_("gradient at x ~ N(0, 3^2)"), gradient=True)]),
        (0.5, [Case((uniform(rng, (n,), low=-1e4, high=1e4),), label=N_("gradient at x ~ U(-1e4, 1e4)"),
                    gradient=True)]),
    )


def _safe_sides(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x clamped to [0, inf) and to (-inf, 0]: the inputs each side's formula may safely see."""
    return x.clamp(min=0), x.clamp(max=0)


# --- sigmoid ----------------------------------------------------------------------------------------

def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Reference: the logistic function 1 / (1 + e^{-x}), never exponentiating a large positive number."""
    # For x >= 0 use 1 / (1 + e^{-x}); for x < 0 the equal form e^{x} / (1 + e^{x}). Each form is fed
    # only the inputs of its own side (clamped), so its exponent is <= 0: torch.where differentiates
    # both branches everywhere, and an inf in the unused branch would make its zero gradient nan.
    pos, neg = _safe_sides(x)
    e_pos, e_neg = torch.exp(-pos), torch.exp(neg)
    return torch.where(x >= 0, 1 / (1 + e_pos), e_neg / (1 + e_neg))


def _sigmoid_derivative(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    s = sigmoid(x)
    return v * s * (1 - s)


def _sigmoid_numpy(x: torch.Tensor) -> np.ndarray:
    # The learner's version warns; this copy only supplies the values to match against.
    with np.errstate(over="ignore"):
        return np.asarray(1 / (1 + np.exp(-x.numpy())))


def _sigmoid_through_abs(x: torch.Tensor) -> torch.Tensor:
    # right values, but |x| has PyTorch's slope 0 at x = 0, so the gradient there is 0, not 1/4
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _sigmoid_unclamped_where(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= 0, 1 / (1 + torch.exp(-x)), torch.exp(x) / (1 + torch.exp(x)))


register(Exercise(
    id="sigmoid",
    notebook=NOTEBOOK,
    title=N_("A numerically stable sigmoid"),
    signature="sigmoid(x)",
    reference=sigmoid,
    derivative=_sigmoid_derivative,
    public_cases=_stable_public,
    hidden_cases=_stable_hidden,
    warning_free=True,
    convention=N_("x is a float tensor of any shape; return a tensor of its shape and dtype. The gradient cases "
                  "differentiate your function with autograd and compare with the true derivative."),
    rules=(forbid(*SIGMOID, text=N_("write the sigmoid yourself with torch operations: torch.sigmoid, "
                                    "Tensor.sigmoid, F.sigmoid and torch.special.expit are off limits.")),),
    hints=(
        N_("σ(x) = 1 / (1 + e^{−x}) = eˣ / (1 + eˣ). Both are right on paper; each one exponentiates a large "
           "positive number on one side of 0, and e^{1e4} is inf in float64."),
        N_("Use each form only on the side where its exponent is ≤ 0 and choose per element with `torch.where`. "
           "`torch.where` computes both branches for every element and autograd differentiates both, so give "
           "each branch only inputs that are safe for it (clamp them): an inf in the branch that is not selected "
           "still turns the gradient into nan."),
    ),
    mistakes=(
        Mistake("numpy-exp",
                N_("Use torch operations: np.exp pulls NumPy into the computation (hence the warning) and "
                   "overflows for x = -1e4, since exp(1e4) is inf in float64. Use torch.exp, on a form whose "
                   "exponent is never positive."),
                wrong=_sigmoid_numpy),
        Mistake("exp-ratio-overflow",
                N_("exp(x) / (1 + exp(x)) gives inf / inf = nan for large positive x. Use that form only where "
                   "x < 0, and 1 / (1 + exp(-x)) where x >= 0."),
                wrong=lambda x: torch.exp(x) / (1 + torch.exp(x))),
        Mistake("sign-flip",
                N_("Your values are sigmoid(-x): the exponent in 1 / (1 + exp(-x)) carries a minus sign."),
                wrong=lambda x: 1 / (1 + torch.exp(x))),
        Mistake("one-form-gradient-nan",
                N_("1 / (1 + exp(−x)) gives the right values even at x = −1e4 (1 / (1 + inf) = 0), but its "
                   "gradient there is exp(1e4) / (1 + exp(1e4))² = inf / inf = nan: autograd differentiates the "
                   "formula you wrote, so a network using it would stop learning. Use a form whose exponent is "
                   "never positive on each side."),
                wrong=lambda x: 1 / (1 + torch.exp(-x))),
        Mistake("where-unclamped",
                N_("Your values are right, but the gradient is nan at huge |x|: torch.where evaluates both "
                   "branches for every element, so the branch you did not select still computes exp(1e4) = inf, "
                   "and its zero gradient times inf is nan. Clamp each branch's input to its own side of 0."),
                wrong=_sigmoid_unclamped_where),
        Mistake("abs-kink",
                N_("Your values are right, but autograd's gradient at x = 0 is 0 instead of σ'(0) = 1/4: |x| has "
                   "a kink at 0, where PyTorch takes its slope to be 0, and the formula built on |x| inherits "
                   "it. Choose between the two forms with a comparison on x, not through |x|."),
                wrong=_sigmoid_through_abs),
    ),
))


# --- derivatives ------------------------------------------------------------------------------------

def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """Reference: d sigmoid / dx = s (1 - s) with s = sigmoid(x), elementwise."""
    s = sigmoid(x)
    return s * (1 - s)


def _sigmoid_grad_exp_overflow(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-x) / (1 + torch.exp(-x)) ** 2


register(Exercise(
    id="sigmoid_grad",
    notebook=NOTEBOOK,
    title=N_("The derivative of the sigmoid"),
    signature="sigmoid_grad(x)",
    reference=sigmoid_grad,
    public_cases=lambda: weigh_extremes(_elementwise_public(), label_starts="huge"),
    hidden_cases=_elementwise_hidden,
    convention=N_("x is the input of the sigmoid (not its output); return σ'(x) elementwise, x's shape and dtype."),
    rules=(no_autograd(N_("derive σ'(x) yourself and code the formula: no autograd (no backward(), "
                          "torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hints=(
        N_("Differentiate 1 / (1 + e^{−x}) with the chain rule, then write the result in terms of s = σ(x) itself."),
        N_("Once the derivative is written with s, compute s in a way that cannot overflow (your sigmoid, or "
           "`torch.sigmoid`) instead of exponentiating x yourself. A check you can do by hand: σ'(0) = 1/4."),
    ),
    mistakes=(
        Mistake("returns-s", N_("You returned sigmoid(x) itself; its derivative is s * (1 - s)."),
                wrong=lambda x: torch.sigmoid(x)),
        Mistake("x-for-s",
                N_("You computed x * (1 - x): the formula s * (1 - s) takes s = sigmoid(x), not the input x."),
                wrong=lambda x: x * (1 - x)),
        Mistake("plus-sign",
                N_("Your values are s·(1 + s). Differentiating 1 / (1 + e^{−x}) brings down −e^{−x} from the "
                   "chain rule; rewrite e^{−x} / (1 + e^{−x}) in terms of s and check the sign you get."),
                wrong=lambda x: torch.sigmoid(x) * (1 + torch.sigmoid(x))),
        Mistake("exp-overflow",
                N_("exp(-x) / (1 + exp(-x))^2 is inf / inf = nan at x = -1e4. Compute s = sigmoid(x) with a "
                   "stable formula (or torch.sigmoid) and express the derivative with s."),
                wrong=_sigmoid_grad_exp_overflow),
    ),
))


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """Reference: d tanh / dx = 1 - tanh(x)^2, elementwise."""
    t = torch.tanh(x)
    return 1 - t * t


register(Exercise(
    id="tanh_grad",
    notebook=NOTEBOOK,
    title=N_("The derivative of tanh"),
    signature="tanh_grad(x)",
    reference=tanh_grad,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    convention=N_("x is the input of tanh; return tanh'(x) elementwise, x's shape and dtype."),
    rules=(no_autograd(N_("derive tanh'(x) yourself and code the formula: no autograd (no backward(), "
                          "torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hints=(
        N_("Write the derivative in terms of t = tanh(x), the way σ' is written with s = σ(x)."),
        N_("Test your formula at points you know: tanh'(0) = 1, and tanh'(x) → 0 as |x| grows, since tanh "
           "flattens out at ±1."),
    ),
    mistakes=(
        Mistake("x-for-tanh", N_("You computed 1 - x^2; the formula is 1 - tanh(x)^2 (square the output, "
                "not the input)."), wrong=lambda x: 1 - x ** 2),
        Mistake("no-square", N_("You computed 1 - tanh(x); the derivative is 1 - tanh(x)^2."),
                wrong=lambda x: 1 - torch.tanh(x)),
        Mistake("returns-tanh-squared", N_("You returned tanh(x)^2; the derivative is 1 minus that."),
                wrong=lambda x: torch.tanh(x) ** 2),
    ),
))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """Reference: d ReLU / dx = 1 where x > 0, else 0 (PyTorch's convention: ReLU'(0) = 0)."""
    return (x > 0).to(x.dtype)


register(Exercise(
    id="relu_grad",
    notebook=NOTEBOOK,
    title=N_("The derivative of ReLU"),
    signature="relu_grad(x)",
    reference=relu_grad,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    convention=N_("At the kink x = 0 the check follows PyTorch: ReLU'(0) = 0. Return numbers of x's dtype."),
    rules=(no_autograd(N_("write ReLU' from its definition: no autograd (no backward(), torch.autograd.grad, "
                          "requires_grad or torch.func transforms).")),),
    hints=(
        N_("ReLU(x) = max(x, 0) has slope 1 on one side of 0 and slope 0 on the other."),
        N_("A comparison gives a boolean tensor, and the answer must be numbers of x's own dtype. At x = 0 "
           "the convention is ReLU'(0) = 0: pick the comparison that is False there."),
    ),
    mistakes=(
        Mistake("one-at-zero", N_("At x = 0 you return 1. PyTorch (and this check) use ReLU'(0) = 0: "
                "use x > 0, not x >= 0."), wrong=lambda x: (x >= 0).to(x.dtype)),
        Mistake("returns-relu", N_("You returned ReLU(x) itself; its derivative is 1 where x > 0 and 0 elsewhere."),
                wrong=lambda x: torch.clamp(x, min=0)),
        Mistake("boolean", N_("x > 0 gives a boolean tensor; convert it with .to(x.dtype) so the result is "
                "numbers of the input's dtype."), wrong=lambda x: x > 0),
        Mistake("float32", N_("Your result is float32: .float() always gives float32, whatever x's dtype. "
                ".to(x.dtype) keeps the input's dtype (float64 in these cases)."),
                test=lambda case, expected, got: getattr(expected, "dtype", "") == "torch.float64"
                and getattr(got, "dtype", "") == "torch.float32"),
    ),
))


# --- a smooth ReLU -----------------------------------------------------------------------------------

def softplus(x: torch.Tensor) -> torch.Tensor:
    """Reference: log(1 + e^x), computed as x + log(1 + e^{-x}) for x > 0 so nothing overflows."""
    # log(1 + e^x) = x + log(1 + e^{-x}): for x > 0 that form exponentiates only -x <= 0. Each branch
    # of torch.where sees only its own side's inputs, so neither value nor gradient meets an inf.
    pos, neg = _safe_sides(x)
    return torch.where(x > 0, pos + torch.log1p(torch.exp(-pos)), torch.log1p(torch.exp(neg)))


def _softplus_derivative(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return v * sigmoid(x)


def _softplus_threshold_where(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 20, x, torch.log1p(torch.exp(x)))


register(Exercise(
    id="softplus",
    notebook=NOTEBOOK,
    title=N_("A numerically stable softplus"),
    signature="softplus(x)",
    reference=softplus,
    derivative=_softplus_derivative,
    public_cases=_stable_public,
    hidden_cases=_stable_hidden,
    convention=N_("x is a float tensor of any shape; return log(1 + eˣ) with x's shape and dtype. The gradient cases "
                  "differentiate your function with autograd and compare with the true derivative."),
    rules=(forbid("torch.nn.functional.softplus", "torch.logaddexp", "torch.Tensor.logaddexp",
                  text=N_("write softplus yourself: F.softplus and torch.logaddexp (softplus in disguise) are "
                          "off limits.")),),
    hints=(
        N_("log(1 + eˣ) overflows for large x: e^{1e4} is inf in float64, though the answer is about 1e4. For "
           "positive x, factor eˣ out of the logarithm."),
        N_("For x > 0, log(1 + eˣ) = x + log(1 + e^{−x}); `torch.log1p(y)` computes log(1 + y) accurately for small "
           "y. As in your sigmoid, choose with `torch.where` and give each branch only the inputs that are safe "
           "for it: the check differentiates your function too."),
    ),
    mistakes=(
        Mistake("where-unclamped",
                N_("Your values are right, but the gradient is nan at x = 1e4: torch.where evaluates both "
                   "branches for every element, so the branch you did not select still computes exp(1e4) = inf, "
                   "and its zero gradient times inf is nan. Give that branch only inputs where it is safe "
                   "(clamp them)."),
                wrong=_softplus_threshold_where),
        Mistake("naive-overflow", N_("log(1 + exp(x)) is inf for large x because exp(x) overflows. Rewrite it "
                "for positive x as x + log(1 + exp(-x))."), wrong=lambda x: torch.log(1 + torch.exp(x))),
        Mistake("sign-flip", N_("Your values are softplus(-x): softplus(x) = log(1 + exp(x)), with +x."),
                wrong=lambda x: torch.clamp(-x, min=0) + torch.log1p(torch.exp(-x.abs()))),
        Mistake("relu-only", N_("You returned max(x, 0) alone: softplus adds log(1 + exp(-|x|)), "
                "which is log 2 at x = 0."), wrong=lambda x: torch.clamp(x, min=0)),
        Mistake("kink-at-zero",
                N_("Your values are right, but autograd's gradient at x = 0 is not softplus'(0) = σ(0) = 1/2: "
                   "max(x, 0) and |x| each have a kink at 0, where PyTorch picks one slope (1 or 0), and the two "
                   "kinks of your formula do not cancel. Split the two cases with a comparison on x instead."),
                wrong=lambda x: torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))),
    ),
))


# --- dead ReLU units ---------------------------------------------------------------------------------

def dead_relu_fraction(pre_activations: torch.Tensor) -> float:
    """Reference: the share of units (columns) whose pre-activation is <= 0 for every sample (row)."""
    # A unit is dead on this batch when ReLU outputs 0 for all samples, so ReLU' = 0 and no
    # gradient reaches its weights. Reduce over the batch (dim 0), then average over the units.
    dead = (pre_activations <= 0).all(dim=0)
    return float(dead.to(torch.float64).mean())


def _dead_public() -> list[Case]:
    return [
        Case((tensor([[-1.0, 2.0, 0.0, -3.0], [-2.0, -1.0, 0.0, 4.0], [-0.5, -1.0, 0.0, -1.0]]),),
             label="3 samples x 4 units: one always negative, one always exactly 0"),
        Case((tensor([[0.5, -0.2, -1.0, 0.0, 3.0]]),), label="a batch of one sample"),
        Case((tensor([[1.0, 2.0], [3.0, 0.5]]),), label="no dead unit"),
        Case((tensor([[-1e4, -1e-300], [-2.0, -5e-324]]),), label="every unit dead, including tiny negatives"),
    ]


def _dead_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        batch, units = int(rng.integers(1, 9)), 10
        pre = normal(rng, (batch, units)) + torch.from_numpy(rng.uniform(-4.0, 1.0, size=units))
        pre[:, torch.from_numpy(rng.random(units) < 0.2)] = 0.0
        cases.append(Case((pre,), label=N_("random batch of 1-8 samples x 10 units, per-unit offsets "
                                         "~ U(-4, 1), some units exactly 0")))
    return cases


register(Exercise(
    id="dead_relu_fraction",
    notebook=NOTEBOOK,
    title=N_("Fraction of dead ReLU units"),
    signature="dead_relu_fraction(pre_activations)",
    reference=dead_relu_fraction,
    public_cases=_dead_public,
    hidden_cases=_dead_hidden,
    convention=N_("pre_activations has shape (batch, units); a unit counts as dead when its pre-activation "
                  "is <= 0 for every sample (ReLU'(0) = 0, so a unit stuck at exactly 0 gets no gradient)."),
    hints=(
        N_("A unit is a column of pre_activations. Decide, for each column, whether that unit is switched off "
           "for every sample of the batch."),
        N_("Reduce over the batch dimension first, which leaves one boolean per unit; then turn those booleans "
           "into the share of dead units, as a Python float."),
    ),
    mistakes=(
        Mistake("entry-fraction", N_("You counted the share of all entries that are <= 0. A unit is dead only "
                "when it is <= 0 for every sample: reduce each column with .all(dim=0) first."),
                wrong=lambda p: float((p <= 0).to(torch.float64).mean())),
        Mistake("per-sample", N_("You reduced over the units (dim=1), so you measured samples, not units. "
                "Each column is a unit: use .all(dim=0)."),
                wrong=lambda p: float((p <= 0).all(dim=1).to(torch.float64).mean())),
        Mistake("strict-less", N_("A unit stuck at exactly 0 is dead too (ReLU'(0) = 0, no gradient): "
                "use <= 0, not < 0."), wrong=lambda p: float((p < 0).all(dim=0).to(torch.float64).mean())),
        Mistake("any-sample", N_("You marked a unit dead when it is <= 0 for some sample; it must be <= 0 "
                "for every sample (.all, not .any)."),
                wrong=lambda p: float((p <= 0).any(dim=0).to(torch.float64).mean())),
        Mistake("count", N_("You returned how many units are dead; the exercise asks for the fraction "
                "(divide by the number of units, or take the mean)."),
                wrong=lambda p: int((p <= 0).all(dim=0).sum())),
    ),
))


# --- activations with a parameter ---------------------------------------------------------------------

def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """Reference: x where x > 0, negative_slope * x elsewhere."""
    return torch.where(x > 0, x, negative_slope * x)


register(Exercise(
    id="leaky_relu",
    notebook=NOTEBOOK,
    title=N_("Leaky ReLU"),
    signature="leaky_relu(x, negative_slope=0.01)",
    reference=leaky_relu,
    public_cases=lambda: _elementwise_public(extra=(
        Case((tensor(ORDINARY),), {"negative_slope": 0.2}, label="negative_slope = 0.2"),
        Case((tensor(HUGE),), {"negative_slope": 0.5}, label="huge |x| with negative_slope = 0.5"),
    )),
    hidden_cases=lambda rng: [*_elementwise_hidden(rng),
                              Case((normal(rng, (5,)),), {"negative_slope": float(rng.uniform(0.01, 0.5))},
                                   label=N_("random vector, negative_slope ~ U(0.01, 0.5)"))],
    convention=N_("x is a float tensor of any shape; negative_slope a float. Return a tensor of x's shape and dtype."),
    rules=(forbid("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_", "torch.prelu",
                  "torch.nn.functional.prelu", text=N_("write it yourself: F.leaky_relu and prelu are off limits.")),),
    hints=(
        N_("Leaky ReLU keeps positive inputs unchanged and multiplies negative ones by negative_slope."),
        N_("Choose, element by element, between the two values, e.g. with `torch.where(condition, a, b)`; use the "
           "negative_slope you are given, not a fixed number."),
    ),
    mistakes=(
        Mistake("slope-on-positive-side", N_("The slope went to the wrong side: positive inputs pass unchanged, "
                "negative ones are multiplied by negative_slope."),
                wrong=lambda x, negative_slope=0.01: torch.where(x > 0, negative_slope * x, x)),
        Mistake("plain-relu", N_("Negative inputs give 0 in your answer, as in plain ReLU; Leaky ReLU keeps "
                "negative_slope * x there."), wrong=lambda x, negative_slope=0.01: torch.clamp(x, min=0)),
        Mistake("fixed-slope", N_("Your answer uses 0.01 whatever negative_slope is passed: use the argument."),
                wrong=lambda x, negative_slope=0.01: torch.where(x > 0, x, 0.01 * x)),
    ),
))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Reference: x where x > 0, alpha * (e^x - 1) elsewhere."""
    # expm1(x) = e^x - 1 without the cancellation of subtracting 1 for tiny x.
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def _elu_derivative(v: torch.Tensor, x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    # ELU'(x) = 1 for x > 0 and alpha e^x for x <= 0 (the left slope at 0, as F.elu's backward uses)
    return v * torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x.clamp(max=0)))


def _elu_mask_product(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return (x > 0) * x + (x <= 0) * alpha * (torch.exp(x) - 1)


def _elu_unclamped_where(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return torch.where(x > 0, x, alpha * torch.expm1(x))


register(Exercise(
    id="elu",
    notebook=NOTEBOOK,
    title=N_("ELU"),
    signature="elu(x, alpha=1.0)",
    reference=elu,
    derivative=_elu_derivative,
    public_cases=lambda: _stable_public(extra=(
        Case((tensor(ORDINARY),), {"alpha": 2.0}, label="alpha = 2"),
        Case((tensor([-1e4, -3.0, 0.0, 3.0]),), {"alpha": 0.5}, label="very negative x with alpha = 0.5"),
    )),
    hidden_cases=lambda rng: _stable_hidden(rng, extra=(
        Case((normal(rng, (5,), scale=2.0),), {"alpha": float(rng.choice([0.5, 1.5, 2.0, 3.0]))},
             label=N_("random vector, alpha from {0.5, 1.5, 2, 3}")),)),
    convention=N_("x is a float tensor of any shape; alpha a float. At x = 0 the gradient check takes the left slope "
                  "α, as F.elu does. The gradient cases differentiate your function with autograd and compare with "
                  "the true derivative."),
    rules=(forbid("torch.nn.functional.elu", "torch.nn.functional.elu_", "torch.nn.functional.celu",
                  text=N_("write it yourself: F.elu and F.celu are off limits.")),),
    hints=(
        N_("ELU is the identity for x > 0 and α(eˣ − 1) for x ≤ 0, which tends to −α for very negative x."),
        N_("The exponential branch must only ever see x ≤ 0: at x = 1e4, eˣ is inf, and even where `torch.where` "
           "does not select that branch, autograd differentiates it (0 · inf = nan). Clamp that branch's input. "
           "`torch.expm1` computes eˣ − 1 accurately for tiny x."),
    ),
    mistakes=(
        Mistake("missing-alpha", N_("Your negative side ignores alpha: it is alpha * (exp(x) - 1)."),
                wrong=lambda x, alpha=1.0: torch.where(x > 0, x, torch.expm1(torch.clamp(x, max=0)))),
        Mistake("where-unclamped",
                N_("Your values are right, but the gradient is nan at x = 1e4: torch.where evaluates both branches "
                   "for every element, so the exponential branch still computes exp(1e4) = inf there, and its "
                   "zero gradient times inf is nan. Clamp the input of that branch so it only sees x ≤ 0."),
                wrong=_elu_unclamped_where),
        Mistake("mask-times-inf", N_("Multiplying by a mask does not remove an inf: at x = 1e4, exp(x) is inf "
                "and 0 * inf = nan. Select with torch.where instead of multiplying by (x <= 0)."),
                wrong=_elu_mask_product),
        Mistake("missing-minus-one", N_("On the negative side it is alpha * (exp(x) - 1), not alpha * exp(x): "
                "without the - 1 the function jumps at 0."),
                wrong=lambda x, alpha=1.0: torch.where(x > 0, x, alpha * torch.exp(torch.clamp(x, max=0)))),
        Mistake("exp-branch-everywhere",
                N_("You applied the exponential branch α(eˣ − 1) to positive inputs too: for x > 0 ELU is the "
                   "identity. The two sides of 0 need different formulas."),
                wrong=lambda x, alpha=1.0: alpha * torch.expm1(x)),
    ),
))
