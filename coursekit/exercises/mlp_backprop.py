"""Exercises of 07_backprop_mlp, first half: from a single neuron to backpropagation.

The perceptron learning rule, the backward pass of a linear layer, and backprop through a two-layer
ReLU MLP with an MSE loss. The training tricks (initialisation, dropout, clipping) are in
`mlp_training`; both modules register their exercises under the same notebook.

Layout convention throughout (as torch.nn.Linear): a batch x has shape (N, in), a weight W has shape
(out, in), a bias b has shape (out,), and a layer computes y = x @ W.T + b of shape (N, out).
"""

from __future__ import annotations

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import no_autograd
from coursekit.i18n import N_

BY_HAND = no_autograd(N_("backpropagate by hand with the chain rule: no autograd (no backward(), torch.autograd.grad, "
                         "requires_grad or torch.func transforms)."))

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
                          label=N_("random w, b, x ~ N(0, 1), y = ±1, lr a multiple of 0.05 in [0.05, 1]")))
    return cases


register(Exercise(
    id="perceptron_step",
    notebook=NOTEBOOK,
    title=N_("One step of the perceptron learning rule"),
    signature="perceptron_step(w, b, x, y, lr)",
    reference=perceptron_step,
    public_cases=_perceptron_public,
    hidden_cases=_perceptron_hidden,
    output_names=("w_new", "b_new"),
    convention=N_("Labels are -1/+1. Update when y (w·x + b) <= 0 (a point on the boundary counts as wrong); "
                  "return (w_new, b_new) with b_new a float."),
    hints=(
        N_("First decide whether the sample is on the wrong side: the sign of y·(w·x + b) tells you."),
        N_("Only a misclassified sample (product ≤ 0, the boundary included) moves w and b, towards classifying "
           "it right; return b as a Python float either way, and leave w itself untouched."),
    ),
    mistakes=(
        Mistake("always-update",
                N_("You updated a sample that is already classified correctly. The perceptron only learns "
                   "from mistakes: change w and b only when y (w·x + b) <= 0."),
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, always=True)),
        Mistake("strict-inequality",
                N_("A score of exactly 0 lies on the boundary and must count as a mistake (<= 0, not < 0); "
                   "otherwise a perceptron that starts at w = 0, b = 0 never moves."),
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, strict=True)),
        Mistake("sign-flip",
                N_("Your update moves the wrong way: add lr·y·x to w (and lr·y to b), so the score y (w·x + b) "
                   "grows towards positive."),
                wrong=lambda w, b, x, y, lr: _perceptron_variant(w, b, x, y, lr, sign=-1.0)),
        Mistake("bias-not-updated",
                N_("w is right but b did not change: the bias learns too, b <- b + lr·y (its input is a constant 1)."),
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
                          label=N_("random layer with 1-6 inputs/outputs, batch of 1-6, entries ~ N(0, 1)")))
    return cases


register(Exercise(
    id="linear_backward",
    notebook=NOTEBOOK,
    title=N_("Backward pass of a linear layer"),
    signature="linear_backward(x, W, b, grad_out)",
    reference=linear_backward,
    public_cases=_linear_public,
    hidden_cases=_linear_hidden,
    output_names=("grad_x", "grad_W", "grad_b"),
    rtol=1e-9,
    atol=1e-12,
    convention=N_("y = x @ W.T + b as in torch.nn.Linear: x (N, in), W (out, in), b (out,), grad_out = dL/dy "
                  "(N, out). Return (grad_x, grad_W, grad_b) with the shapes of x, W and b."),
    rules=(BY_HAND,),
    hints=(
        N_("Each gradient has the shape of the thing it is the gradient of: grad_x like x (N, in), grad_W like "
           "W (out, in), grad_b like b (out,). Let the shapes pick the matrix products."),
        N_("Every sample of the batch adds its own contribution to the shared parameters, so their gradients sum "
           "over the batch; grad_x keeps one row per sample."),
    ),
    mistakes=(
        Mistake("grad-W-transposed",
                N_("grad_W is transposed: it must have W's shape (out, in), i.e. grad_out.T @ x, not x.T @ grad_out."),
                wrong=lambda x, W, b, g: (g @ W, x.T @ g, g.sum(dim=0))),
        Mistake("grad-b-not-summed",
                N_("grad_b must have b's shape (out,): the same bias is added to every sample, so sum grad_out over "
                   "the batch (dim=0)."),
                wrong=lambda x, W, b, g: (g @ W, g.T @ x, g)),
        Mistake("grad-b-mean",
                N_("grad_b is the sum over the batch, not the mean: any averaging already happened inside the loss "
                   "(it is part of grad_out)."),
                wrong=lambda x, W, b, g: (g @ W, g.T @ x, g.mean(dim=0))),
        Mistake("grad-x-uses-W-transposed",
                N_("grad_x multiplies by W, not W.T: y = x @ W.T, so dL/dx = grad_out @ W (shape (N, in))."),
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
                          label=N_("random 2-layer MLP with 1-5 units per layer, batch of 1-5, entries ~ N(0, 1)")))
    return cases


register(Exercise(
    id="mlp_backward",
    notebook=NOTEBOOK,
    title=N_("Backprop through a two-layer ReLU MLP with MSE loss"),
    signature="mlp_backward(x, y, W1, b1, W2, b2)",
    reference=mlp_backward,
    public_cases=_mlp_public,
    hidden_cases=_mlp_hidden,
    output_names=("grad_W1", "grad_b1", "grad_W2", "grad_b2"),
    rtol=1e-9,
    atol=1e-12,
    convention=N_("out = relu(x @ W1.T + b1) @ W2.T + b2, L = ((out - y)**2).mean() over all N·k entries "
                  "(MSELoss's default). ReLU'(0) = 0, as in PyTorch. Checked in float64 against autograd."),
    rules=(BY_HAND,),
    hints=(
        N_("Go backwards one step at a time: dL/dout = 2 (out - y) / (N·k), then the second linear layer, "
           "then the ReLU, then the first linear layer (your linear_backward does the two linear steps)."),
        N_("Through the ReLU the gradient passes only where the forward pre-activation was positive (ReLU'(0) = 0), "
           "so keep z1 from the forward pass. Biases get the batch sum of their layer's upstream gradient."),
    ),
    mistakes=(
        Mistake("sum-not-mean",
                N_("Your gradients are N·k times too large: the loss is the mean over all N·k entries, so "
                   "dL/dout = 2 (out - y) / (N·k), not 2 (out - y)."),
                wrong=lambda *a: _mlp_variant(*a, divide="none")),
        Mistake("mean-over-batch-only",
                N_("Your gradients are k times too large: the mean runs over every entry of out (N samples × k "
                   "outputs), so divide by out.numel(), not by the batch size."),
                wrong=lambda *a: _mlp_variant(*a, divide="batch")),
        Mistake("missing-factor-two",
                N_("Your gradients are half the right size: d/dout (out - y)² = 2 (out - y)."),
                wrong=lambda *a: _mlp_variant(*a, factor=1.0)),
        Mistake("sign-flip",
                N_("Every gradient has the wrong sign: dL/dout = 2 (out - y) / (N·k), prediction minus target."),
                wrong=lambda *a: _mlp_variant(*a, factor=-2.0)),
        Mistake("no-relu-mask",
                N_("The first layer's gradients ignore the ReLU: multiply grad_h by the mask (z1 > 0) before "
                   "the first linear layer; units that were off pass no gradient."),
                wrong=lambda *a: _mlp_variant(*a, mask="none")),
        Mistake("mask-from-gradient",
                N_("Your ReLU mask comes from the sign of the incoming gradient; it must come from the forward "
                   "pre-activation: grad_z1 = grad_h * (z1 > 0) with z1 = x @ W1.T + b1."),
                wrong=lambda *a: _mlp_variant(*a, mask="grad>0")),
        Mistake("relu-grad-one-at-zero",
                N_("At pre-activations exactly 0 you let the gradient through. PyTorch's convention is "
                   "ReLU'(0) = 0: use the mask z1 > 0, not z1 >= 0."),
                wrong=lambda *a: _mlp_variant(*a, mask="z>=0")),
        Mistake("weights-transposed",
                N_("Your weight gradients are transposed: grad_W must have W's shape (out, in), i.e. "
                   "grad_z.T @ (layer input), not (layer input).T @ grad_z."),
                wrong=lambda *a: _mlp_variant(*a, transpose=True)),
        Mistake("bias-not-summed",
                N_("Bias gradients must have the bias's shape: sum the upstream gradient over the batch (dim=0)."),
                wrong=lambda *a: _mlp_variant(*a, sum_bias=False)),
    ),
))
