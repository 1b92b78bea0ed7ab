"""The optimisation explorers draw what they claim over a grid of parameters, edge values included."""

from __future__ import annotations

import re

import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.lines import Line2D

from coursekit import landscapes
from coursekit.widgets import (
    GradientDescentExplorer,
    MomentumExplorer,
    PhaseDiagramExplorer,
    render_gradient_descent,
    render_momentum,
    render_phase_diagram,
)
from coursekit.widgets.optimisation import lr_values, run
from coursekit.widgets.phase import PHASES, phase_grid

matplotlib.use("Agg")

# a good and a divergent learning rate for each landscape, from the same start
GD_SETUPS = {
    "bowl": ((1.5, -1.0), 0.1, 1.5),
    "elongated": ((-2.5, 1.2), 0.15, 0.25),
    "saddle": ((1.5, 0.01), 0.05, 1.5),
    "monkey_saddle": ((0.5, 0.5), 0.05, 2.0),
    "rosenbrock": ((-1.2, 1.0), 1e-3, 0.01),
    "himmelblau": ((0.0, 0.0), 0.01, 0.1),
}
GD_GRID = [(name, lr_kind, steps) for name in GD_SETUPS for lr_kind in ("zero", "good", "divergent")
           for steps in (0, 40, 200)]


def _finite_limits(ax) -> bool:
    return bool(np.isfinite([*ax.get_xlim(), *ax.get_ylim()]).all())


@pytest.mark.parametrize("name,lr_kind,steps", GD_GRID, ids=[f"{n}-{k}-{s}" for n, k, s in GD_GRID])
def test_gradient_descent_explorer_shows_the_run(name, lr_kind, steps):
    start, good, bad = GD_SETUPS[name]
    lr = {"zero": 0.0, "good": good, "divergent": bad}[lr_kind]
    explorer = GradientDescentExplorer()
    fig = explorer.render(function=name, x0=start[0], y0=start[1], lr=lr, steps=steps)
    lsc = landscapes.landscape(name)
    result = run(name, start, lr=lr, steps=steps)
    xs, ys = explorer.path_line.get_data()
    title = fig._suptitle.get_text()
    # the drawn path is the descent path up to its last finite point
    np.testing.assert_allclose(np.stack([xs, ys], -1), result.finite_path)
    assert np.isfinite(xs).all() and np.isfinite(ys).all()
    assert (xs[0], ys[0]) == start
    # the loss panel shows f − min f (or f) of those points
    with torch.no_grad():
        f = lsc(torch.tensor(result.finite_path)).numpy()
    expect = f if lsc.minimum_value is None else np.maximum(f - lsc.minimum_value, 1e-16)
    np.testing.assert_allclose(explorer.loss_line.get_ydata(), expect, rtol=1e-12)
    assert _finite_limits(explorer.panel.ax) and _finite_limits(explorer.ax_l)
    diverged = result.diverged(gap=lsc.minimum_value is not None)
    assert all(t.get_visible() == diverged for t in explorer.texts)
    assert ("diverged" in title) == diverged
    if lr_kind == "zero":
        assert "never moves" in title and len(xs) == steps + 1 and set(xs) == {start[0]}
    if lr_kind == "divergent" and steps and lsc.minimum_value is not None:
        assert diverged and "diverged" in explorer.texts[0].get_text()
    if lr_kind == "good" and steps and lsc.minimum_value is not None:
        assert not diverged and len(xs) == steps + 1 and expect[-1] < expect[0]
        assert "ends at" in title and "f − min f" in title


@pytest.mark.parametrize("start", [(-5.0, -5.0), (5.0, 5.0), (-5.0, 5.0), (0.0, 0.0)])
@pytest.mark.parametrize("name", list(GD_SETUPS))
def test_gradient_descent_explorer_from_the_corners_of_the_start_range(name, start):
    # the slider's extreme starts with the good rate: the view widens to show the start, axes stay finite
    explorer = GradientDescentExplorer()
    fig = explorer.render(function=name, x0=start[0], y0=start[1], lr=GD_SETUPS[name][1], steps=60)
    xs, ys = explorer.path_line.get_data()
    assert (xs[0], ys[0]) == start
    (x0, x1), (y0, y1) = explorer.panel.ax.get_xlim(), explorer.panel.ax.get_ylim()
    assert x0 <= start[0] <= x1 and y0 <= start[1] <= y1
    assert _finite_limits(explorer.panel.ax) and _finite_limits(explorer.ax_l)
    result = run(name, start, lr=GD_SETUPS[name][1], steps=60)
    diverged = result.diverged(gap=landscapes.landscape(name).minimum_value is not None)
    assert ("diverged" in fig._suptitle.get_text()) == diverged == explorer.texts[0].get_visible()


def test_a_gap_at_the_floor_is_reported_as_a_bound_not_a_value():
    # descent on the bowl with lr = 0.5 lands exactly on the minimum: the gap is 0, shown as ≤ 1e-16
    fig = render_gradient_descent(function="bowl", x0=1.0, y0=1.0, lr=0.5, steps=5)
    assert fig._suptitle.get_text().endswith("ends at (0.00, 0.00), f − min f ≤ 1e-16")


def test_divergent_rate_on_the_quadratic_is_labelled_and_axes_stay_put():
    explorer = GradientDescentExplorer()
    fig = explorer.render(function="elongated", lr=1.0, steps=100)
    assert "diverged at step" in fig._suptitle.get_text()
    assert explorer.panel.ax.get_xlim() == pytest.approx((-3.0, 3.0))
    lo, hi = explorer.ax_l.get_ylim()
    assert np.isfinite([lo, hi]).all() and hi > lo > 0


MOMENTUM_GRID = [(name, lr, beta) for name, lrs in (("elongated", (0.0, 0.02, 0.3, 0.6)),
                                                    ("rosenbrock", (0.0, 1e-3, 0.02)))
                 for lr in lrs for beta in (0.0, 0.5, 0.95)]


@pytest.mark.parametrize("name,lr,beta", MOMENTUM_GRID, ids=[f"{n}-{lr}-{b}" for n, lr, b in MOMENTUM_GRID])
def test_momentum_explorer_shows_plain_and_momentum_runs(name, lr, beta):
    explorer = MomentumExplorer()
    fig = explorer.render(function=name, lr=lr, beta=beta, steps=60)
    start = explorer.lines["blue"][0].get_xydata()[0]
    runs = {"blue": run(name, tuple(start), lr=lr, steps=60),
            "vermillion": run(name, tuple(start), lr=lr, beta=beta, steps=60)}
    for key, (path, loss) in explorer.lines.items():
        np.testing.assert_allclose(path.get_xydata(), runs[key].finite_path)
        np.testing.assert_allclose(loss.get_ydata(), runs[key].finite_loss)
    any_diverged = any(r.diverged(gap=True) for r in runs.values())
    assert all(t.get_visible() == any_diverged for t in explorer.texts)
    assert ("diverged" in fig._suptitle.get_text()) == any_diverged
    assert _finite_limits(explorer.panel.ax) and _finite_limits(explorer.ax_l)
    assert explorer.legend.get_texts()[1].get_text() == f"momentum β = {beta:.2f}"
    title = fig._suptitle.get_text()
    if lr == 0:
        assert title.endswith("lr = 0: neither run moves")
    elif not any_diverged and beta == 0:  # β = 0 is plain descent: the same run twice
        assert "both reach the same gap" in title
    elif not any_diverged:
        better = "momentum" if runs["vermillion"].loss[-1] < runs["blue"].loss[-1] else "plain descent"
        assert f"{better} is closer" in title
    elif all(r.diverged(gap=True) for r in runs.values()):
        assert "both runs diverged" in title
    else:
        survivor = "plain descent" if runs["vermillion"].diverged(gap=True) else f"momentum (β = {beta:.2f})"
        assert f"{survivor} reaches gap" in title


def test_momentum_explorer_with_zero_steps_says_nothing_moved():
    explorer = MomentumExplorer()
    fig = explorer.render(steps=0)
    assert fig._suptitle.get_text().endswith("0 steps: both runs are still at the start")
    for path, loss in explorer.lines.values():
        assert len(path.get_xdata()) == 1 and len(loss.get_ydata()) == 1
    assert _finite_limits(explorer.panel.ax) and _finite_limits(explorer.ax_l)


def test_momentum_survives_a_rate_where_plain_descent_diverges():
    # on the quadratic with L = 10, plain descent needs lr < 0.2; momentum β needs lr < 2(1 + β)/L
    explorer = MomentumExplorer()
    fig = explorer.render(function="elongated", lr=0.3, beta=0.9, steps=100)
    assert explorer.texts[0].get_text() == "plain descent diverged"
    assert "plain descent diverged; momentum (β = 0.90) reaches gap" in fig._suptitle.get_text()
    _, momentum_loss = explorer.lines["vermillion"]
    assert momentum_loss.get_ydata()[-1] < momentum_loss.get_ydata()[0]


def test_phase_grid_agrees_with_the_quadratic_stability_bound():
    lr_edges, beta_edges, phase = phase_grid("elongated", steps=150)
    lr_mid = np.sqrt(lr_edges[:-1] * lr_edges[1:])
    beta_mid = 0.5 * (beta_edges[:-1] + beta_edges[1:])
    bound = 2 * (1 + beta_mid[:, None]) / landscapes.ELONGATED_KAPPA
    assert (phase[lr_mid[None, :] > 1.08 * bound] == PHASES.index("diverges")).all()
    assert (phase[lr_mid[None, :] < 0.92 * bound] != PHASES.index("diverges")).all()
    assert (phase == PHASES.index("converges")).any() and (phase == PHASES.index("too slow")).any()
    assert (phase == PHASES.index("oscillates")).any()


@pytest.mark.parametrize("name,lr,beta,steps", [("elongated", 0.1, 0.5, 100), ("elongated", 1.0, 0.9, 60),
                                                ("elongated", 1e-3, 0.0, 20), ("rosenbrock", 1e-3, 0.9, 100),
                                                ("rosenbrock", 1e-2, 0.99, 40)])
def test_phase_explorer_marks_the_chosen_run(name, lr, beta, steps):
    explorer = PhaseDiagramExplorer()
    fig = explorer.render(function=name, lr=lr, beta=beta, steps=steps)
    lr_edges, _, phase = phase_grid(name, steps=steps)
    np.testing.assert_array_equal(explorer.mesh.get_array().reshape(phase.shape), phase)
    assert explorer.marker.get_xydata()[0] == pytest.approx([np.clip(lr, lr_edges[0], lr_edges[-1]), beta])
    start = {"elongated": (-2.5, 1.2), "rosenbrock": (-1.2, 1.0)}[name]
    result = run(name, start, lr=lr, beta=beta, steps=steps)
    np.testing.assert_allclose(explorer.loss_line.get_ydata(), result.finite_loss)
    assert explorer.text.get_visible() == result.diverged(gap=True)
    assert _finite_limits(explorer.ax_p) and _finite_limits(explorer.ax_l)
    shares = [int(s) for s in re.findall(r"(\d+)%", fig._suptitle.get_text())]
    assert shares == [round(100 * float((phase == i).mean())) for i in range(4)]
    bound_label = explorer.legend.get_texts()[len(PHASES)].get_text()
    if name == "elongated":
        xs, ys = explorer.bound.get_data()
        np.testing.assert_allclose(xs, 2 * (1 + ys) / 10)
        assert bound_label == "lr = 2(1 + β)/L"
    else:  # no line is drawn, and the legend says so
        assert len(explorer.bound.get_xdata()) == 0 and bound_label == "no bound line: not a quadratic"


@pytest.mark.parametrize("lr", [1e-5, 1.0])
def test_phase_explorer_keeps_an_out_of_range_rate_visible_at_the_edge(lr):
    # the slider reaches below and above the elongated grid (1e-3 … 1): the marker sits on the edge, unclipped
    explorer = PhaseDiagramExplorer()
    explorer.render(function="elongated", lr=lr, beta=0.9)
    x, y = explorer.marker.get_xydata()[0]
    assert x == pytest.approx(min(max(lr, 1e-3), 1.0)) and y == pytest.approx(0.9)
    assert not explorer.marker.get_clip_on()
    assert _finite_limits(explorer.ax_p) and _finite_limits(explorer.ax_l)


def _kept_lines(explorer) -> list[Line2D]:
    """Every line the explorer keeps a handle to (directly or in a dict of tuples)."""
    found = []
    for value in vars(explorer).values():
        items = [x for pair in value.values() for x in pair] if isinstance(value, dict) else [value]
        found += [x for x in items if isinstance(x, Line2D)]
    return found


@pytest.mark.parametrize("cls", [GradientDescentExplorer, MomentumExplorer, PhaseDiagramExplorer])
def test_slider_moves_reuse_the_figure_and_artists(cls):
    explorer = cls()
    fig = explorer.render()
    # the artists a move updates: every line the explorer keeps a handle to
    kept = _kept_lines(explorer)
    assert kept
    for move in cls.sample_moves:
        assert explorer.set(**move) is fig
        assert explorer.png().startswith(b"\x89PNG")
    assert len(fig.axes) == 2 and _kept_lines(explorer) == kept
    for line in kept:
        assert line.axes in fig.axes and line in line.axes.lines


@pytest.mark.parametrize("cls", [GradientDescentExplorer, MomentumExplorer, PhaseDiagramExplorer])
def test_widget_updates_the_image_when_a_slider_moves(cls):
    explorer = cls()
    box = explorer.widget()
    controls = {c.description: c for c in box.children[0].children}
    image = box.children[1]
    assert isinstance(image, W.Image)
    before = image.value
    slider = controls["learning rate"]
    slider.index += 1
    assert image.value != before and explorer.last_update_s > 0
    titles = [explorer.fig._suptitle.get_text(), *(ax.get_title() for ax in explorer.fig.axes)]
    assert any(f"lr = {slider.value:g}" in t for t in titles), titles


@pytest.mark.parametrize("cls", [GradientDescentExplorer, MomentumExplorer, PhaseDiagramExplorer])
def test_learning_rate_slider_offers_exact_values_including_defaults_and_moves(cls):
    slider = cls().controls()["lr"]
    assert isinstance(slider, W.SelectionSlider)
    values = [v for _, v in slider.options]
    labels = [label for label, _ in slider.options]
    assert values == sorted(values) and labels == [f"{v:g}" for v in values]
    assert cls.defaults["lr"] in values
    assert all(move["lr"] in values for move in cls.sample_moves if "lr" in move)
    # zero only where a learning rate of 0 can be drawn (not on the phase diagram's log axis)
    assert (values[0] == 0.0) == (cls is not PhaseDiagramExplorer)


def test_lr_values_straddle_the_quadratic_bounds():
    values = lr_values(1e-4, 2.0, zero=True)
    assert values[:3] == (0.0, 1e-4, 2e-4) and values[-1] == 2.0
    for bound in (0.2, 0.3):  # 2/L and 2(1 + 0.5)/L on the elongated quadratic
        assert bound in values and any(bound - 0.02 <= v < bound for v in values) \
            and any(bound < v <= bound + 0.02 for v in values)


def test_render_functions_return_figures_with_the_defaults():
    for render in (render_gradient_descent, render_momentum, render_phase_diagram):
        fig = render()
        assert len(fig.axes) == 2 and fig._suptitle.get_text()
    with pytest.raises(TypeError, match="known"):
        render_gradient_descent(learning_rate=0.1)


def test_phase_diagram_marks_the_best_momentum_parameters_and_keeps_its_legend_off_the_diagram():
    from coursekit import quadratics

    explorer = PhaseDiagramExplorer()
    fig = explorer.render()
    best = quadratics.best_momentum(1.0, landscapes.ELONGATED_KAPPA)
    assert (explorer.best.get_xdata()[0], explorer.best.get_ydata()[0]) == pytest.approx((best.lr, best.beta))
    texts = [t.get_text() for t in explorer.legend.get_texts()]
    assert f"fastest: lr = {best.lr:.3f}, β = {best.beta:.3f}" in texts
    fig.canvas.draw()
    box = explorer.legend.get_window_extent()
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent())
    # the best point lies in the converging region of the diagram, below the stability line
    lr_edges, beta_edges, phase = phase_grid("elongated", steps=100)
    i = np.searchsorted(beta_edges, best.beta) - 1
    j = np.searchsorted(lr_edges, best.lr) - 1
    assert PHASES[phase[i, j]] == "converges" and best.lr < 2 * (1 + best.beta) / landscapes.ELONGATED_KAPPA
    explorer.set(function="rosenbrock", lr=1e-3, beta=0.9)
    assert len(explorer.best.get_xdata()) == 0
    assert "no closed-form best (lr, β)" in [t.get_text() for t in explorer.legend.get_texts()]
