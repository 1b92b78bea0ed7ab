"""The tiny engine's backward pass: walk the graph once, output first, and add up gradients.

`topological_order` orders the graph so that every tensor comes before all of its inputs: when a
node's VJP runs, every tensor that used the node's output has already passed its gradient back, so
the gradient it starts from is complete. Where a tensor is used twice, the gradients of the two uses
add up. After a node's VJP has run, the node frees its saved values unless `retain_graph=True`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import torch

from coursekit.engine.tensor import GraphFreedError, Tensor

__all__ = ["backward", "backward_twice", "grad", "gradients", "inputs_of", "topological_order"]

K = TypeVar("K", bound=Hashable)

# Set while a backward pass handed to gradients()/backward_twice() runs: that walk is the learner's to
# write, so the course's own walk refuses to stand in for it.
_OWN_WALK: ContextVar[bool] = ContextVar("coursekit_engine_own_walk", default=False)
OWN_WALK_MESSAGE = ("This backward pass is yours to write, but your code called the course engine's own backward "
                    "(output.backward(), engine.backward or engine.grad). Walk the graph yourself: run each "
                    "node's node.vjp(...) and add up the gradients.")


def inputs_of(output: Tensor) -> dict[Tensor, list[Tensor]]:
    """Every tensor `output` depends on (itself included), mapped to the inputs of the node that made it."""
    found: dict[Tensor, list[Tensor]] = {}
    stack = [output]
    while stack:
        t = stack.pop()
        if t in found:
            continue
        found[t] = list(t.node.inputs) if t.node is not None else []
        stack.extend(found[t])
    return found


def topological_order(inputs: Mapping[K, Sequence[K]], output: K) -> list[K]:
    """Every node `output` depends on, `output` first, each node before all of its inputs (any hashable keys)."""
    # Depth-first: a node is finished once all of its inputs are; the finishing order, reversed, puts
    # every node before its inputs.
    finished: list[K] = []
    seen = {output}
    stack = [(output, iter(inputs.get(output, ())))]
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(inputs.get(child, ()))))
                break
        else:
            stack.pop()
            finished.append(node)
    return finished[::-1]


def _seed(output: Tensor, grad: Any) -> torch.Tensor:
    if grad is None:
        if output.value.numel() != 1:
            raise ValueError(f"backward() without `grad` needs a single number (a loss); this tensor has shape "
                             f"{tuple(output.shape)}. Reduce it first (.sum()), or pass grad of its shape.")
        return torch.ones_like(output.value)
    value = grad.value if isinstance(grad, Tensor) else torch.as_tensor(grad, dtype=output.value.dtype)
    if value.shape != output.shape:
        raise ValueError(f"grad has shape {tuple(value.shape)}; the output has shape {tuple(output.shape)}.")
    return value


def _backpropagate(output: Tensor, grad: Any, *, retain_graph: bool, create_graph: bool,
                   hook: Callable[[Tensor], None] | None) -> dict[Tensor, Any]:
    """d output / d t (contracted with grad) for every tensor t that output depends on and that needs one."""
    if _OWN_WALK.get():
        raise RuntimeError(OWN_WALK_MESSAGE)
    if not output.requires_grad:
        raise ValueError("This tensor has no graph to walk: nothing it was computed from has requires_grad=True.")
    grads: dict[Tensor, Any] = {output: _seed(output, grad)}
    for t in topological_order(inputs_of(output), output):
        if t.node is None or t not in grads:
            continue
        for inp, g in zip(t.node.inputs, t.node.vjp(grads[t], create_graph=create_graph), strict=True):
            if inp.requires_grad:
                grads[inp] = g if inp not in grads else grads[inp] + g  # a tensor used twice: the uses add up
        if not retain_graph:
            t.node.free()
        if hook is not None:
            hook(t)
    return grads


def backward(output: Tensor, grad: Any = None, *, retain_graph: bool | None = None, create_graph: bool = False,
             hook: Callable[[Tensor], None] | None = None) -> None:
    """Add d output / d leaf to the `.grad` of every leaf with requires_grad (PyTorch's accumulate rule).

    `retain_graph` defaults to `create_graph`, as in PyTorch. `hook(t)` is called after t's node has run
    (and been freed), e.g. to draw the backward pass step by step.
    """
    retain = create_graph if retain_graph is None else retain_graph
    grads = _backpropagate(output, grad, retain_graph=retain, create_graph=create_graph, hook=hook)
    for t, g in grads.items():
        if t.node is None and t.requires_grad:
            t.grad = g if t.grad is None else t.grad + g


_COURSE_BACKWARD = backward


def grad(output: Tensor, inputs: Tensor | Sequence[Tensor], grad: Any = None, *, retain_graph: bool | None = None,
         create_graph: bool = False) -> tuple[Any, ...]:
    """The gradients of `output` with respect to `inputs`, returned (no `.grad` is touched), as torch.autograd.grad.

    With `create_graph=True` they are engine Tensors with their own graph, so they can be differentiated again.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    retain = create_graph if retain_graph is None else retain_graph
    grads = _backpropagate(output, grad, retain_graph=retain, create_graph=create_graph, hook=None)
    zero = (lambda x: Tensor(torch.zeros_like(x.value))) if create_graph else (lambda x: torch.zeros_like(x.value))
    return tuple(grads[x] if x in grads else zero(x) for x in inputs)


def _plain(g: Any) -> Any:
    value = g.value if isinstance(g, Tensor) else g
    return value.clone() if isinstance(value, torch.Tensor) else value


def _leaves(engine: type[Tensor], values: Sequence[Any]) -> list[Tensor]:
    return [engine(v, requires_grad=True, name=f"input {i}") for i, v in enumerate(values)]


@contextmanager
def _walk_by(walk: Callable[..., None]) -> Iterator[None]:
    """While `walk` runs: if it is not the course's backward, the course's backward may not be called."""
    token = _OWN_WALK.set(walk is not _COURSE_BACKWARD)
    try:
        yield
    finally:
        _OWN_WALK.reset(token)


def gradients(program: Callable[..., Tensor], values: Sequence[Any], *,
              backward: Callable[..., None] = backward, engine: type[Tensor] = Tensor) -> tuple[Any, ...]:
    """The leaves' `.grad` after one `backward(program(*leaves))`, one leaf per value, as torch tensors.

    `backward` is the backward pass to run (yours, or the course's); `engine` the Tensor class.
    """
    leaves = _leaves(engine, values)
    output = program(*leaves)
    with _walk_by(backward):
        backward(output)
    return tuple(_plain(leaf.grad) for leaf in leaves)


def backward_twice(program: Callable[..., Tensor], values: Sequence[Any], *, retain_graph: bool,
                   backward: Callable[..., None] = backward,
                   engine: type[Tensor] = Tensor) -> dict[str, tuple[Any, ...] | str]:
    """Two backward passes through one graph, the first with `retain_graph`: the leaves' `.grad` after each.

    {"first backward": grads, "second backward": grads}, the second "freed" when that pass raised the
    engine's GraphFreedError.
    """
    leaves = _leaves(engine, values)
    output = program(*leaves)
    with _walk_by(backward):
        backward(output, retain_graph=retain_graph)
        first = tuple(_plain(leaf.grad) for leaf in leaves)
        try:
            backward(output)
        except GraphFreedError:
            return {"first backward": first, "second backward": "freed"}
    return {"first backward": first, "second backward": tuple(_plain(leaf.grad) for leaf in leaves)}
