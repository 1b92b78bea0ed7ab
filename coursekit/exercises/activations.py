"""Exercises of 03_activations: activation functions, their derivatives, and dead ReLU units."""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor, uniform
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register

NOTEBOOK = "03_activations"

# Inputs shared by most exercises: ordinary values around the kink, 0 alone, the extremes
# |x| = 1e4 (where exp overflows in float64), tiny numbers, and a batch holding one sample.
ORDINARY = [-2.0, -0.5, 0.0, 0.5, 2.0]
HUGE = [-1e4, -50.0, 50.0, 1e4]
TINY = [-1e-300, 5e-324, 1e-12, -1e-12]


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
        Case((normal(rng, (n,), scale=3.0),), label="random vector, x ~ N(0, 3^2)"),
        Case((normal(rng, (int(rng.integers(1, 5)), 4)),), label="random batch, x ~ N(0, 1)"),
        Case((uniform(rng, (n,), low=-1e4, high=1e4),), label="random vector, x ~ U(-1e4, 1e4)"),
    ]


# --- sigmoid ----------------------------------------------------------------------------------------

def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Reference: the logistic function 1 / (1 + e^{-x}), never exponentiating a large positive number."""
    # For x >= 0 use 1 / (1 + e^{-x}); for x < 0 the equal form e^{x} / (1 + e^{x}).
    # Either way the exponent is -|x| <= 0, so e^{-|x|} lies in (0, 1] and cannot overflow.
    z = torch.exp(-x.abs())
    return torch.where(x >= 0, 1 / (1 + z), z / (1 + z))


def _sigmoid_numpy(x: torch.Tensor) -> np.ndarray:
    # The learner's version warns; this copy only supplies the values to match against.
    with np.errstate(over="ignore"):
        return np.asarray(1 / (1 + np.exp(-x.numpy())))


register(Exercise(
    id="sigmoid",
    notebook=NOTEBOOK,
    title="A numerically stable sigmoid",
    signature="sigmoid(x)",
    reference=sigmoid,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    warning_free=True,
    hints=(
        "sigmoid(x) = 1 / (1 + exp(-x)) = exp(x) / (1 + exp(x)). Both forms are right on paper; "
        "each one overflows on one side (exp of a large positive number).",
        "Compute z = torch.exp(-x.abs()), which is always in (0, 1], and pick the form with torch.where: "
        "1 / (1 + z) where x >= 0, z / (1 + z) where x < 0.",
    ),
    mistakes=(
        Mistake("numpy-exp",
                "Use torch operations: np.exp pulls NumPy into the computation (hence the warning) and "
                "overflows for x = -1e4, since exp(1e4) is inf in float64. Use torch.exp on a form that only "
                "exponentiates -|x|.",
                wrong=_sigmoid_numpy),
        Mistake("exp-ratio-overflow",
                "exp(x) / (1 + exp(x)) gives inf / inf = nan for large positive x. Use that form only where "
                "x < 0, and 1 / (1 + exp(-x)) where x >= 0.",
                wrong=lambda x: torch.exp(x) / (1 + torch.exp(x))),
        Mistake("sign-flip",
                "Your values are sigmoid(-x): the exponent in 1 / (1 + exp(-x)) carries a minus sign.",
                wrong=lambda x: 1 / (1 + torch.exp(x))),
    ),
))


# --- derivatives ------------------------------------------------------------------------------------

def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """Reference: d sigmoid / dx = s (1 - s) with s = sigmoid(x), elementwise."""
    z = torch.exp(-x.abs())
    s = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
    return s * (1 - s)


def _sigmoid_grad_exp_overflow(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-x) / (1 + torch.exp(-x)) ** 2


register(Exercise(
    id="sigmoid_grad",
    notebook=NOTEBOOK,
    title="The derivative of the sigmoid",
    signature="sigmoid_grad(x)",
    reference=sigmoid_grad,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    hints=(
        "Differentiate 1 / (1 + e^{-x}) and write the result in terms of s = sigmoid(x) itself.",
        "sigmoid'(x) = s * (1 - s). It is largest at x = 0, where it equals 1/4.",
    ),
    mistakes=(
        Mistake("returns-s", "You returned sigmoid(x) itself; its derivative is s * (1 - s).",
                wrong=lambda x: torch.sigmoid(x)),
        Mistake("x-for-s",
                "You computed x * (1 - x): the formula s * (1 - s) takes s = sigmoid(x), not the input x.",
                wrong=lambda x: x * (1 - x)),
        Mistake("exp-overflow",
                "exp(-x) / (1 + exp(-x))^2 is inf / inf = nan at x = -1e4. Compute s = sigmoid(x) with a "
                "stable formula (or torch.sigmoid) and return s * (1 - s).",
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
    title="The derivative of tanh",
    signature="tanh_grad(x)",
    reference=tanh_grad,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    hints=(
        "Write the derivative in terms of t = tanh(x), the way sigmoid' = s (1 - s) is written with s.",
        "tanh'(x) = 1 - tanh(x)^2: 1 at x = 0, and close to 0 once |x| > 3.",
    ),
    mistakes=(
        Mistake("x-for-tanh", "You computed 1 - x^2; the formula is 1 - tanh(x)^2 (square the output, "
                "not the input).", wrong=lambda x: 1 - x ** 2),
        Mistake("no-square", "You computed 1 - tanh(x); the derivative is 1 - tanh(x)^2.",
                wrong=lambda x: 1 - torch.tanh(x)),
        Mistake("returns-tanh-squared", "You returned tanh(x)^2; the derivative is 1 minus that.",
                wrong=lambda x: torch.tanh(x) ** 2),
    ),
))


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """Reference: d ReLU / dx = 1 where x > 0, else 0 (PyTorch's convention: ReLU'(0) = 0)."""
    return (x > 0).to(x.dtype)


register(Exercise(
    id="relu_grad",
    notebook=NOTEBOOK,
    title="The derivative of ReLU",
    signature="relu_grad(x)",
    reference=relu_grad,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    convention="At the kink x = 0 the check follows PyTorch: ReLU'(0) = 0.",
    hints=(
        "ReLU(x) = max(x, 0) has slope 1 to the right of 0 and slope 0 to the left.",
        "(x > 0) is a boolean tensor; turn it into numbers of x's dtype with .to(x.dtype). "
        "Note the strict > : at x = 0 the derivative is taken to be 0.",
    ),
    mistakes=(
        Mistake("one-at-zero", "At x = 0 you return 1. PyTorch (and this check) use ReLU'(0) = 0: "
                "use x > 0, not x >= 0.", wrong=lambda x: (x >= 0).to(x.dtype)),
        Mistake("returns-relu", "You returned ReLU(x) itself; its derivative is 1 where x > 0 and 0 elsewhere.",
                wrong=lambda x: torch.clamp(x, min=0)),
        Mistake("boolean", "x > 0 gives a boolean tensor; convert it with .to(x.dtype) so the result is "
                "numbers of the input's dtype.", wrong=lambda x: x > 0),
        Mistake("float32", "Your result is float32: .float() always gives float32, whatever x's dtype. "
                ".to(x.dtype) keeps the input's dtype (float64 in these cases).",
                test=lambda case, expected, got: getattr(expected, "dtype", "") == "torch.float64"
                and getattr(got, "dtype", "") == "torch.float32"),
    ),
))


# --- a smooth ReLU -----------------------------------------------------------------------------------

def softplus(x: torch.Tensor) -> torch.Tensor:
    """Reference: log(1 + e^x), computed as max(x, 0) + log(1 + e^{-|x|}) so nothing overflows."""
    # log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|}); the exponent -|x| is never positive.
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


register(Exercise(
    id="softplus",
    notebook=NOTEBOOK,
    title="A numerically stable softplus",
    signature="softplus(x)",
    reference=softplus,
    public_cases=_elementwise_public,
    hidden_cases=_elementwise_hidden,
    hints=(
        "log(1 + exp(x)) overflows for large x: exp(1e4) is inf in float64, though the answer is about 1e4.",
        "Factor out the larger term: log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|}). "
        "torch.log1p(y) computes log(1 + y) accurately for small y.",
    ),
    mistakes=(
        Mistake("naive-overflow", "log(1 + exp(x)) is inf for large x because exp(x) overflows. Rewrite it "
                "as max(x, 0) + log(1 + exp(-|x|)).", wrong=lambda x: torch.log(1 + torch.exp(x))),
        Mistake("sign-flip", "Your values are softplus(-x): softplus(x) = log(1 + exp(x)), with +x.",
                wrong=lambda x: torch.clamp(-x, min=0) + torch.log1p(torch.exp(-x.abs()))),
        Mistake("relu-only", "You returned max(x, 0) alone: softplus adds log(1 + exp(-|x|)), "
                "which is log 2 at x = 0.", wrong=lambda x: torch.clamp(x, min=0)),
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
        cases.append(Case((pre,), label="random batch of 1-8 samples x 10 units, per-unit offsets "
                                         "~ U(-4, 1), some units exactly 0"))
    return cases


register(Exercise(
    id="dead_relu_fraction",
    notebook=NOTEBOOK,
    title="Fraction of dead ReLU units",
    signature="dead_relu_fraction(pre_activations)",
    reference=dead_relu_fraction,
    public_cases=_dead_public,
    hidden_cases=_dead_hidden,
    convention="pre_activations has shape (batch, units); a unit counts as dead when its pre-activation "
               "is <= 0 for every sample (ReLU'(0) = 0, so a unit stuck at exactly 0 gets no gradient).",
    hints=(
        "A unit is a column. First find, per column, whether every entry is <= 0: "
        "(pre_activations <= 0).all(dim=0).",
        "That gives one boolean per unit; the answer is their mean as a Python float: "
        "float(dead.to(torch.float64).mean()).",
    ),
    mistakes=(
        Mistake("entry-fraction", "You counted the share of all entries that are <= 0. A unit is dead only "
                "when it is <= 0 for every sample: reduce each column with .all(dim=0) first.",
                wrong=lambda p: float((p <= 0).to(torch.float64).mean())),
        Mistake("per-sample", "You reduced over the units (dim=1), so you measured samples, not units. "
                "Each column is a unit: use .all(dim=0).",
                wrong=lambda p: float((p <= 0).all(dim=1).to(torch.float64).mean())),
        Mistake("strict-less", "A unit stuck at exactly 0 is dead too (ReLU'(0) = 0, no gradient): "
                "use <= 0, not < 0.", wrong=lambda p: float((p < 0).all(dim=0).to(torch.float64).mean())),
        Mistake("any-sample", "You marked a unit dead when it is <= 0 for some sample; it must be <= 0 "
                "for every sample (.all, not .any).",
                wrong=lambda p: float((p <= 0).any(dim=0).to(torch.float64).mean())),
        Mistake("count", "You returned how many units are dead; the exercise asks for the fraction "
                "(divide by the number of units, or take the mean).",
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
    title="Leaky ReLU",
    signature="leaky_relu(x, negative_slope=0.01)",
    reference=leaky_relu,
    public_cases=lambda: _elementwise_public(extra=(
        Case((tensor(ORDINARY),), {"negative_slope": 0.2}, label="negative_slope = 0.2"),
        Case((tensor(HUGE),), {"negative_slope": 0.5}, label="huge |x| with negative_slope = 0.5"),
    )),
    hidden_cases=lambda rng: [*_elementwise_hidden(rng),
                              Case((normal(rng, (5,)),), {"negative_slope": float(rng.uniform(0.01, 0.5))},
                                   label="random vector, negative_slope ~ U(0.01, 0.5)")],
    hints=(
        "Leaky ReLU keeps positive inputs unchanged and multiplies negative ones by negative_slope.",
        "torch.where(x > 0, x, negative_slope * x) does it in one line.",
    ),
    mistakes=(
        Mistake("slope-on-positive-side", "The slope went to the wrong side: positive inputs pass unchanged, "
                "negative ones are multiplied by negative_slope.",
                wrong=lambda x, negative_slope=0.01: torch.where(x > 0, negative_slope * x, x)),
        Mistake("plain-relu", "Negative inputs give 0 in your answer, as in plain ReLU; Leaky ReLU keeps "
                "negative_slope * x there.", wrong=lambda x, negative_slope=0.01: torch.clamp(x, min=0)),
        Mistake("fixed-slope", "Your answer uses 0.01 whatever negative_slope is passed: use the argument.",
                wrong=lambda x, negative_slope=0.01: torch.where(x > 0, x, 0.01 * x)),
    ),
))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """Reference: x where x > 0, alpha * (e^x - 1) elsewhere."""
    # expm1(x) = e^x - 1 without the cancellation of subtracting 1 for tiny x.
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def _elu_mask_product(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    return (x > 0) * x + (x <= 0) * alpha * (torch.exp(x) - 1)


register(Exercise(
    id="elu",
    notebook=NOTEBOOK,
    title="ELU",
    signature="elu(x, alpha=1.0)",
    reference=elu,
    public_cases=lambda: _elementwise_public(extra=(
        Case((tensor(ORDINARY),), {"alpha": 2.0}, label="alpha = 2"),
        Case((tensor([-1e4, -3.0, 0.0, 3.0]),), {"alpha": 0.5}, label="very negative x with alpha = 0.5"),
    )),
    hidden_cases=lambda rng: [*_elementwise_hidden(rng),
                              Case((normal(rng, (5,), scale=2.0),), {"alpha": float(rng.choice([0.5, 1.5, 2.0, 3.0]))},
                                   label="random vector, alpha from {0.5, 1.5, 2, 3}")],
    hints=(
        "ELU is the identity for x > 0 and alpha * (exp(x) - 1) for x <= 0, which tends to -alpha.",
        "torch.where(x > 0, x, alpha * (torch.exp(x) - 1)) works; torch.expm1(x) computes exp(x) - 1 "
        "more accurately for tiny x.",
    ),
    mistakes=(
        Mistake("missing-alpha", "Your negative side ignores alpha: it is alpha * (exp(x) - 1).",
                wrong=lambda x, alpha=1.0: torch.where(x > 0, x, torch.expm1(torch.clamp(x, max=0)))),
        Mistake("mask-times-inf", "Multiplying by a mask does not remove an inf: at x = 1e4, exp(x) is inf "
                "and 0 * inf = nan. Select with torch.where instead of multiplying by (x <= 0).",
                wrong=_elu_mask_product),
        Mistake("missing-minus-one", "On the negative side it is alpha * (exp(x) - 1), not alpha * exp(x): "
                "without the - 1 the function jumps at 0.",
                wrong=lambda x, alpha=1.0: torch.where(x > 0, x, alpha * torch.exp(torch.clamp(x, max=0)))),
    ),
))
