"""Exercises of 05_softmax: a stable softmax, temperature, the Jacobian and the softmax + CE gradient."""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register

NOTEBOOK = "05_softmax"


# --- references ---------------------------------------------------------------------------------------------

def softmax(z: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Reference: exp(z_i) / sum_j exp(z_j) along `dim`, computed after subtracting the maximum."""
    # softmax(z) = softmax(z - c) for any constant c; c = max makes every exponent <= 0, so exp never overflows.
    shifted = z - z.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


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


def _onehot(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.one_hot(target, logits.shape[-1]).to(logits.dtype)


# --- softmax ------------------------------------------------------------------------------------------------

def _softmax_public() -> list[Case]:
    return [
        Case((tensor([2.0, 1.0, 0.1]),), label="the notebook's logits 2, 1, 0.1"),
        Case((tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 1.0], [-1.0, 5.0, 2.0]]),),
             label="a 3x3 batch, softmax over each row (dim=-1)"),
        Case((tensor([1000.0, 999.0, 0.0]),), label="large logits: exp(1000) overflows"),
        Case((tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]),), {"dim": 0}, label="dim=0: softmax down each column"),
        Case((tensor([-1e4, -1e4 + 1.0, -1e4 + 2.0]),), label="very negative logits: exp underflows to 0"),
        Case((tensor([[7.0]]),), label="a single logit: probability 1"),
        Case((torch.zeros(0, 4, dtype=torch.float64),), label="an empty batch of 4-class logits"),
    ]


def _softmax_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        shape = (int(rng.integers(1, 5)), int(rng.integers(2, 7)))
        cases.append(Case((normal(rng, shape, scale=float(rng.uniform(0.5, 5.0))),), {"dim": int(rng.integers(0, 2))},
                          label="a random batch of logits, normal with scale up to 5, softmax over a random dim"))
    shift = float(rng.uniform(500.0, 2000.0)) * (1 if rng.random() < 0.5 else -1)
    cases.append(Case((normal(rng, (int(rng.integers(2, 8)),), scale=3.0) + shift,),
                      label="a vector of logits shifted by a large constant (|shift| between 500 and 2000)"))
    return cases


register(Exercise(
    id="softmax",
    notebook=NOTEBOOK,
    title="A numerically stable softmax",
    signature="softmax(z, dim=-1)",
    reference=softmax,
    public_cases=_softmax_public,
    hidden_cases=_softmax_hidden,
    hints=(
        "softmax(z)_i = exp(z_i) / sum_j exp(z_j), where the sum runs along `dim` only.",
        "Subtract the maximum along `dim` first (z.amax(dim=dim, keepdim=True)): the result does not change, "
        "but every exponent is then <= 0, so exp cannot overflow.",
        "Keep the summed dimension with keepdim=True so the division broadcasts row by row.",
    ),
    mistakes=(
        Mistake("naive-overflow",
                "exp(1000) is inf in floating point, and inf / inf is nan. Subtract the maximum along `dim` "
                "before exponentiating: softmax(z) = softmax(z - max(z)).",
                wrong=_naive_softmax),
        Mistake("whole-tensor",
                "Your probabilities sum to 1 over the whole tensor, not along `dim`: sum with "
                "e.sum(dim=dim, keepdim=True) so each row is normalised on its own.",
                wrong=_whole_tensor_softmax),
        Mistake("no-keepdim",
                "The sum along `dim` lost its dimension, so the division broadcast the wrong way (entry (i, j) was "
                "divided by the sum of row j). Use e.sum(dim=dim, keepdim=True).",
                wrong=_no_keepdim_softmax),
        Mistake("ignores-dim",
                "Your function always normalises the last dimension; use the `dim` argument it is given "
                "(for both the maximum and the sum).",
                wrong=_last_dim_softmax),
    ),
))


# --- softmax_with_temperature -------------------------------------------------------------------------------

def _temperature_public() -> list[Case]:
    z = tensor([2.0, 1.0, 0.1])
    return [
        Case((z, 2.0), label="T = 2 flattens the distribution"),
        Case((z, 0.5), label="T = 0.5 sharpens it"),
        Case((z, 1.0), label="T = 1 is the plain softmax"),
        Case((tensor([10.0, 9.0, 0.0]), 0.01), label="T = 0.01: z / T = 1000, naive exp overflows"),
        Case((tensor([3.0, -2.0, 0.5, 1.0]), 100.0), label="T = 100: nearly uniform"),
        Case((tensor([[1.0, 2.0, 3.0], [4.0, 4.0, 0.0]]), 3.0), label="a batch of two rows, T = 3"),
    ]


def _temperature_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 7)))
        t = float(10 ** rng.uniform(-2.0, 2.0))
        cases.append(Case((normal(rng, shape, scale=3.0), t),
                          label="random logits (normal, scale 3), temperature log-uniform in [0.01, 100]"))
    return cases


register(Exercise(
    id="softmax_with_temperature",
    notebook=NOTEBOOK,
    title="Softmax with a temperature",
    signature="softmax_with_temperature(z, temperature)",
    reference=softmax_with_temperature,
    public_cases=_temperature_public,
    hidden_cases=_temperature_hidden,
    hints=(
        "Temperature divides the logits before the softmax: p = softmax(z / T) along the last dimension.",
        "A small T makes z / T large, so keep the max-subtraction trick from your softmax.",
    ),
    mistakes=(
        Mistake("multiplied",
                "You multiplied the logits by T; temperature divides them: softmax(z / T). A large T must "
                "flatten the distribution, a small T sharpen it.",
                wrong=lambda z, temperature: softmax(z * temperature, dim=-1)),
        Mistake("scaled-probabilities",
                "You divided the probabilities by T, so they no longer sum to 1. Divide the logits instead: "
                "softmax(z / T).",
                wrong=lambda z, temperature: softmax(z, dim=-1) / temperature),
        Mistake("naive-overflow",
                "With a small T, z / T is huge and exp overflows to inf (inf / inf = nan). Subtract the "
                "maximum of z / T before exponentiating.",
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
                 label="a random vector of 2 to 6 logits, normal with scale up to 4") for _ in range(4)]


register(Exercise(
    id="softmax_jacobian",
    notebook=NOTEBOOK,
    title="The softmax Jacobian diag(p) - p pᵀ",
    signature="softmax_jacobian(z)",
    reference=softmax_jacobian,
    public_cases=_jacobian_public,
    hidden_cases=_jacobian_hidden,
    rtol=1e-6,
    atol=1e-10,
    hints=(
        "Entry (i, j) is d p_i / d z_j = p_i (δ_ij − p_j): p_i (1 − p_i) on the diagonal, −p_i p_j off it.",
        "As matrices: torch.diag(p) - torch.outer(p, p), with p a stable softmax of z.",
    ),
    mistakes=(
        Mistake("diagonal-only",
                "Only the diagonal p_i (1 − p_i) is right: raising z_j also lowers every other p_i, so the "
                "off-diagonal entries are −p_i p_j. Use torch.diag(p) - torch.outer(p, p).",
                wrong=lambda z: torch.diag(softmax(z) * (1 - softmax(z)))),
        Mistake("sign-flip",
                "Your Jacobian has the opposite sign: the diagonal must be positive (raising z_i raises p_i) and "
                "the off-diagonal negative. It is diag(p) − p pᵀ, not p pᵀ − diag(p).",
                wrong=lambda z: torch.outer(softmax(z), softmax(z)) - torch.diag(softmax(z))),
        Mistake("inner-product",
                "p @ p is a dot product (one number), so you subtracted the same value from every entry. The "
                "Jacobian needs the outer product: torch.outer(p, p) (or p[:, None] * p[None, :]).",
                wrong=lambda z: torch.diag(softmax(z)) - softmax(z) @ softmax(z)),
        Mistake("naive-overflow",
                "Your p overflowed at large logits (exp(800) is inf, inf / inf = nan). Compute p with the "
                "stable softmax (subtract the maximum) before building the Jacobian.",
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
    for _ in range(4):
        n, c = int(rng.integers(1, 9)), int(rng.integers(2, 7))
        target = torch.from_numpy(rng.integers(0, c, size=n).astype(np.int64))
        cases.append(Case((normal(rng, (n, c), scale=3.0), target),
                          label="random logits (normal, scale 3) for 1 to 8 samples and 2 to 6 classes"))
    return cases


register(Exercise(
    id="softmax_cross_entropy_grad",
    notebook=NOTEBOOK,
    title="The gradient of softmax + cross-entropy: (p − y) / N",
    signature="softmax_cross_entropy_grad(logits, target)",
    reference=softmax_cross_entropy_grad,
    public_cases=_ce_public,
    hidden_cases=_ce_hidden,
    output_names=("grad",),
    hints=(
        "For one sample the gradient of −log p_y with respect to the logits is p − y, with y the one-hot "
        "vector of the target class.",
        "The loss is the mean over the batch, so every row is divided by N = logits.shape[0].",
        "torch.nn.functional.one_hot(target, num_classes) builds y; convert it with .to(logits.dtype).",
    ),
    mistakes=(
        Mistake("no-mean",
                "Your gradient is N times too large: the loss is the mean over the batch, so divide p − y "
                "by the batch size N.",
                wrong=lambda logits, target: softmax(logits) - _onehot(logits, target)),
        Mistake("sign-flip",
                "Your gradient has the wrong sign: it is (p − y) / N. Increasing the logit of the true class "
                "must lower the loss, so that entry is negative.",
                wrong=lambda logits, target: (_onehot(logits, target) - softmax(logits)) / logits.shape[0]),
        Mistake("logits-not-probabilities",
                "You used the logits where the probabilities belong: the gradient is (softmax(logits) − y) / N.",
                wrong=lambda logits, target: (logits - _onehot(logits, target)) / logits.shape[0]),
        Mistake("naive-overflow",
                "Your softmax overflowed at large logits (exp(1000) = inf, inf / inf = nan). Subtract each "
                "row's maximum before exponentiating.",
                wrong=lambda logits, target: (_naive_softmax(logits) - _onehot(logits, target)) / logits.shape[0]),
    ),
))
