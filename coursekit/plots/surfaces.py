"""Plots for real networks' loss surfaces and Hessian spectra: slices along random directions,
eigenvalues sorted, and the index of critical points against their loss.

Every helper draws on the Axes it is given and returns it; inputs are tensors or arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from coursekit.plots.style import color, style_axes

__all__ = ["eigenvalue_spectrum", "index_vs_loss", "slice_contours", "slice_lines"]

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]


def _np(values: ArrayLike) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().to(torch.float64).numpy()
    return np.asarray(values, dtype=np.float64)


def slice_lines(ax: Axes, alphas: ArrayLike, curves: Mapping[str, ArrayLike], *, title: str | None = None,
                colors: Sequence[str] | None = None) -> Axes:
    """Loss along 1-D slices θ + α·d: `curves` maps a label to an array (directions, len(alphas)); one
    colour per label, one thin line per direction, on a log axis."""
    a = _np(alphas)
    for i, (label, values) in enumerate(curves.items()):
        lines = np.atleast_2d(_np(values))
        c = colors[i % len(colors)] if colors else color(i)
        for j, line in enumerate(lines):
            ax.plot(a, line, color=c, lw=1.4, alpha=0.85, label=label if j == 0 else None)
    ax.set_yscale("log")
    ax.set_xlim(a[0], a[-1])
    ax.axvline(0.0, color="#999999", lw=0.8)
    return style_axes(ax, title=title, xlabel="α (step along a filter-normalised direction)",
                      ylabel="training loss (log scale)", legend=True)


def slice_contours(ax: Axes, alphas: ArrayLike, losses: ArrayLike, *, levels: Sequence[float],
                   minima: ArrayLike | None = None, title: str | None = None, colorbar: bool = False) -> Axes:
    """A 2-D slice θ + α·d₁ + β·d₂ of the loss (rows β, columns α) as contours on a log scale, the trained
    point (α = β = 0) as a star and, if given, a mask of the slice's local minima as dots."""
    a, z = _np(alphas), _np(losses)
    lv = np.asarray(levels, dtype=np.float64)
    norm = LogNorm(vmin=lv[0], vmax=lv[-1])
    filled = ax.contourf(a, a, np.clip(z, lv[0], lv[-1]), levels=lv, cmap="viridis", norm=norm)
    ax.contour(a, a, np.clip(z, lv[0], lv[-1]), levels=lv, colors="white", linewidths=0.4, norm=norm)
    if minima is not None:
        mask = _np(minima).astype(bool)
        centre = int(np.argmin(np.abs(a)))
        gy, gx = np.nonzero(mask)
        note = ", the trained point among them" if mask[centre, centre] else ""
        ax.plot(a[gx], a[gy], "o", ms=5, color=color("orange"), mec="black", mew=0.5, ls="none",
                label=f"local minima of the slice ({int(mask.sum())}{note})")
    ax.plot(0, 0, "*", ms=13, color="white", mec="black", mew=0.8, ls="none", label="trained weights")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", fontsize=8, framealpha=0.9)
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, label="training loss (log scale)", shrink=0.85)
    return style_axes(ax, title=title, xlabel="α (direction d₁)", ylabel="β (direction d₂)", grid=False)


def eigenvalue_spectrum(ax: Axes, eigenvalues: Mapping[str, ArrayLike], *, title: str | None = None,
                        linthresh: float = 1e-3, colors: Sequence[str] | None = None) -> Axes:
    """Each Hessian's eigenvalues in ascending order against their rank, on a symmetric log axis (linear
    within ±linthresh), with the negative half shaded: the points below 0 are the directions of descent."""
    for i, (label, values) in enumerate(eigenvalues.items()):
        ev = np.sort(_np(values))
        c = colors[i % len(colors)] if colors else color(i)
        ax.plot(np.arange(1, len(ev) + 1), ev, "o-", ms=4, lw=1, color=c, label=label)
    ax.set_yscale("symlog", linthresh=linthresh)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.axhspan(ax.get_ylim()[0], 0.0, color=color("vermillion"), alpha=0.08, lw=0)
    return style_axes(ax, title=title, xlabel="eigenvalue rank (ascending)",
                      ylabel=f"Hessian eigenvalue (symlog, linear within ±{linthresh:g})", legend=True)


def index_vs_loss(ax: Axes, losses: ArrayLike, indices: ArrayLike, *, title: str | None = None) -> Axes:
    """Critical points as dots: their loss against their index (the number of negative Hessian
    eigenvalues); index 0 (the minima) in green, saddles in orange."""
    loss, index = _np(losses), _np(indices)
    saddle = index > 0
    ax.plot(index[saddle], loss[saddle], "o", ms=7, color=color("orange"), mec="black", mew=0.5, ls="none",
            label=f"saddles ({int(saddle.sum())})")
    ax.plot(index[~saddle], loss[~saddle], "o", ms=9, color=color("green"), mec="black", mew=0.8, ls="none",
            label=f"minima ({int((~saddle).sum())})")
    return style_axes(ax, title=title, xlabel="index: number of negative Hessian eigenvalues",
                      ylabel="loss at the critical point", legend=True)
