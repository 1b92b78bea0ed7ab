"""Optimisation plot helpers draw on the Axes they are given, return it, and show what they claim."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from coursekit import landscapes, plots  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_grid_evaluates_the_function(ax):
    X, Y, Z = plots.grid(landscapes.saddle, xlim=(-1, 1), ylim=(-2, 2), n=5)
    assert X.shape == Y.shape == Z.shape == (5, 5)
    np.testing.assert_allclose(Z, X**2 - Y**2)
    assert X[0, 0] == -1 and X[0, -1] == 1 and Y[0, 0] == -2 and Y[-1, 0] == 2


@pytest.mark.parametrize("name", list(landscapes.LANDSCAPES))
def test_contour_uses_the_landscape_window_and_scale(ax, name):
    lsc = landscapes.landscape(name)
    assert plots.contour(ax, lsc, title="t") is ax
    contours = [c for c in ax.get_children() if isinstance(c, ContourSet)]
    assert len(contours) == 2  # filled and lines
    assert ax.get_xlim() == lsc.xlim and ax.get_ylim() == lsc.ylim
    levels = contours[-1].levels
    steps = np.diff(levels)
    # log-spaced levels for steep landscapes: constant ratios, not constant differences
    assert np.allclose(steps, steps[0]) != lsc.log_levels
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y" and ax.get_title() == "t"


def test_contour_needs_a_window_for_a_plain_function(ax):
    with pytest.raises(ValueError, match="xlim"):
        plots.contour(ax, landscapes.bowl)


def test_gradient_field_points_uphill(ax):
    assert plots.gradient_field(ax, landscapes.bowl, xlim=(-1, 1), ylim=(-1, 1), n=5) is ax
    (q,) = [c for c in ax.get_children() if isinstance(c, Quiver)]
    pos = q.XY
    uv = np.stack([q.U, q.V], axis=-1)
    # the bowl's gradient 2(x, y) points away from the origin: unit arrows along the position
    norm = np.linalg.norm(pos, axis=-1)
    away = norm > 0
    np.testing.assert_allclose(uv[away], pos[away] / norm[away, None], atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(uv[away], axis=-1), 1.0)


def test_trajectories_keep_limits_and_label_divergence(ax):
    plots.contour(ax, landscapes.landscape("elongated"))
    limits = (ax.get_xlim(), ax.get_ylim())
    good = landscapes.descend(landscapes.elongated, torch.tensor([-2.5, 1.0]), lr=0.1, steps=20)
    bad = landscapes.descend(landscapes.elongated, torch.tensor([-2.5, 1.0]), lr=1.0, steps=20)
    assert plots.trajectories(ax, {"lr = 0.1": good, "lr = 1": bad}) is ax
    assert (ax.get_xlim(), ax.get_ylim()) == limits
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "lr = 0.1" and "diverged" in labels[1]
    line = ax.get_lines()[0]
    assert len(line.get_xdata()) == 21
    for artist in ax.get_lines():
        assert np.isfinite(artist.get_xydata()).all()


def test_critical_points_one_marker_per_kind(ax):
    plots.critical_points(ax, landscapes.landscape("himmelblau"))
    counts = {line.get_label(): len(line.get_xdata()) for line in ax.get_lines()}
    assert counts == {"minimum": 4, "maximum": 1, "saddle": 4}


def test_surface_needs_3d_axes(ax):
    with pytest.raises(ValueError, match="3-D"):
        plots.surface(ax, landscapes.landscape("saddle"))
    fig = plt.figure()
    ax3 = fig.add_subplot(projection="3d")
    assert plots.surface(ax3, landscapes.landscape("monkey_saddle"), zlim=(-2, 2), title="s") is ax3
    assert ax3.get_zlim() == (-2, 2) and ax3.get_zlabel() == "f(x, y)"
    plt.close(fig)


def test_function_and_derivative(ax):
    x = torch.linspace(-2, 2, 50)
    assert plots.function_and_derivative(ax, x, x**2, 2 * x, title="f and f'") is ax
    f_line, df_line = ax.get_lines()[1:]
    np.testing.assert_allclose(df_line.get_ydata(), 2 * x.numpy(), rtol=1e-6)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["f(x)", "f′(x)"]


def test_loss_curves_log_scale_and_divergence(ax):
    fast = 10.0 * 0.5 ** np.arange(30)
    blown = np.concatenate([10.0 * 2.0 ** np.arange(10), [np.inf, np.nan]])
    assert plots.loss_curves(ax, {"lr = 0.1": fast, "lr = 1": blown}) is ax
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["lr = 0.1", "lr = 1 (diverged at step 10)"]
    lo, hi = ax.get_ylim()
    assert np.isfinite([lo, hi]).all() and lo <= fast.min() and hi >= blown[:10].max()


def test_loss_curves_linear_for_signed_values(ax):
    plots.loss_curves(ax, {"saddle": [0.0, -1.0, -4.0, -9.0]})
    assert ax.get_yscale() == "linear"
    lo, hi = ax.get_ylim()
    assert lo < -9 and hi > 0


def test_loss_curves_constant_curve_gets_a_visible_range(ax):
    plots.loss_curves(ax, {"lr = 0": [5.0] * 10})
    lo, hi = ax.get_ylim()
    assert lo < 5 < hi and ax.get_yscale() == "linear"
    assert list(ax.get_lines()[0].get_ydata()) == [5.0] * 10


def test_trajectories_inside_stop_at_the_first_point_outside_the_window(ax):
    plots.contour(ax, landscapes.landscape("elongated"))
    limits = (ax.get_xlim(), ax.get_ylim())
    bad = landscapes.descend(landscapes.elongated, torch.tensor([-2.5, 1.0], dtype=torch.float64), lr=0.21,
                             steps=80)
    good = landscapes.descend(landscapes.elongated, torch.tensor([-2.5, 1.0], dtype=torch.float64), lr=0.1,
                              steps=80)
    plots.trajectories(ax, {"lr = 0.21": bad, "lr = 0.1": good}, inside=True, linestyles=["--", "-"],
                       widths=[3.0, 1.0])
    assert (ax.get_xlim(), ax.get_ylim()) == limits
    outside = (bad[:, 1].abs() > 1.5) | (bad[:, 0].abs() > 3)
    first_out = int(outside.to(torch.int8).argmax())
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"lr = 0.21 (leaves the plot after {first_out} steps)", "lr = 0.1"]
    bad_line, good_line = (li for li in ax.get_lines() if li.get_label() in labels)
    assert len(bad_line.get_xdata()) == first_out + 1   # up to and including the first point outside
    assert len(good_line.get_xdata()) == 81
    assert (bad_line.get_linestyle(), bad_line.get_linewidth()) == ("--", 3.0)
    assert (good_line.get_linestyle(), good_line.get_linewidth()) == ("-", 1.0)
    # the run that left gets no end star (its end is not on the plot); the other one does
    stars = [li for li in ax.get_lines() if li.get_marker() == "*"]
    assert len(stars) == 1 and stars[0].get_xydata()[0] == pytest.approx(good[-1].numpy())
