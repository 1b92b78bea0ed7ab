"""Exercises of 06_retain_graph's loop lab: predict what a broken training loop does, then fix it.

Each exercise hands the learner's loop a `setup` (a seeded model and its optimiser, see
`_loop_checker`) and the data, and compares the losses the loop reports step by step with the
reference's: a wrong gradient in one step changes the loss of the next. The setup's checker also
fails a loop that keeps a graph alive across steps or keeps saved tensors with retain_graph=True,
so a loop that "works" only because it holds on to every step's graph does not pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from coursekit.exercises._loop_checker import (
    DTYPE,
    deep_setup,
    gan_setup,
    lstm_setup,
    regression_setup,
    rnn_setup,
    two_head_setup,
)
from coursekit.exercises.cases import normal
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register

__all__ = ["accumulate_loop", "deep_setup", "deep_supervision_loop", "gan_generator_first", "gan_setup", "lstm_loop",
           "lstm_setup", "regression_setup", "rnn_setup", "two_head_setup"]

NOTEBOOK = "06_retain_graph"
Setup = Callable[..., Any]  # a case function of `_loop_checker`: builds the seeded modules and optimisers
STEP_NAMES = tuple(f"step {i}" for i in range(64))
GROUP_NAMES = tuple(f"group {i}" for i in range(64))
RTOL, ATOL = 1e-7, 1e-10

CONTRACT = ("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
            "Python floats, one per {unit}. The checker's setup also fails a loop that keeps an earlier step's "
            "graph alive or keeps its saved tensors (retain_graph=True).")
RETAINED = "still held in step"  # the checker's words for saved tensors a retain_graph=True backward kept
KEPT_ALIVE = "still alive in step"  # ... and for a graph something from an earlier step still refers to
SECOND_TIME = "backward through the graph a second time"


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=_generator(seed), dtype=DTYPE)


def _sequence_targets(xs: torch.Tensor) -> torch.Tensor:
    # a target that needs memory: a squashed running sum of the first input
    return torch.tanh(0.5 * xs[..., :1].cumsum(dim=0))


def _regression_targets(xs: torch.Tensor) -> torch.Tensor:
    return torch.sin(xs @ torch.tensor([1.0, -0.5, 0.25], dtype=xs.dtype)).unsqueeze(-1)


def _deep_targets(xs: torch.Tensor) -> torch.Tensor:
    return torch.tanh(xs[..., :2].prod(dim=-1, keepdim=True) + 0.5 * xs[..., 2:3])


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


# --- lstm_loop: a state carried across steps ----------------------------------------------------------------

def lstm_loop(setup: Setup, xs: torch.Tensor, ys: torch.Tensor) -> list[float]:
    """Reference: the loss of each step of an LSTM cell trained step by step, its state (h, c) detached."""
    cell, head, opt = setup()
    h = torch.zeros(xs.shape[1], cell.hidden_size, dtype=xs.dtype)
    c = torch.zeros_like(h)
    losses = []
    for x, y in zip(xs, ys, strict=True):
        # Carry the state's value, not its history: h and c both hang on the previous step's graph.
        h, c = cell(x, (h.detach(), c.detach()))
        loss = F.mse_loss(head(h), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _lstm_reset(setup, xs, ys):
    cell, head, opt = setup()
    losses = []
    for x, y in zip(xs, ys, strict=True):
        h, _ = cell(x)  # a fresh zero state every step: nothing is carried at all
        loss = F.mse_loss(head(h), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _lstm_case(seed: int, steps: int, batch: int, label: str) -> Case:
    xs = _randn(seed, steps, batch, 3)
    return Case((lstm_setup, xs, _sequence_targets(xs)), label=label)


def _lstm_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        xs = normal(rng, (int(rng.integers(3, 10)), int(rng.integers(1, 6)), 3))
        cases.append(Case((lstm_setup, xs, _sequence_targets(xs)), label="a random sequence of 3 to 9 steps"))
    return cases


register(Exercise(
    id="lstm_loop",
    notebook=NOTEBOOK,
    title="Fix the loop: an LSTM's state carried across steps",
    signature="lstm_loop(setup, xs, ys)",
    reference=lstm_loop,
    public_cases=lambda: [_lstm_case(20, 6, 4, "6 steps, a batch of 4 sequences"),
                          _lstm_case(21, 1, 4, "1 step: nothing is carried yet"),
                          _lstm_case(22, 2, 3, "2 steps: the first backward that could reach back"),
                          _lstm_case(23, 10, 2, "10 steps, a batch of 2")],
    hidden_cases=_lstm_hidden,
    rtol=RTOL,
    atol=ATOL,
    output_names=STEP_NAMES,
    convention=CONTRACT.format(unit="step") + " The state starts at zeros; each step is one update of the "
               "cell's and the read-out's weights on that step's loss.",
    hints=(
        "Run the broken loop and read the error: which tensor from step 0 does the backward pass of step 1 "
        "reach, and through which variable?",
        "An LSTM's state is a pair (h, c), and both halves are computed from the previous step's graph. The "
        "next step needs their values, not their history.",
        "Cut each half of the state from its graph before it goes into the next step (a copy with .clone() "
        "keeps the history); retain_graph=True does not fix this.",
    ),
    mistakes=(
        Mistake("retain-graph",
                "retain_graph=True silences the first error, but the state still links every step to all the "
                "earlier ones: each backward walks the whole history again, the saved tensors of every step stay "
                "in memory, and after optimizer.step() has changed the weights the old graphs saved, PyTorch "
                "refuses (the in-place version error). Detach the state instead.",
                raised=RETAINED),
        Mistake("state-attached",
                "Something you carry into the next step still hangs on the previous step's graph. An LSTM's "
                "state is the pair (h, c): detach both halves (a .clone() copies the history too).",
                raised=SECOND_TIME),
        Mistake("state-reset",
                "Your loop starts every step from a zero state, so the cell never sees the earlier inputs (and "
                "the target needs them). Keep the state's values from step to step; cut only their history.",
                wrong=_lstm_reset),
    ),
))


# --- accumulate_loop: a loss total kept as a tensor -----------------------------------------------------------

def accumulate_loop(setup: Setup, xs: torch.Tensor, ys: torch.Tensor, k: int) -> list[float]:
    """Reference: gradient accumulation over groups of k batches; returns each group's mean loss."""
    model, opt = setup()
    group_losses, total = [], 0.0
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        loss = F.mse_loss(model(x), y) / k
        loss.backward()  # .grad adds this batch's gradient to the group's: the accumulation itself
        total += loss.item()  # the report needs the number, not the graph behind it
        if (i + 1) % k == 0:
            opt.step()
            opt.zero_grad()
            group_losses.append(total)
            total = 0.0
    return group_losses


def _accumulate_variant(setup, xs, ys, k, *, retain=False, zero_each_batch=False):
    model, opt = setup()
    group_losses, running = [], 0.0
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if zero_each_batch:
            opt.zero_grad()
        if retain:  # the broken loop, with retain_graph=True added
            running = running + F.mse_loss(model(x), y) / k
            running.backward(retain_graph=True)
        else:
            batch_loss = F.mse_loss(model(x), y) / k
            batch_loss.backward()
            running += batch_loss.item()
        if (i + 1) % k == 0:
            opt.step()
            opt.zero_grad()
            group_losses.append(float(running))
            running = 0.0
    return group_losses


def _accumulate_case(seed: int, groups: int, k: int, batch: int, label: str) -> Case:
    xs = _randn(seed, groups * k, batch, 3)
    return Case((regression_setup, xs, _regression_targets(xs), k), label=label)


def _accumulate_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        k = int(rng.integers(2, 5))
        xs = normal(rng, (k * int(rng.integers(1, 4)), int(rng.integers(2, 9)), 3))
        cases.append(Case((regression_setup, xs, _regression_targets(xs), k),
                          label="random batches, groups of 2 to 4"))
    return cases


register(Exercise(
    id="accumulate_loop",
    notebook=NOTEBOOK,
    title="Fix the loop: gradient accumulation with a loss total kept as a tensor",
    signature="accumulate_loop(setup, xs, ys, k)",
    reference=accumulate_loop,
    public_cases=lambda: [_accumulate_case(30, 3, 2, 8, "3 groups of 2 batches of 8"),
                          _accumulate_case(31, 2, 4, 4, "2 groups of 4 batches"),
                          _accumulate_case(32, 4, 1, 8, "k = 1: a step after every batch"),
                          _accumulate_case(33, 1, 3, 16, "one group of 3 batches of 16")],
    hidden_cases=_accumulate_hidden,
    rtol=RTOL,
    atol=ATOL,
    output_names=GROUP_NAMES,
    convention=CONTRACT.format(unit="group") + " Each group of k batches makes one optimizer step with the "
               "gradient of the group's mean loss, (1/k) Σ of its batch losses; report that mean.",
    hints=(
        "Where does the second backward pass come from? Look at what `loss` refers to after the second "
        "`loss += ...`.",
        "The gradients of a group already add up in .grad, one backward per batch (section 6): each backward "
        "needs only its own batch's loss. The total is for the report.",
        "Keep the total as a Python number (.item() of each batch's loss).",
    ),
    mistakes=(
        Mistake("retain-graph",
                "With retain_graph=True every backward walks the whole running total again, so the first "
                "batches of a group count several times in the gradient (and their graphs stay in memory). "
                "Backpropagate each batch's own loss once; .grad does the adding.",
                wrong=lambda setup, xs, ys, k: _accumulate_variant(setup, xs, ys, k, retain=True)),
        Mistake("retain-graph-kept",
                "retain_graph=True kept this batch's saved tensors after its backward pass (and the next "
                "backward walks the earlier batches again). Backpropagate each batch's own loss once, without "
                "retain_graph; .grad does the adding.",
                raised=RETAINED),
        Mistake("zero-grad-each-batch",
                "Your step uses only the last batch's gradient: zero_grad() before every backward throws away "
                "what the group's earlier batches added to .grad. Clear it once per group, after the step.",
                wrong=lambda setup, xs, ys, k: _accumulate_variant(setup, xs, ys, k, zero_each_batch=True)),
        Mistake("total-attached",
                "Your total (or a list of losses) is still a tensor, so it keeps every batch's graph alive. "
                "Add up numbers: total += loss.item().",
                raised=KEPT_ALIVE),
        Mistake("total-backpropagated",
                "The backward pass still goes through the running total, which reaches the batches whose "
                "graphs were already used. Call backward() on this batch's loss only.",
                raised=SECOND_TIME),
    ),
))


# --- gan_generator_first: a generated batch used by both players --------------------------------------------

def gan_generator_first(setup: Setup, real: torch.Tensor, z: torch.Tensor) -> list[float]:
    """Reference: a GAN that updates the generator first, then the discriminator; returns D's losses."""
    G, D, opt_g, opt_d = setup()
    d_losses = []
    for real_batch, noise in zip(real, z, strict=True):
        fake = G(noise)
        g_loss = _bce(D(fake), 1.0)  # the generator wants its samples called real
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        # The discriminator learns from the same samples, as data: detached, its backward stops at them.
        d_loss = _bce(D(real_batch), 1.0) + _bce(D(fake.detach()), 0.0)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        d_losses.append(d_loss.item())
    return d_losses


def _gan_variant(setup, real, z, *, detach_everywhere=False, regenerate=False):
    G, D, opt_g, opt_d = setup()
    d_losses = []
    for real_batch, noise in zip(real, z, strict=True):
        fake = G(noise).detach() if detach_everywhere else G(noise)
        g_loss = _bce(D(fake), 1.0)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        sample = G(noise).detach() if regenerate else fake.detach()
        d_loss = _bce(D(real_batch), 1.0) + _bce(D(sample), 0.0)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        d_losses.append(d_loss.item())
    return d_losses


def _gan_case(seed: int, steps: int, batch: int, label: str) -> Case:
    real = _randn(seed, steps, batch, 2) * 0.5 + torch.tensor([2.0, -1.0], dtype=DTYPE)
    return Case((gan_setup, real, _randn(seed + 100, steps, batch, 2)), label=label)


def _gan_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        steps, batch = int(rng.integers(2, 8)), int(rng.integers(4, 17))
        real = normal(rng, (steps, batch, 2), scale=0.5) + torch.tensor([2.0, -1.0], dtype=DTYPE)
        cases.append(Case((gan_setup, real, normal(rng, (steps, batch, 2))), label="random batches, 2 to 7 steps"))
    return cases


register(Exercise(
    id="gan_generator_first",
    notebook=NOTEBOOK,
    title="Fix the loop: a GAN that trains the generator first",
    signature="gan_generator_first(setup, real, z)",
    reference=gan_generator_first,
    public_cases=lambda: [_gan_case(40, 5, 16, "5 steps, batches of 16"),
                          _gan_case(41, 1, 8, "1 step"),
                          _gan_case(42, 3, 4, "3 steps, batches of 4"),
                          _gan_case(43, 8, 32, "8 steps, batches of 32")],
    hidden_cases=_gan_hidden,
    rtol=RTOL,
    atol=ATOL,
    output_names=STEP_NAMES,
    convention=CONTRACT.format(unit="step (the discriminator's loss)") + " Each step: the generator's update "
               "on G(noise), then the discriminator's on the real batch and the same generated batch.",
    hints=(
        "The error comes from the discriminator's backward. Which graph does it reach that the generator's "
        "backward already used, and does the discriminator's loss need it at all?",
        "For the discriminator, the generated samples are data: its loss should not reach the generator's "
        "weights.",
        "Cut the generated batch from the generator's graph where the discriminator uses it; keeping the "
        "graph with retain_graph=True is not the fix (the generator's step changed the weights it saved).",
    ),
    mistakes=(
        Mistake("retain-graph",
                "retain_graph=True keeps the generator's graph so that the discriminator's loss can run back "
                "through it, which it has no use for: that backward computes gradients for G that nobody wants, "
                "and since opt_g.step() has changed G's weights, PyTorch refuses with the in-place version "
                "error. Detach the generated batch for the discriminator.",
                raised=RETAINED),
        Mistake("generator-frozen",
                "Your generator never learns: the batch is detached before the generator's own loss, so "
                "g_loss.backward() stops at it. Detach it only where the discriminator uses it.",
                wrong=lambda setup, real, z: _gan_variant(setup, real, z, detach_everywhere=True)),
        Mistake("regenerated",
                "Your discriminator sees a new batch from the already updated generator. The loop trains it "
                "on the batch the generator was updated with: reuse `fake`, detached.",
                wrong=lambda setup, real, z: _gan_variant(setup, real, z, regenerate=True)),
        Mistake("still-attached", "The discriminator's loss still reaches the generator's graph, which the "
                "generator's backward already freed. Give the discriminator the batch without its history.",
                raised=SECOND_TIME),
    ),
))


# --- deep_supervision_loop: two losses sharing the lower layers ---------------------------------------------

AUX_WEIGHT = 0.3


def deep_supervision_loop(setup: Setup, xs: torch.Tensor, ys: torch.Tensor) -> list[float]:
    """Reference: main loss + 0.3 * auxiliary loss on the lower layers' features, one backward; main losses."""
    lower, upper, aux_head, opt = setup()
    losses = []
    for x, y in zip(xs, ys, strict=True):
        features = lower(x)
        main = F.mse_loss(upper(features), y)
        aux = F.mse_loss(aux_head(features), y)
        opt.zero_grad()
        # One backward of the weighted sum: the lower layers get both gradients in one pass.
        (main + AUX_WEIGHT * aux).backward()
        opt.step()
        losses.append(main.item())
    return losses


def _deep_variant(setup, xs, ys, *, detach_aux=False, zero_between=False):
    lower, upper, aux_head, opt = setup()
    losses = []
    for x, y in zip(xs, ys, strict=True):
        features = lower(x)
        main = F.mse_loss(upper(features), y)
        aux = F.mse_loss(aux_head(features.detach() if detach_aux else features), y)
        opt.zero_grad()
        main.backward(retain_graph=not detach_aux)  # a detached auxiliary loss needs no second pass
        if zero_between:
            opt.zero_grad()
        (AUX_WEIGHT * aux).backward()
        opt.step()
        losses.append(main.item())
    return losses


def _deep_case(seed: int, steps: int, batch: int, label: str) -> Case:
    xs = _randn(seed, steps, batch, 4)
    return Case((deep_setup, xs, _deep_targets(xs)), label=label)


def _deep_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        xs = normal(rng, (int(rng.integers(2, 9)), int(rng.integers(2, 17)), 4))
        cases.append(Case((deep_setup, xs, _deep_targets(xs)), label="random batches, 2 to 8 steps"))
    return cases


register(Exercise(
    id="deep_supervision_loop",
    notebook=NOTEBOOK,
    title="Fix the loop: a main and an auxiliary loss sharing the lower layers",
    signature="deep_supervision_loop(setup, xs, ys)",
    reference=deep_supervision_loop,
    public_cases=lambda: [_deep_case(50, 5, 8, "5 steps, batches of 8"),
                          _deep_case(51, 1, 8, "1 step"),
                          _deep_case(52, 3, 16, "3 steps, batches of 16"),
                          _deep_case(53, 8, 4, "8 steps, batches of 4")],
    hidden_cases=_deep_hidden,
    rtol=RTOL,
    atol=ATOL,
    output_names=STEP_NAMES,
    convention=CONTRACT.format(unit="step (the main loss)") + f" Each step is one update on main + {AUX_WEIGHT} · "
               "aux, where both losses are computed from the same features = lower(x).",
    hints=(
        "Both losses are computed from the same `features`. What does the first backward free that the second "
        "one needs?",
        "Here both backward passes are wanted: the lower layers must learn from both losses. There are two "
        "right ways: one backward for both, or keep the shared graph for exactly one more pass.",
        "Backpropagate main + 0.3 * aux once, or give only the first of the two backward calls "
        "retain_graph=True. Cutting the features from the graph would hide the auxiliary loss from the lower "
        "layers.",
    ),
    mistakes=(
        Mistake("aux-detached",
                "Your lower layers learn only from the main loss: the features are detached before the "
                "auxiliary head, so the auxiliary loss stops there. Here the graph must be used twice (or the "
                "losses summed), not cut.",
                wrong=lambda setup, xs, ys: _deep_variant(setup, xs, ys, detach_aux=True)),
        Mistake("zero-grad-between",
                "Your step uses only the auxiliary loss's gradient: zero_grad() between the two backward calls "
                "throws away the main loss's. Clear .grad once, before both.",
                wrong=lambda setup, xs, ys: _deep_variant(setup, xs, ys, zero_between=True)),
        Mistake("retain-both",
                "retain_graph=True is needed on the first backward only: on the last one it keeps the lower "
                "layers' saved tensors until the next step, for a backward that never comes.",
                raised=RETAINED),
        Mistake("graph-freed", "The first backward freed the lower layers' saved tensors, and the second one "
                "needs them. Sum the weighted losses into one backward, or keep the graph for the second call.",
                raised=SECOND_TIME),
    ),
))
