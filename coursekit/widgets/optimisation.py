"""Optimisation explorers: gradient descent on a landscape and momentum beside plain descent.

The (learning rate, β) phase diagram, built on the same runs, is in `coursekit.widgets.phase`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from coursekit import landscapes
from coursekit.plots.style import color, style_axes
from coursekit.widgets.base import SLIDER_STYLE, Explorer, choice_slider, new_figure

__all__ = ["GradientDescentExplorer", "MomentumExplorer", "Run", "lr_values", "render_gradient_descent",
           "render_momentum", "run"]

#: where a start point may be placed; contours are computed on this square once per landscape
START_RANGE = (-5.0, 5.0)
#: starting point and (lr range) of each landscape offered by the momentum and phase explorers (shared)
MOMENTUM_SETUPS = {"elongated": ((-2.5, 1.2), (1e-3, 1.0)), "rosenbrock": ((-1.2, 1.0), (1e-5, 1e-2))}
#: learning rates between the 1-2-3-5 steps, near the quadratic's bounds 2/L = 0.2 and 2(1 + β)/L = 0.3 … 0.4
_LR_NEAR_BOUNDS = (0.15, 0.18, 0.19, 0.21, 0.22, 0.25, 0.28, 0.32, 0.35, 0.38, 0.4)
_GAP_FLOOR = 1e-16
# Speed: titles get an explicit y (automatic placement measures every tick label on each redraw), and
# log axes get no minor ticks (their labels cost more to draw than the rest of a panel).
_KIND_MARKERS: dict[landscapes.Kind, tuple[str, str]] = {
    "minimum": ("o", "green"), "saddle": ("X", "orange"), "maximum": ("^", "vermillion"),
    "degenerate": ("D", "purple")}


@dataclass(frozen=True)
class Run:
    """One descent run: its points (T, 2), the optimality gap f − min f (or f) per point, and the outcome."""

    path: np.ndarray
    loss: np.ndarray
    diverged_at: int | None  # index of the first non-finite point, None if the run stayed finite

    @property
    def finite_path(self) -> np.ndarray:
        return self.path if self.diverged_at is None else self.path[: self.diverged_at]

    @property
    def finite_loss(self) -> np.ndarray:
        return self.loss if self.diverged_at is None else self.loss[: self.diverged_at]

    @property
    def grew(self) -> float:
        """How many times larger the last finite loss is than the first (for a loss that is a gap ≥ 0)."""
        loss = self.finite_loss
        return float(loss[-1] / loss[0]) if loss[0] > 0 else 1.0

    def diverged(self, *, gap: bool) -> bool:
        """Blown up (non-finite or |x| > 1e6), or, for a gap f − min f, grown tenfold from the start."""
        return self.diverged_at is not None or (gap and self.grew > 10)

    def divergence_words(self) -> str:
        if self.diverged_at is not None:
            return f"diverged at step {self.diverged_at}"
        return f"diverged: f − min f grew {self.grew:.2g}×"


def loss_gap(lsc: landscapes.Landscape, values: torch.Tensor) -> torch.Tensor:
    """The loss a plot shows: f − min f where the minimum is known (floored above 0), else f itself."""
    # With a known minimum the loss is the gap f − f*, floored so a log axis can show an exact 0.
    if lsc.minimum_value is None:
        return values
    return (values - lsc.minimum_value).clamp_min(_GAP_FLOOR)


def run(name: str, start: tuple[float, float], *, lr: float, steps: int, beta: float = 0.0) -> Run:
    """Descent (with momentum β, PyTorch's convention) on the landscape `name` from `start`."""
    lsc = landscapes.landscape(name)
    path = landscapes.descend(lsc, torch.tensor(start, dtype=torch.float64), lr=lr, beta=beta, steps=steps)
    with torch.no_grad():
        loss = loss_gap(lsc, lsc(path))
    finite = torch.isfinite(path).all(-1) & torch.isfinite(loss)
    bad = int(torch.argmin(finite.to(torch.int8))) if not bool(finite.all()) else None
    return Run(path.numpy(), loss.numpy(), bad)


@lru_cache(maxsize=16)
def _contour_grid(name: str, n: int = 161) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The landscape on START_RANGE², and contour levels (log-spaced for steep landscapes)."""
    lsc = landscapes.landscape(name)
    xs = torch.linspace(START_RANGE[0] - 0.5, START_RANGE[1] + 0.5, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, xs, indexing="xy")
    with torch.no_grad():
        z = lsc(torch.stack([gx, gy], -1)).numpy()
    view = (np.abs(gx.numpy()) <= max(map(abs, lsc.xlim))) & (np.abs(gy.numpy()) <= max(map(abs, lsc.ylim)))
    lo, hi = float(z[view].min()), float(z[view].max())
    if lsc.log_levels:
        levels = lo + np.geomspace(max((hi - lo) * 1e-4, 1e-3), hi - lo, 18)
    else:
        levels = np.linspace(lo, hi, 18)
    return gx.numpy(), gy.numpy(), z, levels


class _ContourPanel:
    """A contour of a landscape that can switch landscapes, with trajectory lines kept on top."""

    def __init__(self, ax: Any) -> None:
        self.ax = ax
        self.name: str | None = None
        self.artists: list[Any] = []
        self.marks: list[Any] = []
        style_axes(ax, xlabel="x", ylabel="y", grid=False)

    def show(self, name: str, view_points: np.ndarray) -> None:
        lsc = landscapes.landscape(name)
        if name != self.name:
            for artist in self.artists:
                artist.remove()
            X, Y, Z, levels = _contour_grid(name)
            self.artists = [self.ax.contour(X, Y, Z, levels=levels, colors="#8a8a8a", linewidths=0.7)]
            for kind, (marker, key) in _KIND_MARKERS.items():
                pts = np.array(lsc.points(kind), dtype=np.float64).reshape(-1, 2)
                if len(pts):
                    self.artists += self.ax.plot(pts[:, 0], pts[:, 1], marker, ls="none", color=color(key),
                                                 ms=8, mec="black", mew=0.6, zorder=1)
            self.name = name
        # The view: the landscape's window, widened to show the start point.
        pts = view_points[np.isfinite(view_points).all(-1)]
        x0, x1 = min(lsc.xlim[0], pts[:, 0].min() - 0.3), max(lsc.xlim[1], pts[:, 0].max() + 0.3)
        y0, y1 = min(lsc.ylim[0], pts[:, 1].min() - 0.3), max(lsc.ylim[1], pts[:, 1].max() + 0.3)
        self.ax.set_xlim(max(x0, START_RANGE[0] - 0.5), min(x1, START_RANGE[1] + 0.5))
        self.ax.set_ylim(max(y0, START_RANGE[0] - 0.5), min(y1, START_RANGE[1] + 0.5))


def diverged_text(ax: Any) -> Any:
    """An empty centred label on `ax`, given its text when a run diverges."""
    return ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", fontsize=12,
                   fontweight="bold", color=color("vermillion"), zorder=10,
                   bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": color("vermillion")})


def set_loss_axes(ax: Any, runs: Mapping[str, Run], *, log: bool) -> None:
    """Fit the loss panel's limits to the finite losses of `runs` (log scale when `log`)."""
    values = np.concatenate([r.finite_loss for r in runs.values()])
    steps = max(len(r.loss) for r in runs.values()) - 1
    ax.set_xlim(0, max(steps, 1))
    ax.set_yscale("log" if log else "linear")
    if log:
        ax.yaxis.set_minor_locator(NullLocator())
    if log:
        pos = values[values > 0]
        lo, hi = float(pos.min()), float(pos.max())
        ax.set_ylim(lo / 3, hi * 3)
    else:
        lo, hi = float(values.min()), float(values.max())
        pad = 0.08 * (hi - lo) or 0.5 * max(abs(hi), 1.0)
        ax.set_ylim(lo - pad, hi + pad)


def describe_run(run_: Run, lsc: landscapes.Landscape) -> str:
    """One line on how a run ended: diverged, or where it stopped and how far from the minimum."""
    if run_.diverged(gap=lsc.minimum_value is not None):
        unbounded = " (f is unbounded below)" if lsc.minimum_value is None else ""
        return run_.divergence_words() + unbounded
    end = run_.path[-1]
    inside = lsc.xlim[0] <= end[0] <= lsc.xlim[1] and lsc.ylim[0] <= end[1] <= lsc.ylim[1]
    if lsc.minimum_value is None and not inside:
        return f"escaped to f = {run_.loss[-1]:.2g} (f is unbounded below)"
    x, y = (round(float(v), 2) + 0.0 for v in end)  # + 0.0 turns a rounded −0.0 into 0.0
    if lsc.minimum_value is None:
        return f"ends at ({x:.2f}, {y:.2f}), f = {run_.loss[-1]:.2g}"
    gap = f"≤ {_GAP_FLOOR:.0e}" if run_.loss[-1] <= _GAP_FLOOR else f"= {run_.loss[-1]:.2g}"
    return f"ends at ({x:.2f}, {y:.2f}), f − min f {gap}"


def lr_values(lowest: float, highest: float, *, zero: bool = False) -> tuple[float, ...]:
    """The learning rates a slider offers: 1, 2, 3, 5 per decade from `lowest` to `highest`, a few more near
    the quadratic's stability bounds, and 0 first when `zero`. Exact values, so titles repeat the readout."""
    steps = {round(m * 10.0**e, 12) for e in range(-8, 2) for m in (1, 2, 3, 5)} | set(_LR_NEAR_BOUNDS)
    chosen = sorted(v for v in steps if lowest <= v <= highest)
    return (0.0, *chosen) if zero else tuple(chosen)


def lr_slider(value: float, values: tuple[float, ...]) -> W.SelectionSlider:
    """A learning-rate slider that offers exactly `values` (no rounding of the chosen rate)."""
    return choice_slider(values, value, "learning rate")


class GradientDescentExplorer(Explorer):
    """Gradient descent on a landscape: start point, learning rate and steps → path and loss curve."""

    defaults: Mapping[str, Any] = {"function": "elongated", "x0": -2.5, "y0": 1.2, "lr": 0.15, "steps": 30}
    sample_moves = (
        {"lr": 0.05}, {"lr": 0.19}, {"lr": 0.21}, {"steps": 60}, {"x0": 1.5, "y0": -1.0},
        {"function": "rosenbrock", "lr": 1e-3, "x0": -1.2, "y0": 1.0},
        {"lr": 2e-3}, {"function": "himmelblau", "lr": 0.01, "x0": 0.0, "y0": 0.0},
        {"x0": -1.0}, {"function": "saddle", "x0": 1.5, "y0": 1e-3, "lr": 0.05},
        {"function": "elongated", "lr": 0.0, "x0": -2.5, "y0": 1.2},
    )

    def controls(self) -> dict[str, W.ValueWidget]:
        d = self.defaults
        return {
            "function": W.Dropdown(options=list(landscapes.LANDSCAPES), value=d["function"], description="f",
                                   style=SLIDER_STYLE),
            "x0": W.FloatSlider(value=d["x0"], min=START_RANGE[0], max=START_RANGE[1], step=0.1,
                                description="start x", continuous_update=False, style=SLIDER_STYLE),
            "y0": W.FloatSlider(value=d["y0"], min=START_RANGE[0], max=START_RANGE[1], step=0.1,
                                description="start y", continuous_update=False, style=SLIDER_STYLE),
            "lr": lr_slider(d["lr"], lr_values(1e-4, 2.0, zero=True)),
            "steps": W.IntSlider(value=d["steps"], min=0, max=200, step=5, description="steps",
                                 continuous_update=False, style=SLIDER_STYLE),
        }

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.5, height=4.0)
        fig.set_layout_engine(None)  # fixed margins: a slider move redraws without a layout pass
        ax_c, self.ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.82, wspace=0.25)
        self.panel = _ContourPanel(ax_c)
        (self.path_line,) = ax_c.plot([], [], "-", marker=".", ms=4, lw=1.6, color=color("blue"), zorder=3)
        (self.start_dot,) = ax_c.plot([], [], "o", ms=8, color=color("blue"), mec="white", zorder=4)
        (self.end_star,) = ax_c.plot([], [], "*", ms=13, color=color("blue"), mec="black", mew=0.5, zorder=4)
        (self.loss_line,) = self.ax_l.plot([], [], color=color("blue"), lw=1.8)
        (self.loss_end,) = self.ax_l.plot([], [], "x", ms=10, mew=2, color=color("vermillion"), clip_on=False)
        self.texts = [diverged_text(ax_c), diverged_text(self.ax_l)]
        style_axes(self.ax_l, xlabel="step")
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        name, lr, steps = params["function"], float(params["lr"]), int(params["steps"])
        lsc = landscapes.landscape(name)
        result = run(name, (float(params["x0"]), float(params["y0"])), lr=lr, steps=steps)
        pts, loss = result.finite_path, result.finite_loss
        self.panel.show(name, result.path[:1])
        self.path_line.set_data(pts[:, 0], pts[:, 1])
        self.start_dot.set_data(pts[:1, 0], pts[:1, 1])
        self.end_star.set_data(pts[-1:, 0], pts[-1:, 1])
        self.loss_line.set_data(np.arange(len(loss)), loss)
        log = lsc.minimum_value is not None
        diverged = result.diverged(gap=log)
        self.loss_end.set_data(([len(loss) - 1], [loss[-1]]) if diverged else ([], []))
        for text in self.texts:
            text.set_text(result.divergence_words() if diverged else "")
            text.set_visible(diverged)
        set_loss_axes(self.ax_l, {"run": result}, log=log)
        self.ax_l.set_ylabel("f − min f (log scale)" if log else "f(x, y)")
        self.panel.ax.set_title(f"f = {lsc.formula}", fontsize=10, y=1.0)
        self.ax_l.set_title("loss per step", fontsize=10, y=1.0)
        assert self.fig is not None
        note = "lr = 0: the point never moves" if lr == 0 else describe_run(result, lsc)
        self.fig.suptitle(f"Gradient descent, lr = {lr:.3g}, {steps} steps: {note}", fontsize=12)


class MomentumExplorer(Explorer):
    """Plain gradient descent beside momentum (same lr) on the elongated quadratic or Rosenbrock."""

    defaults: Mapping[str, Any] = {"function": "elongated", "lr": 0.02, "beta": 0.9, "steps": 60}
    sample_moves = (
        {"beta": 0.5}, {"beta": 0.95}, {"lr": 0.05}, {"lr": 0.3}, {"steps": 120},
        {"function": "rosenbrock", "lr": 1e-3, "beta": 0.9}, {"beta": 0.0}, {"lr": 3e-3},
        {"function": "elongated", "lr": 0.02, "beta": 0.8},
    )

    def controls(self) -> dict[str, W.ValueWidget]:
        d = self.defaults
        return {
            "function": W.Dropdown(options=list(MOMENTUM_SETUPS), value=d["function"], description="f",
                                   style=SLIDER_STYLE),
            "lr": lr_slider(d["lr"], lr_values(1e-4, 1.0, zero=True)),
            "beta": W.FloatSlider(value=d["beta"], min=0.0, max=0.99, step=0.01, description="momentum β",
                                  continuous_update=False, style=SLIDER_STYLE),
            "steps": W.IntSlider(value=d["steps"], min=0, max=300, step=10, description="steps",
                                 continuous_update=False, style=SLIDER_STYLE),
        }

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.5, height=4.0)
        fig.set_layout_engine(None)
        ax_c, self.ax_l = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.82, wspace=0.25)
        self.panel = _ContourPanel(ax_c)
        self.lines = {}
        for key, label in (("blue", "plain descent (β = 0)"), ("vermillion", "momentum")):
            (path,) = ax_c.plot([], [], "-", marker=".", ms=3, lw=1.5, color=color(key), zorder=3,
                                label=label)
            (loss,) = self.ax_l.plot([], [], color=color(key), lw=1.8, label=label)
            self.lines[key] = (path, loss)
        self.texts = [diverged_text(ax_c), diverged_text(self.ax_l)]
        style_axes(self.ax_l, xlabel="step", ylabel="f − min f (log scale)")
        self.legend = self.ax_l.legend(frameon=False, fontsize=8, loc="lower left")
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        name, steps = params["function"], int(params["steps"])
        lr, beta = float(params["lr"]), float(params["beta"])
        lsc = landscapes.landscape(name)
        start = MOMENTUM_SETUPS[name][0]
        runs = {"plain": run(name, start, lr=lr, steps=steps), "momentum": run(name, start, lr=lr, beta=beta,
                                                                                steps=steps)}
        self.panel.show(name, np.array([start]))
        for (path, loss), result in zip(self.lines.values(), runs.values(), strict=True):
            pts = result.finite_path
            path.set_data(pts[:, 0], pts[:, 1])
            loss.set_data(np.arange(len(result.finite_loss)), result.finite_loss)
        self.legend.get_texts()[1].set_text(f"momentum β = {beta:.2f}")
        diverged = [k for k, r in runs.items() if r.diverged(gap=True)]
        names = {"plain": "plain descent", "momentum": f"momentum (β = {beta:.2f})"}
        for text in self.texts:
            text.set_text(" and ".join(names[k] for k in diverged) + " diverged" if diverged else "")
            text.set_visible(bool(diverged))
        set_loss_axes(self.ax_l, runs, log=True)
        self.panel.ax.set_title(f"f = {lsc.formula}, lr = {lr:.3g}", fontsize=10, y=1.0)
        self.ax_l.set_title("loss per step", fontsize=10, y=1.0)
        gap = {k: r.loss[-1] for k, r in runs.items() if k not in diverged}
        if lr == 0 or steps == 0:
            claim = "lr = 0: neither run moves" if lr == 0 else "0 steps: both runs are still at the start"
        elif len(gap) == 2 and np.isclose(gap["momentum"], gap["plain"], rtol=1e-9, atol=0.0):
            claim = f"after {steps} steps both reach the same gap {gap['plain']:.2g}"
        elif len(gap) == 2:
            better = "momentum" if gap["momentum"] < gap["plain"] else "plain descent"
            claim = f"after {steps} steps {better} is closer: gap {gap['momentum']:.2g} (β = {beta:.2f}) " \
                    f"vs {gap['plain']:.2g} (β = 0)"
        elif gap:
            (survivor, value), = gap.items()
            claim = f"{names[diverged[0]]} diverged; {names[survivor]} reaches gap {value:.2g}"
        else:
            claim = "both runs diverged: lower the learning rate" + (" or β" if beta > 0 else "")
        assert self.fig is not None
        self.fig.suptitle(f"Momentum vs plain descent: {claim}", fontsize=11)


def render_gradient_descent(**params: Any) -> Figure:
    """The gradient descent explorer's figure (see GradientDescentExplorer.defaults)."""
    return GradientDescentExplorer().render(**params)


def render_momentum(**params: Any) -> Figure:
    """The momentum explorer's figure (see MomentumExplorer.defaults)."""
    return MomentumExplorer().render(**params)
