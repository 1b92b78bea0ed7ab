"""The course's shared plot style: one colour-blind-safe palette and labelled axes.

Helpers draw on an Axes they are given and never change matplotlib's global rcParams.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["PALETTE", "color", "figure", "finish", "style_axes"]

# Okabe & Ito's palette, distinguishable with the common forms of colour blindness.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
_CYCLE: tuple[str, ...] = ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")


def color(key: int | str) -> str:
    """A palette colour by name ('blue') or by position in the cycle (0, 1, ...)."""
    if isinstance(key, int):
        return PALETTE[_CYCLE[key % len(_CYCLE)]]
    try:
        return PALETTE[key]
    except KeyError:
        raise ValueError(f"Unknown colour {key!r}; choose one of {', '.join(PALETTE)}.") from None


def figure(*, ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float = 4.0,
           projection: str | None = None) -> tuple[Figure, Axes | Sequence[Axes]]:
    """A new figure with `nrows` x `ncols` axes of the given total size (inches), constrained layout."""
    if ncols < 1 or nrows < 1:
        raise ValueError("a figure needs at least one row and one column of axes")
    subplot_kw = {"projection": projection} if projection else None
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained",
                             subplot_kw=subplot_kw, squeeze=True)
    return fig, axes


def style_axes(ax: Axes, *, title: str | None = None, xlabel: str | None = None,
               ylabel: str | None = None, grid: bool = True, legend: bool = False) -> Axes:
    """Label an Axes the course's way: a title stating the claim, axis labels with units, a light grid."""
    if title is not None:
        ax.set_title(title, fontsize=11)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if grid:
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    for side in ("top", "right"):
        if side in ax.spines:
            ax.spines[side].set_visible(False)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=9)
    return ax


def finish(fig: Figure, *, title: str | None = None) -> Figure:
    """Add a figure-level title (the claim the whole figure shows) and return the figure."""
    if title:
        fig.suptitle(title, fontsize=12)
    return fig
