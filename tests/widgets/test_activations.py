"""The activation explorer draws what it claims, for every activation over a grid of parameters."""

from __future__ import annotations

import math
import re

import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch

from coursekit.widgets import ActivationExplorer, render_activation_explorer
from coursekit.widgets.activations import ACTIVATIONS, THRESHOLDS, saturation

matplotlib.use("Agg")

# ordinary ranges, the slider's extremes, ranges far out on one side, and a narrow one around the kink
RANGES = [(-8.0, 8.0), (-2.0, 5.0), (-20.0, 20.0), (-20.0, -19.0), (19.0, 20.0), (-0.5, 0.5)]
GRID = [(name, x_range, thr) for name in ACTIVATIONS for x_range in RANGES for thr in (THRESHOLDS[0], 0.1)]


def _runs(mask: np.ndarray) -> int:
    """How many separate stretches of True the mask has."""
    m = mask.astype(int)
    return int(m[0] + np.count_nonzero(np.diff(m) == 1))


@pytest.mark.parametrize("name,x_range,thr", GRID, ids=[f"{n}-{r}-{t}" for n, r, t in GRID])
def test_render_shows_function_derivative_and_saturated_region(name, x_range, thr):
    explorer = ActivationExplorer()
    fig = explorer.render(activation=name, x_range=x_range, threshold=thr)
    x = torch.tensor(explorer.line_f.get_xdata(), dtype=torch.float64)
    assert x[0] == x_range[0] and x[-1] == x_range[1]
    # the left panel is the activation itself, the right one its derivative (by autograd)
    np.testing.assert_allclose(explorer.line_f.get_ydata(), ACTIVATIONS[name](x).numpy(), rtol=1e-12)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ACTIVATIONS[name](leaf).sum(), leaf)
    np.testing.assert_allclose(explorer.line_d.get_ydata(), grad.numpy(), rtol=1e-12, atol=1e-15)
    # the dashed lines sit at the threshold, and the shading covers exactly the saturated stretches
    assert list(explorer.thr_hi.get_ydata()) == [thr, thr] and list(explorer.thr_lo.get_ydata()) == [-thr, -thr]
    mask = np.abs(grad.numpy()) < thr
    for shade in explorer.shades:
        assert len(shade.get_paths()) == _runs(mask)
    # the title's percentage is the share of the range that is shaded
    percent = int(re.search(r"on (\d+)% of x", fig._suptitle.get_text()).group(1))
    assert percent == round(100 * mask.mean())
    assert explorer.ax_f.get_xlim() == pytest.approx(x_range) and explorer.ax_d.get_xlim() == pytest.approx(x_range)
    lo, hi = explorer.ax_d.get_ylim()
    assert lo < min(-thr, grad.min()) and hi > max(thr, grad.max())
    for ax in (explorer.ax_f, explorer.ax_d):
        assert np.isfinite([*ax.get_xlim(), *ax.get_ylim()]).all() and ax.get_ylim()[1] > ax.get_ylim()[0]
    # the title names the activation, the threshold as given and the range
    assert fig._suptitle.get_text().startswith(f"{name}: the gradient is below {thr:g} (shaded)")
    assert f"[{x_range[0]:g}, {x_range[1]:g}]" in fig._suptitle.get_text()


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_far_out_ranges_show_saturation_where_the_function_is_flat(name):
    # Far on the negative side every offered activation is flat (slope below 0.01), except the leaky one.
    explorer = ActivationExplorer()
    fig = explorer.render(activation=name, x_range=(-20.0, -19.0), threshold=0.01)
    leaky = name.startswith("leaky")
    expected = 0 if leaky else 100
    assert f"on {expected}% of x" in fig._suptitle.get_text()
    # and far on the positive side only the S-shaped ones saturate
    fig = explorer.render(activation=name, x_range=(19.0, 20.0), threshold=0.01)
    expected = 100 if name in ("sigmoid", "tanh") else 0
    assert f"on {expected}% of x" in fig._suptitle.get_text()


def test_sigmoid_saturates_where_the_calculus_says():
    # sigmoid'(x) = s(1 - s) < t  <=>  |x| > logit((1 + sqrt(1 - 4t)) / 2)
    thr = 0.05
    edge = math.log((1 + math.sqrt(1 - 4 * thr)) / (1 - math.sqrt(1 - 4 * thr)))
    sat = saturation("sigmoid", (-8.0, 8.0), thr)
    assert np.all(sat.saturated == (np.abs(sat.x) > edge))
    assert sat.fraction == pytest.approx((8 - edge) / 8, abs=2 / len(sat.x))


def test_relu_is_saturated_exactly_on_its_negative_side_including_zero():
    sat = saturation("relu", (-4.0, 4.0), 0.05)
    assert np.all(sat.saturated == (sat.x <= 0))


def test_slider_moves_reuse_the_figure_and_match_a_fresh_render():
    explorer = ActivationExplorer()
    fig = explorer.render()
    for move in ActivationExplorer.sample_moves:
        assert explorer.set(**move) is fig
        fresh = ActivationExplorer()
        fresh.render(**move)
        np.testing.assert_array_equal(explorer.line_d.get_ydata(), fresh.line_d.get_ydata())
        assert fig._suptitle.get_text() == fresh.fig._suptitle.get_text()
        assert explorer.png().startswith(b"\x89PNG")


def test_widget_has_one_control_per_parameter_and_updates_on_change():
    explorer = ActivationExplorer()
    box = explorer.widget()
    controls, image = box.children
    by_name = {c.description: c for c in controls.children}
    assert set(by_name) == {"activation", "input range x", "saturated if |f'| <"}
    before = image.value
    by_name["activation"].value = "relu"
    assert image.value != before and "relu" in explorer.fig._suptitle.get_text()
    assert isinstance(by_name["input range x"], W.FloatRangeSlider)
    # whole-number range ends, so the readout ("−20 – 20" at most) fits its box
    assert by_name["input range x"].step == 1.0 and by_name["input range x"].readout_format == ".0f"
    # the threshold slider offers exact round values, and the title repeats the one chosen
    threshold = by_name["saturated if |f'| <"]
    assert isinstance(threshold, W.SelectionSlider) and tuple(v for _, v in threshold.options) == THRESHOLDS
    for value in THRESHOLDS:
        threshold.value = value
        assert f"below {value:g} (shaded)" in explorer.fig._suptitle.get_text()


def test_module_level_render_and_bad_parameters():
    fig = render_activation_explorer(activation="tanh")
    assert "tanh" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="Unknown activation"):
        render_activation_explorer(activation="swish2")
    with pytest.raises(ValueError, match="increasing"):
        render_activation_explorer(x_range=(3.0, -3.0))
    with pytest.raises(TypeError, match="known"):
        render_activation_explorer(slope=2.0)
