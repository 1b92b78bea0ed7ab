"""Exercises of 07_backprop_mlp: the perceptron rule, backprop through linear layers and a ReLU MLP,
initialisation scales, inverted dropout and gradient-norm clipping.

Layout convention throughout (as torch.nn.Linear): a batch x has shape (N, in), a weight W has shape
(out, in), a bias b has shape (out,), and a layer computes y = x @ W.T + b of shape (N, out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register

NOTEBOOK = "07_backprop_mlp"

# --- perceptron_step --------------------------------------------------------------------------------


def perceptron_step(w: torch.Tensor, b: float, x: torch.Tensor, y: float, lr: float) -> tuple[torch.Tensor, float]:
    """Reference: one step of Rosenblatt's rule on one sample; labels y are -1 or +1."""
    # A sample counts as misclassified when y (w·x + b) <= 0 (a point on the boundary is not yet right).
    # Then w <- w + lr y x and b <- b + lr y; otherwise nothing changes.
    if y * (torch.dot(w, x).item() + b) <= 0:
        return w + lr * y * x, float(b + lr * y)
    return w.clone(), float(b)


def _perceptron_variant(w, b, x, y, lr, *, always=False, strict=False, sign=1.0, bias=True):
    score = y * (torch.dot(w, x).item() + b)
    wrong_side = True if always else (score < 0 if strict else score <= 0)
    if wrong_side:
        return w + sign * lr * y * x, float(b + sign * lr * y) if bias else float(b)
    return w.clone(), float(b)


def _perceptron_public() -> list[Case]:
    return [
        Case((tensor([1.0, -2.0]), 0.5, tensor([2.0, 1.5]), 1.0, 0.1),
             label="a misclassified positive sample (score -0.5)"),
        Case((tensor([0.0, 0.0, 0.0]), 0.0, tensor([1.0, -1.0, 2.0]), 1.0, 1.0),
             label="all-zero start: the score is exactly 0, on the boundary"),
        Case((tensor([1.0, 1.0]), -0.5, tensor([2.0, 1.0]), 1.0, 0.5),
             label="a correctly classified sample (score 2.5)"),
        Case((tensor([0.5, 0.25]), 0.0, tensor([1.0, 2.0]), -1.0, 0.2),
             label="a misclassified negative sample (y = -1)"),
        Case((tensor([-3.0]), 1.0, tensor([4.0]), -1.0, 0.01), label="one input feature, correctly classified"),
    ]


def _perceptron_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        d = int(rng.integers(1, 6))
        cases.append(Case((normal(rng, (d,)), float(rng.normal()), normal(rng, (d,)),
                           float(rng.choice([-1.0, 1.0])), round(0.05 * int(rng.integers(1, 21)), 2)),
                          label="random w, b, x ~ N(0, 1), y = ±1, lr a multiple of 0.05 in [0.05, 1]"))
    return cases


register(Exercise(
    id="perceptron_step",
    notebook=NOTEBOOK,
    title="One step of the perceptron learning rule",
    signature="perceptron_step(w, b, x, y, lr)",
    reference=perceptron_step,
    public_cases=_perceptron_public,
    hidden_cases=_perceptron_hidden,
    output_names=("w_new", "b_new"),
    convention="Labels are -1/+1. Update when y (w·x + b) <= 0 (a point on the boundary counts as wrong); "
               "return (w_new, b_new) with b_new a float.",
    hints=(
        "First decide whether the sample is on the wrong side: compute y * (w·x + b) with torch.dot.",
        "If that product is <= 0, return (w + lr*y*x, b + lr*y); otherwise return w and b unchanged.",
    ),
    mistakes=(
        Mistake("always-update",
                "You updated a sample that is already classified correctly. The perceptron only learns "
                "from mistakes: change w and b only when y (w·x + b) <= 0.",
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, always=True)),
        Mistake("strict-inequality",
                "A score of exactly 0 lies on the boundary and must count as a mistake (<= 0, not < 0); "
                "otherwise a perceptron that starts at w = 0, b = 0 never moves.",
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, strict=True)),
        Mistake("sign-flip",
                "Your update moves the wrong way: add lr·y·x to w (and lr·y to b), so the score y (w·x + b) "
                "grows towards positive.",
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, sign=-1.0)),
        Mistake("bias-not-updated",
                "w is right but b did not change: the bias learns too, b <- b + lr·y (its input is a constant 1).",
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, bias=False)),
    ),
))

# --- linear_backward --------------------------------------------------------------------------------


def linear_backward(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor,
                    grad_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reference: gradients of a loss through y = x @ W.T + b, given grad_out = dL/dy of shape (N, out)."""
    # y[n, j] = sum_i x[n, i] W[j, i] + b[j], so
    #   dL/dx[n, i] = sum_j grad_out[n, j] W[j, i]      -> grad_out @ W         (N, in)
    #   dL/dW[j, i] = sum_n grad_out[n, j] x[n, i]      -> grad_out.T @ x       (out, in)
    #   dL/db[j]    = sum_n grad_out[n, j]              -> sum over the batch   (out,)
    return grad_out @ W, grad_out.T @ x, grad_out.sum(dim=0)


def _linear_public() -> list[Case]:
    g = torch.Generator().manual_seed(7)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    return [
        Case((rand(4, 3), rand(3, 3), rand(3), rand(4, 3)), label="a batch of 4, a square layer 3 -> 3"),
        Case((rand(5, 4), rand(2, 4), rand(2), rand(5, 2)), label="a batch of 5, a layer 4 -> 2"),
        Case((tensor([[1.0, -2.0, 0.5]]), tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 1.0]]), tensor([0.1, -0.1]),
              tensor([[1.0, -3.0]])), label="a batch of one sample (N = 1)"),
        Case((rand(3, 2) * 1e4, rand(4, 2), rand(4), rand(3, 4) * 1e-4),
             label="large inputs (|x| ~ 1e4) with tiny upstream gradients"),
        Case((torch.zeros(0, 3, dtype=torch.float64), rand(2, 3), rand(2), torch.zeros(0, 2, dtype=torch.float64)),
             label="an empty batch (N = 0): the parameter gradients are zero"),
    ]


def _linear_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        n, d_in, d_out = (int(v) for v in rng.integers(1, 7, size=3))
        cases.append(Case((normal(rng, (n, d_in)), normal(rng, (d_out, d_in)), normal(rng, (d_out,)),
                           normal(rng, (n, d_out))),
                          label="random layer with 1-6 inputs/outputs, batch of 1-6, entries ~ N(0, 1)"))
    return cases


register(Exercise(
    id="linear_backward",
    notebook=NOTEBOOK,
    title="Backward pass of a linear layer",
    signature="linear_backward(x, W, b, grad_out)",
    reference=linear_backward,
    public_cases=_linear_public,
    hidden_cases=_linear_hidden,
    output_names=("grad_x", "grad_W", "grad_b"),
    rtol=1e-9,
    atol=1e-12,
    convention="y = x @ W.T + b as in torch.nn.Linear: x (N, in), W (out, in), b (out,), grad_out = dL/dy "
               "(N, out). Return (grad_x, grad_W, grad_b) with the shapes of x, W and b.",
    hints=(
        "Each gradient has the shape of the thing it is the gradient of: grad_x like x (N, in), grad_W like "
        "W (out, in), grad_b like b (out,). Let the shapes pick the matrix products.",
        "grad_x = grad_out @ W, grad_W = grad_out.T @ x, grad_b = grad_out.sum(dim=0): every sample of the "
        "batch adds its own contribution to the shared parameters.",
    ),
    mistakes=(
        Mistake("grad-W-transposed",
                "grad_W is transposed: it must have W's shape (out, in), i.e. grad_out.T @ x, not x.T @ grad_out.",
                wrong=lambda x, W, b, g: (g @ W, x.T @ g, g.sum(dim=0))),
        Mistake("grad-b-not-summed",
                "grad_b must have b's shape (out,): the same bias is added to every sample, so sum grad_out over "
                "the batch (dim=0).",
                wrong=lambda x, W, b, g: (g @ W, g.T @ x, g)),
        Mistake("grad-b-mean",
                "grad_b is the sum over the batch, not the mean: any averaging already happened inside the loss "
                "(it is part of grad_out).",
                wrong=lambda x, W, b, g: (g @ W, g.T @ x, g.mean(dim=0))),
        Mistake("grad-x-uses-W-transposed",
                "grad_x multiplies by W, not W.T: y = x @ W.T, so dL/dx = grad_out @ W (shape (N, in)).",
                wrong=lambda x, W, b, g: (g @ W.T, g.T @ x, g.sum(dim=0))),
    ),
))

# --- mlp_backward -----------------------------------------------------------------------------------


def mlp_backward(x: torch.Tensor, y: torch.Tensor, W1: torch.Tensor, b1: torch.Tensor, W2: torch.Tensor,
                 b2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reference: (grad_W1, grad_b1, grad_W2, grad_b2) of L = mean((relu(x W1ᵀ + b1) W2ᵀ + b2 - y)²)."""
    z1 = x @ W1.T + b1
    h = torch.relu(z1)
    out = h @ W2.T + b2
    # The mean runs over all N·k entries of out, so dL/dout = 2 (out - y) / (N k).
    grad_out = 2 * (out - y) / out.numel()
    grad_W2, grad_b2 = grad_out.T @ h, grad_out.sum(dim=0)
    grad_h = grad_out @ W2
    # ReLU passes the gradient where z1 > 0 and blocks it elsewhere, including z1 = 0 (ReLU'(0) = 0).
    grad_z1 = grad_h * (z1 > 0)
    return grad_z1.T @ x, grad_z1.sum(dim=0), grad_W2, grad_b2


def _mlp_variant(x, y, W1, b1, W2, b2, *, divide="all", factor=2.0, mask="z>0", transpose=False,
                 sum_bias=True):
    z1 = x @ W1.T + b1
    h = torch.relu(z1)
    out = h @ W2.T + b2
    denominator = {"all": out.numel(), "batch": out.shape[0], "none": 1}[divide]
    grad_out = factor * (out - y) / denominator
    grad_h = grad_out @ W2
    grad_z1 = {"z>0": grad_h * (z1 > 0), "z>=0": grad_h * (z1 >= 0), "none": grad_h,
               "grad>0": grad_h * (grad_h > 0)}[mask]

    def weight(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return a.T @ g if transpose else g.T @ a

    def bias(g: torch.Tensor) -> torch.Tensor:
        return g.sum(dim=0) if sum_bias else g

    return weight(grad_z1, x), bias(grad_z1), weight(grad_out, h), bias(grad_out)


def _mlp_public() -> list[Case]:
    g = torch.Generator().manual_seed(11)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    kink = (tensor([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0]]),                # x: 3 samples, 2 inputs
            tensor([[0.5, -1.0], [1.0, 2.0], [-0.5, 0.5]]),               # y: 2 outputs
            tensor([[1.0, -1.0], [2.0, 0.0], [0.0, 1.0]]),                # W1: 3 hidden units
            tensor([1.0, -2.0, 1.0]),                                     # b1
            tensor([[1.0, -2.0, 0.5], [0.5, 1.0, -1.0]]),                 # W2
            tensor([0.0, 0.5]))                                           # b2
    return [
        Case((rand(4, 3), rand(4, 2), rand(5, 3), rand(5), rand(2, 5), rand(2)),
             label="a batch of 4, layers 3 -> 5 -> 2"),
        Case(kink, label="integer inputs with pre-activations exactly 0 (the ReLU kink)"),
        Case((tensor([[0.5, -1.0, 2.0, 1.0]]), tensor([[1.0, 0.0, -1.0]]), rand(5, 4), rand(5), rand(3, 5),
              rand(3)), label="a batch of one sample, layers 4 -> 5 -> 3"),
        Case((rand(6, 2), rand(6, 1), rand(8, 2), rand(8) - 3.0, rand(1, 8), rand(1)),
             label="mostly negative pre-activations (many units off), one output"),
    ]


def _mlp_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        n, d, m, k = (int(v) for v in rng.integers(1, 6, size=4))
        cases.append(Case((normal(rng, (n, d)), normal(rng, (n, k)), normal(rng, (m, d)), normal(rng, (m,)),
                           normal(rng, (k, m)), normal(rng, (k,))),
                          label="random 2-layer MLP with 1-5 units per layer, batch of 1-5, entries ~ N(0, 1)"))
    return cases


register(Exercise(
    id="mlp_backward",
    notebook=NOTEBOOK,
    title="Backprop through a two-layer ReLU MLP with MSE loss",
    signature="mlp_backward(x, y, W1, b1, W2, b2)",
    reference=mlp_backward,
    public_cases=_mlp_public,
    hidden_cases=_mlp_hidden,
    output_names=("grad_W1", "grad_b1", "grad_W2", "grad_b2"),
    rtol=1e-9,
    atol=1e-12,
    convention="out = relu(x @ W1.T + b1) @ W2.T + b2, L = ((out - y)**2).mean() over all N·k entries "
               "(MSELoss's default). ReLU'(0) = 0, as in PyTorch. Checked in float64 against autograd.",
    hints=(
        "Go backwards one step at a time: dL/dout = 2 (out - y) / (N·k), then the second linear layer, "
        "then the ReLU, then the first linear layer (your linear_backward does the two linear steps).",
        "Through the ReLU multiply by the mask of the forward pre-activation: grad_z1 = grad_h * (z1 > 0). "
        "Biases get the batch sum of their layer's upstream gradient.",
    ),
    mistakes=(
        Mistake("sum-not-mean",
                "Your gradients are N·k times too large: the loss is the mean over all N·k entries, so "
                "dL/dout = 2 (out - y) / (N·k), not 2 (out - y).",
                wrong=lambda *a: _mlp_variant(*a, divide="none")),
        Mistake("mean-over-batch-only",
                "Your gradients are k times too large: the mean runs over every entry of out (N samples × k "
                "outputs), so divide by out.numel(), not by the batch size.",
                wrong=lambda *a: _mlp_variant(*a, divide="batch")),
        Mistake("missing-factor-two",
                "Your gradients are half the right size: d/dout (out - y)² = 2 (out - y).",
                wrong=lambda *a: _mlp_variant(*a, factor=1.0)),
        Mistake("sign-flip",
                "Every gradient has the wrong sign: dL/dout = 2 (out - y) / (N·k), prediction minus target.",
                wrong=lambda *a: _mlp_variant(*a, factor=-2.0)),
        Mistake("no-relu-mask",
                "The first layer's gradients ignore the ReLU: multiply grad_h by the mask (z1 > 0) before "
                "the first linear layer; units that were off pass no gradient.",
                wrong=lambda *a: _mlp_variant(*a, mask="none")),
        Mistake("mask-from-gradient",
                "Your ReLU mask comes from the sign of the incoming gradient; it must come from the forward "
                "pre-activation: grad_z1 = grad_h * (z1 > 0) with z1 = x @ W1.T + b1.",
                wrong=lambda *a: _mlp_variant(*a, mask="grad>0")),
        Mistake("relu-grad-one-at-zero",
                "At pre-activations exactly 0 you let the gradient through. PyTorch's convention is "
                "ReLU'(0) = 0: use the mask z1 > 0, not z1 >= 0.",
                wrong=lambda *a: _mlp_variant(*a, mask="z>=0")),
        Mistake("weights-transposed",
                "Your weight gradients are transposed: grad_W must have W's shape (out, in), i.e. "
                "grad_z.T @ (layer input), not (layer input).T @ grad_z.",
                wrong=lambda *a: _mlp_variant(*a, transpose=True)),
        Mistake("bias-not-summed",
                "Bias gradients must have the bias's shape: sum the upstream gradient over the batch (dim=0).",
                wrong=lambda *a: _mlp_variant(*a, sum_bias=False)),
    ),
))

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
                 label="random fan_in, fan_out in 1..4096 and a random non-linearity") for _ in range(5)]


register(Exercise(
    id="init_std",
    notebook=NOTEBOOK,
    title="The standard deviation of Xavier and He initialisation",
    signature="init_std(fan_in, fan_out, nonlinearity)",
    reference=init_std,
    public_cases=_init_public,
    hidden_cases=_init_hidden,
    rtol=1e-9,
    atol=0.0,
    convention="relu: He/Kaiming normal, fan_in mode, std = sqrt(2 / fan_in). tanh, sigmoid, linear: Xavier "
               "normal, std = gain · sqrt(2 / (fan_in + fan_out)) with torch.nn.init.calculate_gain's gain "
               "(5/3 for tanh, 1 for sigmoid and linear). Return a float.",
    hints=(
        "Two formulas: He for relu, sqrt(2 / fan_in); Xavier for the others, gain * sqrt(2 / (fan_in + fan_out)).",
        "The Xavier gains are torch.nn.init.calculate_gain's: tanh 5/3, sigmoid 1, linear 1. "
        "The question asks for a standard deviation, so take the square root of the variance.",
    ),
    mistakes=(
        Mistake("xavier-he-swapped",
                "Xavier and He are swapped: ReLU layers use He, sqrt(2 / fan_in); tanh, sigmoid and linear "
                "layers use Xavier, gain · sqrt(2 / (fan_in + fan_out)).",
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, swap=True)),
        Mistake("he-fan-out",
                "For ReLU you used fan_out; He's fan_in mode (torch's default) divides by fan_in, which keeps "
                "the forward activations' scale constant.",
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, he_fan="out")),
        Mistake("variance-not-std",
                "That is the variance; the question asks for the standard deviation, its square root.",
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, power=2.0)),
        Mistake("uniform-bound",
                "That is the bound a of the uniform version U(-a, a) (the 6 in sqrt(6 / ...)); the normal "
                "version's std uses 2: sqrt(2 / fan_in) for He, gain · sqrt(2 / (fan_in + fan_out)) for Xavier.",
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, uniform_bound=True)),
        Mistake("tanh-gain-missing",
                "For tanh, multiply by the gain 5/3 (torch.nn.init.calculate_gain('tanh')): tanh squashes its "
                "input, and the gain makes up for it.",
                wrong=lambda fi, fo, nl: _init_variant(fi, fo, nl, tanh_gain=False)),
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
                          label="random activations ~ N(0, 1), p a multiple of 0.05 in [0.05, 0.9], "
                                "units kept with probability 1 - p"))
    return cases


register(Exercise(
    id="inverted_dropout",
    notebook=NOTEBOOK,
    title="Inverted dropout with a given mask",
    signature="inverted_dropout(x, mask, p)",
    reference=inverted_dropout,
    public_cases=_dropout_public,
    hidden_cases=_dropout_hidden,
    convention="mask is a bool tensor shaped like x, True for the units that are kept. Survivors are scaled "
               "by 1 / (1 - p); p = 0 is the identity; p = 1 returns zeros (as torch's dropout does). "
               "Return a new tensor of x's dtype.",
    hints=(
        "Zero the dropped units by multiplying by the mask (True counts as 1, False as 0), then scale what "
        "is left so that the expected value of every unit is unchanged.",
        "Each unit survives with probability 1 - p, so divide by (1 - p). At p = 1 nothing survives and "
        "1 / (1 - p) is undefined: return torch.zeros_like(x) in that case.",
    ),
    mistakes=(
        Mistake("no-rescale",
                "You dropped the units but did not rescale the survivors: divide by (1 - p) so that the "
                "expected activation stays x and nothing needs to change at test time.",
                wrong=lambda x, mask, p: x * mask),
        Mistake("divide-by-p",
                "You divided by p, the drop probability; divide by the keep probability 1 - p.",
                wrong=lambda x, mask, p: x * mask / p),
        Mistake("multiply-by-keep",
                "You multiplied by (1 - p); that is the old test-time scaling. Inverted dropout divides the "
                "survivors by (1 - p) during training instead.",
                wrong=lambda x, mask, p: x * mask * (1 - p)),
        Mistake("mask-inverted",
                "You kept the units where mask is False: mask is True for the units that are kept.",
                wrong=lambda x, mask, p: x * ~mask / (1 - p)),
        Mistake("nan-at-p-one",
                "At p = 1 every unit is dropped and x * mask / (1 - p) is 0 / 0 = nan: return zeros in that "
                "case (torch.zeros_like(x)), as torch.nn.functional.dropout does.",
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
                          label="1-3 random gradients with scales 0.1-100, max_norm ~ U(0.5, 5)"))
    return cases


register(Exercise(
    id="clip_grad_norm",
    notebook=NOTEBOOK,
    title="Clip gradients by their total norm",
    signature="clip_grad_norm(grads, max_norm)",
    reference=clip_grad_norm,
    public_cases=_clip_public,
    hidden_cases=_clip_hidden,
    rtol=1e-5,
    atol=1e-9,
    convention="As torch.nn.utils.clip_grad_norm_: one total 2-norm over all tensors; every gradient is "
               "multiplied by min(1, max_norm / (total + 1e-6)). Return a tuple of new tensors; the 1e-6 may "
               "be left out (within the tolerance).",
    hints=(
        "First the total norm: the square root of the sum of the squares of every entry of every gradient, "
        "as if all tensors were one long vector.",
        "Then one common factor, scale = min(1, max_norm / total): multiply every gradient by it, so the "
        "direction of the whole update is kept and only its length shrinks.",
    ),
    mistakes=(
        Mistake("per-tensor",
                "You clipped each gradient by its own norm. clip_grad_norm uses one total norm over all "
                "tensors and one common factor, so the update keeps its direction.",
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, per_tensor=True)),
        Mistake("no-clamp",
                "Small gradients were scaled up to max_norm: the factor is min(1, max_norm / total), so "
                "gradients already shorter than max_norm stay as they are.",
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, clamp=False)),
        Mistake("clip-values",
                "You clamped each entry to [-max_norm, max_norm] (that is clip_grad_value_). Clipping by norm "
                "rescales every entry by the same factor.",
                wrong=lambda grads, max_norm: tuple(g.clamp(-max_norm, max_norm) for g in grads)),
        Mistake("sum-of-norms",
                "Your total norm adds the tensors' norms; the total is sqrt(sum of all squared entries), "
                "i.e. the norm of the per-tensor norms.",
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, total="sum")),
        Mistake("squared-norm",
                "Your total norm is the sum of squares without the square root.",
                wrong=lambda grads, max_norm: _clip_variant(grads, max_norm, total="squared")),
    ),
))
