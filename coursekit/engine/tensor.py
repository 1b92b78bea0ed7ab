"""The tiny engine's Tensor and Node: a value, and the operation that made it with what it saved.

A `Tensor` wraps a plain torch tensor (`.value`, which never requires grad: torch's own autograd plays
no part here). An operation on Tensors computes its result's value and, when an input needs a gradient,
records a `Node` on the result: the operation's name, its inputs, its VJP (see `coursekit.engine.vjps`)
and the tensors that VJP needs, *saved* in the forward pass. `Node.free()` releases them; a VJP asked for
after that raises `GraphFreedError`, the engine's own form of PyTorch's "backward a second time" error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch

from coursekit.engine import vjps as V

__all__ = ["GraphFreedError", "Node", "Tensor"]

Number = int | float


class GraphFreedError(RuntimeError):
    """A node's saved values were asked for after a backward pass had freed them."""


class Node:
    """One recorded operation: its inputs, its VJP and the values the VJP needs (until freed)."""

    def __init__(self, op: str, inputs: Sequence[Tensor], vjp: Callable[..., tuple[Any, ...]],
                 saved: dict[str, Tensor], params: dict[str, Any]) -> None:
        self.op = op
        self.inputs: tuple[Tensor, ...] = tuple(inputs)
        self.saved_names: tuple[str, ...] = tuple(saved)
        self.freed = False
        self._vjp = vjp
        self._saved = dict(saved)
        self._params = dict(params)  # shapes and dimensions: never freed, as in PyTorch

    @property
    def label(self) -> str:
        """The operation's name as figures write it: Mul, Matmul, Softmax."""
        return self.op.capitalize()

    @property
    def saved(self) -> dict[str, Tensor]:
        """The saved values still held (empty once freed)."""
        return dict(self._saved)

    @property
    def saved_bytes(self) -> int:
        """Bytes of the saved values still held (each counted once per name)."""
        return sum(t.value.numel() * t.value.element_size() for t in self._saved.values())

    def vjp(self, grad: Any, *, create_graph: bool = False) -> tuple[Any, ...]:
        """One gradient per input, from the upstream `grad`: engine Tensors when `create_graph`, else torch's."""
        if self.freed:
            raise GraphFreedError(
                f"{self.label}'s saved values ({', '.join(self.saved_names)}) were already freed by an earlier "
                f"backward pass; pass retain_graph=True to that backward to walk this graph again.")
        if create_graph:
            grad = grad if isinstance(grad, Tensor) else Tensor(grad)
            return self._per_input(self._vjp(grad, *self._saved.values(), **self._params))
        grad = grad.value if isinstance(grad, Tensor) else torch.as_tensor(grad, dtype=self.inputs[0].value.dtype)
        saved = [t.value for t in self._saved.values()]  # in the order of SAVES: (a, b), (out,), (p,)
        # fresh tensors, so that a caller adding into one (+=) cannot change another
        return tuple(g.clone() for g in self._per_input(self._vjp(grad, *saved, **self._params)))

    def _per_input(self, result: Any) -> tuple[Any, ...]:
        """A VJP of one input may return its gradient bare; make it a tuple of one gradient per input."""
        grads = tuple(result) if isinstance(result, (tuple, list)) else (result,)
        if len(grads) != len(self.inputs):
            raise ValueError(f"{self.label}'s VJP returned {len(grads)} gradient(s) for {len(self.inputs)} input(s).")
        return grads

    def free(self) -> None:
        """Release the saved values; a node that saved nothing has nothing to free and stays usable."""
        if self._saved:
            self._saved = {}
            self.freed = True

    def __repr__(self) -> str:
        held = "freed" if self.freed else (", ".join(self.saved_names) or "nothing")
        return f"Node({self.label}, inputs={len(self.inputs)}, saved: {held})"


def _format(value: torch.Tensor) -> str:
    if value.numel() <= 6:
        data = value.tolist()
        return repr(_round(data))
    return f"shape={tuple(value.shape)}"


def _round(data: Any) -> Any:
    if isinstance(data, list):
        return [_round(d) for d in data]
    return round(data, 4) if isinstance(data, float) else data


def _dims(dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if not dims:  # as in torch, an empty tuple of dimensions means all of them
        return None
    return tuple(sorted({d % ndim if ndim else 0 for d in dims}))


class Tensor:
    """A value and, if an operation made it, the Node that records how (None for a leaf)."""

    #: the VJP of each operation; `Tensor.using(mul=my_mul_vjp)` makes an engine that uses yours
    vjps: ClassVar[dict[str, Callable[..., tuple[Any, ...]]]] = {
        "add": V.add_vjp, "neg": V.neg_vjp, "mul": V.mul_vjp, "div": V.div_vjp, "matmul": V.matmul_vjp,
        "transpose": V.transpose_vjp, "sum": V.sum_vjp, "reshape": V.reshape_vjp, "expand": V.expand_vjp,
        "exp": V.exp_vjp, "log": V.log_vjp, "relu": V.relu_vjp, "softmax": V.softmax_vjp,
    }

    def __init__(self, value: Any, *, requires_grad: bool = False, name: str = "") -> None:
        if isinstance(value, Tensor):
            value = value.value
        if isinstance(value, torch.Tensor):
            value = value.detach()
            if not value.is_floating_point():
                value = value.to(torch.float64)
        else:
            value = torch.as_tensor(value, dtype=torch.float64)
        self.value: torch.Tensor = value
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.node: Node | None = None
        self.grad: Any = None

    @classmethod
    def using(cls, **vjps: Callable[..., tuple[Any, ...]]) -> type[Tensor]:
        """A Tensor class whose operations use the given VJPs (e.g. yours) instead of the course's."""
        unknown = sorted(set(vjps) - set(cls.vjps))
        if unknown:
            raise ValueError(f"No operation named {', '.join(unknown)}; the engine has {', '.join(cls.vjps)}.")
        return type(cls.__name__, (cls,), {"vjps": {**cls.vjps, **vjps}})

    # --- what a Tensor is -------------------------------------------------------------------------------

    @property
    def shape(self) -> torch.Size:
        return self.value.shape

    @property
    def ndim(self) -> int:
        return self.value.dim()

    def dim(self) -> int:
        return self.value.dim()

    @property
    def is_leaf(self) -> bool:
        return self.node is None

    def item(self) -> float:
        return self.value.item()

    def __repr__(self) -> str:
        parts = [_format(self.value)]
        if self.node is not None:
            parts.append(f"op={self.node.label}")
        elif self.requires_grad:
            parts.append("requires_grad=True")
        if self.name:
            parts.append(f"name={self.name!r}")
        return f"Tensor({', '.join(parts)})"

    # --- recording ---------------------------------------------------------------------------------------

    def _lift(self, other: Any) -> Tensor:
        return other if isinstance(other, Tensor) else type(self)(other)

    def _record(self, op: str, value: torch.Tensor, inputs: Sequence[Tensor], *, saved: Sequence[str] = (),
                **params: Any) -> Tensor:
        """The result of `op`: its value, and a Node when an input needs a gradient."""
        out = type(self)(value)
        if any(t.requires_grad for t in inputs):
            out.requires_grad = True
            named = {"a": inputs[0], "b": inputs[-1], "out": out, "p": out}
            out.node = Node(op, inputs, type(self).vjps[op], {k: named[k] for k in saved}, params)
        return out

    # --- operations -----------------------------------------------------------------------------------------

    def __add__(self, other: Any) -> Tensor:
        other = self._lift(other)
        return self._record("add", self.value + other.value, (self, other),
                            a_shape=tuple(self.shape), b_shape=tuple(other.shape))

    def __radd__(self, other: Number) -> Tensor:
        return self._lift(other) + self

    def __neg__(self) -> Tensor:
        return self._record("neg", -self.value, (self,))

    def __sub__(self, other: Any) -> Tensor:
        return self + (-self._lift(other))

    def __rsub__(self, other: Number) -> Tensor:
        return self._lift(other) + (-self)

    def __mul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        return self._record("mul", self.value * other.value, (self, other), saved=V.SAVES["mul"])

    def __rmul__(self, other: Number) -> Tensor:
        return self._lift(other) * self

    def __truediv__(self, other: Any) -> Tensor:
        other = self._lift(other)
        return self._record("div", self.value / other.value, (self, other), saved=V.SAVES["div"])

    def __rtruediv__(self, other: Number) -> Tensor:
        return self._lift(other) / self

    def __matmul__(self, other: Any) -> Tensor:
        other = self._lift(other)
        if self.ndim < 2 or other.ndim < 2:
            raise ValueError(f"The engine's @ needs matrices (2 or more dimensions); got shapes "
                             f"{tuple(self.shape)} and {tuple(other.shape)}. Reshape a vector to (1, n) or (n, 1).")
        return self._record("matmul", self.value @ other.value, (self, other), saved=V.SAVES["matmul"])

    @property
    def mT(self) -> Tensor:  # noqa: N802 - the name torch uses
        """The last two dimensions swapped."""
        return self._record("transpose", self.value.mT, (self,))

    @property
    def T(self) -> Tensor:  # noqa: N802 - the name torch uses
        """The transpose of a matrix."""
        if self.ndim != 2:
            raise ValueError(f".T is for matrices; this tensor has shape {tuple(self.shape)} (use .mT).")
        return self.mT

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        dims = _dims(dim, self.ndim)
        value = self.value.sum() if dims is None and not keepdim else \
            self.value.sum(dim=dims if dims is not None else tuple(range(self.ndim)), keepdim=keepdim)
        return self._record("sum", value, (self,), shape=tuple(self.shape), dim=dims, keepdim=keepdim)

    def mean(self) -> Tensor:
        return self.sum() * (1.0 / max(self.value.numel(), 1))

    def reshape(self, *shape: Any) -> Tensor:
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)
        return self._record("reshape", self.value.reshape(target), (self,), shape=tuple(self.shape))

    def expand(self, *shape: Any) -> Tensor:
        target = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else tuple(shape)
        return self._record("expand", self.value.expand(target), (self,), shape=tuple(self.shape))

    def exp(self) -> Tensor:
        return self._record("exp", self.value.exp(), (self,), saved=V.SAVES["exp"])

    def log(self) -> Tensor:
        return self._record("log", self.value.log(), (self,), saved=V.SAVES["log"])

    def relu(self) -> Tensor:
        return self._record("relu", self.value.clamp_min(0.0), (self,), saved=V.SAVES["relu"])

    def softmax(self, dim: int = -1) -> Tensor:
        if dim not in (-1, self.ndim - 1):
            raise ValueError("The engine's softmax runs along the last dimension (dim=-1).")
        # softmax(z) = softmax(z - max z): every exponent <= 0, so exp cannot overflow
        e = (self.value - self.value.amax(dim=-1, keepdim=True)).exp()
        return self._record("softmax", e / e.sum(dim=-1, keepdim=True), (self,), saved=V.SAVES["softmax"])

    def __gt__(self, other: Any) -> Tensor:
        """A 0/1 mask: a constant, not part of the graph (its derivative is 0 almost everywhere)."""
        threshold = other.value if isinstance(other, Tensor) else other
        return type(self)((self.value > threshold).to(self.value.dtype))

    # --- the backward pass -----------------------------------------------------------------------------

    def backward(self, grad: Any = None, *, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Add d self / d leaf to every leaf's `.grad`; frees the saved values unless `retain_graph`."""
        from coursekit.engine.backward import backward

        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)
