"""The MLP capstone's plot helpers draw what they are given on the Axes they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure

from coursekit import plots
from coursekit.plots import style

matplotlib.use("Agg")


def _axes():
    return Figure().subplots()


def test_decision_boundary_shades_the_probability_and_draws_the_half_contour():
    ax = _axes()
    X = torch.tensor([[-1.0, 0.0], [1.0, 0.5], [0.5, -1.0], [-0.5, 1.0]])
    y = torch.tensor([0, 1, 1, 0])
    seen = []

    def predict(points):
        seen.append(points)
        return 1 / (1 + np.exp(-4 * points[:, 0]))  # boundary: the line x1 = 0

    assert plots.decision_boundary(ax, predict, X, y, resolution=40, title="claim") is ax
    assert seen[0].shape == (40 * 40, 2) and seen[0].dtype == np.float64
    assert ax.get_title() == "claim" and "x₁" in ax.get_xlabel() and "x₂" in ax.get_ylabel()
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sorted(len(s.get_offsets()) for s in scatters) == [2, 2]
    for s in scatters:
        label = int(s.get_label().split()[-1])
        np.testing.assert_allclose(np.asarray(s.get_offsets()), X[y == label].numpy())
    contour_lines = [c for c in ax.collections if hasattr(c, "levels") and list(c.levels) == [0.5]]
    assert contour_lines, "the P = 0.5 boundary must be drawn"
    x0, x1, _, _ = (*ax.get_xlim(), *ax.get_ylim())
    assert x0 < -1 and x1 > 1  # the default extent pads the points' range
    assert ax.get_legend() is not None


def test_decision_boundary_without_a_boundary_in_view_and_with_hard_labels():
    ax = _axes()
    X, y = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([0, 0])
    plots.decision_boundary(ax, lambda pts: np.zeros(len(pts)), X, y, extent=(-1, 2, -1, 2), legend=False)
    assert ax.get_xlim() == (-1, 2) and ax.get_legend() is None
    assert not [c for c in ax.collections if hasattr(c, "levels") and list(c.levels) == [0.5]]
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plots.decision_boundary(ax, lambda pts: pts[:, 0], np.zeros((3, 3)), np.zeros(3))


def test_training_curves_one_line_per_series_drops_non_finite_values_and_marks_steps():
    ax = _axes()
    series = {"plain": [1.0, 0.5, float("inf"), float("nan")], "clipped": [1.0, 0.6, 0.4, 0.3]}
    plots.training_curves(ax, series, logy=True, ylim=(0.1, 10), hline=1.0, hline_label="c", marks=(1, 2))
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["clipped"].get_ydata(), series["clipped"])
    plain = np.asarray(lines["plain"].get_ydata())
    assert np.isnan(plain[2:]).all() and list(plain[:2]) == [1.0, 0.5]
    assert ax.get_yscale() == "log" and ax.get_ylim() == pytest.approx((0.1, 10))
    assert "c" in lines and "snapshots" in lines
    assert lines["plain"].get_color() == style.color(0) and lines["clipped"].get_color() == style.color(1)
    with pytest.raises(ValueError):
        plots.training_curves(ax, {})


def test_layer_stats_puts_layers_one_to_L_on_the_x_axis():
    ax = _axes()
    stats = {"too small": [1e-2, 1e-4, 1e-6], "He": [0.8, 0.8, 0.8]}
    assert plots.layer_stats(ax, stats, title="t") is ax
    lines = [line for line in ax.get_lines() if line.get_label() in stats]
    assert [list(line.get_xdata()) for line in lines] == [[1, 2, 3], [1, 2, 3]]
    np.testing.assert_allclose(lines[0].get_ydata(), stats["too small"])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer" and ax.get_title() == "t"
    with pytest.raises(ValueError):
        plots.layer_stats(ax, {})


def test_layer_stats_reference_line_and_ticks_for_deep_stacks():
    ax = _axes()
    stats = {"He": [0.8] * 20, "default": [0.4**k for k in range(1, 21)]}
    plots.layer_stats(ax, stats, hline=1.0, hline_label="1: the input's scale")
    ref = [line for line in ax.get_lines() if line.get_label() == "1: the input's scale"]
    assert len(ref) == 1 and list(ref[0].get_ydata()) == [1.0, 1.0] and ref[0].get_linestyle() == "--"
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 20]
    assert ticks == [int(t) for t in ticks] and 5 <= len(ticks) <= 11  # whole layers, not all twenty
    assert ax.get_xlim() == (0.5, 20.5)
    short = _axes()
    plots.layer_stats(short, {"a": [1.0, 2.0, 3.0, 4.0]})
    assert list(short.get_xticks()) == [1, 2, 3, 4]
