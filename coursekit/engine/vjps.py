"""The vector–Jacobian products (VJPs) of the tiny engine's operations.

Each function takes the upstream gradient `grad` (the shape of the operation's output) and what the
operation saved in its forward pass, and returns the gradient of each input, in that input's shape: a
tuple for an operation of two inputs, the gradient itself for an operation of one.
They use only operators and tensor methods (`*`, `@`, `.sum`, `.mT`, `.reshape`, ...), so the same code
runs on plain torch tensors (an ordinary backward pass) and on the engine's own Tensors, where every
step of the backward pass is itself recorded: that is what `create_graph=True` means.

`SAVES` says what each operation keeps for its backward pass: its inputs, its output, or no tensor at
all (only shapes and dimensions, which are never freed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["SAVES", "add_vjp", "div_vjp", "exp_vjp", "expand_vjp", "log_vjp", "matmul_vjp", "mul_vjp", "neg_vjp",
           "relu_vjp", "reshape_vjp", "softmax_vjp", "sum_vjp", "transpose_vjp", "unbroadcast"]

#: operation -> the tensors its backward needs (the names its VJP's keyword arguments carry)
SAVES: dict[str, tuple[str, ...]] = {
    "add": (), "neg": (), "mul": ("a", "b"), "div": ("a", "b"), "matmul": ("a", "b"), "transpose": (),
    "sum": (), "reshape": (), "expand": (), "exp": ("out",), "log": ("a",), "relu": ("out",),
    "softmax": ("p",),
}


def unbroadcast(grad: Any, shape: Sequence[int]) -> Any:
    """Sum `grad` down to `shape`: the VJP of broadcasting an input of that shape to grad's shape."""
    shape = tuple(shape)
    # Broadcasting prepends dimensions and stretches dimensions of size 1; each stretched copy used
    # the same input entry, so the gradients of the copies add up.
    extra = len(grad.shape) - len(shape)
    if extra > 0:
        grad = grad.sum(dim=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(dim=stretched, keepdim=True)
    return grad


def add_vjp(grad: Any, *, a_shape: Sequence[int], b_shape: Sequence[int]) -> tuple[Any, Any]:
    """a + b: the gradient passes through to both inputs (summed over what was broadcast)."""
    return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)


def neg_vjp(grad: Any) -> Any:
    """-a: the gradient with its sign flipped."""
    return -grad


def mul_vjp(grad: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """a * b (elementwise, broadcasting): d(ab)/da = b and d(ab)/db = a."""
    return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)


def div_vjp(grad: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """a / b: d/da = 1/b and d/db = -a/b²."""
    return unbroadcast(grad / b, a.shape), unbroadcast(-(grad * a) / (b * b), b.shape)


def matmul_vjp(grad: Any, a: Any, b: Any) -> tuple[Any, Any]:
    """a @ b for a (..., n, k) and b (..., k, m): grad_a = grad bᵀ, grad_b = aᵀ grad, batch dims summed."""
    return unbroadcast(grad @ b.mT, a.shape), unbroadcast(a.mT @ grad, b.shape)


def transpose_vjp(grad: Any) -> Any:
    """a.mT (the last two dimensions swapped): swap them back."""
    return grad.mT


def sum_vjp(grad: Any, *, shape: Sequence[int], dim: tuple[int, ...] | None, keepdim: bool) -> Any:
    """a.sum(dim): every summed entry gets the gradient of its sum, so the gradient is copied back out."""
    shape = tuple(shape)
    if not keepdim:
        summed = set(range(len(shape))) if dim is None else set(dim)
        grad = grad.reshape(tuple(1 if i in summed else n for i, n in enumerate(shape)))
    return grad.expand(shape)


def reshape_vjp(grad: Any, *, shape: Sequence[int]) -> Any:
    """a.reshape(...): the same entries in the input's shape."""
    return grad.reshape(tuple(shape))


def expand_vjp(grad: Any, *, shape: Sequence[int]) -> Any:
    """a.expand(...): broadcasting, so sum the copies."""
    return unbroadcast(grad, shape)


def exp_vjp(grad: Any, out: Any) -> Any:
    """exp(a): its derivative is its own output, which is why exp saves the output."""
    return grad * out


def log_vjp(grad: Any, a: Any) -> Any:
    """log(a): the derivative 1/a needs the input."""
    return grad / a


def relu_vjp(grad: Any, out: Any) -> Any:
    """relu(a): the gradient passes where the output is positive (ReLU'(0) = 0, as in PyTorch)."""
    return grad * (out > 0)


def softmax_vjp(grad: Any, p: Any) -> Any:
    """softmax along the last dimension: vᵀ(diag(p) − ppᵀ) = p ⊙ (v − v·p), with v = grad, row by row."""
    return p * (grad - (grad * p).sum(dim=-1, keepdim=True))
