"""Exercises of 06_retain_graph's loop lab, part 2: one graph, two losses.

A GAN whose two players train on the same generated batch, and deep supervision, where a main and an
auxiliary loss share the lower layers. As in part 1 (`training_loops`), the learner's loop runs on a
watched setup and its losses are compared step by step with the reference's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from coursekit.exercises._loop_checker import (
    DTYPE,
    RETAINED_WORDS,
    SECOND_TIME,
    deep_setup,
    deep_targets,
    gan_setup,
    seeded_normal,
)
from coursekit.exercises.cases import normal
from coursekit.exercises.model import Case, Exercise, Mistake
from coursekit.exercises.registry import register
from coursekit.exercises.training_loops import ATOL, NOTEBOOK, RTOL, STEP_NAMES, Setup
from coursekit.i18n import N_

__all__ = ["AUX_WEIGHT", "deep_supervision_loop", "gan_generator_first"]


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


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
    real = seeded_normal(seed, steps, batch, 2) * 0.5 + torch.tensor([2.0, -1.0], dtype=DTYPE)
    return Case((gan_setup, real, seeded_normal(seed + 100, steps, batch, 2)), label=label)


def _gan_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        steps, batch = int(rng.integers(2, 8)), int(rng.integers(4, 17))
        real = normal(rng, (steps, batch, 2), scale=0.5) + torch.tensor([2.0, -1.0], dtype=DTYPE)
        cases.append(Case((gan_setup, real, normal(rng, (steps, batch, 2))), label=N_("random batches, 2 to 7 steps")))
    return cases


register(Exercise(
    id="gan_generator_first",
    notebook=NOTEBOOK,
    title=N_("Fix the loop: a GAN that trains the generator first"),
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
    convention=N_("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
                  "Python floats, one per step (the discriminator's loss). The checker's setup also fails a loop that "
                  "keeps an earlier step's graph alive or keeps its saved tensors (retain_graph=True). Each step: the "
                  "generator's update on G(noise), then the discriminator's on the real batch and the same generated "
                  "batch."),
    hints=(
        N_("The error comes from the discriminator's backward. Which graph does it reach that the generator's "
           "backward already used, and does the discriminator's loss need it at all?"),
        N_("For the discriminator, the generated samples are data: its loss should not reach the generator's "
           "weights."),
        N_("Cut the generated batch from the generator's graph where the discriminator uses it; keeping the "
           "graph with retain_graph=True is not the fix (the generator's step changed the weights it saved)."),
    ),
    mistakes=(
        Mistake("retain-graph",
                N_("retain_graph=True keeps the generator's graph so that the discriminator's loss can run back "
                   "through it, which it has no use for: that backward computes gradients for G that nobody wants, "
                   "and since opt_g.step() has changed G's weights, PyTorch refuses with the in-place version "
                   "error. Detach the generated batch for the discriminator."),
                raised=RETAINED_WORDS),
        Mistake("generator-frozen",
                N_("Your generator never learns: the batch is detached before the generator's own loss, so "
                   "g_loss.backward() stops at it. Detach it only where the discriminator uses it."),
                wrong=lambda setup, real, z: _gan_variant(setup, real, z, detach_everywhere=True)),
        Mistake("regenerated",
                N_("Your discriminator sees a new batch from the already updated generator. The loop trains it "
                   "on the batch the generator was updated with: reuse `fake`, detached."),
                wrong=lambda setup, real, z: _gan_variant(setup, real, z, regenerate=True)),
        Mistake("still-attached", N_("The discriminator's loss still reaches the generator's graph, which the "
                "generator's backward already freed. Give the discriminator the batch without its history."),
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
    xs = seeded_normal(seed, steps, batch, 4)
    return Case((deep_setup, xs, deep_targets(xs)), label=label)


def _deep_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        xs = normal(rng, (int(rng.integers(2, 9)), int(rng.integers(2, 17)), 4))
        cases.append(Case((deep_setup, xs, deep_targets(xs)), label=N_("random batches, 2 to 8 steps")))
    return cases


register(Exercise(
    id="deep_supervision_loop",
    notebook=NOTEBOOK,
    title=N_("Fix the loop: a main and an auxiliary loss sharing the lower layers"),
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
    convention=N_("Use the `setup` you are given (it builds the seeded model and its optimiser) and return a list of "
                  "Python floats, one per step (the main loss). The checker's setup also fails a loop that keeps an "
                  "earlier step's graph alive or keeps its saved tensors (retain_graph=True). Each step is one update "
                  "on main + 0.3 · aux, where both losses are computed from the same features = lower(x)."),
    hints=(
        N_("Both losses are computed from the same `features`. What does the first backward free that the second "
           "one needs?"),
        N_("Here both backward passes are wanted: the lower layers must learn from both losses, so .detach() is "
           "not the fix (it would hide the auxiliary loss from them)."),
        N_("The gradient of a sum is the sum of the gradients, and .grad adds up what each backward brings "
           "(section 6). Either let one backward pass carry both losses, or keep the shared graph alive for "
           "exactly one more pass."),
    ),
    mistakes=(
        Mistake("aux-detached",
                N_("Your lower layers learn only from the main loss: the features are detached before the "
                   "auxiliary head, so the auxiliary loss stops there. Here the graph must be used twice (or the "
                   "losses summed), not cut."),
                wrong=lambda setup, xs, ys: _deep_variant(setup, xs, ys, detach_aux=True)),
        Mistake("zero-grad-between",
                N_("Your step uses only the auxiliary loss's gradient: zero_grad() between the two backward calls "
                   "throws away the main loss's. Clear .grad once, before both."),
                wrong=lambda setup, xs, ys: _deep_variant(setup, xs, ys, zero_between=True)),
        Mistake("retain-both",
                N_("retain_graph=True is needed on the first backward only: on the last one it keeps the lower "
                   "layers' saved tensors until the next step, for a backward that never comes."),
                raised=RETAINED_WORDS),
        Mistake("graph-freed", N_("The first backward freed the lower layers' saved tensors, and the second one "
                "needs them. Sum the weighted losses into one backward, or keep the graph for the second call."),
                raised=SECOND_TIME),
    ),
))
