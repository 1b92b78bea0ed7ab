"""Exercises of 05_softmax: a stable softmax, temperature, the Jacobian and the softmax + CE gradient."""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, shares, tensor, weigh_extremes
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import LOG_SOFTMAX, SOFTMAX, forbid, no_autograd
from coursekit.i18n import N_, _

NOTEBOOK = "05_softmax"


# --- references ---------------------------------------------------------------------------------------------

def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Reference: exp(z_i) / sum_j exp(z_j) along `dim`, computed after subtracting the maximum."""
    # softmax(z) = softmax(z - c) for any constant c; c = max makes every exponent <= 0, so exp never overflows.
    shifted = z - z.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def _softmax_derivative(v: torch.Tensor, z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    # The vector-Jacobian product of softmax: vᵀ(diag(p) − p pᵀ) = p ⊙ (v − (v · p)), slice by slice along dim.
    p = softmax(z, dim=dim)
    return p * (v - (v * p).sum(dim=dim, keepdim=True))


def _temperature_derivative(v: torch.Tensor, z: torch.Tensor, temperature: float) -> torch.Tensor:
    return _softmax_derivative(v, z / temperature) / temperature


def _pattern(shape: tuple[int, ...]) -> torch.Tensor:
    """A fixed, non-constant cotangent: with v constant along dim the softmax VJP is 0 and checks nothing."""
    n = int(np.prod(shape))
    return torch.linspace(-1.0, 2.0, n, dtype=torch.float64).reshape(shape) ** 2


def softmax_with_temperature(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """Reference: softmax(z / T) along the last dimension (T > 0), stable for small T."""
    return softmax(z / temperature, dim=-1)


def softmax_jacobian(z: torch.Tensor) -> torch.Tensor:
    """Reference: the n x n matrix d p_i / d z_j = p_i (delta_ij - p_j), i.e. diag(p) - p p^T, for 1-D z."""
    p = softmax(z, dim=-1)
    return torch.diag(p) - torch.outer(p, p)


def softmax_cross_entropy_grad(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Reference: gradient of the batch-mean cross-entropy w.r.t. the logits, (softmax(logits) - onehot) / N."""
    n, classes = logits.shape
    onehot = torch.nn.functional.one_hot(target, classes).to(logits.dtype)
    # d/dz of -log p_y is p - onehot(y); the mean over the batch divides every row by N.
    return (softmax(logits, dim=-1) - onehot) / max(n, 1)


# --- known-wrong implementations (what the recognisers compare against) ------------------------------------

def _naive_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = z.exp()
    return e / e.sum(dim=dim, keepdim=True)


def _whole_tensor_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = (z - z.max()).exp()
    return e / e.sum()


def _no_keepdim_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = (z - z.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim)


def _last_dim_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return softmax(z, dim=-1)


def _global_max_softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    e = (z - z.max()).exp()
    return e / e.sum(dim=dim, keepdim=True)


def _normalised_along_another_dim(case: Case, expected: object, got: object) -> bool:
    """The learner's probabilities sum to 1 along some dimension other than the one asked for."""
    data = getattr(got, "data", None)
    if case.gradient or not isinstance(data, np.ndarray) or data.ndim < 2 or \
            data.shape != getattr(expected, "shape", None):
        return False
    asked = case.kwargs.get("dim", -1) % data.ndim
    return any(np.allclose(data.sum(axis=a), 1.0) for a in range(data.ndim) if a != asked)


def _onehot(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)


# --- softmax ------------------------------------------------------------------------------------------------

def _softmax_public() -> list[Case]:
    batch = tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0], [-1.0, 5.0, 2.0]])
    columns = tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    large = tensor([1000.0, 999.0, 0.0])
    return shares(
        (0.16, [Case((tensor([2.0, 1.0, 0.1]),), label="the notebook's logits 2, 1, 0.1"),
                Case((batch,), label="a 3x3 batch, softmax over each row (dim=-1)"),
                Case((columns,), {"dim": 0}, label="dim=0: softmax down each column"),
                Case((tensor([[7.0]]),), label="a single logit: probability 1")]),
        (0.2, [Case((large,), label="large logits: exp(1000) overflows"),
               Case((tensor([-1e4, -1e4 + 1.0, -1e4 + 2.0]),), label="very negative logits: exp underflows to 0"),
               Case((tensor([[1000.0, 999.0], [0.0, 1.0]]),),
                    label="rows on very different scales: each row needs its own maximum")]),
        (0.04, [Case((torch.zeros(0, 4, dtype=torch.float64),), label="an empty batch of 4-class logits")]),
        (0.1, [Case((batch,), label="gradient of a 3x3 batch (dim=-1)", gradient=True, grad_output=_pattern((3, 3))),
               Case((columns,), {"dim": 0}, label="gradient with dim=0", gradient=True,
                    grad_output=_pattern((3, 2)))]),
        (0.5, [Case((large,), label="gradient at large logits", gradient=True, grad_output=_pattern((3,)))]),
    )


def _softmax_hidden(rng: np.random.Generator) -> list[Case]:
    ordinary = []
    for _draw in range(3):
        shape = (int(rng.integers(1, 5)), int(rng.integers(2, 7)))
        logits = normal(rng, shape, scale=float(rng.uniform(0.5, 5.0)))
        ordinary.append(Case((logits,), {"dim": int(rng.integers(0, 2))},
                             label=N_("a random batch of logits, normal with scale up to 5, softmax over a random "
                                      "dim")))
    shift = float(rng.uniform(500.0, 2000.0)) * (1 if rng.random() < 0.5 else -1)
    n = int(rng.integers(2, 8))
    shifted = normal(rng, (n,), scale=3.0) + shift
    label = _("a vector of logits shifted by a large constant (|shift| between 500 and 2000)")
    return shares(
        (0.3, ordinary),
        (0.2, [Case((shifted,), label=label)]),
        (0.5, [Case((shifted,), label=_("gradient: {label}").format(label=label), gradient=True,
                    grad_output=_pattern((n,)))]),
    )


register(Exercise(
    id="softmax",
    notebook=NOTEBOOK,
    title=N_("A numerically stable softmax"),
    signature="softmax(z, dim=-1)",
    reference=softmax,
    derivative=_softmax_derivative,
    public_cases=_softmax_public,
    hidden_cases=_softmax_hidden,
    convention=N_("z is a float tensor of any shape; normalise along `dim` only; return a tensor of z's shape and "
                  "dtype. The gradient cases differentiate your function with autograd and compare with the "
                  "softmax's vector-Jacobian product p ⊙ (v − v·p)."),
    rules=(forbid(*SOFTMAX, *LOG_SOFTMAX, text=N_("write softmax yourself with torch operations: torch.softmax, "
                                                  "F.softmax, Tensor.softmax and the log_softmax functions are off "
                                                  "limits.")),),
    hints=(
        N_("softmax(z)ᵢ = e^{zᵢ} / Σⱼ e^{zⱼ}, where the sum runs along `dim` only."),
        N_("Shifting all logits of one slice by the same constant leaves that slice's softmax unchanged. Choose, "
           "slice by slice along `dim`, the shift that makes every exponent ≤ 0: one maximum over the whole tensor "
           "is not enough when the rows are on very different scales."),
        N_("Keep the reduced dimension (`keepdim=True`) so that the division broadcasts slice by slice."),
    ),
    mistakes=(
        Mistake("naive-overflow",
                N_("exp(1000) is inf in floating point, and inf / inf is nan. Subtract the maximum along `dim` "
                   "before exponentiating: softmax(z) = softmax(z - max(z))."),
                wrong=_naive_softmax),
        Mistake("whole-tensor",
                N_("Your probabilities sum to 1 over the whole tensor, not along `dim`: sum along `dim` only, "
                   "keeping that dimension, so each slice is normalised on its own."),
                wrong=_whole_tensor_softmax),
        Mistake("global-max",
                N_("You subtracted one maximum for the whole tensor. In a row whose logits are far below that "
                   "maximum (here 0 and 1, next to a row holding 1000), every exponent is about −1000, exp "
                   "underflows to 0 and the row becomes 0 / 0 = nan. Take the maximum along `dim`, one per slice."),
                wrong=_global_max_softmax),
        Mistake("no-keepdim",
                N_("The sum along `dim` lost its dimension, so the division broadcast the wrong way (entry (i, j) was "
                   "divided by the sum of row j). Keep the summed dimension (keepdim=True)."),
                wrong=_no_keepdim_softmax),
        Mistake("ignores-dim",
                N_("Your function always normalises the last dimension; use the `dim` argument it is given "
                   "(for both the maximum and the sum)."),
                wrong=_last_dim_softmax),
        Mistake("wrong-dim",
                N_("Your probabilities sum to 1 along another dimension than the `dim` asked for: normalise, and "
                   "take the maximum, along `dim` itself."),
                test=_normalised_along_another_dim),
    ),
))


# --- softmax_with_temperature -------------------------------------------------------------------------------

def _temperature_public() -> list[Case]:
    z = tensor([2.0, 1.0, 0.1])
    cold = tensor([10.0, 9.0, 0.0])
    return shares(
        (0.3, [Case((z, 2.0), label="T = 2 flattens the distribution"),
               Case((z, 0.5), label="T = 0.5 sharpens it"),
               Case((z, 1.0), label="T = 1 is the plain softmax"),
               Case((tensor([3.0, -2.0, 0.5, 1.0]), 100.0), label="T = 100: nearly uniform"),
               Case((tensor([[1.0, 2.0, 3.0], [4.0, 4.0, 0.0]]), 3.0), label="a batch of two rows, T = 3"),
               Case((z, 2.0), label="gradient w.r.t. z at T = 2", gradient=True, grad_output=_pattern((3,)))]),
        (0.2, [Case((cold, 0.01), label="T = 0.01: z / T = 1000, naive exp overflows")]),
        (0.5, [Case((cold, 0.01), label="gradient w.r.t. z at T = 0.01", gradient=True, grad_output=_pattern((3,)))]),
    )


def _temperature_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _draw in range(4):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 7)))
        t = float(10 ** rng.uniform(-2.0, 2.0))
        cases.append(Case((normal(rng, shape, scale=3.0), t),
                          label=N_("random logits (normal, scale 3), temperature log-uniform in [0.01, 100]")))
    n = int(rng.integers(2, 7))
    cold = (normal(rng, (n,), scale=3.0), float(10 ** rng.uniform(-2.0, -1.5)))
    return shares((0.5, cases), (0.5, [Case(cold, label=N_("gradient: random logits, temperature in [0.01, 0.03]"),
                                            gradient=True, grad_output=_pattern((n,)))]))


register(Exercise(
    id="softmax_with_temperature",
    notebook=NOTEBOOK,
    title=N_("Softmax with a temperature"),
    signature="softmax_with_temperature(z, temperature)",
    reference=softmax_with_temperature,
    derivative=_temperature_derivative,
    public_cases=_temperature_public,
    hidden_cases=_temperature_hidden,
    convention=N_("z is a float tensor (a vector or a batch of rows), T > 0 a float; softmax along the last "
                  "dimension. The gradient cases differentiate your function with autograd with respect to z."),
    rules=(forbid(*SOFTMAX, *LOG_SOFTMAX, text=N_("build it on your own softmax: torch.softmax, F.softmax, "
                                                  "Tensor.softmax and the log_softmax functions are off limits.")),),
    hints=(
        N_("Temperature divides the logits before the softmax: p = softmax(z / T) along the last dimension."),
        N_("A small T makes z / T huge, so the stability of your softmax matters even more here."),
    ),
    mistakes=(
        Mistake("multiplied",
                N_("You multiplied the logits by T; temperature divides them: softmax(z / T). A large T must "
                   "flatten the distribution, a small T sharpen it."),
                wrong=lambda z, temperature: softmax(z * temperature, dim=-1)),
        Mistake("scaled-probabilities",
                N_("You divided the probabilities by T, so they no longer sum to 1. Divide the logits instead: "
                   "softmax(z / T)."),
                wrong=lambda z, temperature: softmax(z, dim=-1) / temperature),
        Mistake("naive-overflow",
                N_("With a small T, z / T is huge and exp overflows to inf (inf / inf = nan). Subtract the "
                   "maximum of z / T before exponentiating."),
                wrong=lambda z, temperature: _naive_softmax(z / temperature, dim=-1)),
    ),
))


# --- softmax_jacobian ---------------------------------------------------------------------------------------

def _jacobian_public() -> list[Case]:
    return [
        Case((tensor([2.0, 1.0, 0.1]),), label="the notebook's logits 2, 1, 0.1"),
        Case((tensor([0.0, 0.0, 0.0, 0.0]),), label="equal logits: p = 1/4 everywhere"),
        Case((tensor([3.0]),), label="a single logit: p = 1 cannot change, the Jacobian is [[0]]"),
        Case((tensor([800.0, 0.0, -800.0]),), label="large logits: p is (almost exactly) one-hot"),
        Case((tensor([-1.0, 0.5, 2.0, 0.0, 1.5]),), label="five logits"),
    ]


def _jacobian_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((normal(rng, (int(rng.integers(2, 7)),), scale=float(rng.uniform(0.5, 4.0))),),
                 label=N_("a random vector of 2 to 6 logits, normal with scale up to 4")) for _draw in range(4)]


register(Exercise(
    id="softmax_jacobian",
    notebook=NOTEBOOK,
    title=N_("The softmax Jacobian diag(p) - p pᵀ"),
    signature="softmax_jacobian(z)",
    reference=softmax_jacobian,
    public_cases=lambda: weigh_extremes(_jacobian_public(), label_starts="large"),
    hidden_cases=_jacobian_hidden,
    rtol=1e-6,
    atol=1e-10,
    convention=N_("z is a 1-D float tensor of n logits; return the n × n matrix J[i, j] = ∂p_i/∂z_j (row i is "
                  "output i), finite for logits like ±800."),
    rules=(no_autograd(N_("derive the Jacobian and code the formula: no autograd (no backward(), "
                          "torch.autograd.grad or torch.autograd.functional.jacobian, requires_grad or "
                          "torch.func).")),),
    hints=(
        N_("Entry (i, j) is ∂pᵢ/∂zⱼ. Differentiate pᵢ = e^{zᵢ} / Σₖ e^{zₖ} with the quotient rule, once for j = i "
           "and once for j ≠ i."),
        N_("Both cases fit one formula, pᵢ(δᵢⱼ − pⱼ); as a matrix that is a diagonal matrix minus an outer product. "
           "Get p from a stable softmax first."),
    ),
    mistakes=(
        Mistake("diagonal-only",
                N_("Only the diagonal p_i (1 − p_i) is right: raising z_j also lowers every other p_i, so the "
                   "off-diagonal entries are −p_i p_j. Use torch.diag(p) - torch.outer(p, p)."),
                wrong=lambda z: torch.diag(softmax(z) * (1 - softmax(z)))),
        Mistake("sign-flip",
                N_("Your Jacobian has the opposite sign: the diagonal must be positive (raising z_i raises p_i) and "
                   "the off-diagonal negative. It is diag(p) − p pᵀ, not p pᵀ − diag(p)."),
                wrong=lambda z: torch.outer(softmax(z), softmax(z)) - torch.diag(softmax(z))),
        Mistake("inner-product",
                N_("p @ p is a dot product (one number), so you subtracted the same value from every entry. The "
                   "Jacobian needs the outer product: torch.outer(p, p) (or p[:, None] * p[None, :])."),
                wrong=lambda z: torch.diag(softmax(z)) - softmax(z) @ softmax(z)),
        Mistake("naive-overflow",
                N_("Your p overflowed at large logits (exp(800) is inf, inf / inf = nan). Compute p with the "
                   "stable softmax (subtract the maximum) before building the Jacobian."),
                wrong=lambda z: torch.diag(_naive_softmax(z)) - torch.outer(_naive_softmax(z), _naive_softmax(z))),
    ),
))


# --- softmax_cross_entropy_grad -----------------------------------------------------------------------------

def _ce_public() -> list[Case]:
    return [
        Case((tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), tensor([0, 2], dtype=torch.int64)),
             label="a batch of two samples, three classes"),
        Case((tensor([[1.0, -1.0, 0.0, 2.0]]), tensor([3], dtype=torch.int64)), label="a batch of one"),
        Case((tensor([[1000.0, 0.0], [0.0, 1000.0], [-5.0, 5.0]]), tensor([1, 1, 0], dtype=torch.int64)),
             label="large logits (exp overflows without the max trick)"),
        Case((tensor([[0.0, 0.0, 0.0]] * 4), tensor([0, 1, 2, 0], dtype=torch.int64)),
             label="equal logits: p = 1/3 for every class"),
        Case((torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.int64)), label="an empty batch"),
    ]


def _ce_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _draw in range(4):
        n, c = int(rng.integers(1, 9)), int(rng.integers(2, 7))
        target = torch.from_numpy(rng.integers(0, c, size=n).astype(np.int64))
        cases.append(Case((normal(rng, (n, c), scale=3.0), target),
                          label=N_("random logits (normal, scale 3) for 1 to 8 samples and 2 to 6 classes")))
    return cases


register(Exercise(
    id="softmax_cross_entropy_grad",
    notebook=NOTEBOOK,
    title=N_("The gradient of softmax + cross-entropy: (p − y) / N"),
    signature="softmax_cross_entropy_grad(logits, target)",
    reference=softmax_cross_entropy_grad,
    public_cases=lambda: weigh_extremes(_ce_public(), label_starts="large"),
    convention=N_("logits: (N, C) floats, target: N class indices (int64); the loss is the mean cross-entropy "
                  "over the batch. Return its gradient w.r.t. the logits, shape (N, C), finite for logits like 1000."),
    rules=(no_autograd(N_("derive the gradient and code the formula: no autograd (no backward(), "
                          "torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hidden_cases=_ce_hidden,
    output_names=("grad",),
    hints=(
        N_("For one sample the gradient of −log p_y with respect to the logits is p − y, with y the one-hot "
           "vector of the target class."),
        N_("The loss is the mean over the batch, so every row is divided by N = logits.shape[0]."),
        N_("torch.nn.functional.one_hot(target, num_classes) builds y; convert it with .to(logits.dtype)."),
    ),
    mistakes=(
        Mistake("no-mean",
                N_("Your gradient is N times too large: the loss is the mean over the batch, so divide p − y "
                   "by the batch size N."),
                wrong=lambda logits, target: softmax(logits) - _onehot(logits, target)),
        Mistake("sign-flip",
                N_("Your gradient has the wrong sign: it is (p − y) / N. Increasing the logit of the true class "
                   "must lower the loss, so that entry is negative."),
                wrong=lambda logits, target: (_onehot(logits, target) - softmax(logits)) / logits.shape[0]),
        Mistake("logits-not-probabilities",
                N_("You used the logits where the probabilities belong: the gradient is (softmax(logits) − y) / N."),
                wrong=lambda logits, target: (logits - _onehot(logits, target)) / logits.shape[0]),
        Mistake("naive-overflow",
                N_("Your softmax overflowed at large logits (exp(1000) = inf, inf / inf = nan). Subtract each "
                   "row's maximum before exponentiating."),
                wrong=lambda logits, target: (_naive_softmax(logits) - _onehot(logits, target)) / logits.shape[0]),
    ),
))
