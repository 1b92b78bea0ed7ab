"""Exercises of 06_retain_graph's loop lab, part 1: something carried from one step to the next.

Each exercise hands the learner's loop a `setup` (a seeded model and its optimiser, see
`_loop_checker`) and the data, and compares the losses the loop reports step by step with the
reference's: a wrong gradient in one step changes the loss of the next. The setup's checker also
fails a loop that keeps a graph alive across steps or keeps saved tensors with retain_graph=True,
so a loop that "works" only because it holds on to every step's graph does not pass. Part 2, a
graph shared by two losses, is `training_loops_shared`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from coursekit.exercises._loop_checker import (
    KEPT_ALIVE_WORDS,
    RETAINED_WORDS,
    SECOND_TIME,
    deep_setup,
    gan_setup,
    lstm_setup,
    regression_setup,
    regression_targets,
    rnn_setup,
    seeded_normal,
    sequence_targets,
    two_head_setup,
)
from coursekit.exercises.cases import normal
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.i18n import N_

# the setups are the notebook's too: it imports them from here
__all__ = ["accumulate_loop", "deep_setup", "gan_setup", "lstm_loop", "lstm_setup", "regression_setup", "rnn_setup",
           "two_head_setup"]

NOTEBOOK = "06_retain_graph"
Setup = Callable[..., Any]  # a case function of `_loop_checker`: builds the seeded modules and optimisers
STEP_NAMES = tuple(f"step {i}" for i in range(64))
GROUP_NAMES = tuple(f"group {i}" for i in range(64))
RTOL, ATOL = 1e-7, 1e-10


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
    xs = seeded_normal(seed, steps, batch, 3)
    return Case((lstm_setup, xs, sequence_targets(xs)), label=label)


def _lstm_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        xs = normal(rng, (int(rng.integers(3, 10)), int(rng.integers(1, 6)), 3))
        cases.append(Case((lstm_setup, xs, sequence_targets(xs)), label=N_("a random sequence of 3 to 9 steps")))
    return cases


register(Exercise(
    id="lstm_loop",
    notebook=NOTEBOOK,
    title=N_("Fix the loop: an LSTM's state carried across steps"),
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
    convention=N_("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
                  "Python floats, one per step. The checker's setup also fails a loop that keeps an earlier step's "
                  "graph alive or keeps its saved tensors (retain_graph=True). The state starts at zeros; each step "
                  "is one update of the cell's and the read-out's weights on that step's loss."),
    hints=(
        N_("Run the broken loop and read the error: which tensor from step 0 does the backward pass of step 1 "
           "reach, and through which variable?"),
        N_("An LSTM's state is a pair (h, c), and both halves are computed from the previous step's graph. The "
           "next step needs their values, not their history."),
        N_("Cut each half of the state from its graph before it goes into the next step (a copy with .clone() "
           "keeps the history); retain_graph=True does not fix this."),
    ),
    mistakes=(
        Mistake("retain-graph",
                N_("retain_graph=True silences the first error, but the state still links every step to all the "
                   "earlier ones: each backward walks the whole history again, the saved tensors of every step stay "
                   "in memory, and after optimizer.step() has changed the weights the old graphs saved, PyTorch "
                   "refuses (the in-place version error). Detach the state instead."),
                raised=RETAINED_WORDS),
        Mistake("state-attached",
                N_("Something you carry into the next step still hangs on the previous step's graph. An LSTM's "
                   "state is the pair (h, c): detach both halves (a .clone() copies the history too)."),
                raised=SECOND_TIME),
        Mistake("state-reset",
                N_("Your loop starts every step from a zero state, so the cell never sees the earlier inputs (and "
                   "the target needs them). Keep the state's values from step to step; cut only their history."),
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
            group_losses.append(running.item() if isinstance(running, torch.Tensor) else running)
            running = 0.0
    return group_losses


def _accumulate_case(seed: int, groups: int, k: int, batch: int, label: str) -> Case:
    xs = seeded_normal(seed, groups * k, batch, 3)
    return Case((regression_setup, xs, regression_targets(xs), k), label=label)


def _accumulate_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        k = int(rng.integers(2, 5))
        xs = normal(rng, (k * int(rng.integers(1, 4)), int(rng.integers(2, 9)), 3))
        cases.append(Case((regression_setup, xs, regression_targets(xs), k),
                          label=N_("random batches, groups of 2 to 4")))
    return cases


register(Exercise(
    id="accumulate_loop",
    notebook=NOTEBOOK,
    title=N_("Fix the loop: gradient accumulation with a loss total kept as a tensor"),
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
    convention=N_("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
                  "Python floats, one per group. The checker's setup also fails a loop that keeps an earlier step's "
                  "graph alive or keeps its saved tensors (retain_graph=True). Each group of k batches makes one "
                  "optimizer step with the gradient of the group's mean loss, (1/k) Σ of its batch losses; report "
                  "that mean."),
    hints=(
        N_("Where does the second backward pass come from? Look at what `loss` refers to after the second "
           "`loss += ...`."),
        N_("The gradients of a group already add up in .grad, one backward per batch (section 6): each backward "
           "needs only its own batch's loss. The total is for the report."),
        N_("Keep the total as a Python number (.item() of each batch's loss)."),
    ),
    mistakes=(
        Mistake("retain-graph",
                N_("With retain_graph=True every backward walks the whole running total again, so the first "
                   "batches of a group count several times in the gradient (and their graphs stay in memory). "
                   "Backpropagate each batch's own loss once; .grad does the adding."),
                wrong=lambda setup, xs, ys, k: _accumulate_variant(setup, xs, ys, k, retain=True)),
        Mistake("retain-graph-kept",
                N_("retain_graph=True kept this batch's saved tensors after its backward pass (and the next "
                   "backward walks the earlier batches again). Backpropagate each batch's own loss once, without "
                   "retain_graph; .grad does the adding."),
                raised=RETAINED_WORDS),
        Mistake("zero-grad-each-batch",
                N_("Your step uses only the last batch's gradient: zero_grad() before every backward throws away "
                   "what the group's earlier batches added to .grad. Clear it once per group, after the step."),
                wrong=lambda setup, xs, ys, k: _accumulate_variant(setup, xs, ys, k, zero_each_batch=True)),
        Mistake("total-attached",
                N_("Your total (or a list of losses) is still a tensor, so it keeps every batch's graph alive. "
                   "Add up numbers: total += loss.item()."),
                raised=KEPT_ALIVE_WORDS),
        Mistake("total-backpropagated",
                N_("The backward pass still goes through the running total, which reaches the batches whose "
                   "graphs were already used. Call backward() on this batch's loss only."),
                raised=SECOND_TIME),
    ),
))
