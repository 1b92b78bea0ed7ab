"""Plots for loss functions: losses and gradients against the residual, per-point gradients, fits,
and weights (or distances to a minimiser) against the optimisation step.

Loss curves against the step are drawn with `coursekit.plots.optimisation.loss_curves`.

Every helper draws on the Axes it is given and returns it; inputs are tensors or arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from coursekit.plots.style import color, style_axes

__all__ = ["fitted_lines", "point_gradients", "residual_curves", "step_curves"]

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]
_DASHES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D")


def _np(values: ArrayLike) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def residual_curves(ax: Axes, x: ArrayLike, curves: Mapping[str, ArrayLike], *, title: str | None = None,
                xlabel: str = "residual r = prediction − target", ylabel: str = "loss",
                logy: bool = False, ylim: tuple[float, float] | None = None) -> Axes:
    """One line per named curve over the same x (losses or their gradients), distinct colour and dash."""
    xs = _np(x)
    ax.axhline(0, color="#999999", linewidth=0.8)
    for i, (name, ys) in enumerate(curves.items()):
        ax.plot(xs, _np(ys), color=color(i), linestyle=_DASHES[i % len(_DASHES)], linewidth=2, label=name)
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    return style_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel, legend=True)


def point_gradients(ax: Axes, x: ArrayLike, gradients: Mapping[str, ArrayLike], *,
                    outliers: ArrayLike | None = None, title: str | None = None,
                    xlabel: str = "residual r = prediction − target",
                    ylabel: str = "|∂loss/∂prediction| per point") -> Axes:
    """Each data point's gradient magnitude under each loss, placed at `x` (its residual, or its input
    position when several points share a residual); outliers ringed."""
    xs = _np(x)
    for i, (name, g) in enumerate(gradients.items()):
        if len(_np(g)) != len(xs):
            raise ValueError(f"{name!r} has {len(_np(g))} gradients for {len(xs)} points")
        # Filled first series, hollow markers of other shapes after it, so coinciding points stay visible.
        face = color(i) if i == 0 else "none"
        ax.scatter(xs, np.abs(_np(g)), s=26 + 14 * i, marker=_MARKERS[i % len(_MARKERS)], facecolors=face,
                   edgecolors=color(i), linewidths=1.3, label=name, zorder=2 + i)
    if outliers is not None:
        # A black ring around each outlier's point in every series, so its gradient under each loss reads off.
        mask = _np(outliers).astype(bool)
        ring_y = np.concatenate([np.abs(_np(g))[mask] for g in gradients.values()])
        ax.scatter(np.tile(xs[mask], len(gradients)), ring_y, marker="o", s=150, facecolors="none",
                   edgecolors=color("black"), linewidths=1.2, label="outlier (ringed)", zorder=2 + len(gradients))
    return style_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel, legend=True)


def fitted_lines(ax: Axes, x: ArrayLike, y: ArrayLike, fits: Mapping[str, tuple[float, float]], *,
                 outliers: ArrayLike | None = None, title: str | None = None, xlabel: str = "x",
                 ylabel: str = "y") -> Axes:
    """Scatter the data (outliers marked) and draw each fitted line y = slope * x + intercept."""
    xs, ys = _np(x), _np(y)
    mask = _np(outliers).astype(bool) if outliers is not None else np.zeros(len(xs), dtype=bool)
    ax.scatter(xs[~mask], ys[~mask], s=16, color="#777777", label="data", zorder=2)
    if mask.any():
        ax.scatter(xs[mask], ys[mask], s=60, marker="X", color=color("black"), label="outliers", zorder=3)
    line_x = np.linspace(xs.min(), xs.max(), 2)
    for i, (name, (slope, intercept)) in enumerate(fits.items()):
        ax.plot(line_x, slope * line_x + intercept, color=color(i), linestyle=_DASHES[i % len(_DASHES)],
                linewidth=2.2, label=f"{name}: y = {slope:.2f}x {'+' if intercept >= 0 else '−'} {abs(intercept):.2f}")
    return style_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel, legend=True)


def step_curves(ax: Axes, curves: Mapping[str, ArrayLike], *, steps: ArrayLike | None = None,
                colors: Sequence[str] | None = None, linestyles: Sequence[str] | None = None,
                levels: Mapping[str, float | Sequence[float]] | None = None,
                level_colors: Sequence[str] | None = None, logx: bool = False, logy: bool = False,
                title: str | None = None, xlabel: str = "step", ylabel: str = "weight value") -> Axes:
    """Values against the optimisation step, one line per named curve (weights, or distances to a minimiser).

    `steps` gives the x values (default 0, 1, ...; they must be positive for `logx`); `levels` draws each
    named reference value (a minimiser, a bound; several values for ± pairs) as a thin dotted line.
    """
    if not curves:
        raise ValueError("step_curves needs at least one curve")
    first = _np(next(iter(curves.values())))
    xs = np.arange(len(first), dtype=np.float64) if steps is None else _np(steps)
    if logx and (xs <= 0).any():
        raise ValueError("a log step axis needs positive steps; pass steps starting at 1")
    for i, (name, values) in enumerate(curves.items()):
        ys = _np(values)
        if ys.shape != xs.shape:
            raise ValueError(f"{name!r} has {ys.size} values for {xs.size} steps")
        ax.plot(xs, ys, color=colors[i % len(colors)] if colors else color(i),
                linestyle=linestyles[i % len(linestyles)] if linestyles else "-", linewidth=1.8, label=name)
    for k, (name, value) in enumerate((levels or {}).items()):
        ys = np.atleast_1d(np.asarray(value, dtype=np.float64))
        shade = level_colors[k % len(level_colors)] if level_colors else "#666666"
        for j, level in enumerate(ys):
            ax.axhline(level, color=shade, linestyle=":", linewidth=1.4, label=name if j == 0 else None, zorder=1)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlim(xs.min(), xs.max())
    return style_axes(ax, title=title, xlabel=xlabel, ylabel=ylabel, legend=True)
