"""Plots for activation functions: a function-and-derivative gallery, gradients and activations per layer.

Every helper draws on the Axes it is given and returns it; inputs are tensors or arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from coursekit.plots.optimisation import function_and_derivative
from coursekit.plots.style import color, style_axes

__all__ = ["activation_gallery", "decision_regions", "gradient_norms_by_layer", "grouped_bars",
           "layer_histograms"]

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def _np(values: ArrayLike) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def _jumps(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Indices i where a sampled function jumps between x[i] and x[i + 1] (a step, not a steep slope)."""
    steps = np.abs(np.diff(values))
    span = float(values.max() - values.min()) or 1.0
    typical = float(np.median(steps)) if steps.size else 0.0
    return np.flatnonzero((steps > 0.05 * span) & (steps > 10 * typical))


def activation_gallery(axes: Sequence[Axes], x: torch.Tensor,
                       pairs: Mapping[str, tuple[Callable[[torch.Tensor], torch.Tensor],
                                                 Callable[[torch.Tensor], torch.Tensor]]]) -> Sequence[Axes]:
    """One Axes per name -> (f, f'): the function and its derivative side by side on the same x axis.

    Where f' jumps (a kink of f, e.g. ReLU at 0) the dashed curve is broken instead of joined by a vertical
    line; when the grid holds the kink x = 0 exactly, a filled dot marks the value f' returns there (the
    convention, e.g. ReLU'(0) = 0) and an open circle the other one-sided limit.
    """
    flat = list(np.ravel(np.asarray(axes, dtype=object)))
    if len(flat) < len(pairs):
        raise ValueError(f"need {len(pairs)} axes for {len(pairs)} functions, got {len(flat)}")
    xs = _np(x)
    for ax, (name, (f, df)) in zip(flat, pairs.items(), strict=False):
        fx, dfx = _np(f(x)), _np(df(x))
        cuts = _jumps(xs, dfx)
        # NaN between the two sides of each jump: the line stops instead of drawing the jump
        x_line = np.insert(xs, cuts + 1, np.nan)
        df_line = np.insert(dfx, cuts + 1, np.nan)
        function_and_derivative(ax, xs, fx, np.full_like(fx, np.nan), f_label=name, df_label=f"{name}′",
                                title=name)
        ax.lines[-1].set_data(x_line, df_line)
        for i in cuts:
            # the kink is a grid point only when one side of the jump is exactly where f' switches branch;
            # for the course's activations that is x = 0, so it is marked when the grid holds 0 exactly
            at = next((j for j in (i, i + 1) if xs[j] == 0), None)
            if at is None:
                continue
            other = i + 1 if at == i else i
            ax.plot(xs[at], dfx[at], "o", ms=5, color=color("orange"), mec="black", mew=0.6, zorder=5,
                    label=f"{name}′(0) = {dfx[at]:.3g} as computed")
            ax.plot(xs[at], dfx[other], "o", ms=5, mfc="white", mec=color("orange"), mew=1.2, zorder=5)
        ax.relim()
        ax.autoscale_view()
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    for ax in flat[len(pairs):]:
        ax.set_visible(False)
    return axes


def gradient_norms_by_layer(ax: Axes, norms: Mapping[str, Sequence[float]], *, title: str | None = None,
                            ylabel: str = "‖∂L/∂W‖ (Frobenius norm)") -> Axes:
    """One line per activation: the gradient norm of each layer's weights, layer 1 = the input side."""
    for i, (name, values) in enumerate(norms.items()):
        layers = np.arange(1, len(values) + 1)
        ax.semilogy(layers, _np(values), marker="o", markersize=3.5, color=color(i), label=name, linewidth=1.8)
    ax.set_xticks(np.arange(1, max(len(v) for v in norms.values()) + 1, 2))
    return style_axes(ax, title=title, xlabel="layer (1 = next to the input)", ylabel=ylabel + " (log scale)",
                      legend=True)


def layer_histograms(ax: Axes, activations: Sequence[ArrayLike], *, layers: Sequence[int] | None = None,
                     bins: int = 60, value_range: tuple[float, float] | None = None,
                     title: str | None = None, xlabel: str = "activation value") -> Axes:
    """Density histograms of the activations of the chosen layers (1-based), one outline per layer."""
    chosen = list(layers) if layers is not None else list(range(1, len(activations) + 1))
    data = [_np(activations[k - 1]).ravel() for k in chosen]
    if value_range is None:
        lo, hi = min(float(d.min()) for d in data), max(float(d.max()) for d in data)
        value_range = (lo, hi if hi > lo else lo + 1.0)
    for i, (k, d) in enumerate(zip(chosen, data, strict=True)):
        ax.hist(d, bins=bins, range=value_range, density=True, histtype="step", linewidth=1.6,
                color=color(i), label=f"layer {k} (std {d.std():.2f})")
    return style_axes(ax, title=title, xlabel=xlabel, ylabel="density", legend=True)


def grouped_bars(ax: Axes, values: Mapping[str, Sequence[float]], *, series: Sequence[str],
                 title: str | None = None, ylabel: str | None = None, percent: bool = True) -> Axes:
    """Bars grouped by key (e.g. activation), one bar per series (e.g. before/after), values labelled."""
    keys = list(values)
    width = 0.8 / len(series)
    for j, name in enumerate(series):
        heights = np.array([_np(values[k])[j] for k in keys])
        positions = np.arange(len(keys)) + (j - (len(series) - 1) / 2) * width
        bars = ax.bar(positions, heights * (100 if percent else 1), width=width, color=color(j), label=name)
        ax.bar_label(bars, labels=[f"{h:.0%}" if percent else f"{h:.3g}" for h in heights], fontsize=8,
                     padding=2)
    ax.set_xticks(np.arange(len(keys)), keys)
    ax.margins(y=0.15)
    return style_axes(ax, title=title, ylabel=ylabel, legend=True)


def decision_regions(ax: Axes, predict: Callable[[torch.Tensor], torch.Tensor], points: torch.Tensor,
                     labels: torch.Tensor, *, title: str | None = None, resolution: int = 200,
                     margin: float = 0.5) -> Axes:
    """Shade where `predict` (points -> 0/1) says class 1, and scatter the labelled points on top."""
    pts, lab = _np(points), _np(labels)
    lo, hi = pts.min(axis=0) - margin, pts.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = torch.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1), dtype=points.dtype)
    with torch.no_grad():
        z = _np(predict(grid)).reshape(gx.shape)
    ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=[color("sky"), color("orange")], alpha=0.35)
    for cls, marker in ((0, "o"), (1, "s")):
        sel = lab == cls
        ax.scatter(pts[sel, 0], pts[sel, 1], s=90, marker=marker, color=color("blue" if cls == 0 else "vermillion"),
                   edgecolor="black", label=f"class {cls}", zorder=3)
    ax.set_aspect("equal")
    return style_axes(ax, title=title, xlabel="x₁", ylabel="x₂", legend=True)
