"""The stacked networks train and slice exactly like separate networks, and the slice measures count right."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from coursekit import datasets, surfaces

X, Y = datasets.spirals(64, seed=0, dtype=torch.float64)


def _explicit_logits(stack: surfaces.Stack, b: int, x: torch.Tensor) -> torch.Tensor:
    """Network b of the stack, layer by layer with F.linear: the definition the stack must follow."""
    h = torch.relu(F.linear(x, stack.weights[0][b], stack.biases[0][b]))
    for w, bias in zip(stack.weights[1:-1], stack.biases[1:-1], strict=True):
        z = torch.relu(F.linear(h, w[b], bias[b]))
        h = h + z if bool(stack.residual[b]) else z
    return F.linear(h, stack.weights[-1][b], stack.biases[-1][b]).squeeze(-1)


def test_create_shapes_and_scaled_residual_blocks():
    stack = surfaces.Stack.create(depth=5, width=8, residual=[False, True], seed=3)
    assert [tuple(w.shape) for w in stack.weights] == [(2, 8, 2)] + [(2, 8, 8)] * 4 + [(2, 1, 8)]
    again = surfaces.Stack.create(depth=5, width=8, residual=[False, True], seed=3)
    for a, b in zip(stack.parameters, again.parameters, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="depth"):
        surfaces.Stack.create(depth=1, width=8, residual=[True])
    with pytest.raises(ValueError, match="at least one"):
        surfaces.Stack.create(depth=3, width=8, residual=[])


def test_logits_follow_the_layer_by_layer_definition_with_and_without_grad():
    stack = surfaces.Stack.create(depth=6, width=8, residual=[False, True, True], seed=1)
    with torch.enable_grad():
        batched = stack.logits(X)
    with torch.no_grad():
        in_place = stack.logits(X)
    for b in range(3):
        torch.testing.assert_close(batched[b], _explicit_logits(stack, b, X))
    torch.testing.assert_close(in_place, batched)


def test_training_the_stack_is_training_each_network_alone():
    together = surfaces.Stack.create(depth=4, width=8, residual=[False, True], seed=0)
    alone = [surfaces.Stack.create(depth=4, width=8, residual=[False, True], seed=0) for _ in range(2)]
    for k, single in enumerate(alone):  # keep network k only
        single.weights = [w[k: k + 1].clone() for w in single.weights]
        single.biases = [b[k: k + 1].clone() for b in single.biases]
        single.residual = single.residual[k: k + 1]
    history = surfaces.train_stack(together, X, Y, steps=30, lr=0.01)
    assert history.shape == (30, 2) and history[-1].max() < history[0].min()
    for k, single in enumerate(alone):
        surfaces.train_stack(single, X, Y, steps=30, lr=0.01)
        for a, b in zip(together.weights, single.weights, strict=True):
            torch.testing.assert_close(a[k: k + 1], b, rtol=1e-10, atol=1e-12)
    assert not any(p.requires_grad for p in together.parameters)


def test_filter_normalised_rows_have_the_weights_row_norms():
    stack = surfaces.Stack.create(depth=4, width=8, residual=[False, True], seed=0)
    d = surfaces.filter_normalised(stack, seed=5)
    for w, dw in zip(stack.weights, d, strict=True):
        torch.testing.assert_close(dw.norm(dim=-1), w.norm(dim=-1))
        assert dw.shape == w.shape
    other = surfaces.filter_normalised(stack, seed=6)
    assert not torch.allclose(d[1], other[1])


def test_slice_losses_are_the_losses_of_the_shifted_networks():
    stack = surfaces.Stack.create(depth=4, width=8, residual=[False, True], seed=0)
    d1, d2 = surfaces.filter_normalised(stack, seed=1), surfaces.filter_normalised(stack, seed=2)
    coords = torch.tensor([[0.0, 0.0], [0.5, -0.25], [-1.0, 1.0]], dtype=torch.float64)
    got = surfaces.slice_losses(stack, X, Y, [d1, d2], coords)
    assert got.shape == (3, 2)
    torch.testing.assert_close(got[0], stack.losses(X, Y))
    for row, (a, b) in zip(got, coords.tolist(), strict=True):
        shifted = surfaces.Stack([w + a * u + b * v for w, u, v in zip(stack.weights, d1, d2, strict=True)],
                                 stack.biases, stack.residual)
        torch.testing.assert_close(row, shifted.losses(X, Y))
    with pytest.raises(ValueError, match="coords"):
        surfaces.slice_losses(stack, X, Y, [d1], coords)


def test_minima_counts_on_known_lines_and_grids():
    line = torch.tensor([[3.0, 1.0, 2.0, 0.5, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    assert surfaces.line_minima(line).tolist() == [2, 0]
    g = torch.linspace(-1, 1, 21, dtype=torch.float64)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    bowl = gx**2 + gy**2
    mask = surfaces.grid_minima(bowl)
    assert mask.sum() == 1 and mask[10, 10]
    egg = torch.cos(3 * math.pi * gx) * torch.cos(3 * math.pi * gy)   # an egg box: minima on a lattice
    assert surfaces.grid_minima(egg).sum() > 5


def test_nonconvex_share_of_a_bowl_and_a_saddle():
    g = torch.linspace(-1, 1, 21, dtype=torch.float64)
    gx, gy = torch.meshgrid(g, g, indexing="xy")
    spacing = float(g[1] - g[0])
    assert surfaces.nonconvex_share(gx**2 + 2 * gy**2, spacing=spacing) == 0
    assert surfaces.nonconvex_share(gx**2 - gy**2, spacing=spacing) == 1
