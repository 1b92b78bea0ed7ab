"""The initialisation explorer measures what it claims: torch's init scales, the chain rule, and its titles."""

from __future__ import annotations

import math
import re

import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

from coursekit.widgets import InitDepthExplorer, render_init_depth
from coursekit.widgets.init_depth import ACTIVATIONS, INITS, DepthProfile, depth_profile, init_std

matplotlib.use("Agg")


def test_init_std_is_what_torchs_initialisers_draw():
    torch.manual_seed(0)
    fan_in, fan_out = 800, 400
    default = nn.Linear(fan_in, fan_out).weight.detach()
    assert default.std().item() == pytest.approx(init_std("default", "relu", fan_in, fan_out), rel=0.01)
    assert default.abs().max().item() <= 1 / math.sqrt(fan_in)  # U(-1/√fan_in, 1/√fan_in)
    for activation, gain in (("tanh", nn.init.calculate_gain("tanh")), ("sigmoid", 1.0), ("relu", 1.0)):
        w = nn.init.xavier_normal_(torch.empty(fan_out, fan_in, dtype=torch.float64), gain=gain)
        assert w.std().item() == pytest.approx(init_std("xavier", activation, fan_in, fan_out), rel=0.01)
    he = nn.init.kaiming_normal_(torch.empty(fan_out, fan_in, dtype=torch.float64), nonlinearity="relu")
    assert he.std().item() == pytest.approx(init_std("he", "relu", fan_in, fan_out), rel=0.01)
    with pytest.raises(ValueError, match="Unknown init"):
        init_std("lecun", "relu", 3, 3)
    with pytest.raises(ValueError, match="Unknown activation"):
        init_std("he", "gelu", 3, 3)


def _by_hand(init, activation, depth, width, batch, seed=0):
    """The same draws as depth_profile, forward and backward by the chain rule, without autograd."""
    gen = torch.Generator().manual_seed(seed)
    std = init_std(init, activation, width, width)
    h = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    f = ACTIVATIONS[activation]
    slope = {"relu": lambda z: (z > 0).double(), "tanh": lambda z: 1 - torch.tanh(z) ** 2,
             "sigmoid": lambda z: torch.sigmoid(z) * (1 - torch.sigmoid(z))}[activation]
    weights, zs, hs = [], [], []
    for _ in range(depth):
        if init == "default":
            w = (torch.rand(width, width, generator=gen, dtype=torch.float64) * 2 - 1) * math.sqrt(3) * std
        else:
            w = torch.randn(width, width, generator=gen, dtype=torch.float64) * std
        z = h @ w.T
        h = f(z)
        weights.append(w), zs.append(z), hs.append(h)
    g = torch.randn(batch, width, generator=gen, dtype=torch.float64)  # dL/dh_L = v
    grads = [g]
    for k in range(depth - 1, 0, -1):
        g = (g * slope(zs[k])) @ weights[k]  # dL/dh_(k-1) = (dL/dh_k ⊙ f'(z_k)) W_k
        grads.append(g)
    return [h.std().item() for h in hs], [g.std().item() for g in reversed(grads)]


@pytest.mark.parametrize("init", list(INITS))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_profile_is_the_chain_rule(init, activation):
    profile = depth_profile(init, activation, 6, width=32, batch=64)
    forward, backward = _by_hand(init, activation, 6, 32, 64)
    np.testing.assert_allclose(profile.forward, forward, rtol=1e-10)
    np.testing.assert_allclose(profile.backward, backward, rtol=1e-10)


@pytest.mark.parametrize("init,activation,forward,backward", [
    ("he", "relu", 1.0, 1.0),                      # Var(w) = 2/n exactly undoes ReLU's halving
    ("default", "relu", math.sqrt(1 / 6), math.sqrt(1 / 6)),   # n · 1/(3n) · 1/2 = 1/6 per layer
    ("xavier", "relu", math.sqrt(1 / 2), math.sqrt(1 / 2)),    # gain 1: n · 1/n · 1/2
    ("default", "tanh", math.sqrt(1 / 3), math.sqrt(1 / 3)),   # tanh ≈ identity for small inputs: n · 1/(3n)
])
def test_per_layer_factors_match_the_variance_argument(init, activation, forward, backward):
    profile = depth_profile(init, activation, 30, width=128, batch=512)
    assert profile.forward_factor == pytest.approx(forward, rel=0.06)
    assert profile.backward_factor == pytest.approx(backward, rel=0.06)


def test_sigmoid_gradients_shrink_about_fourfold_per_layer_even_with_xavier():
    profile = depth_profile("xavier", "sigmoid", 20)
    assert 0.15 < profile.backward_factor < 0.3  # sigmoid's slope is at most 1/4
    assert profile.backward[0] < 1e-9


@pytest.mark.parametrize("params", [{}, {"init": "he"}, {"init": "xavier", "activation": "tanh", "depth": 7},
                                    {"activation": "sigmoid", "scale": 4.0}, {"depth": 2},
                                    {"depth": 40, "scale": 0.25}])
def test_render_draws_the_profile_and_titles_say_what_it_shows(params):
    explorer = InitDepthExplorer()
    fig = explorer.render(**params)
    p = explorer.params(**params)
    profile = depth_profile(p["init"], p["activation"], p["depth"], scale=p["scale"])
    layers = np.arange(1, p["depth"] + 1)
    np.testing.assert_array_equal(explorer.line_f.get_xdata(), layers)
    np.testing.assert_array_equal(explorer.line_f.get_ydata(), profile.forward)
    np.testing.assert_array_equal(explorer.line_b.get_ydata(), profile.backward)
    low, high = explorer.ax_f.get_ylim()
    values = np.concatenate([profile.forward, profile.backward])
    assert low <= values.min() and values.max() <= high  # nothing off the chart
    title_f, title_b = explorer.ax_f.get_title(), explorer.ax_b.get_title()
    if p["depth"] >= 3:
        assert f"×{profile.forward_factor:.2f}" in title_f and f"×{profile.backward_factor:.2f}" in title_b
    else:
        assert "n/a" in title_f
    assert f"{p['depth']} layers" in fig._suptitle.get_text() and INITS[p["init"]] in fig._suptitle.get_text()
    assert f"{profile.weight_std:.3g}" in fig._suptitle.get_text()


def test_render_is_pure_and_slider_moves_reuse_the_figure():
    a, b = InitDepthExplorer(), InitDepthExplorer()
    a.render(init="he", depth=9)
    b.render(init="he", depth=9)
    np.testing.assert_array_equal(a.line_b.get_ydata(), b.line_b.get_ydata())
    fig = a.fig
    for move in InitDepthExplorer.sample_moves:
        assert a.set(**move) is fig
        assert a.png()[:8] == b"\x89PNG\r\n\x1a\n"
    assert render_init_depth(activation="tanh").axes[0].get_yscale() == "log"


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="depth"):
        depth_profile("he", "relu", 0)
    with pytest.raises(ValueError, match="scale"):
        depth_profile("he", "relu", 3, scale=0.0)
    with pytest.raises(TypeError, match="no parameter"):
        InitDepthExplorer().render(width=3)


def test_widget_offers_init_activation_depth_and_scale():
    box = InitDepthExplorer().widget()
    controls = box.children[0].children
    kinds = [type(c) for c in controls]
    assert kinds.count(W.Dropdown) == 2 and W.IntSlider in kinds and W.SelectionSlider in kinds
    depth = next(c for c in controls if isinstance(c, W.IntSlider))
    depth.value = 5
    assert isinstance(box.children[1], W.Image) and box.children[1].value[:4] == b"\x89PNG"
    assert re.search(r"5 layers", InitDepthExplorer().render(depth=5)._suptitle.get_text())


def test_factor_skips_the_first_layer_and_needs_positive_values():
    assert DepthProfile.factor(np.array([5.0, 1.0, 0.5, 0.25])) == pytest.approx(0.5)
    assert math.isnan(DepthProfile.factor(np.array([1.0, 2.0])))
    assert math.isnan(DepthProfile.factor(np.array([1.0, 0.0, 1.0])))


def test_tick_labels_are_plain_text_and_label_narrow_ranges_in_between():
    explorer = InitDepthExplorer()
    fig = explorer.render(init="xavier", activation="tanh", depth=12)
    fig.canvas.draw()
    ticks = explorer.ax_f.get_yticklabels(minor=False) + explorer.ax_f.get_yticklabels(minor=True)
    labels = [t.get_text() for t in ticks]
    assert "1" in labels and "2" in labels and "0.5" in labels and not any("$" in t for t in labels)
    fig = explorer.set(init="default", activation="relu", depth=20)
    fig.canvas.draw()
    labels = [t.get_text() for t in explorer.ax_f.get_yticklabels() if t.get_text()]
    assert "10⁰" in labels and any("⁻" in t for t in labels) and not any("$" in t for t in labels)
