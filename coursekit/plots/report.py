"""Figures of the instructor's class report: the score distribution, exercises by outcome, the item map.

Each helper draws plain numbers (the report's data) on a given Axes and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from coursekit.i18n import N_, _
from coursekit.plots.style import color, style_axes

__all__ = ["OUTCOMES", "case_map", "exercise_outcomes", "score_histogram"]

#: the outcomes of an exercise, in the order the bars stack them, with their colours
OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("pass", N_("passed"), "green"),
    ("fail", N_("failed a case"), "orange"),
    ("error", N_("error or limit"), "vermillion"),
    ("not_attempted", N_("not attempted"), "sky"),
)


def score_histogram(ax: Axes, *, edges: Sequence[float], counts: Sequence[int], max_total: float,
                    median: float | None = None) -> Axes:
    """The totals as a histogram over [0, max_total], the maximum marked by a line (and the median dashed)."""
    edges_a = np.asarray(edges, dtype=float)
    ax.bar(edges_a[:-1], counts, width=np.diff(edges_a), align="edge", color=color("blue"),
           edgecolor="white", linewidth=0.8)
    ax.axvline(max_total, color=color("black"), linewidth=1.5,
               label=_("maximum: {points:g}").format(points=max_total))
    if median is not None:
        ax.axvline(median, color=color("vermillion"), linewidth=1.5, linestyle="--",
                   label=_("median: {points:g}").format(points=round(median, 2)))
    top = max(max_total, edges_a[-1])
    ax.set_xlim(-0.02 * top, top * 1.03)  # room on both sides: a median of 0, the maximum line
    ax.set_ylim(0, max(max(counts, default=0), 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # students come whole
    style_axes(ax, title=_("Totals of {n} students").format(n=int(sum(counts))), xlabel=_("total (points)"),
               ylabel=_("students"))
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


def exercise_outcomes(ax: Axes, *, ids: Sequence[str], counts: Sequence[dict[str, int]]) -> Axes:
    """One bar per exercise, in the order given (drawn top to bottom), split into the shares of its outcomes."""
    rows = np.arange(len(ids))
    left = np.zeros(len(ids))
    totals = np.asarray([max(sum(c.values()), 1) for c in counts], dtype=float)
    for key, _label, name in OUTCOMES:
        share = np.asarray([c.get(key, 0) for c in counts], dtype=float) / totals * 100
        ax.barh(rows, share, left=left, color=color(name), edgecolor="white", linewidth=0.8, height=0.7)
        for row, (start, width) in enumerate(zip(left, share, strict=True)):
            if width >= 7:
                ax.text(start + width / 2, row, f"{width:.0f}%", ha="center", va="center", fontsize=8,
                        color="white" if name in ("green", "vermillion") else "black")
        left += share
    ax.set_yticks(rows, list(ids))
    ax.set_ylim(len(ids) - 0.5, -0.5)  # the first (hardest) exercise on top
    ax.set_xlim(0, 100)
    style_axes(ax, xlabel=_("share of graded students (%)"), grid=False)
    ax.set_title(_("Exercises, hardest first: share of graded students by outcome"), fontsize=11, pad=24)
    ax.legend(handles=[Patch(color=color(name), label=_(label)) for _key, label, name in OUTCOMES],
              loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(OUTCOMES), frameon=False, fontsize=9)
    return ax


def case_map(ax: Axes, *, share_failed: Sequence[float], discrimination: Sequence[float],
             hidden: Sequence[bool], many: float, few: float) -> Axes:
    """Each case as a point: the share of students who failed it against its discrimination (the correlation
    of failing it with the total score); the bands where (almost) all or (almost) none fail are shaded."""
    x = np.asarray(share_failed, dtype=float) * 100
    y = np.asarray(discrimination, dtype=float)
    hide = np.asarray(hidden, dtype=bool)
    ax.axvspan(many * 100, 100, color=color("vermillion"), alpha=0.12, linewidth=0,
               label=_("almost everyone fails"))
    ax.axvspan(0, few * 100, color=color("orange"), alpha=0.15, linewidth=0, label=_("almost nobody fails"))
    ax.axhline(0, color="#888888", linewidth=0.8)
    if (~hide).any():
        ax.scatter(x[~hide], y[~hide], s=28, color=color("blue"), label=_("public case"), zorder=3)
    if hide.any():
        ax.scatter(x[hide], y[hide], s=34, marker="D", facecolor="none", edgecolor=color("purple"),
                   linewidth=1.3, label=_("hidden case"), zorder=3)
    ax.set_xlim(-2, 102)
    low = min(-0.2, float(np.nanmin(y)) - 0.1) if y.size else -1.0
    high = max(0.2, float(np.nanmax(y)) + 0.1) if y.size else 1.0
    ax.set_ylim(max(-1.05, low), min(1.05, high))
    style_axes(ax, title=_("Cases: who fails them, and whether failing goes with a low total"),
               xlabel=_("students who failed the case (%)"),
               ylabel=_("correlation of failing with the total"))
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax
