"""Exercises of 06_retain_graph: two gradients from one graph, saved tensors, .grad accumulation, create_graph."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from coursekit.exercises.cases import normal, tensor, uniform
from coursekit.exercises.functions import named
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import EXP, SOFTMAX, calls_at_most, must_create_graph, must_use_autograd
from coursekit.i18n import N_

NOTEBOOK = "06_retain_graph"


# --- two_output_grads ---------------------------------------------------------------------------------------

def two_output_grads(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Reference: the gradients of p[1] and of p[2] w.r.t. a, where p = softmax(a), from one forward pass."""
    a = a.detach().clone().requires_grad_(True)
    p = torch.softmax(a, dim=0)
    # The first call must keep the graph: softmax saved p for its backward, and a call without
    # retain_graph frees it.
    (grad_p1,) = torch.autograd.grad(p[1], a, retain_graph=True)
    (grad_p2,) = torch.autograd.grad(p[2], a)
    return grad_p1, grad_p2


def _output_grad(a: torch.Tensor, index: int) -> torch.Tensor:
    # Row `index` of the softmax Jacobian: d p_i / d a = p_i (e_i - p).
    p = torch.softmax(a, dim=0)
    return p[index] * (torch.nn.functional.one_hot(torch.tensor(index), a.shape[0]).to(a.dtype) - p)


def _two_grads_public() -> list[Case]:
    return [
        Case((tensor([1.0, 2.0, 3.0]),), label="the notebook's a = (1, 2, 3)"),
        Case((tensor([0.0, 0.0, 0.0, 0.0]),), label="equal entries: p = 1/4 everywhere"),
        Case((tensor([2.0, -1.0, 0.5, 3.0, 0.0]),), label="five entries"),
        Case((tensor([-300.0, 300.0, 299.0]),), label="large entries: a stable softmax is needed"),
    ]


def _two_grads_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((normal(rng, (int(rng.integers(3, 8)),), scale=2.0),),
                 label=N_("a random vector of 3 to 7 entries, normal with scale 2")) for _ in range(4)]


register(Exercise(
    id="two_output_grads",
    notebook=NOTEBOOK,
    title=N_("Two gradients from one graph (retain_graph)"),
    signature="two_output_grads(a)",
    reference=two_output_grads,
    public_cases=_two_grads_public,
    hidden_cases=_two_grads_hidden,
    output_names=("grad_p1", "grad_p2"),
    convention=N_("a is a 1-D float64 tensor that does not require grad; leave it unchanged. Return the tuple "
                  "(grad_p1, grad_p2), each of a's shape."),
    rules=(must_use_autograd(N_("use autograd for both gradients, not the Jacobian formula.")),
           calls_at_most((*SOFTMAX, *EXP), 1, text=N_("one forward pass: compute p once (one softmax, or one "
                                                      "exp in a softmax of your own) and take both gradients from "
                                                      "that one graph."))),
    hints=(
        N_("Make a leaf from a copy of a that requires grad, compute p from it once, then ask autograd for one "
           "gradient per output you need."),
        N_("A backward pass frees what the graph saved for it (softmax saves p) unless you ask it to keep the "
           "graph: which of your two calls still needs the graph afterwards?"),
    ),
    mistakes=(
        Mistake("graph-freed",
                N_("Your first gradient call freed the tensors softmax saved for its backward, so the second call "
                   "found them gone. Two gradients from one forward pass is exactly the case retain_graph is "
                   "for: keep the graph through every call except the last (section 3)."),
                raised="backward through the graph a second time"),
        Mistake("accumulated",
                N_("Your second gradient equals the sum of both gradients: .grad accumulates over backward() "
                   "calls. Set a.grad = None between the two calls, or use torch.autograd.grad, which returns "
                   "the gradient instead of adding it to .grad."),
                wrong=lambda a: (_output_grad(a, 1), _output_grad(a, 1) + _output_grad(a, 2))),
        Mistake("off-by-one",
                N_("These are the gradients of p[0] and p[1]. Python counts from 0: the exercise asks for p[1] "
                   "and p[2], the second and third probabilities."),
                wrong=lambda a: (_output_grad(a, 0), _output_grad(a, 1))),
        Mistake("summed-outputs",
                N_("Both results are the gradient of p[1] + p[2]: backpropagating the two outputs together adds "
                   "their gradients. Take one gradient per output (retain the graph for the first)."),
                wrong=lambda a: (_output_grad(a, 1) + _output_grad(a, 2),) * 2),
    ),
))


# --- sgd_steps ----------------------------------------------------------------------------------------------

def sgd_steps(w0: torch.Tensor, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Reference: the weights after `steps` plain gradient-descent steps on mean((x @ w - y)**2), from w0."""
    w = w0.detach().clone().requires_grad_(True)
    for _ in range(steps):
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        assert w.grad is not None  # backward filled it: w is a leaf that requires grad
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None  # backward adds to .grad, so clear it before the next step
    return w.detach()


def _sgd_by_hand(w0: torch.Tensor, x: torch.Tensor, y: torch.Tensor, lr: float, steps: int, *,
                 scale: float = 1.0, accumulate: bool = False, sign: float = 1.0) -> torch.Tensor:
    # The MSE gradient is (2 / N) x^T (x w - y); `scale`, `accumulate` and `sign` model the mistakes.
    w, total = w0.clone(), torch.zeros_like(w0)
    for _ in range(steps):
        grad = scale * 2.0 / max(x.shape[0], 1) * x.T @ (x @ w - y)
        total = total + grad if accumulate else grad
        w = w - sign * lr * total
    return w


def _sgd_public() -> list[Case]:
    x = tensor([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [-1.0, 1.0]])
    y = tensor([3.0, -0.5, 2.0, 1.0])
    return [
        Case((tensor([0.0, 0.0]), x, y, 0.1, 5), label="4 samples, 2 weights, lr = 0.1, 5 steps"),
        Case((tensor([1.0, -1.0]), x, y, 0.05, 20), label="20 steps with lr = 0.05"),
        Case((tensor([0.5, 0.5]), x, y, 0.1, 0), label="0 steps: the weights stay w0"),
        Case((tensor([0.0, 0.0, 0.0]), tensor([[1.0, 2.0, -1.0]]), tensor([2.0]), 0.02, 3),
             label="a batch of one sample, 3 weights"),
    ]


def _sgd_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n, d = int(rng.integers(2, 9)), int(rng.integers(1, 4))
        x = normal(rng, (n, d))
        y = x @ normal(rng, (d,)) + 0.1 * normal(rng, (n,))
        cases.append(Case((normal(rng, (d,)), x, y, float(rng.uniform(0.01, 0.1)), int(rng.integers(2, 11))),
                          label=N_("random linear data (normal x, 2-8 samples), lr in [0.01, 0.1), 2-10 steps")))
    return cases


register(Exercise(
    id="sgd_steps",
    notebook=NOTEBOOK,
    title=N_("Gradient descent on a linear model, zeroing .grad"),
    signature="sgd_steps(w0, x, y, lr, steps)",
    reference=sgd_steps,
    public_cases=_sgd_public,
    hidden_cases=_sgd_hidden,
    output_names=("w",),
    convention=N_("Returns the final weights (shape of w0, detached). The loss is mean((x @ w - y)**2); each "
                  "step is w <- w - lr * grad, on the full batch. Do not modify w0."),
    rules=(must_use_autograd(N_("compute every step's gradient with autograd (backward() or "
                                "torch.autograd.grad), not with the closed-form formula.")),),
    hints=(
        N_("Work on a copy of w0 that requires grad. Each step: the loss at the current weights, a backward pass, "
           "then an update that autograd must not record."),
        N_("backward() adds into w.grad instead of overwriting it: what must happen to w.grad between two steps?"),
        N_("Return the final weights detached from any graph."),
    ),
    mistakes=(
        Mistake("leaf-in-place",
                N_("Updating w in place while autograd records is refused for a leaf that requires grad: make the "
                   "update inside a block where autograd does not record (as optimizers do), then clear the "
                   "gradient."),
                raised="a leaf variable that requires grad is being used in an in-place operation"),
        Mistake("no-zero-grad",
                N_("Your steps use the sum of all gradients so far: backward() adds into w.grad, it does not "
                   "overwrite it. Clear it after each update with w.grad = None (or w.grad.zero_(), or "
                   "optimizer.zero_grad())."),
                wrong=lambda w0, x, y, lr, steps: _sgd_by_hand(w0, x, y, lr, steps, accumulate=True)),
        Mistake("sum-not-mean",
                N_("Your steps are N times too large: the loss is the mean of the squared errors over the batch, "
                   "not their sum."),
                wrong=lambda w0, x, y, lr, steps: _sgd_by_hand(w0, x, y, lr, steps, scale=float(x.shape[0]))),
        Mistake("missing-factor-2",
                N_("Your steps are half as large as they should be: the derivative of (x w − y)² is "
                   "2 x (x w − y), so the gradient has a factor 2."),
                wrong=lambda w0, x, y, lr, steps: _sgd_by_hand(w0, x, y, lr, steps, scale=0.5)),
        Mistake("ascent",
                N_("Your weights move uphill: gradient descent subtracts lr * grad (w -= lr * w.grad)."),
                wrong=lambda w0, x, y, lr, steps: _sgd_by_hand(w0, x, y, lr, steps, sign=-1.0)),
    ),
))


# --- second_derivative --------------------------------------------------------------------------------------

CUBIC = named("x_cubed", lambda x: x**3, "x**3")
SINE = named("sin_x", torch.sin, "sin(x)")
LOG_COSH = named("log_cosh_x", lambda x: torch.log(torch.cosh(x)), "log(cosh(x))")
BUMP = named("gaussian_bump_x", lambda x: torch.exp(-(x**2) / 2), "exp(-x**2 / 2)")
_CASE_FUNCTIONS = (CUBIC, SINE, LOG_COSH, BUMP)


def second_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> float:
    """Reference: f''(x) as a Python float, for a scalar function f and a 0-d tensor x, via create_graph."""
    x = x.detach().clone().requires_grad_(True)
    # create_graph=True records the backward pass itself, so f'(x) is a function of x we can differentiate.
    (first,) = torch.autograd.grad(f(x), x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    return float(second)


def _derivatives(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[float, float]:
    x = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(f(x), x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    return float(first.detach()), float(second)


def _second_public() -> list[Case]:
    return [
        Case((CUBIC, tensor(1.5)), label="x**3 at x = 1.5: f'' = 6x = 9"),
        Case((SINE, tensor(1.0)), label="sin(x) at x = 1: f'' = -sin(1)"),
        Case((BUMP, tensor(0.0)), label="exp(-x**2/2) at its peak x = 0: f' = 0, f'' = -1"),
        Case((LOG_COSH, tensor(0.5)), label="log(cosh(x)) at x = 0.5: f'' = 1 - tanh(x)**2"),
        Case((CUBIC, tensor(-2.0)), label="x**3 at x = -2: f'' = -12"),
    ]


def _second_hidden(rng: np.random.Generator) -> list[Case]:
    return [Case((_CASE_FUNCTIONS[int(rng.integers(0, len(_CASE_FUNCTIONS)))], uniform(rng, (), low=-2.0, high=2.0)),
                 label=N_("one of the notebook's functions at x uniform in [-2, 2)")) for _ in range(4)]


register(Exercise(
    id="second_derivative",
    notebook=NOTEBOOK,
    title=N_("A second derivative with create_graph=True"),
    signature="second_derivative(f, x)",
    reference=second_derivative,
    public_cases=_second_public,
    hidden_cases=_second_hidden,
    convention=N_("x is a 0-d float64 tensor; return f''(x) as a Python float (a detached 0-d tensor is accepted)."),
    rules=(must_create_graph(),),
    hints=(
        N_("f''(x) is the derivative of f'(x). Autograd can differentiate f'(x) only if computing f'(x) was itself "
           "recorded in a graph; by default a gradient is not."),
        N_("Ask for the first derivative so that it is recorded, differentiate it once more with respect to the "
           "same x, and return the number as a Python float."),
    ),
    mistakes=(
        Mistake("no-create-graph",
                N_("Your first derivative has no graph of its own, so there is nothing to differentiate a second "
                   "time: autograd records the computation of a gradient only when you ask for it with "
                   "create_graph=True."),
                raised="does not require grad and does not have a grad_fn"),
        Mistake("first-derivative",
                N_("This is f'(x), the first derivative. Differentiate it once more: compute it with "
                   "create_graph=True, then take the gradient of the result with respect to x."),
                wrong=lambda f, x: _derivatives(f, x)[0]),
        Mistake("accumulated",
                N_("Your result is f'(x) + f''(x): after f(x).backward(create_graph=True), x.grad already holds "
                   "f'(x), and the second backward adds f''(x) to it. Set x.grad = None before the second "
                   "backward, or use torch.autograd.grad twice."),
                wrong=lambda f, x: sum(_derivatives(f, x))),
        Mistake("sign-flip",
                N_("Your result has the wrong sign. Check the order of operations: f''(x) is the derivative of "
                   "f'(x), with no minus sign added."),
                wrong=lambda f, x: -_derivatives(f, x)[1]),
    ),
))
