"""Exercises of 08_build_autograd, part 1: the vector–Jacobian products the engine's nodes run.

The references are the engine's own VJPs (``coursekit.engine.vjps``): written with operators and tensor
methods only, so the same code runs on torch tensors and, for create_graph, on engine Tensors.
The graph-walking exercises (topological order, accumulation, freeing) are in ``build_autograd_walk``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from coursekit.engine.vjps import matmul_vjp, mul_vjp, softmax_vjp, unbroadcast
from coursekit.exercises.cases import normal, tensor
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.rules import forbid, no_autograd
from coursekit.i18n import N_

NOTEBOOK = "08_build_autograd"

BY_HAND = no_autograd(N_("write the VJP yourself from the derivative: no autograd (no backward(), "
                         "torch.autograd.grad, requires_grad or torch.func transforms)."))


def _grid(*shape: int) -> torch.Tensor:
    """1, 2, 3, ... in the given shape: readable numbers for the public cases."""
    return torch.arange(1, int(np.prod(shape)) + 1, dtype=torch.float64).reshape(shape)


def _broadcast_shapes(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A random shape and a shape that broadcasts against it: some dimensions 1, maybe fewer dimensions."""
    full = tuple(int(rng.integers(1, 5)) for _ in range(int(rng.integers(1, 4))))
    kept = full[int(rng.integers(0, len(full))):] if rng.random() < 0.5 else full
    small = tuple(1 if rng.random() < 0.4 else n for n in kept)
    return full, small


# --- unbroadcast --------------------------------------------------------------------------------------------

def _left_aligned(grad: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    # lines the shapes up from the left: sums the trailing dimensions instead of the leading ones
    extra = grad.dim() - len(shape)
    if extra:
        grad = grad.sum(dim=tuple(range(len(shape), grad.dim())))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(dim=stretched, keepdim=True) if stretched else grad


def _leading_only(grad: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    extra = grad.dim() - len(shape)
    return grad.sum(dim=tuple(range(extra))) if extra else grad


def _no_keepdim(grad: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    grad = _leading_only(grad, shape)
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(dim=stretched) if stretched else grad


def _averaged(grad: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    extra = grad.dim() - len(shape)
    if extra:
        grad = grad.mean(dim=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.mean(dim=stretched, keepdim=True) if stretched else grad


def _summed_everything(case: Case, expected: Any, got: Any) -> bool:
    # torch reads dim=() as "every dimension": grad.sum(dim=()) is a single number. `got` and `expected` are
    # the grader's plain arrays (.shape, .data), read by duck typing: exercises do not import the grader.
    grad = case.args[0]
    return (getattr(got, "shape", None) == () and getattr(expected, "shape", ()) != ()
            and bool(np.isclose(float(got.data), float(grad.sum()))))


def _unbroadcast_public() -> list[Case]:
    return [
        Case((_grid(2, 3), (3,)), label="a (3,) row added to both rows of a (2, 3) tensor"),
        Case((_grid(2, 3), (2, 1)), label="a (2, 1) column stretched across 3 columns"),
        Case((_grid(2, 3), (1, 3)), label="a (1, 3) row stretched down 2 rows"),
        Case((_grid(4, 2, 3), (2, 1)),
             label="(2, 1) broadcast to (4, 2, 3): a new leading dimension and a stretched one"),
        Case((_grid(2, 3), (2, 3)), label="nothing was broadcast: the gradient is unchanged"),
        Case((_grid(3), ()), label="a single number () broadcast to 3 entries"),
    ]


def _unbroadcast_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        full, small = _broadcast_shapes(rng)
        cases.append(Case((normal(rng, full), small),
                          label=N_("a random gradient and a shape that broadcasts to it (1 to 3 dimensions of size "
                                   "1-4)")))
    return cases


register(Exercise(
    id="unbroadcast",
    notebook=NOTEBOOK,
    title=N_("Undo broadcasting: sum a gradient down to an input's shape"),
    signature="unbroadcast(grad, shape)",
    reference=unbroadcast,
    public_cases=_unbroadcast_public,
    hidden_cases=_unbroadcast_hidden,
    convention=N_("grad is a float64 tensor; shape is a tuple of ints that broadcasts to grad.shape (PyTorch's "
                  "rule: shapes line up from the right). Return a tensor of exactly `shape`; do not modify grad."),
    rules=(BY_HAND, forbid("torch.Tensor.sum_to_size",
                           text=N_("sum the copies yourself with .sum (Tensor.sum_to_size would do it for you)."))),
    hints=(
        N_("Broadcasting copies an input: it adds dimensions in front and stretches dimensions of size 1. Every copy "
           "used the same input entry, so the gradients of all its copies add up in that entry."),
        N_("Shapes line up from the right. First sum over the extra leading dimensions of grad; then sum over every "
           "dimension where `shape` has a 1 but grad does not, with `keepdim=True` so that it stays a 1."),
    ),
    mistakes=(
        Mistake("empty-dim-tuple",
                N_("You returned one number, the sum of everything. In PyTorch an empty tuple of dimensions means "
                   "all of them: grad.sum(dim=()) sums over every dimension. Only call sum when there are "
                   "dimensions to sum."),
                test=_summed_everything),
        Mistake("averaged",
                N_("You averaged the copies. Each broadcast copy used the same input entry, so their gradients add "
                   "up: sum over the broadcast dimensions, do not take the mean."),
                wrong=_averaged),
        Mistake("left-aligned",
                N_("Broadcasting lines shapes up from the right: a (3,) input added to a (2, 3) tensor was copied "
                   "along the first dimension, so sum over the extra leading dimensions, not the trailing ones."),
                wrong=_left_aligned),
        Mistake("leading-only",
                N_("You summed away the extra leading dimensions, but a dimension of size 1 in `shape` was stretched "
                   "too: sum along it as well, with keepdim=True so it stays of size 1."),
                wrong=_leading_only),
        Mistake("no-keepdim",
                N_("You summed the stretched dimension away: the result must have exactly `shape`, with its 1s. "
                   "Sum with keepdim=True."),
                wrong=_no_keepdim),
    ),
))


# --- mul_vjp ------------------------------------------------------------------------------------------------

def _mul_public() -> list[Case]:
    return [
        Case((tensor([1.0, -2.0, 0.5]), tensor([3.0, 1.0, -1.0]), tensor([2.0, 4.0, 6.0])),
             label="three numbers times three numbers"),
        Case((_grid(2, 3) / 10, _grid(2, 3), tensor([1.0, -1.0, 2.0])),
             label="a (2, 3) times a (3,) row: b is broadcast"),
        Case((_grid(3, 4) / 10, tensor([[1.0], [2.0], [3.0]]), tensor([[1.0, -1.0, 0.5, 2.0]])),
             label="a (3, 1) column times a (1, 4) row: both are stretched to (3, 4)"),
        Case((_grid(2, 2), tensor([[1.0, 2.0], [3.0, 4.0]]), tensor(0.5)), label="b is a single number (shape ())"),
    ]


def _mul_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        full, small = _broadcast_shapes(rng)
        a_shape, b_shape = (full, small) if rng.random() < 0.5 else (small, full)
        out_shape = torch.broadcast_shapes(a_shape, b_shape)
        cases.append(Case((normal(rng, out_shape), normal(rng, a_shape), normal(rng, b_shape)),
                          label=N_("random a and b whose shapes broadcast, and a random upstream gradient")))
    return cases


register(Exercise(
    id="mul_vjp",
    notebook=NOTEBOOK,
    title=N_("The VJP of elementwise multiplication, with broadcasting"),
    signature="mul_vjp(grad, a, b)",
    reference=mul_vjp,
    public_cases=_mul_public,
    hidden_cases=_mul_hidden,
    output_names=("grad_a", "grad_b"),
    convention=N_("a and b are float64 tensors whose shapes broadcast; grad = dL/d(a * b) has the broadcast shape. "
                  "Return the tuple (grad_a, grad_b), grad_a of a's shape and grad_b of b's shape. Do not modify "
                  "the inputs."),
    rules=(BY_HAND,),
    hints=(
        N_("Entry by entry, d(a·b)/da = b and d(a·b)/db = a, and the chain rule multiplies each by the incoming "
           "gradient."),
        N_("The product of grad and the other input has the broadcast shape, not necessarily the input's: sum it "
           "back to the input's shape, as `unbroadcast` does."),
    ),
    mistakes=(
        Mistake("swapped",
                N_("Each input's gradient is the upstream gradient times the *other* input: d(ab)/da = b. You "
                   "multiplied by the input itself."),
                wrong=lambda grad, a, b: (unbroadcast(grad * a, a.shape), unbroadcast(grad * b, b.shape))),
        Mistake("no-upstream",
                N_("You returned the local derivatives (b and a) without the chain rule: multiply them by the "
                   "upstream gradient `grad`."),
                wrong=lambda grad, a, b: (b, a)),
        Mistake("not-unbroadcast",
                N_("Your gradients have the broadcast shape. An input that was broadcast needs its gradient summed "
                   "back to its own shape (unbroadcast): each of its entries was used several times."),
                wrong=lambda grad, a, b: (grad * b, grad * a)),
    ),
))


# --- matmul_vjp ---------------------------------------------------------------------------------------------

def _matmul_public() -> list[Case]:
    return [
        Case((tensor([[1.0, -1.0, 0.0], [2.0, 0.5, 1.0], [0.0, 1.0, -2.0]]), _grid(3, 3) / 10,
              tensor([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])),
             label="square 3 x 3 matrices: shapes alone do not catch a missing transpose"),
        Case((tensor([[1.0, 0.0, -1.0, 2.0], [0.5, 1.0, 0.0, -1.0]]), _grid(2, 3) / 10, _grid(3, 4) / 10),
             label="a (2, 3) matrix times a (3, 4) matrix"),
        Case((tensor([[2.0]]), tensor([[1.0, 2.0, 3.0]]), tensor([[4.0], [5.0], [6.0]])),
             label="a (1, 3) row times a (3, 1) column: a 1 x 1 result"),
        Case((_grid(2, 2, 2) / 10, _grid(2, 2, 3) / 10, tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])),
             label="a batch of two (2, 3) matrices times one shared (3, 2) matrix"),
        Case((_grid(2, 3, 4) / 10, tensor([[1.0, 2.0], [0.0, -1.0], [2.0, 1.0]]), _grid(2, 2, 4) / 10),
             label="one shared (3, 2) matrix times a batch of two (2, 4) matrices"),
    ]


def _matmul_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        n, k, m = (int(rng.integers(1, 5)) for _ in range(3))
        batch = (int(rng.integers(1, 4)),) if rng.random() < 0.6 else ()
        a_batch, b_batch = (batch, ()) if rng.random() < 0.5 else ((), batch)
        out_shape = (*batch, n, m)
        cases.append(Case((normal(rng, out_shape), normal(rng, (*a_batch, n, k)), normal(rng, (*b_batch, k, m))),
                          label=N_("random matrices (sides 1-4), sometimes a batch of them times one shared matrix")))
    return cases


def _batch_not_summed(grad: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return grad @ b.mT, a.mT @ grad


register(Exercise(
    id="matmul_vjp",
    notebook=NOTEBOOK,
    title=N_("The VJP of a matrix product, with a batch"),
    signature="matmul_vjp(grad, a, b)",
    reference=matmul_vjp,
    public_cases=_matmul_public,
    hidden_cases=_matmul_hidden,
    output_names=("grad_a", "grad_b"),
    convention=N_("a has shape (..., n, k) and b (..., k, m), at least 2 dimensions each; leading (batch) dimensions "
                  "broadcast as in torch.matmul. grad = dL/d(a @ b) has shape (..., n, m). Return the tuple "
                  "(grad_a, grad_b) in the shapes of a and b."),
    rules=(BY_HAND,),
    hints=(
        N_("For one product Y = A B, Y_ij = Σ_k A_ik B_kj, so dY_ij/dA_ik = B_kj: each input's gradient is a "
           "product of grad with the other matrix."),
        N_("Let the shapes guide you: grad_a must be (n, k) and grad_b (k, m), and `.mT` swaps the last two "
           "dimensions. A matrix shared by a whole batch gets the sum of its gradients over the batch."),
    ),
    mistakes=(
        Mistake("t-on-a-batch",
                N_("On a batch of matrices, .T reverses every dimension (batch included); .mT swaps only the last "
                   "two, which is the transpose of each matrix. And a matrix shared by the whole batch gets the sum "
                   "of its gradients over the batch."),
                raised="must match the size of tensor"),
        Mistake("no-transpose",
                N_("Your products use b and a without transposing them. With square matrices the shapes happen to "
                   "fit, but dY_ij/dA_ik = B_kj: grad_a = grad bᵀ and grad_b = aᵀ grad."),
                wrong=lambda grad, a, b: (grad @ b, a @ grad)),
        Mistake("grad-b-transposed",
                N_("Your grad_b is the transpose of the right one: aᵀ grad has b's shape (k, m); gradᵀ a is its "
                   "transpose (m, k)."),
                wrong=lambda grad, a, b: (unbroadcast(grad @ b.mT, a.shape), unbroadcast(grad.mT @ a, b.shape))),
        Mistake("batch-not-summed",
                N_("A matrix shared by every item of the batch was used once per item, so its gradient is the sum "
                   "over the batch dimension (the broadcasting rule): sum it back to that matrix's shape."),
                wrong=_batch_not_summed),
    ),
))


# --- softmax_vjp --------------------------------------------------------------------------------------------

def _p(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)


def _softmax_public() -> list[Case]:
    return [
        Case((tensor([1.0, 0.0, 0.0]), _p(tensor([2.0, 1.0, 0.1]))),
             label="p = softmax(2, 1, 0.1), v = (1, 0, 0): the gradient of p[0]"),
        Case((tensor([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0], [2.0, 2.0, 0.0]]),
              _p(tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [-1.0, 0.5, 3.0]]))),
             label="a batch of 3 rows of 3 probabilities: one dot product v·p per row"),
        Case((tensor([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, -1.0, 3.0], [0.0, 2.0, 1.0, -0.5]]),
              _p(tensor([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, -1.0], [2.0, -1.0, 0.5, 0.0]]))),
             label="a batch of 3 rows of 4 probabilities"),
        Case((torch.ones(2, 3, dtype=torch.float64), _p(tensor([[1.0, -2.0, 0.5], [3.0, 0.0, 1.0]]))),
             label="v = 1 everywhere: the probabilities always sum to 1, so the answer is 0"),
        Case((tensor([0.3, -1.0, 2.0]), _p(tensor([800.0, 0.0, -800.0]))),
             label="p (almost exactly) one-hot: a saturated softmax passes no gradient"),
        Case((_grid(2, 2, 3) / 10,
              _p(tensor([[[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]], [[-1.0, 1.0, 2.0], [3.0, 1.0, 0.5]]]))),
             label="a (2, 2, 3) batch: softmax along the last dimension"),
    ]


def _softmax_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(1, 4)), int(rng.integers(2, 6)))
        logits = normal(rng, shape, scale=float(rng.uniform(0.5, 4.0)))
        cases.append(Case((normal(rng, shape), _p(logits)),
                          label=N_("p = softmax of random logits (normal, scale up to 4) and a random upstream v")))
    return cases


register(Exercise(
    id="softmax_vjp",
    notebook=NOTEBOOK,
    title=N_("The softmax node's VJP: p ⊙ (v − v·p)"),
    signature="softmax_vjp(grad, p)",
    reference=softmax_vjp,
    public_cases=_softmax_public,
    hidden_cases=_softmax_hidden,
    rtol=1e-6,
    atol=1e-12,
    convention=N_("p is softmax's output along the last dimension (what the node saved; each row sums to 1) and grad "
                  "= v = dL/dp has p's shape. Return dL/dz, the gradient with respect to the logits, of p's shape."),
    rules=(BY_HAND,),
    hints=(
        N_("The Jacobian of one row is diag(p) − ppᵀ (notebook 05), so the VJP of a row is vᵀ(diag(p) − ppᵀ). The "
           "node never needs to build that matrix."),
        N_("vᵀ diag(p) is the elementwise product of v and p, and vᵀ p pᵀ is the number v·p times p. Take v·p along "
           "the last dimension with `keepdim=True`, so that it broadcasts row by row."),
    ),
    mistakes=(
        Mistake("diagonal-only",
                N_("You used only the diagonal p_i (1 − p_i) of the Jacobian. Raising z_j also lowers every other "
                   "p_i, so every output contributes: the VJP is p ⊙ (v − v·p)."),
                wrong=lambda grad, p: grad * p * (1 - p)),
        Mistake("sign-flip",
                N_("Your gradient has the opposite sign: it is p ⊙ (v − v·p), not p ⊙ (v·p − v)."),
                wrong=lambda grad, p: p * ((grad * p).sum(dim=-1, keepdim=True) - grad)),
        Mistake("whole-tensor-dot",
                N_("Your dot product v·p ran over the whole tensor. Each row is its own softmax, so take v·p per row: "
                   "sum along the last dimension with keepdim=True."),
                wrong=lambda grad, p: p * (grad - (grad * p).sum())),
        Mistake("no-keepdim",
                N_("The row sums v·p lost their dimension, so subtracting them broadcast the wrong way (row i got the "
                   "sum of row j). Sum with keepdim=True."),
                wrong=lambda grad, p: p * (grad - (grad * p).sum(dim=-1))),
        Mistake("no-keepdim-shape",
                N_("The row sums v·p lost their dimension, so they no longer line up with the rows of v. Sum along "
                   "the last dimension with keepdim=True."),
                raised="must match the size"),
        Mistake("softmax-again",
                N_("p is already the softmax output, the value the node saved: use it as it is, do not apply softmax "
                   "to it again."),
                wrong=lambda grad, p: softmax_vjp(grad, torch.softmax(p, dim=-1))),
    ),
))
