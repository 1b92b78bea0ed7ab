"""Plots for the MLP capstone: decision boundaries of 2-D classifiers, training curves, per-layer statistics.

Every helper draws on the Axes it is given and returns it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.ticker import FixedLocator, MaxNLocator

from coursekit.plots.style import PALETTE, color, style_axes

__all__ = ["decision_boundary", "layer_stats", "training_curves"]

# Probability of class 1, from class 0's blue through white to class 1's orange.
_CLASS_MAP = LinearSegmentedColormap.from_list("coursekit_classes",
                                               [PALETTE["blue"], "#ffffff", PALETTE["orange"]])
_MARKERS = ("o", "^", "s", "D")


def _as_numpy(values: object) -> np.ndarray:
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()  # a torch tensor, possibly on a GPU
    return np.asarray(values)


def decision_boundary(ax: Axes, predict: Callable[[np.ndarray], np.ndarray], X: object, y: object, *,
                      extent: tuple[float, float, float, float] | None = None, resolution: int = 150,
                      title: str | None = None, xlabel: str = "x₁ (feature 1)",
                      ylabel: str = "x₂ (feature 2)", show_points: bool = True, point_size: float = 14.0,
                      legend: bool = True) -> Axes:
    """Shade P(class 1) = predict(grid points) over the plane, draw its 0.5 contour and the labelled points.

    `predict` maps an (M, 2) float64 array of points to M values in [0, 1] (hard 0/1 labels work too).
    `X` (N, 2) and `y` (N,) with labels 0/1 may be tensors or arrays; `extent` is (xmin, xmax, ymin, ymax),
    by default the points' range with a margin.
    """
    points, labels = _as_numpy(X).astype(np.float64), _as_numpy(y).astype(np.int64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"X must have shape (N, 2), got {points.shape}")
    if extent is None:
        low, high = points.min(axis=0), points.max(axis=0)
        pad = 0.15 * (high - low) + 1e-9
        extent = (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])
    xs = np.linspace(extent[0], extent[1], resolution)
    ys = np.linspace(extent[2], extent[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    prob = _as_numpy(predict(grid)).astype(np.float64).reshape(gx.shape)
    ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap=_CLASS_MAP, vmin=0, vmax=1, alpha=0.55)
    if prob.min() < 0.5 < prob.max():
        ax.contour(gx, gy, prob, levels=[0.5], colors=PALETTE["black"], linewidths=1.5)
    if show_points:
        for label in np.unique(labels):
            sel = labels == label
            ax.scatter(points[sel, 0], points[sel, 1], s=point_size, marker=_MARKERS[int(label) % len(_MARKERS)],
                       color=color(int(label)), edgecolors="white", linewidths=0.4, label=f"class {label}")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    style_axes(ax, title=title or "Decision boundary (black line: P(class 1) = 0.5)", xlabel=xlabel,
               ylabel=ylabel, grid=False)
    if show_points and legend:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85, edgecolor="none")
    return ax


def training_curves(ax: Axes, series: Mapping[str, Sequence[float]], *, ylabel: str = "loss",
                    xlabel: str = "training step", logy: bool = False, title: str | None = None,
                    hline: float | None = None, hline_label: str | None = None,
                    marks: Sequence[int] = (), marks_label: str = "snapshots",
                    ylim: tuple[float, float] | None = None) -> Axes:
    """One line per named series (loss, gradient norm, accuracy ...) against the step.

    Non-finite values (a run that diverged) are left out of the line. `hline` draws a dashed reference
    level, `marks` dotted vertical lines at chosen steps; `ylim` fixes the y range (values beyond it run
    off the chart).
    """
    if not series:
        raise ValueError("training_curves needs at least one series")
    for i, (name, raw) in enumerate(series.items()):
        values = _as_numpy(raw).astype(np.float64)
        values = np.where(np.isfinite(values), values, np.nan)
        ax.plot(np.arange(len(values)), values, color=color(i), linewidth=1.4, label=name)
    if hline is not None:
        ax.axhline(hline, color=PALETTE["black"], linestyle="--", linewidth=1.0, label=hline_label)
    for j, step in enumerate(marks):
        ax.axvline(step, color=PALETTE["purple"], linestyle=":", linewidth=1.2,
                   label=marks_label if j == 0 else None)
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    style_axes(ax, title=title or f"{ylabel.capitalize()} during training", xlabel=xlabel, ylabel=ylabel,
               legend=True)
    return ax


def layer_stats(ax: Axes, stats: Mapping[str, Sequence[float]], *, ylabel: str = "std of activations",
                logy: bool = True, title: str | None = None, hline: float | None = None,
                hline_label: str | None = None) -> Axes:
    """A per-layer statistic (e.g. the activations' std) for several settings, layer 1 ... L on the x axis.

    `hline` draws a dashed reference level (e.g. 1, the scale a well-initialised network keeps).
    """
    if not stats:
        raise ValueError("layer_stats needs at least one setting")
    if hline is not None:
        ax.axhline(hline, color=PALETTE["black"], linestyle="--", linewidth=1.0, label=hline_label, zorder=1)
    for i, (name, raw) in enumerate(stats.items()):
        values = _as_numpy(raw).astype(np.float64)
        ax.plot(np.arange(1, len(values) + 1), values, color=color(i), marker=_MARKERS[i % len(_MARKERS)],
                linewidth=1.4, label=name)
    if logy:
        ax.set_yscale("log")
    deepest = max(len(v) for v in stats.values())
    # every layer gets a tick up to 12 layers; beyond that, about 10 whole-number ticks
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10) if deepest > 12 else
                               FixedLocator(list(range(1, deepest + 1))))
    ax.set_xlim(0.5, deepest + 0.5)
    style_axes(ax, title=title or f"{ylabel.capitalize()} layer by layer", xlabel="layer", ylabel=ylabel,
               legend=True)
    return ax
