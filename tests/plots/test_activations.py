"""The activation plot helpers draw the data they are given on the Axes they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from coursekit import plots

matplotlib.use("Agg")


def _axes(n: int = 1):
    fig = Figure()
    return fig.subplots(1, n) if n > 1 else fig.subplots()


def test_gallery_draws_each_function_beside_its_derivative_and_hides_spare_axes():
    axes = _axes(3)
    x = torch.linspace(-3, 3, 61, dtype=torch.float64)
    pairs = {"tanh": (torch.tanh, lambda t: 1 - torch.tanh(t) ** 2), "relu": (torch.relu, lambda t: (t > 0) * 1.0)}
    assert plots.activation_gallery(axes, x, pairs) is axes
    for ax, (name, (f, df)) in zip(axes, pairs.items(), strict=False):
        assert ax.get_title() == name
        curves = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
        np.testing.assert_allclose(curves[name].get_ydata(), f(x).numpy())
        # the derivative line holds f'(x) at every grid point, with a NaN gap wherever f' jumps
        line = curves[f"{name}′"]
        keep = ~np.isnan(np.asarray(line.get_xdata(), dtype=float))
        np.testing.assert_allclose(np.asarray(line.get_xdata())[keep], x.numpy())
        np.testing.assert_allclose(np.asarray(line.get_ydata())[keep], df(x).numpy())
    assert not axes[2].get_visible()
    with pytest.raises(ValueError, match="need 2 axes"):
        plots.activation_gallery(axes[:1], x, pairs)


def test_gallery_breaks_derivative_jumps_and_marks_the_value_at_the_kink():
    axes = _axes(2)
    x = torch.arange(-300, 301, dtype=torch.float64) / 100          # 0 exactly on the grid
    slope = 0.1
    pairs = {"ReLU": (torch.relu, lambda t: (t > 0).to(t.dtype)),
             "Leaky": (lambda t: torch.where(t > 0, t, slope * t),
                       lambda t: torch.where(t > 0, 1.0, slope).to(t.dtype))}
    plots.activation_gallery(axes, x, pairs)
    for ax, (name, left) in zip(axes, (("ReLU", 0.0), ("Leaky", slope)), strict=True):
        line = next(li for li in ax.get_lines() if li.get_label() == f"{name}′")
        xs, ys = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
        gap = np.flatnonzero(np.isnan(ys))
        assert len(gap) == 1 and xs[gap[0] - 1] == 0 and xs[gap[0] + 1] == pytest.approx(0.01)
        # no drawn segment (two consecutive points, both finite) crosses the jump
        drawn = ~np.isnan(ys[:-1]) & ~np.isnan(ys[1:])
        assert np.abs(np.diff(ys))[drawn].max() < 0.5
        filled = next(li for li in ax.get_lines() if li.get_label().startswith(f"{name}′(0)"))
        assert filled.get_xdata()[0] == 0.0 and filled.get_ydata()[0] == pytest.approx(left)
        assert f"= {left:.3g}" in filled.get_label()
        hollow = [li for li in ax.get_lines() if li.get_markerfacecolor() == "white"]
        assert len(hollow) == 1 and hollow[0].get_ydata()[0] == 1.0
    # a smooth derivative gets neither a gap nor a dot
    ax = _axes()
    plots.activation_gallery([ax], x, {"tanh": (torch.tanh, lambda t: 1 - torch.tanh(t) ** 2)})
    assert not any(np.isnan(np.asarray(li.get_ydata(), dtype=float)).any() for li in ax.get_lines())
    assert len(ax.get_lines()) == 3  # the zero line, f and f'


def test_gradient_norms_are_on_a_log_axis_one_line_per_activation():
    ax = _axes()
    norms = {"sigmoid": [1e-9, 1e-5, 1e-1], "relu": [0.5, 0.6, 0.7]}
    assert plots.gradient_norms_by_layer(ax, norms, title="t") is ax
    assert ax.get_yscale() == "log" and ax.get_title() == "t"
    lines = [line for line in ax.get_lines() if line.get_label() in norms]
    assert [list(line.get_xdata()) for line in lines] == [[1, 2, 3], [1, 2, 3]]
    np.testing.assert_allclose(lines[0].get_ydata(), norms["sigmoid"])
    assert "layer" in ax.get_xlabel() and ax.get_legend() is not None


def test_layer_histograms_are_densities_labelled_with_each_layers_std():
    ax = _axes()
    gen = torch.Generator().manual_seed(0)
    acts = [torch.randn(2000, generator=gen) * s for s in (1.0, 0.5, 0.1)]
    plots.layer_histograms(ax, acts, layers=[1, 3], bins=40, value_range=(-4, 4))
    patches = ax.patches
    assert len(patches) == 2
    labels = [p.get_label() for p in patches]
    assert labels[0].startswith("layer 1 (std 1.0") and labels[1].startswith("layer 3 (std 0.1")
    # a density integrates to 1 over the range (up to the mass outside it)
    counts, edges = np.histogram(acts[0].numpy(), bins=40, range=(-4, 4), density=True)
    assert (counts * np.diff(edges)).sum() == pytest.approx(1.0)
    assert ax.get_ylabel() == "density"


def test_grouped_bars_label_percentages():
    ax = _axes()
    plots.grouped_bars(ax, {"ReLU": [0.03, 0.31], "ELU": [0.0, 0.0]}, series=["before", "after"],
                       ylabel="% of units")
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([3.0, 0.0, 31.0, 0.0])
    texts = [t.get_text() for t in ax.texts]
    assert "31%" in texts and "3%" in texts
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ReLU", "ELU"]


def test_decision_regions_shade_the_predicted_class_and_show_the_points():
    ax = _axes()
    points = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    plots.decision_regions(ax, lambda p: (p[:, 0] > 0.5).long(), points, labels, title="x₁ > 0.5")
    assert len(ax.collections) >= 3  # the filled regions and the two classes' markers
    offsets = np.concatenate([c.get_offsets() for c in ax.collections if c.get_label().startswith("class")])
    assert sorted(map(tuple, offsets)) == sorted(map(tuple, points.numpy()))
    assert ax.get_title() == "x₁ > 0.5"
