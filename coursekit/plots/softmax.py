"""Plot helpers of 05_softmax: probability distributions side by side, and the softmax Jacobian as a heatmap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm

from coursekit.plots.style import color, style_axes

__all__ = ["jacobian_heatmap", "probability_bars"]


def _np(values: torch.Tensor | Sequence[float] | np.ndarray) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def probability_bars(ax: Axes, distributions: Mapping[str, torch.Tensor | Sequence[float]], *,
                     labels: Sequence[str] | None = None, title: str | None = None,
                     xlabel: str = "class", annotate: bool = True) -> Axes:
    """One group of bars per class, one bar per distribution (e.g. per temperature), values written on top."""
    names = list(distributions)
    rows = [_np(distributions[n]) for n in names]
    classes = len(rows[0])
    if any(len(r) != classes for r in rows):
        raise ValueError("every distribution needs one probability per class")
    width = 0.8 / len(names)
    for j, (name, probs) in enumerate(zip(names, rows, strict=True)):
        positions = np.arange(classes) + (j - (len(names) - 1) / 2) * width
        bars = ax.bar(positions, probs, width=width, color=color(j), label=name)
        if annotate:
            ax.bar_label(bars, labels=[f"{p:.2f}" for p in probs], fontsize=8, padding=2)
    ax.set_xticks(np.arange(classes), list(labels) if labels is not None else [str(i) for i in range(classes)])
    ax.set_ylim(0, 1.1)
    return style_axes(ax, title=title, xlabel=xlabel, ylabel="probability", legend=len(names) > 1)


def jacobian_heatmap(ax: Axes, jacobian: torch.Tensor | np.ndarray, *, labels: Sequence[str] | None = None,
                     title: str | None = None) -> Axes:
    """The matrix d p_i / d z_j with a diverging colour map centred at 0 and every entry written in its cell."""
    jac = _np(jacobian)
    if jac.ndim != 2 or jac.shape[0] != jac.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {jac.shape}")
    n = jac.shape[0]
    limit = float(np.abs(jac).max()) or 1.0
    image = ax.imshow(jac, cmap="PuOr_r", norm=TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit))
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{jac[i, j]:+.3f}", ha="center", va="center", fontsize=9,
                    color="white" if abs(jac[i, j]) > 0.6 * limit else "black")
    # classes are numbered from 1, as in the formulas: rows p1..pn, columns z1..zn
    ax.set_xticks(range(n), list(labels) if labels is not None else [f"z{k + 1}" for k in range(n)])
    ax.set_yticks(range(n), list(labels) if labels is not None else [f"p{k + 1}" for k in range(n)])
    ax.figure.colorbar(image, ax=ax, shrink=0.8, label=r"$\partial p_i / \partial z_j$")
    style_axes(ax, title=title, xlabel=r"logit $z_j$ (column)", ylabel=r"probability $p_i$ (row)", grid=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return ax
