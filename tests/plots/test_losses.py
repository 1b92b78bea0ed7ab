"""The loss plot helpers draw the data they are given on the Axes they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure

from coursekit import plots

matplotlib.use("Agg")


def _ax():
    return Figure().subplots()


def test_residual_curves_one_distinct_line_per_loss():
    ax = _ax()
    r = torch.linspace(-3, 3, 7, dtype=torch.float64)
    curves = {"L2": r ** 2, "L1": r.abs()}
    assert plots.residual_curves(ax, r, curves, title="claim", ylim=(0, 5)) is ax
    lines = {line.get_label(): line for line in ax.get_lines() if line.get_label() in curves}
    np.testing.assert_allclose(lines["L2"].get_ydata(), (r ** 2).numpy())
    assert lines["L2"].get_linestyle() != lines["L1"].get_linestyle()
    assert lines["L2"].get_color() != lines["L1"].get_color()
    assert ax.get_ylim() == (0, 5) and ax.get_title() == "claim" and "residual" in ax.get_xlabel()


def test_point_gradients_plot_magnitudes_and_mark_outliers():
    ax = _ax()
    r = np.array([-0.5, 0.2, 8.0])
    plots.point_gradients(ax, r, {"L2": 2 * r, "L1": np.sign(r)}, outliers=[False, False, True])
    by_label = {c.get_label(): c.get_offsets() for c in ax.collections}
    np.testing.assert_allclose(by_label["L2"][:, 1], np.abs(2 * r))
    # the outlier is ringed in every series, at its gradient under each loss
    np.testing.assert_allclose(by_label["outlier (ringed)"], [[8.0, 16.0], [8.0, 1.0]])


def test_fitted_lines_draw_each_fit_and_separate_the_outliers():
    ax = _ax()
    x = np.arange(5.0)
    y = 2 * x + 1
    y[4] = 40.0
    plots.fitted_lines(ax, x, y, {"MSE": (5.0, -2.0), "L1": (2.0, 1.0)}, outliers=[0, 0, 0, 0, 1])
    lines = [line for line in ax.get_lines() if line.get_label().startswith(("MSE", "L1"))]
    assert [line.get_label() for line in lines] == ["MSE: y = 5.00x − 2.00", "L1: y = 2.00x + 1.00"]
    np.testing.assert_allclose(lines[1].get_ydata(), [1.0, 9.0])
    by_label = {c.get_label(): c.get_offsets() for c in ax.collections}
    assert by_label["outliers"].tolist() == [[4.0, 40.0]] and len(by_label["data"]) == 4
