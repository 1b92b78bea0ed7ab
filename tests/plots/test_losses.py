"""The loss plot helpers draw the data they are given on the Axes they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
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


def test_point_gradients_place_points_at_the_given_positions_and_label_the_axis():
    ax = _ax()
    x = np.array([1.0, 4.0, 6.0])          # input positions: points with equal residuals stay apart
    residuals = np.array([-30.0, -30.0, 0.5])
    plots.point_gradients(ax, x, {"L2": 2 * residuals}, outliers=[True, True, False], xlabel="x")
    by_label = {c.get_label(): c.get_offsets() for c in ax.collections}
    np.testing.assert_allclose(by_label["L2"], [[1.0, 60.0], [4.0, 60.0], [6.0, 1.0]])
    np.testing.assert_allclose(by_label["outlier (ringed)"], [[1.0, 60.0], [4.0, 60.0]])
    assert ax.get_xlabel() == "x"
    with pytest.raises(ValueError, match="2 gradients for 3 points"):
        plots.point_gradients(_ax(), x, {"L1": [1.0, 1.0]})


def test_step_curves_draw_each_run_with_its_style_and_the_reference_levels():
    ax = _ax()
    steps = np.arange(1, 101)
    curves = {"Adam + L2": 1.0 / steps, "AdamW": 2.0 / steps}
    assert plots.step_curves(ax, curves, steps=steps, colors=["#111111", "#222222"], linestyles=["-", "--"],
                             levels={"±1/λ": (1.25, -1.25), "ridge": 0.5}, logx=True, logy=True,
                             title="claim", ylabel="distance") is ax
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["AdamW"].get_xdata(), steps)
    np.testing.assert_allclose(lines["AdamW"].get_ydata(), 2.0 / steps)
    assert lines["AdamW"].get_linestyle() == "--" and lines["Adam + L2"].get_color() == "#111111"
    # a ± pair is two lines under one legend entry; every level is dotted
    levels = [line for line in ax.get_lines() if line.get_linestyle() == ":"]
    assert sorted(line.get_ydata()[0] for line in levels) == [-1.25, 0.5, 1.25]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Adam + L2", "AdamW", "±1/λ", "ridge"]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_xlim() == (1.0, 100.0)
    assert ax.get_title() == "claim" and ax.get_ylabel() == "distance" and ax.get_xlabel() == "step"


def test_step_curves_default_steps_and_clear_errors():
    ax = plots.step_curves(_ax(), {"w": [0.0, 1.0, 0.5]})
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="positive steps"):
        plots.step_curves(_ax(), {"w": [1.0, 2.0]}, logx=True)
    with pytest.raises(ValueError, match="3 values for 2 steps"):
        plots.step_curves(_ax(), {"w": [1.0, 2.0, 3.0]}, steps=[1, 2])
    with pytest.raises(ValueError, match="at least one curve"):
        plots.step_curves(_ax(), {})
