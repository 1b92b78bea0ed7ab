"""Seeded models for the training-loop exercises of 06, and the watch that tells a right fix from a leaky one.

Every setup builds small float64 modules from a fixed seed, with plain SGD, and is registered as a
case function (the batch grader's worker rebuilds it by name). With ``watch=True``, what check()
and the grader use, a `LoopChecker` watches the modules:

* every forward pass of a watched module gets a *token*, stamped with the training step it belongs
  to (the steps of one optimiser are counted). A marker node at the module's output holds the token,
  so the token lives exactly as long as that forward pass's graph;
* saved-tensor hooks count, per token, the tensors autograd saved in that forward pass and still
  holds. A backward pass without retain_graph frees them as it goes.

At the start of every watched forward pass the checker raises a RuntimeError when the graph of a
step two or more steps back is still alive (something from an earlier iteration still refers to
it), or when a graph of an earlier step that a backward pass walked still holds its saved tensors
(that backward was told retain_graph=True). A loop that is right keeps neither.

With saved-tensor hooks installed, autograd leaves the check of a saved tensor's version to the
hooks, so the checker makes it itself, with PyTorch's own words.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from coursekit.exercises.functions import named

__all__ = ["CONTRACT", "KEPT_ALIVE", "KEPT_ALIVE_WORDS", "RETAINED", "RETAINED_WORDS", "SECOND_TIME", "LoopChecker",
           "deep_setup", "deep_targets", "gan_setup", "lstm_setup", "regression_setup", "regression_targets",
           "rnn_setup", "seeded_normal", "sequence_targets", "two_head_setup"]

DTYPE = torch.float64

KEPT_ALIVE = ("the loop checker found the graph of step {old} ({module}) still alive in step {now}: something "
              "from an earlier step still refers to it (a loss total or list kept as tensors, or a state carried "
              "without .detach()), so no step's graph is ever freed.")
RETAINED = ("the loop checker found {count} tensor(s) that {module} saved in step {old} still held in step "
            "{now}, after a backward pass went through them: that backward kept them (retain_graph=True), so "
            "the step's saved tensors stay in memory.")


# What the exercises' messages and mistakes refer to.
CONTRACT = ("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
            "Python floats, one per {unit}. The checker's setup also fails a loop that keeps an earlier step's "
            "graph alive or keeps its saved tensors (retain_graph=True).")
RETAINED_WORDS = "still held in step"  # in RETAINED: saved tensors a retain_graph=True backward kept
KEPT_ALIVE_WORDS = "still alive in step"  # in KEPT_ALIVE: a graph something from an earlier step refers to
SECOND_TIME = "backward through the graph a second time"  # PyTorch's own words


def _check_error(text: str) -> RuntimeError:
    # A plain RuntimeError, so that the learner reads "RuntimeError: the loop checker found ...".
    return RuntimeError(text)


class _Token:
    """One forward pass of a watched module: its step, and how many of its saved tensors are still held."""

    __slots__ = ("__weakref__", "held", "module", "order", "step", "strict", "walked")

    def __init__(self, step: int, order: int, module: str, strict: bool) -> None:
        self.step, self.order, self.module, self.strict = step, order, module, strict
        self.held = 0
        self.walked = False  # a backward pass went through the module's output


class _Held:
    """A saved tensor as the hooks keep it: detached (the output itself would close a reference cycle)."""

    __slots__ = ("tensor", "token", "version")

    def __init__(self, tensor: torch.Tensor, token: _Token) -> None:
        self.tensor = tensor.detach()  # shares the version counter, so in-place changes stay visible
        self.version = tensor._version
        self.token = token
        token.held += 1

    def __del__(self) -> None:
        self.token.held -= 1


def _unpack(held: _Held) -> torch.Tensor:
    tensor = held.tensor
    if tensor._version != held.version:
        raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                           f"inplace operation: [{tensor.type()} {list(tensor.shape)}] is at version "
                           f"{tensor._version}; expected version {held.version} instead.")
    return tensor


class _Mark(torch.autograd.Function):
    """The identity, as a node that holds a token and notes when a backward pass goes through it."""

    @staticmethod
    def forward(ctx: Any, token: _Token, *outputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ctx.token = token
        return tuple(t.clone() for t in outputs)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[Any, ...]:
        ctx.token.walked = True
        return (None, *grads)


class LoopChecker:
    """Watches modules' forward passes and an optimiser's steps; raises RuntimeError on a kept graph."""

    def __init__(self) -> None:
        self.step = 0
        self._forwards = 0
        self._tokens: weakref.WeakSet[_Token] = weakref.WeakSet()
        self._open: list[tuple[_Token, Any] | None] = []

    def watch(self, module: nn.Module, name: str, *, strict: bool = True) -> nn.Module:
        """Watch `module`; `strict`: its graphs must not keep saved tensors once a backward went through them."""
        module.register_forward_pre_hook(lambda mod, args: self._before(name, strict))
        module.register_forward_hook(lambda mod, args, output: self._after(output), always_call=True)
        return module

    def count_steps(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        """Count training steps by this optimiser's step() calls."""
        optimizer.register_step_post_hook(lambda opt, args, kwargs: self._tick())
        return optimizer

    def _tick(self) -> None:
        self.step += 1

    def _before(self, name: str, strict: bool) -> None:
        if not torch.is_grad_enabled():
            self._open.append(None)
        else:
            self._forwards += 1
            token = _Token(self.step, self._forwards, name, strict)
            hooks = torch.autograd.graph.saved_tensors_hooks(lambda t: _Held(t, token), _unpack)
            hooks.__enter__()
            self._open.append((token, hooks))
        self._inspect()

    def _after(self, output: Any) -> Any:
        entry = self._open.pop() if self._open else None
        if entry is None:
            return None
        token, hooks = entry
        hooks.__exit__(None, None, None)
        tensors = output if isinstance(output, tuple) else (output,)
        if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors) or \
                not any(t.requires_grad for t in tensors):
            return None
        self._tokens.add(token)
        marked = _Mark.apply(token, *tensors)
        return marked if isinstance(output, tuple) else marked[0]

    def _inspect(self) -> None:
        for token in sorted(self._tokens, key=lambda t: t.order):
            if token.step <= self.step - 2:
                raise _check_error(KEPT_ALIVE.format(old=token.step, module=token.module, now=self.step))
            if token.strict and token.step < self.step and token.walked and token.held > 0:
                raise _check_error(RETAINED.format(count=token.held, module=token.module, old=token.step,
                                                     now=self.step))


def seeded_normal(seed: int, *shape: int) -> torch.Tensor:
    """Standard-normal float64 case data from its own seed (public cases)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def sequence_targets(xs: torch.Tensor) -> torch.Tensor:
    """A target that needs memory: a squashed running sum of the first input over the steps."""
    return torch.tanh(0.5 * xs[..., :1].cumsum(dim=0))


def regression_targets(xs: torch.Tensor) -> torch.Tensor:
    """sin(x · (1, -0.5, 0.25)) for 3 inputs, with a trailing output dimension."""
    return torch.sin(xs @ torch.tensor([1.0, -0.5, 0.25], dtype=xs.dtype)).unsqueeze(-1)


def deep_targets(xs: torch.Tensor) -> torch.Tensor:
    """A target for 4 inputs that needs a non-linear model: tanh(x1 x2 + x3 / 2)."""
    return torch.tanh(xs[..., :2].prod(dim=-1, keepdim=True) + 0.5 * xs[..., 2:3])


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Build modules from `seed` without touching the caller's random stream."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _sgd(modules: tuple[nn.Module, ...], lr: float) -> torch.optim.SGD:
    return torch.optim.SGD([p for m in modules for p in m.parameters()], lr=lr)


def _watched(watch: bool, modules: dict[str, tuple[nn.Module, bool]],
             optimizers: tuple[torch.optim.Optimizer, ...]) -> None:
    """Watch `modules` (name -> (module, strict)); the last optimiser's steps count the training steps."""
    if not watch:
        return
    checker = LoopChecker()
    for name, (module, strict) in modules.items():
        checker.watch(module, name, strict=strict)
    checker.count_steps(optimizers[-1])


def _rnn_setup(*, watch: bool = True) -> tuple[nn.RNNCell, nn.Linear, torch.optim.SGD]:
    """An RNN cell (3 inputs, 8 hidden units), a linear read-out and SGD with lr = 0.1."""
    with _seeded(6):
        cell, head = nn.RNNCell(3, 8).to(DTYPE), nn.Linear(8, 1).to(DTYPE)
    opt = _sgd((cell, head), 0.1)
    _watched(watch, {"the RNN cell": (cell, True), "the read-out": (head, True)}, (opt,))
    return cell, head, opt


def _lstm_setup(*, watch: bool = True) -> tuple[nn.LSTMCell, nn.Linear, torch.optim.SGD]:
    """An LSTM cell (3 inputs, 8 hidden units), a linear read-out and SGD with lr = 0.2."""
    with _seeded(7):
        cell, head = nn.LSTMCell(3, 8).to(DTYPE), nn.Linear(8, 1).to(DTYPE)
    opt = _sgd((cell, head), 0.2)
    _watched(watch, {"the LSTM cell": (cell, True), "the read-out": (head, True)}, (opt,))
    return cell, head, opt


def _regression_setup(*, watch: bool = True) -> tuple[nn.Sequential, torch.optim.SGD]:
    """A 3 -> 16 -> 1 tanh network and SGD with lr = 0.05."""
    with _seeded(8):
        model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1)).to(DTYPE)
    opt = _sgd((model,), 0.05)
    _watched(watch, {"the model": (model, True)}, (opt,))
    return model, opt


def _gan_setup(*, watch: bool = True) -> tuple[nn.Sequential, nn.Sequential, torch.optim.SGD, torch.optim.SGD]:
    """A generator 2 -> 16 -> 2 and a discriminator 2 -> 16 -> 1 (tanh), each with SGD, lr = 0.05."""
    with _seeded(9):
        generator = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).to(DTYPE)
        discriminator = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)).to(DTYPE)
    opt_g, opt_d = _sgd((generator,), 0.05), _sgd((discriminator,), 0.05)
    # the generator's optimiser steps last in each iteration: its steps count the iterations
    _watched(watch, {"the generator": (generator, True), "the discriminator": (discriminator, True)},
             (opt_d, opt_g))
    return generator, discriminator, opt_g, opt_d


def _two_head_setup(*, watch: bool = True) -> tuple[nn.Sequential, nn.Linear, nn.Linear, torch.optim.SGD]:
    """A shared trunk 4 -> 16 (tanh), a regression head 16 -> 1, a 3-class head 16 -> 3, SGD with lr = 0.1."""
    with _seeded(10):
        trunk = nn.Sequential(nn.Linear(4, 16), nn.Tanh()).to(DTYPE)
        head_reg, head_cls = nn.Linear(16, 1).to(DTYPE), nn.Linear(16, 3).to(DTYPE)
    opt = _sgd((trunk, head_reg, head_cls), 0.1)
    # One retain_graph=True call is a right fix here: it leaves the first head's saved tensors to the
    # next step. Only the shared trunk must be freed by the end of each step.
    _watched(watch, {"the trunk": (trunk, True), "the regression head": (head_reg, False),
                     "the classification head": (head_cls, False)}, (opt,))
    return trunk, head_reg, head_cls, opt


def _deep_setup(*, watch: bool = True) -> tuple[nn.Sequential, nn.Sequential, nn.Linear, torch.optim.SGD]:
    """Deep supervision: lower 4 -> 16 and upper 16 -> 16 (tanh), a head 16 -> 1 and an auxiliary head 16 -> 1."""
    with _seeded(11):
        lower = nn.Sequential(nn.Linear(4, 16), nn.Tanh()).to(DTYPE)
        upper = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)).to(DTYPE)
        aux_head = nn.Linear(16, 1).to(DTYPE)
    opt = _sgd((lower, upper, aux_head), 0.1)
    _watched(watch, {"the lower layers": (lower, True), "the upper layers": (upper, False),
                     "the auxiliary head": (aux_head, False)}, (opt,))
    return lower, upper, aux_head, opt


rnn_setup = named("rnn_setup", _rnn_setup, "cell, head, opt = rnn_setup()")
lstm_setup = named("lstm_setup", _lstm_setup, "cell, head, opt = lstm_setup()")
regression_setup = named("regression_setup", _regression_setup, "model, opt = regression_setup()")
gan_setup = named("gan_setup", _gan_setup, "G, D, opt_g, opt_d = gan_setup()")
two_head_setup = named("two_head_setup", _two_head_setup, "trunk, head_reg, head_cls, opt = two_head_setup()")
deep_setup = named("deep_setup", _deep_setup, "lower, upper, aux_head, opt = deep_setup()")
