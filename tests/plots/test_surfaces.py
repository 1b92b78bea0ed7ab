"""The loss-surface and spectrum plots draw the data they are given on the Axes they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from coursekit.plots import surfaces as sp

matplotlib.use("Agg")


def _ax():
    return Figure().subplots()


def test_slice_lines_one_colour_per_network_one_line_per_direction_on_a_log_axis():
    ax = _ax()
    alphas = torch.linspace(-1, 1, 11)
    curves = {"plain": torch.rand(3, 11) + 0.1, "residual": torch.rand(2, 11) + 0.1}
    assert sp.slice_lines(ax, alphas, curves, title="t") is ax
    assert len(ax.get_lines()) == 1 + 5  # the α = 0 line and 5 slices
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["plain", "residual"]
    assert ax.get_yscale() == "log" and ax.get_xlim() == (-1.0, 1.0)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), curves["plain"][0].numpy(), rtol=1e-6)


def test_slice_contours_mark_the_trained_point_and_the_local_minima():
    ax = _ax()
    grid = torch.linspace(-1, 1, 9)
    losses = torch.rand(9, 9) + 1.0
    losses[4, 4] = 0.01
    mask = torch.zeros(9, 9, dtype=torch.bool)
    mask[4, 4] = mask[0, 8] = True
    sp.slice_contours(ax, grid, losses, levels=np.geomspace(1e-3, 10, 9), minima=mask, colorbar=True)
    dots = next(li for li in ax.get_lines() if li.get_label().startswith("local minima"))
    assert sorted(zip(dots.get_xdata(), dots.get_ydata(), strict=True)) == [(0.0, 0.0), (1.0, -1.0)]
    assert dots.get_label() == "local minima of the slice (2, the trained point among them)"
    star = next(li for li in ax.get_lines() if li.get_label() == "trained weights")
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0, 0)
    assert len(ax.figure.axes) == 2  # the colour bar


def test_eigenvalue_spectrum_sorts_and_uses_a_symlog_axis():
    ax = _ax()
    sp.eigenvalue_spectrum(ax, {"a": torch.tensor([3.0, -1.0, 0.0]), "b": [1.0, 2.0]}, linthresh=0.1)
    lines = [li for li in ax.get_lines() if li.get_label() in ("a", "b")]
    assert list(lines[0].get_ydata()) == [-1.0, 0.0, 3.0] and list(lines[0].get_xdata()) == [1, 2, 3]
    assert ax.get_yscale() == "symlog"


def test_index_vs_loss_colours_minima_apart():
    ax = _ax()
    sp.index_vs_loss(ax, [7.0, 10.0, 12.0], [0, 1, 3])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["saddles (2)", "minima (1)"]
    minima = next(li for li in ax.get_lines() if li.get_label() == "minima (1)")
    assert (minima.get_xdata()[0], minima.get_ydata()[0]) == pytest.approx((0, 7.0))
