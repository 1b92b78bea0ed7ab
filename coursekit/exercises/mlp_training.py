"""Exercises of 07_backprop_mlp, second half: what makes training work.

The standard deviation of Xavier and He initialisation, inverted dropout with a given mask, and
clipping gradients by their total norm. The neuron and backprop exercises are in `mlp_backprop`
(imported first, so the notebook's exercises keep their teaching order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.i18n import N_

NOTEBOOK = "07_backprop_mlp"

# --- init_std ---------------------------------------------------------------------------------------

# torch.nn.init.calculate_gain for the non-linearities that use Xavier/Glorot initialisation.
XAVIER_GAINS: dict[str, float] = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0}


def init_std(fan_in: int, fan_out: int, nonlinearity: str) -> float:
    """Reference: the std of Xavier normal init (linear/sigmoid/tanh) or He normal init, fan_in mode (relu)."""
    if nonlinearity == "relu":
        # He: Var(w) = 2 / fan_in keeps the mean square of ReLU activations constant layer to layer.
        return math.sqrt(2.0 / fan_in)
    if nonlinearity not in XAVIER_GAINS:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; use one of relu, {', '.join(XAVIER_GAINS)}")
    # Xavier: Var(w) = gain² · 2 / (fan_in + fan_out) balances the forward and the backward pass.
    return XAVIER_GAINS[nonlinearity] * math.sqrt(2.0 / (fan_in + fan_out))


def _init_variant(fan_in, fan_out, nonlinearity, *, swap=False, he_fan="in", tanh_gain=True, power=1.0,
                  uniform_bound=False):
    gain = XAVIER_GAINS.get(nonlinearity, 1.0) if (tanh_gain or nonlinearity != "tanh") else 1.0
    use_he = (nonlinearity == "relu") != swap
    numerator = 6.0 if uniform_bound else 2.0
    if use_he:
        variance = numerator / (fan_in if he_fan == "in" else fan_out)
    else:
        variance = (gain if not swap else 1.0) ** 2 * numerator / (fan_in + fan_out)
    return variance ** (0.5 * power)


def _init_public() -> list[Case]:
    return [
        Case((256, 128, "relu"), label="a ReLU layer 256 -> 128"),
        Case((100, 50, "tanh"), label="a tanh layer 100 -> 50"),
        Case((300, 100, "sigmoid"), label="a sigmoid layer 300 -> 100"),
        Case((784, 10, "linear"), label="a linear output layer 784 -> 10"),
        Case((1, 1, "relu"), label="a single input and output (fan_in = fan_out = 1)"),
        Case((3, 4096, "tanh"), label="a very wide tanh layer 3 -> 4096"),
    ]


def _init_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((int(rng.integers(1, 4097)), int(rng.integers(1, 4097)), str(rng.choice(["relu", "tanh",
                                                                                          "sigmoid", "linear"]))),
                 label=N_("random fan_in, fan_out in 1..4096 and a random non-linearity")) for _ in range(5)]


register(Exercise(
    id="init_std",
    notebook=NOTEBOOK,
    title=N_("The standard deviation of Xavier and He initialisation"),
    signature="init_std(fan_in, fan_out, nonlinearity)",
    reference=init_std,
    public_cases=_init_public,
    hidden_cases=_init_hidden,
    rtol=1e-9,
    atol=0.0,
    convention=N_("relu: He/Kaiming normal, fan_in mode, std = sqrt(2 / fan_in). tanh, sigmoid, linear: Xavier "
                  "normal, std = gain · sqrt(2 / (fan_in + fan_out)) with torch.nn.init.calculate_gain's gain "
                  "(5/3 for tanh, 1 for sigmoid and linear). Return a float."),
    hints=(
        N_("Two cases: a ReLU layer uses He's formula, every other non-linearity Xavier's, scaled by its gain."),
        N_("The gain is what torch.nn.init.calculate_gain returns for the non-linearity. The formulas above give "
           "standard deviations of a normal distribution; a uniform initialiser's bound is a different number."),
    ),
    mistakes=(
        Mistake("xavier-he-swapped",
                N_("Xavier and He are swapped: ReLU layers use He, sqrt(2 / fan_in); tanh, sigmoid and linear "
                   "layers use Xavier, gain · sqrt(2 / (fan_in + fan_out))."),
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, swap=True)),
        Mistake("he-fan-out",
                N_("For ReLU you used fan_out; He's fan_in mode (torch's default) divides by fan_in, which keeps "
                   "the forward activations' scale constant."),
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, he_fan="out")),
        Mistake("variance-not-std",
                N_("That is the variance; the question asks for the standard deviation, its square root."),
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, power=2.0)),
        Mistake("uniform-bound",
                N_("That is the bound a of the uniform version U(-a, a) (the 6 in sqrt(6 / ...)); the normal "
                   "version's std uses 2: sqrt(2 / fan_in) for He, gain · sqrt(2 / (fan_in + fan_out)) for Xavier."),
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, uniform_bound=True)),
        Mistake("tanh-gain-missing",
                N_("For tanh, multiply by the gain 5/3 (torch.nn.init.calculate_gain('tanh')): tanh squashes its "
                   "input, and the gain makes up for it."),
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, tanh_gain=False)),
        Mistake("xavier-fan-in-only",
                N_("For tanh, sigmoid and linear layers you used gain · sqrt(1 / fan_in) (LeCun's scale). Xavier "
                   "averages the two fans: gain · sqrt(2 / (fan_in + fan_out)), so fan_out matters too."),
                wrong=lambda fi, fo, nl: math.sqrt(2.0 / fi) if nl == "relu" else
                XAVIER_GAINS[nl] * math.sqrt(1.0 / fi)),
    ),
))

# --- inverted_dropout -------------------------------------------------------------------------------


def inverted_dropout(x: torch.Tensor, mask: torch.Tensor, p: float) -> torch.Tensor:
    """Reference: keep the units where mask is True and scale them by 1 / (1 - p); p = 1 gives zeros."""
    if p == 1:
        # Every unit is dropped; torch.nn.functional.dropout(x, p=1.0) returns zeros too.
        return torch.zeros_like(x)
    # A unit survives with probability 1 - p, so scaling survivors by 1 / (1 - p) keeps E[output] = x.
    return x * mask / (1 - p)


def _dropout_case(shape: tuple[int, ...], p: float, seed: int, label: str,
                  dtype: torch.dtype = torch.float64) -> Case:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)
    mask = torch.rand(*shape, generator=g) >= p
    return Case((x, mask, p), label=label)


def _dropout_public() -> list[Case]:
    return [
        _dropout_case((4, 6), 0.25, 1, "a batch of 4 x 6 activations, p = 0.25"),
        _dropout_case((3, 5), 0.0, 2, "p = 0: nothing is dropped, dropout is the identity"),
        _dropout_case((1, 8), 0.5, 3, "a batch of one sample, p = 0.5"),
        _dropout_case((2, 3, 4), 0.8, 4, "a 3-D tensor, p = 0.8 (survivors scaled by 5)"),
        _dropout_case((4, 4), 0.3, 5, "float32 activations: keep their dtype", dtype=torch.float32),
        _dropout_case((3, 4), 1.0, 6, "p = 1: every unit is dropped"),
    ]


def _dropout_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(1, 6)), int(rng.integers(1, 9)))
        # p on a grid of 0.05: a missing rescale shows a relative error of exactly p, which is then no secret.
        p = round(0.05 * int(rng.integers(1, 19)), 2)
        mask = torch.from_numpy(rng.random(shape) >= p)
        cases.append(Case((normal(rng, shape), mask, p),
                          label=N_("random activations ~ N(0, 1), p a multiple of 0.05 in [0.05, 0.9], "
                                   "units kept with probability 1 - p")))
    return cases


register(Exercise(
    id="inverted_dropout",
    notebook=NOTEBOOK,
    title=N_("Inverted dropout with a given mask"),
    signature="inverted_dropout(x, mask, p)",
    reference=inverted_dropout,
    public_cases=_dropout_public,
    hidden_cases=_dropout_hidden,
    convention=N_("mask is a bool tensor shaped like x, True for the units that are kept. Survivors are scaled "
                  "by 1 / (1 - p); p = 0 is the identity; p = 1 returns zeros (as torch's dropout does). "
                  "Return a new tensor of x's dtype."),
    hints=(
        N_("Zero the dropped units by multiplying by the mask (True counts as 1, False as 0), then scale what "
           "is left so that the expected value of every unit is unchanged."),
        N_("Each unit survives with probability 1 − p: choose the scale factor that keeps every unit's expected "
           "value at x. At p = 1 no such factor exists; nothing survives, so the output is all zeros."),
    ),
    mistakes=(
        Mistake("no-rescale",
                N_("You dropped the units but did not rescale the survivors: divide by (1 - p) so that the "
                   "expected activation stays x and nothing needs to change at test time."),
                wrong=lambda x, mask, p: x * mask),
        Mistake("divide-by-p",
                N_("You divided by p, the drop probability; divide by the keep probability 1 - p."),
                wrong=lambda x, mask, p: x * mask / p),
        Mistake("multiply-by-keep",
                N_("You multiplied by (1 - p); that is the old test-time scaling. Inverted dropout divides the "
                   "survivors by (1 - p) during training instead."),
                wrong=lambda x, mask, p: x * mask * (1 - p)),
        Mistake("mask-inverted",
                N_("You kept the units where mask is False: mask is True for the units that are kept."),
                wrong=lambda x, mask, p: x * ~mask / (1 - p)),
        Mistake("nan-at-p-one",
                N_("At p = 1 every unit is dropped and x * mask / (1 - p) is 0 / 0 = nan: return zeros in that "
                   "case (torch.zeros_like(x)), as torch.nn.functional.dropout does."),
                wrong=lambda x, mask, p: x * mask / torch.tensor(1.0 - p, dtype=x.dtype)),
    ),
))

# --- clip_grad_norm ---------------------------------------------------------------------------------

CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing


def clip_grad_norm(grads: Sequence[torch.Tensor], max_norm: float) -> tuple[torch.Tensor, ...]:
    """Reference: rescale all gradients together so their total 2-norm is at most max_norm (new tensors)."""
    # The total norm treats every entry of every tensor as one long vector: sqrt(sum of all squares).
    total = torch.sqrt(sum(((g.double() ** 2).sum() for g in grads), torch.tensor(0.0, dtype=torch.float64)))
    scale = min(1.0, max_norm / (total.item() + CLIP_EPS))
    return tuple(g * scale for g in grads)


def _clip_variant(grads, max_norm, *, per_tensor=False, clamp=True, total="l2"):
    norms = [float(torch.linalg.vector_norm(g)) for g in grads]
    if per_tensor:
        scales = [max_norm / (n + CLIP_EPS) for n in norms]
        return tuple(g * (min(1.0, s) if clamp else s) for g, s in zip(grads, scales, strict=True))
    size = {"l2": math.sqrt(sum(n * n for n in norms)), "sum": sum(norms), "squared": sum(n * n for n in norms)}
    scale = max_norm / (size[total] + CLIP_EPS)
    return tuple(g * (min(1.0, scale) if clamp else scale) for g in grads)


def _clip_public() -> list[Case]:
    return [
        Case(((tensor([3.0, 4.0]), tensor([[12.0]])), 1.0),
             label="two gradients with total norm 13, max_norm = 1"),
        Case(((tensor([0.1, -0.2]), tensor([[0.05, 0.0], [0.1, -0.1]])), 1.0),
             label="small gradients (total norm 0.27 < max_norm): unchanged"),
        Case(((tensor([[1e4, -2e4, 5e3]]),), 5.0), label="one huge gradient of shape 1x3 (|g| up to 2e4)"),
        Case(((tensor([0.0, 0.0]), tensor([0.0])), 1.0), label="all-zero gradients: nothing to clip"),
        Case(((tensor([1.2, -1.6]), tensor([0.0, 0.0])), 2.0),
             label="total norm exactly max_norm = 2: (almost) unchanged"),
    ]


def _clip_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        grads = tuple(normal(rng, (int(rng.integers(1, 5)), int(rng.integers(1, 5))),
                             scale=float(10 ** rng.uniform(-1, 2))) for _ in range(int(rng.integers(1, 4))))
        cases.append(Case((grads, float(rng.uniform(0.5, 5.0))),
                          label=N_("1-3 random gradients with scales 0.1-100, max_norm ~ U(0.5, 5)")))
    return cases


register(Exercise(
    id="clip_grad_norm",
    notebook=NOTEBOOK,
    title=N_("Clip gradients by their total norm"),
    signature="clip_grad_norm(grads, max_norm)",
    reference=clip_grad_norm,
    public_cases=_clip_public,
    hidden_cases=_clip_hidden,
    rtol=1e-5,
    atol=1e-9,
    convention=N_("As torch.nn.utils.clip_grad_norm_: one total 2-norm over all tensors; every gradient is "
                  "multiplied by min(1, max_norm / (total + 1e-6)). Return a tuple of new tensors; the 1e-6 may "
                  "be left out (within the tolerance)."),
    hints=(
        N_("First the total norm: the square root of the sum of the squares of every entry of every gradient, "
           "as if all tensors were one long vector."),
        N_("Then one common factor for every gradient, never above 1, so the direction of the whole update is kept "
           "and only its length can shrink to max_norm."),
    ),
    mistakes=(
        Mistake("per-tensor",
                N_("You clipped each gradient by its own norm. clip_grad_norm uses one total norm over all "
                   "tensors and one common factor, so the update keeps its direction."),
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, per_tensor=True)),
        Mistake("no-clamp",
                N_("Small gradients were scaled up to max_norm: the factor is min(1, max_norm / total), so "
                   "gradients already shorter than max_norm stay as they are."),
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, clamp=False)),
        Mistake("clip-values",
                N_("You clamped each entry to [-max_norm, max_norm] (that is clip_grad_value_). Clipping by norm "
                   "rescales every entry by the same factor."),
                wrong=lambda grads, max_norm: tuple(g.clamp(-max_norm, max_norm) for g in grads)),
        Mistake("sum-of-norms",
                N_("Your total norm adds the tensors' norms; the total is sqrt(sum of all squared entries), "
                   "i.e. the norm of the per-tensor norms."),
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, total="sum")),
        Mistake("squared-norm",
                N_("Your total norm is the sum of squares without the square root."),
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, total="squared")),
    ),
))
