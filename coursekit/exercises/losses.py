"""Exercises of 04_loss_functions: MSE, cross-entropy, entropy, KL divergence and weight decay.

Conventions: natural logarithms (losses in nats), 0 * log 0 = 0, and mean reduction over
every element (MSE, BCE) or over the batch (cross-entropy), as PyTorch's defaults do.
"""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.activations import sigmoid as _sigmoid
from coursekit.exercises.activations import softplus as _softplus
from coursekit.exercises.cases import normal, shares, tensor, uniform
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import LOG_SOFTMAX, forbid, no_autograd
from coursekit.i18n import N_, _

NOTEBOOK = "04_loss_functions"
LOGS = "Natural logarithm (nats); 0 * log 0 is taken as 0."


# --- mean squared error ------------------------------------------------------------------------------

def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Reference: the mean over all elements of (pred - target)^2."""
    return ((pred - target) ** 2).mean()


def mse_grad(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Reference: d mse / d pred = 2 (pred - target) / N, with N the number of elements."""
    # mse = (1/N) sum_i (p_i - t_i)^2, so d mse / d p_i = (2/N) (p_i - t_i).
    return 2 * (pred - target) / pred.numel()


def _mse_public() -> list[Case]:
    return [
        Case((tensor([1.0, 2.0, 3.0]), tensor([1.5, 2.0, 2.0])), label="a small vector"),
        Case((tensor([[1.0, -1.0], [0.5, 2.0], [3.0, 0.0]]), tensor([[0.0, -1.0], [1.0, 1.0], [2.5, 0.5]])),
             label="a 3x2 batch (the mean runs over all 6 elements)"),
        Case((tensor([[4.0]]), tensor([[1.0]])), label="a batch of one"),
        Case((tensor([2.0, -3.0]), tensor([2.0, -3.0])), label="a perfect prediction"),
        Case((tensor([1e4, -1e4, 1e-300]), tensor([-1e4, 1e4, 0.0])), label="huge and tiny values"),
    ]


def _mse_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _draw in range(3):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 4)))
        cases.append(Case((normal(rng, shape), normal(rng, shape)),
                          label=N_("random batch of 1-5 x 1-3, pred and target ~ N(0, 1)")))
    return cases


register(Exercise(
    id="mse",
    notebook=NOTEBOOK,
    title=N_("Mean squared error"),
    signature="mse(pred, target)",
    reference=mse,
    public_cases=_mse_public,
    hidden_cases=_mse_hidden,
    convention=N_("Mean reduction over all elements, as torch.nn.functional.mse_loss does by default. Return a "
                  "0-d tensor (a loss must stay a tensor to be backpropagated)."),
    accepts_float=False,
    rules=(forbid("torch.nn.functional.mse_loss", text=N_("write it yourself: F.mse_loss is off limits.")),),
    hints=(
        N_("Square the differences elementwise, then average over every element, not only over the batch."),
        N_("Keep the result a tensor: a loss that became a Python number (through .item() or float()) can no "
           "longer be backpropagated."),
    ),
    mistakes=(
        Mistake("sum", N_("You summed the squared errors; MSE takes their mean (divide by the number of elements)."),
                wrong=lambda pred, target: ((pred - target) ** 2).sum()),
        Mistake("no-square", N_("You averaged pred - target without squaring: positive and negative errors cancel."),
                wrong=lambda pred, target: (pred - target).mean()),
        Mistake("rmse", N_("You took a square root at the end (that is the RMSE); MSE is the mean of the squares."),
                wrong=lambda pred, target: ((pred - target) ** 2).mean().sqrt()),
        Mistake("mae", N_("You averaged |pred - target| (the L1 loss); MSE squares the differences."),
                wrong=lambda pred, target: (pred - target).abs().mean()),
    ),
))

register(Exercise(
    id="mse_grad",
    notebook=NOTEBOOK,
    title=N_("The gradient of MSE with respect to the prediction"),
    signature="mse_grad(pred, target)",
    reference=mse_grad,
    public_cases=_mse_public,
    hidden_cases=_mse_hidden,
    convention=N_("Mean reduction over all N elements of pred; return a tensor of pred's shape."),
    rules=(no_autograd(N_("derive the gradient yourself and code the formula: no autograd (no backward(), "
                          "torch.autograd.grad, requires_grad or torch.func transforms).")),),
    hints=(
        N_("Differentiate (1/N) Σᵢ (pᵢ − tᵢ)² with respect to one pᵢ: only one term of the sum depends on it."),
        N_("N counts every element of pred (`pred.numel()`), not only the batch; the gradient has pred's shape."),
    ),
    mistakes=(
        Mistake("missing-2", N_("The derivative of (p - t)^2 is 2 (p - t): your answer is missing the factor 2."),
                wrong=lambda pred, target: (pred - target) / pred.numel()),
        Mistake("missing-mean", N_("Your gradient is N times too large: the loss is a mean, so divide by the "
                "number of elements N = pred.numel()."), wrong=lambda pred, target: 2 * (pred - target)),
        Mistake("sign-flip", N_("Sign flip: the gradient with respect to pred is 2 (pred - target) / N, "
                "not 2 (target - pred) / N."), wrong=lambda pred, target: 2 * (target - pred) / pred.numel()),
        Mistake("batch-only", N_("You divided by the batch size (pred.shape[0]); the mean runs over all "
                "pred.numel() elements."), wrong=lambda pred, target: 2 * (pred - target) / pred.shape[0]),
    ),
))


# --- entropy and KL divergence ----------------------------------------------------------------------------

def entropy(p: torch.Tensor) -> torch.Tensor:
    """Reference: H(p) = -sum_i p_i log p_i over the last dimension, with 0 log 0 = 0."""
    # xlogy(p, p) is p log p with the limit 0 at p = 0 built in; 0.0 - s (rather than -s) keeps
    # the entropy of a certain outcome at +0.0 instead of -0.0.
    return 0.0 - torch.xlogy(p, p).sum(dim=-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Reference: KL(p || q) = sum_i p_i log(p_i / q_i) over the last dimension, with 0 log(0 / q) = 0."""
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1)


def _entropy_public() -> list[Case]:
    return [
        Case((tensor([0.25, 0.25, 0.25, 0.25]),), label="uniform over 4 outcomes: H = log 4"),
        Case((tensor([0.0, 1.0, 0.0]),), label="a certain outcome, with zero probabilities: H = 0"),
        Case((tensor([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]]),), label="a batch of 3 distributions (rows)"),
        Case((tensor([[0.2, 0.3, 0.5]]),), label="a batch of one"),
        Case((tensor([1e-300, 1.0]),), label="a tiny probability"),
    ]


def _distribution(rng: np.random.Generator, shape: tuple[int, ...], *, zeros: bool) -> torch.Tensor:
    """Rows drawn from a flat Dirichlet distribution, optionally with some entries set to 0 and renormalised."""
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros:
        p = np.where(rng.random(p.shape) < 0.3, 0.0, p)
        p[..., 0] += 1e-3  # every row keeps some mass
        p /= p.sum(axis=-1, keepdims=True)
    return torch.from_numpy(p)


def _entropy_hidden(rng: np.random.Generator) -> list[Case]:
    return [
        Case((_distribution(rng, (int(rng.integers(2, 7)),), zeros=False),), label=N_("random distribution "
             "(flat Dirichlet)")),
        Case((_distribution(rng, (int(rng.integers(1, 5)), 4), zeros=True),), label=N_("random batch of "
             "distributions with some zero probabilities")),
    ]


register(Exercise(
    id="entropy",
    notebook=NOTEBOOK,
    title=N_("Entropy of a distribution"),
    signature="entropy(p)",
    reference=entropy,
    public_cases=_entropy_public,
    hidden_cases=_entropy_hidden,
    convention=N_("Natural logarithm (nats); 0 * log 0 is taken as 0. Sums over the last dimension: one entropy per "
                  "row, a tensor of shape p.shape[:-1]."),
    accepts_float=False,
    hints=(
        N_("H(p) = −Σᵢ pᵢ log pᵢ over the last dimension (dim=-1), one value per distribution."),
        N_("Where pᵢ = 0, pᵢ·log pᵢ is 0 · (−inf) = nan in floating point, though its limit is 0. Look for a torch "
           "function that computes x·log(y) with that convention built in, or leave those terms out with a mask."),
    ),
    mistakes=(
        Mistake("nan-at-zero", N_("p * log(p) gives 0 * -inf = nan where p = 0. By convention 0 log 0 = 0: use "
                "torch.xlogy(p, p), or torch.where(p > 0, ...)."), wrong=lambda p: -(p * torch.log(p)).sum(dim=-1)),
        Mistake("sign-flip", N_("Entropy is -sum p log p, which is >= 0; your values have the opposite sign."),
                wrong=lambda p: torch.xlogy(p, p).sum(dim=-1)),
        Mistake("log2", N_("You used log base 2 (bits); this course uses the natural log (nats)."),
                wrong=lambda p: -(torch.xlogy(p, p) / np.log(2.0)).sum(dim=-1)),
        Mistake("sum-all", N_("You summed over every element; sum over the last dimension only (dim=-1) to get "
                "one entropy per distribution."), wrong=lambda p: -torch.xlogy(p, p).sum()),
        Mistake("no-sum", N_("You returned -p log p per outcome; entropy sums those terms over the last dimension."),
                wrong=lambda p: -torch.xlogy(p, p)),
    ),
))


def _kl_public() -> list[Case]:
    return [
        Case((tensor([0.1, 0.4, 0.5]), tensor([0.3, 0.3, 0.4])), label="two distributions over 3 outcomes"),
        Case((tensor([0.0, 0.5, 0.5]), tensor([0.2, 0.3, 0.5])), label="p has a zero probability"),
        Case((tensor([0.2, 0.8]), tensor([0.2, 0.8])), label="p = q: KL = 0"),
        Case((tensor([[0.5, 0.5], [0.9, 0.1]]), tensor([[0.1, 0.9], [0.5, 0.5]])), label="a batch of 2 rows"),
        Case((tensor([0.5, 0.5]), tensor([1e-300, 1.0])), label="q has a tiny probability where p does not"),
    ]


def _kl_hidden(rng: np.random.Generator) -> list[Case]:
    n = int(rng.integers(2, 6))
    rows = (int(rng.integers(1, 4)), n)
    return [
        Case((_distribution(rng, (n,), zeros=False), _distribution(rng, (n,), zeros=False)),
             label=N_("two random distributions (flat Dirichlet)")),
        Case((_distribution(rng, rows, zeros=True), _distribution(rng, rows, zeros=False)),
             label=N_("random batch, p with some zero probabilities, q > 0")),
    ]


register(Exercise(
    id="kl_divergence",
    notebook=NOTEBOOK,
    title=N_("KL divergence KL(p || q)"),
    signature="kl_divergence(p, q)",
    reference=kl_divergence,
    public_cases=_kl_public,
    hidden_cases=_kl_hidden,
    convention=N_("Natural logarithm (nats); 0 * log 0 is taken as 0. Sums over the last dimension; q > 0 wherever p "
                  "> 0. A tensor of shape p.shape[:-1]."),
    accepts_float=False,
    rules=(forbid("torch.nn.functional.kl_div", text=N_("write it yourself: F.kl_div is off limits.")),),
    hints=(
        N_("KL(p ‖ q) = Σᵢ pᵢ log(pᵢ / qᵢ) over the last dimension: the average is taken under p."),
        N_("Terms with pᵢ = 0 contribute 0, however small qᵢ is (as in your entropy). Writing the sum as "
           "p log p − p log q lets each part use that convention."),
    ),
    mistakes=(
        Mistake("swapped", N_("You computed KL(q || p): the divergence is not symmetric. KL(p || q) weights "
                "log(p / q) by p."), wrong=lambda p, q: kl_divergence(q, p)),
        Mistake("nan-at-zero", N_("p * log(p / q) gives 0 * -inf = nan where p = 0. Those terms are 0 by "
                "convention: use torch.xlogy, or torch.where(p > 0, ...)."),
                wrong=lambda p, q: (p * torch.log(p / q)).sum(dim=-1)),
        Mistake("sign-flip", N_("Your values have the wrong sign: it is log(p / q), not log(q / p) (KL is >= 0)."),
                wrong=lambda p, q: -kl_divergence(p, q)),
        Mistake("cross-entropy", N_("You computed the cross-entropy -sum p log q; KL subtracts the entropy: "
                "KL(p || q) = H(p, q) - H(p)."), wrong=lambda p, q: -torch.xlogy(p, q).sum(dim=-1)),
        Mistake("sum-all", N_("You summed over every element; sum over the last dimension only (one value per "
                "row)."), wrong=lambda p, q: kl_divergence(p, q).sum()),
    ),
))


# --- cross-entropy with class indices ---------------------------------------------------------------

def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Reference: mean over the batch of logsumexp(z) - z[target], for logits of shape (N, C)."""
    # -log softmax(z)_y = log sum_j e^{z_j} - z_y. Shifting by m = max_j z_j keeps every exponent <= 0:
    # log sum_j e^{z_j} = m + log sum_j e^{z_j - m}.
    m = logits.max(dim=1, keepdim=True).values
    logsumexp = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    picked = logits[torch.arange(logits.shape[0]), target]
    return (logsumexp - picked).mean()


def _ce_derivative(v: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # d/dz of mean_n [logsumexp(z_n) - z_n[y_n]] is (softmax(z) - onehot(y)) / N
    m = logits.max(dim=1, keepdim=True).values
    e = torch.exp(logits - m)
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    return v * (e / e.sum(dim=1, keepdim=True) - onehot) / max(logits.shape[0], 1)


def _ce_naive(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(target)), target]).mean()


def _ce_log_of_softmax(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(logits, dim=1)
    return -torch.log(p[torch.arange(len(target)), target]).mean()


def _ce_public() -> list[Case]:
    idx = torch.int64
    ordinary = (tensor([[2.0, 1.0, 0.1, -1.0], [0.5, 2.5, 0.3, 0.0], [-1.0, 0.0, 1.0, 3.0]]),
                tensor([0, 3, 1], dtype=idx))
    huge = (tensor([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]]), tensor([0, 0], dtype=idx))
    return shares(
        (0.2, [Case(ordinary, label="3 samples, 4 classes"),
               Case((tensor([[0.5, -1.0, 2.0]]), tensor([2], dtype=idx)), label="a batch of one"),
               Case((tensor([[0.0, 0.0, 0.0, 0.0], [1e-12, 0.0, -1e-12, 0.0]]), tensor([1, 2], dtype=idx)),
                    label="equal (or nearly equal) logits: loss log 4 each")]),
        (0.2, [Case(huge, label="huge logits (|z| = 1000): one right, one confidently wrong")]),
        (0.1, [Case(ordinary, label="gradient w.r.t. the logits, 3 samples, 4 classes", gradient=True)]),
        (0.5, [Case(huge, label="gradient w.r.t. the logits at huge logits (|z| = 1000)", gradient=True)]),
    )


def _ce_hidden(rng: np.random.Generator) -> list[Case]:
    def batch(scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        n, c = int(rng.integers(1, 7)), int(rng.integers(2, 7))
        return normal(rng, (n, c), scale=scale), torch.from_numpy(rng.integers(0, c, size=n))

    def label(scale: float, gradient: bool = False) -> str:
        text = _("random batch of 1-6 samples, 2-6 classes, logits ~ N(0, {scale:g}^2)").format(scale=scale)
        return _("gradient: {label}").format(label=text) if gradient else text

    return shares(
        (0.2, [Case(batch(scale), label=label(scale)) for scale in (1.0, 3.0)]),
        (0.2, [Case(batch(500.0), label=label(500.0))]),
        (0.1, [Case(batch(3.0), label=label(3.0, gradient=True), gradient=True)]),
        (0.5, [Case(batch(500.0), label=label(500.0, gradient=True), gradient=True)]),
    )


register(Exercise(
    id="cross_entropy",
    notebook=NOTEBOOK,
    title=N_("Cross-entropy from logits and class indices"),
    signature="cross_entropy(logits, target)",
    reference=cross_entropy,
    derivative=_ce_derivative,
    public_cases=_ce_public,
    hidden_cases=_ce_hidden,
    accepts_float=False,
    convention=N_("logits: shape (N, C); target: N class indices (int64). Mean over the batch, natural log, "
                  "as torch.nn.functional.cross_entropy; return a 0-d tensor. The gradient cases differentiate "
                  "your loss with autograd with respect to the logits and compare with (softmax(z) − onehot(y)) / N."),
    rules=(forbid("torch.nn.functional.cross_entropy", *LOG_SOFTMAX, "torch.logsumexp", "torch.Tensor.logsumexp",
                  "torch.special.logsumexp",
                  text=N_("compute it yourself with log-sum-exp: F.cross_entropy, log_softmax and torch.logsumexp "
                          "are off limits.")),),
    hints=(
        N_("−log softmax(z)_y = log Σⱼ e^{zⱼ} − z_y: no probabilities need to be formed at all."),
        N_("Σⱼ e^{zⱼ} overflows as soon as one logit is large. Factor e^m out of the sum, with m each row's largest "
           "logit, before exponentiating; `logits[torch.arange(N), target]` picks every row's z_y."),
    ),
    mistakes=(
        Mistake("exp-overflow", N_("exp(1000) is inf, and inf / inf = nan: subtract each row's maximum logit "
                "before exponentiating (the log-sum-exp trick)."), wrong=_ce_naive),
        Mistake("log-of-softmax", N_("Your loss is inf at logits of size 1000. Either exp(1000) overflowed inside "
                "log(sum(exp(z))) (subtract the row maximum m first: m + log(sum(exp(z - m)))), or a softmax "
                "probability of e^-2000 underflowed to 0 before the log. Use logsumexp(z) - z[y] directly."),
                wrong=_ce_log_of_softmax),
        Mistake("sum", N_("You summed over the batch; cross-entropy is the mean over the samples."),
                wrong=lambda logits, target: cross_entropy(logits, target) * len(target)),
        Mistake("sign-flip", N_("Your loss has the wrong sign: it is the mean of -log p[y], which is >= 0."),
                wrong=lambda logits, target: -cross_entropy(logits, target)),
        Mistake("no-normaliser", N_("You averaged -z[y] alone: the log-sum-exp of each row (the softmax "
                "normaliser) is missing."),
                wrong=lambda logits, target: -logits[torch.arange(len(target)), target].mean()),
    ),
))


# --- binary cross-entropy with logits ------------------------------------------------------------------

def binary_cross_entropy_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Reference: mean of -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], computed without overflow."""
    # -y log s(z) - (1-y) log(1-s(z)) = softplus(z) - y z, with the stable softplus of 03_activations
    # (each branch of its torch.where fed only its own side's inputs, so the gradient is right too).
    return (_softplus(logits) - target * logits).mean()


def _bce_derivative(v: torch.Tensor, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return v * (_sigmoid(logits) - target) / max(logits.numel(), 1)


def _bce_sigmoid_then_log(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return -(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean()


#: the clipping constants people use to keep log(sigmoid(z)) finite (Keras 1e-7, scikit-learn 1e-15, ...)
_CLAMPS = (1e-7, 1e-8, 1e-10, 1e-12, 1e-15, 1e-16)


def _bce_clamped(logits: torch.Tensor, target: torch.Tensor, eps: float) -> float:
    p = torch.sigmoid(logits).clamp(eps, 1 - eps)
    return float(-(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean())


def _is_clamped_bce(case: Case, expected: object, got: object) -> bool:
    """The learner's loss equals sigmoid-then-clamp for one of the usual clipping constants."""
    if case.gradient:
        return False
    value = float(np.asarray(getattr(got, "data", got), dtype=np.float64).reshape(()))
    logits, target = case.args[:2]
    return any(np.isclose(value, _bce_clamped(logits, target, eps), rtol=1e-9, atol=0.0) for eps in _CLAMPS)


def _bce_public() -> list[Case]:
    ordinary = (tensor([-2.0, -0.5, 0.0, 0.5, 3.0]), tensor([0.0, 1.0, 1.0, 0.0, 1.0]))
    huge = (tensor([1e4, -1e4, 1e4, -1e4]), tensor([1.0, 0.0, 0.0, 1.0]))
    return shares(
        (0.2, [Case(ordinary, label="ordinary logits"),
               Case((tensor([[0.3, -1.2, 2.0]]), tensor([[0.25, 0.5, 0.9]])), label="a batch of one, soft targets"),
               Case((tensor([1e-300, -1e-12, 0.0]), tensor([1.0, 0.0, 0.5])), label="tiny logits")]),
        (0.2, [Case(huge, label="huge logits |z| = 1e4, two right and two confidently wrong")]),
        (0.1, [Case(ordinary, label="gradient w.r.t. the logits at ordinary logits, z = 0 included",
                    gradient=True)]),
        (0.5, [Case(huge, label="gradient w.r.t. the logits at huge logits |z| = 1e4", gradient=True)]),
    )


def _bce_hidden(rng: np.random.Generator) -> list[Case]:
    def labels(scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        n = int(rng.integers(1, 9))
        return normal(rng, (n,), scale=scale), torch.from_numpy(rng.integers(0, 2, n).astype(float))

    n = int(rng.integers(1, 9))
    def label(scale: float, gradient: bool = False) -> str:
        text = _("random logits ~ N(0, {scale:g}^2), labels 0 or 1").format(scale=scale)
        return _("gradient: {label}").format(label=text) if gradient else text

    return shares(
        (0.2, [Case(labels(1.0), label=label(1.0)), Case(labels(5.0), label=label(5.0)),
               Case((normal(rng, (n,), scale=2.0), uniform(rng, (n,), low=0.0, high=1.0)),
                    label=N_("random logits ~ N(0, 4), soft targets ~ U(0, 1)"))]),
        (0.2, [Case(labels(1e3), label=label(1e3))]),
        (0.1, [Case(labels(2.0), label=label(2.0, gradient=True), gradient=True)]),
        (0.5, [Case(labels(1e3), label=label(1e3, gradient=True), gradient=True)]),
    )


register(Exercise(
    id="binary_cross_entropy_with_logits",
    notebook=NOTEBOOK,
    title=N_("Binary cross-entropy from logits, stable"),
    signature="binary_cross_entropy_with_logits(logits, target)",
    reference=binary_cross_entropy_with_logits,
    derivative=_bce_derivative,
    public_cases=_bce_public,
    hidden_cases=_bce_hidden,
    accepts_float=False,
    convention=N_("Mean over all elements; targets may be soft (any value in [0, 1]); natural log, as "
                  "torch.nn.functional.binary_cross_entropy_with_logits; return a 0-d tensor. The gradient cases "
                  "differentiate your loss with autograd with respect to the logits and compare with (σ(z) − y) / N."),
    rules=(forbid("torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.functional.softplus",
                  "torch.nn.functional.logsigmoid", "torch.logaddexp", "torch.Tensor.logaddexp",
                  text=N_("work from the logits yourself: F.binary_cross_entropy_with_logits, F.softplus, "
                          "F.logsigmoid and torch.logaddexp are off limits.")),),
    hints=(
        N_("With s = σ(z), write log s and log(1 − s) in terms of z alone: −y log s − (1 − y) log(1 − s) "
           "simplifies to a softplus of z minus y·z."),
        N_("Compute that softplus the stable way, as in 03_activations (no exponent of a large positive number, "
           "each `torch.where` branch fed only its own side's inputs), then average over all elements."),
    ),
    mistakes=(
        Mistake("sigmoid-then-log", N_("sigmoid(1e4) rounds to exactly 1, so log(1 - sigmoid(z)) = log(0) = -inf "
                "and 0 * -inf = nan. Work with the logits: the loss equals softplus(z) - y z."),
                wrong=_bce_sigmoid_then_log),
        Mistake("sigmoid-then-clamp",
                N_("Clamping σ(z) into [ε, 1 − ε] before the log keeps the loss finite but wrong: a confidently wrong "
                   "logit of 1e4 costs −log ε (about 16 for ε = 1e-7) instead of 1e4, and inside the clamp the "
                   "gradient is 0, so the network gets no signal from exactly the examples it gets most wrong. Work "
                   "with the logits: the loss equals softplus(z) − y·z."),
                test=_is_clamped_bce),
        Mistake("naive-softplus", N_("log(1 + exp(-z)) overflows to inf at z = -1e4. Compute the softplus so "
                "that no exponent is ever a large positive number."),
                wrong=lambda logits, target: (logits - logits * target + torch.log(1 + torch.exp(-logits))).mean()),
        Mistake("clamped-bce", N_("binary_cross_entropy on sigmoid outputs clamps log(0) to -100, so a loss of 1e4 "
                "comes out as 100. Use the logits directly."),
                wrong=lambda logits, target: torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits),
                                                                                       target)),
        Mistake("sign-flip", N_("Your loss has the wrong sign: binary cross-entropy is -[y log s + (1 - y) log(1 - "
                                "s)], "
                "which is >= 0."), wrong=lambda logits, target: -binary_cross_entropy_with_logits(logits, target)),
        Mistake("sum", N_("You summed over the elements; the loss is their mean."),
                wrong=lambda logits, target: binary_cross_entropy_with_logits(logits, target) * logits.numel()),
    ),
))


# --- weight decay -----------------------------------------------------------------------------------------

def weight_decay_step(w: torch.Tensor, grad: torch.Tensor, lr: float, weight_decay: float) -> torch.Tensor:
    """Reference: one SGD step on loss + (weight_decay / 2) ||w||^2: w - lr (grad + weight_decay w)."""
    # The penalty (lambda/2)||w||^2 adds lambda w to the gradient; for plain SGD this equals shrinking
    # w by the factor (1 - lr lambda) before the gradient step ("decoupled" weight decay).
    return w - lr * (grad + weight_decay * w)


def _wd_public() -> list[Case]:
    return [
        Case((tensor([1.0, -2.0, 0.5]), tensor([0.1, 0.2, -0.3]), 0.1, 0.01), label="a small vector"),
        Case((tensor([[1.0, 2.0], [-3.0, 4.0]]), tensor([[0.5, -0.5], [0.0, 1.0]]), 0.5, 0.1),
             label="a 2x2 weight matrix"),
        Case((tensor([1.0, -1.0]), tensor([0.3, 0.3]), 0.1, 0.0), label="weight_decay = 0: a plain SGD step"),
        Case((tensor([1e4, -1e4, 1e-300]), tensor([0.0, 0.0, 0.0]), 0.1, 0.5), label="zero gradient, "
             "huge and tiny weights: decay alone"),
        Case((tensor([3.0]), tensor([-1.0]), 0.05, 0.2), label="a single weight"),
    ]


def _wd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _draw in range(3):
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        cases.append(Case((normal(rng, shape), normal(rng, shape), float(rng.uniform(0.001, 0.5)),
                           float(rng.uniform(0.0, 0.2))),
                          label=N_("random weights and gradient ~ N(0, 1), lr ~ U(0.001, 0.5), "
                                   "weight_decay ~ U(0, 0.2)")))
    return cases


register(Exercise(
    id="weight_decay_step",
    notebook=NOTEBOOK,
    title=N_("One SGD step with weight decay"),
    signature="weight_decay_step(w, grad, lr, weight_decay)",
    reference=weight_decay_step,
    public_cases=_wd_public,
    hidden_cases=_wd_hidden,
    convention=N_("PyTorch's convention: weight_decay = lambda adds lambda * w to the gradient, i.e. the penalty "
                  "is (lambda / 2) ||w||^2, as torch.optim.SGD(weight_decay=lambda). Return a new tensor."),
    hints=(
        N_("The penalty (λ/2)‖w‖² is part of the cost, so its gradient joins grad: differentiate it."),
        N_("Then take the usual SGD step with the combined gradient. Return a new tensor; do not change w in place."),
    ),
    mistakes=(
        Mistake("decay-sign", N_("Your decay pushes the weights away from 0: subtract lr * weight_decay * w, "
                "do not add it."), wrong=lambda w, grad, lr, weight_decay: w - lr * grad + lr * weight_decay * w),
        Mistake("decay-without-lr", N_("The decay term is a gradient too, so it is multiplied by lr: "
                "w - lr * (grad + weight_decay * w)."),
                wrong=lambda w, grad, lr, weight_decay: w - lr * grad - weight_decay * w),
        Mistake("no-decay", N_("Your step ignores weight_decay: add weight_decay * w to the gradient."),
                wrong=lambda w, grad, lr, weight_decay: w - lr * grad),
        Mistake("factor-2", N_("You used 2 * weight_decay * w, the gradient of lambda ||w||^2. PyTorch's "
                "weight_decay = lambda stands for the penalty (lambda / 2) ||w||^2, whose gradient is lambda * w."),
                wrong=lambda w, grad, lr, weight_decay: w - lr * (grad + 2 * weight_decay * w)),
        Mistake("gradient-ascent", N_("You stepped up the gradient: subtract lr * grad."),
                wrong=lambda w, grad, lr, weight_decay: w + lr * grad - lr * weight_decay * w),
    ),
))
