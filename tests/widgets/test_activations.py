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
from coursekit.widgets.activations import ACTIVATIONS, THRESHOLDS, X_LIMIT, peak_slope, saturation

matplotlib.use("Agg")

# ordinary ranges, the slider's extremes, ranges far out on one side, and a narrow one around the kink
RANGES = [(-8.0, 8.0), (-2.0, 5.0), (-20.0, 20.0), (-20.0, -19.0), (19.0, 20.0), (-0.5, 0.5)]
GRID = [(name, x_range, thr) for name in ACTIVATIONS for x_range in RANGES for thr in (THRESHOLDS[0], 0.1)]


def _runs(mask: np.ndarray) -> int:
    """How many separate stretches of True the mask has."""
    m = mask.astype(int)
    return int(m[0] + np.count_nonzero(np.diff(m) == 1))


def _flat_tails(name: str, x: np.ndarray, share: float) -> np.ndarray:
    """Independent of the explorer: x is saturated when |f'| < share·peak on all of [−20, x] or [x, 20]."""
    wide = torch.linspace(-X_LIMIT, X_LIMIT, 40001, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(ACTIVATIONS[name](wide).sum(), wide)
    slope = slope.abs().numpy()
    cutoff = share * slope.max()
    w = wide.detach().numpy()
    out = []
    for xi in x:
        left, right = slope[w <= xi], slope[w >= xi]
        out.append((left < cutoff).all() or (right < cutoff).all())
    return np.array(out)


@pytest.mark.parametrize("name,x_range,thr", GRID, ids=[f"{n}-{r}-{t}" for n, r, t in GRID])
def test_render_shows_function_derivative_and_flat_tails(name, x_range, thr):
    explorer = ActivationExplorer()
    fig = explorer.render(activation=name, x_range=x_range, threshold=thr)
    x = torch.tensor(explorer.line_f.get_xdata(), dtype=torch.float64)
    assert x[0] == x_range[0] and x[-1] == x_range[1]
    # the left panel is the activation itself, the right one its derivative (by autograd)
    np.testing.assert_allclose(explorer.line_f.get_ydata(), ACTIVATIONS[name](x).numpy(), rtol=1e-12)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ACTIVATIONS[name](leaf).sum(), leaf)
    np.testing.assert_allclose(explorer.line_d.get_ydata(), grad.numpy(), rtol=1e-12, atol=1e-15)
    # the dashed lines sit at ± share × peak slope, and the shading covers exactly the flat tails
    cutoff = thr * peak_slope(name)
    assert explorer.thr_hi.get_ydata() == pytest.approx([cutoff, cutoff])
    assert explorer.thr_lo.get_ydata() == pytest.approx([-cutoff, -cutoff])
    sat = saturation(name, x_range, thr)
    expected = _flat_tails(name, sat.x, thr)
    # the explorer samples [−20, 20] every 0.01; a point within one sample of a tail's edge may differ
    assert (sat.saturated != expected).sum() <= 2
    for shade in explorer.shades:
        assert len(shade.get_paths()) == _runs(sat.saturated)
    # the title's percentage is the share of the range that is shaded
    percent = int(re.search(r"cover (\d+)% of x", fig._suptitle.get_text()).group(1))
    assert percent == round(100 * sat.saturated.mean())
    assert explorer.ax_f.get_xlim() == pytest.approx(x_range) and explorer.ax_d.get_xlim() == pytest.approx(x_range)
    lo, hi = explorer.ax_d.get_ylim()
    assert lo < min(-cutoff, grad.min()) and hi > max(cutoff, grad.max())
    for ax in (explorer.ax_f, explorer.ax_d):
        assert np.isfinite([*ax.get_xlim(), *ax.get_ylim()]).all() and ax.get_ylim()[1] > ax.get_ylim()[0]
    assert fig._suptitle.get_text().startswith(f"{name}: flat tails, |f'| below {thr:g} × its peak (shaded)")
    assert f"[{x_range[0]:g}, {x_range[1]:g}]" in fig._suptitle.get_text()


def test_peak_slopes_are_the_known_maxima():
    assert peak_slope("sigmoid") == pytest.approx(0.25)
    assert peak_slope("tanh") == pytest.approx(1.0)
    assert peak_slope("relu") == 1.0
    assert peak_slope("selu") == pytest.approx(1.0507009873554805 * 1.6732632423543772, rel=1e-3)


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_a_zero_crossing_of_the_derivative_is_not_shaded(name):
    # GELU' and SiLU' cross 0 at their minimum (x ≈ −0.75, −1.28): small there, but not a flat tail
    sat = saturation(name, (-6.0, 6.0), 0.05)
    crossing = sat.x[np.argmin(np.abs(sat.df[(sat.x > -2) & (sat.x < 0)])) + np.flatnonzero(sat.x > -2)[0]]
    assert -2 < crossing < 0 and abs(np.interp(crossing, sat.x, sat.df)) < 0.01
    assert not sat.saturated[np.abs(sat.x - crossing) < 0.2].any()
    # only the left tail is shaded: one stretch, starting at the left end
    assert _runs(sat.saturated) == 1 and sat.saturated[0] and not sat.saturated[-1]


def test_the_largest_share_never_shades_the_centre_of_sigmoid():
    sat = saturation("sigmoid", (-8.0, 8.0), max(THRESHOLDS))
    assert not sat.saturated[np.abs(sat.x) < 1].any()


def test_sigmoid_saturates_where_the_calculus_says():
    # sigmoid'(x) = s(1 - s) < t·(1/4)  <=>  |x| > logit((1 + sqrt(1 - t)) / 2)
    share = 0.05
    edge = math.log((1 + math.sqrt(1 - share)) / (1 - math.sqrt(1 - share)))
    sat = saturation("sigmoid", (-8.0, 8.0), share)
    assert np.all(sat.saturated == (np.abs(sat.x) > edge))
    assert sat.fraction == pytest.approx((8 - edge) / 8, abs=2 / len(sat.x))


def test_relu_is_saturated_exactly_on_its_negative_side_including_zero():
    sat = saturation("relu", (-4.0, 4.0), 0.05)
    assert np.all(sat.saturated == (sat.x <= 0))


def test_far_out_ranges_show_flat_tails_where_the_function_is_flat():
    # Far on the negative side every offered activation is flat, except the leaky one (slope 0.01 > 0.001 × 1)
    for name in ACTIVATIONS:
        fig = ActivationExplorer().render(activation=name, x_range=(-20.0, -19.0), threshold=0.001)
        assert f"cover {0 if name.startswith('leaky') else 100}% of x" in fig._suptitle.get_text(), name
        # and far on the positive side only the S-shaped ones saturate
        fig = ActivationExplorer().render(activation=name, x_range=(19.0, 20.0), threshold=0.001)
        assert f"cover {100 if name in ('sigmoid', 'tanh') else 0}% of x" in fig._suptitle.get_text(), name


def test_the_legend_sits_outside_both_panels():
    explorer = ActivationExplorer()
    fig = explorer.render()
    fig.canvas.draw()
    (legend,) = fig.legends
    box = legend.get_window_extent()
    for ax in (explorer.ax_f, explorer.ax_d):
        assert not box.overlaps(ax.get_window_extent()), "the legend covers a panel"
    assert box.y0 > max(ax.get_window_extent().y1 for ax in (explorer.ax_f, explorer.ax_d))


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
    controls, image, message = box.children
    by_name = {c.description: c for c in controls.children}
    assert set(by_name) == {"activation", "input range x", "saturated if |f'| / peak <"}
    before = bytes(image.value)
    by_name["activation"].value = "relu"
    assert bytes(image.value) != before and "relu" in explorer.fig._suptitle.get_text()
    assert isinstance(by_name["input range x"], W.FloatRangeSlider)
    # whole-number range ends, so the readout ("−20 – 20" at most) fits its box
    assert by_name["input range x"].step == 1.0 and by_name["input range x"].readout_format == ".0f"
    # the threshold slider offers exact round values, and the title repeats the one chosen
    threshold = by_name["saturated if |f'| / peak <"]
    assert isinstance(threshold, W.SelectionSlider) and tuple(v for _, v in threshold.options) == THRESHOLDS
    for value in THRESHOLDS:
        threshold.value = value
        assert f"below {value:g} × its peak (shaded)" in explorer.fig._suptitle.get_text()
    assert message.layout.display == "none"


def test_module_level_render_and_bad_parameters():
    fig = render_activation_explorer(activation="tanh")
    assert "tanh" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="Unknown activation"):
        render_activation_explorer(activation="swish2")
    with pytest.raises(ValueError, match="increasing"):
        saturation("tanh", (3.0, -3.0), 0.05)
    with pytest.raises(ValueError, match="share"):
        saturation("tanh", (-3.0, 3.0), 1.5)
    with pytest.raises(TypeError, match="known"):
        render_activation_explorer(slope=2.0)
    # an empty range is not an error in the explorer: the figure says what to do
    explorer = ActivationExplorer()
    explorer.render(x_range=(3.0, -3.0))
    assert "empty" in explorer.notice
