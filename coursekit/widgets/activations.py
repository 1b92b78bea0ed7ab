"""The activation explorer: an activation and an input range -> the function, its derivative,
and where it saturates, shaded in both panels.

"Saturated" means a flat tail: x lies in a stretch reaching out to the end of the slider's range
(±20) on which |f'| stays below a share of the activation's peak slope. A point where f' merely
crosses zero (the dip of GELU or SiLU) is a stationary point, not saturation, and is not shaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import ipywidgets as W
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from coursekit.i18n import N_, _
from coursekit.plots.style import color, style_axes
from coursekit.widgets.base import SLIDER_STYLE, Explorer, choice_slider, new_figure

__all__ = ["ACTIVATIONS", "THRESHOLDS", "X_LIMIT", "ActivationExplorer", "Saturation", "peak_slope",
           "render_activation_explorer", "saturation"]

#: The activations the explorer offers, as elementwise torch functions.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu (slope 0.01)": lambda x: F.leaky_relu(x, 0.01),
    "elu": F.elu,
    "selu": F.selu,
    "softplus": F.softplus,
    "silu": F.silu,
    "gelu": F.gelu,
}
POINTS = 801
#: the input range slider's ends; a tail is flat when it stays flat out to one of them
X_LIMIT = 20.0
#: the shares of the peak slope the slider offers: exact round numbers, so the title repeats them
THRESHOLDS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)
_WIDE = torch.linspace(-X_LIMIT, X_LIMIT, 4001, dtype=torch.float64)  # steps of 0.01, 0 included


def _derivative(activation: str, x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    leaf = x.detach().clone().requires_grad_(True)
    f = ACTIVATIONS[activation](leaf)
    # The activation acts elementwise, so d(sum f)/dx_i = f'(x_i): one backward pass gives every derivative.
    (df,) = torch.autograd.grad(f.sum(), leaf)
    return f.detach().numpy(), df.numpy()


@cache
def _wide_slopes(activation: str) -> np.ndarray:
    return np.abs(_derivative(activation, _WIDE)[1])


def peak_slope(activation: str) -> float:
    """The largest |f'(x)| of the activation over x in [−20, 20] (sigmoid 0.25, tanh 1, ...)."""
    return float(_wide_slopes(activation).max())


@dataclass(frozen=True)
class Saturation:
    """An activation sampled on a grid: values, derivative (autograd), and its flat tails."""

    x: np.ndarray
    f: np.ndarray
    df: np.ndarray
    saturated: np.ndarray
    peak: float  # the largest |f'| over [−20, 20]
    cutoff: float  # |f'| below this (share × peak) counts as flat

    @property
    def fraction(self) -> float:
        """The share of the sampled range where the activation is saturated."""
        return float(self.saturated.mean())


def saturation(activation: str, x_range: tuple[float, float], share: float) -> Saturation:
    """Sample `activation` on x_range and mark its flat tails: |f'| < share · peak out to x = ±20."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    lo, hi = float(x_range[0]), float(x_range[1])
    if not hi > lo:
        raise ValueError(f"x_range must be increasing, got {x_range!r}")
    if not 0 < share < 1:
        raise ValueError(f"share must lie strictly between 0 and 1 (a fraction of the peak slope), got {share!r}")
    x = torch.linspace(lo, hi, POINTS, dtype=torch.float64)
    f, df = _derivative(activation, x)
    wide = _wide_slopes(activation)
    cutoff = share * float(wide.max())
    steep = np.flatnonzero(wide >= cutoff)
    wide_x = _WIDE.numpy()
    # the left tail is flat up to the first steep point of the wide grid, the right one from the last
    left_end, right_start = (wide_x[steep[0]], wide_x[steep[-1]]) if steep.size else (np.inf, -np.inf)
    xs = x.numpy()
    flat = np.abs(df) < cutoff
    return Saturation(xs, f, df, flat & ((xs < left_end) | (xs > right_start)), float(wide.max()), cutoff)


class ActivationExplorer(Explorer):
    """Pick an activation and an input range: see f, f' and where the gradient all but vanishes."""

    defaults: Mapping[str, Any] = {"activation": "sigmoid", "x_range": (-8.0, 8.0), "threshold": 0.05}
    sample_moves = (
        {"activation": "tanh"},
        {"x_range": (-3.0, 3.0)},
        {"activation": "relu", "x_range": (-8.0, 8.0)},
        {"threshold": 0.01},
        {"activation": "gelu", "threshold": 0.1},
        {"activation": "softplus", "x_range": (-12.0, 4.0)},
        {"activation": "sigmoid", "threshold": 0.05},
    )

    def controls(self) -> dict[str, W.ValueWidget]:
        return {
            "activation": W.Dropdown(options=list(ACTIVATIONS), value=self.defaults["activation"],
                                     description=_("activation"), style=SLIDER_STYLE),
            # Whole-number ends and a short readout: the range slider's text box has room for "−20 – 20".
            "x_range": W.FloatRangeSlider(value=self.defaults["x_range"], min=-X_LIMIT, max=X_LIMIT, step=1.0,
                                          description=_("input range x"), readout_format=".0f",
                                          continuous_update=False, style=SLIDER_STYLE),
            "threshold": choice_slider(THRESHOLDS, self.defaults["threshold"], N_("saturated if |f'| / peak <")),
        }

    def problem(self, params: Mapping[str, Any]) -> str | None:
        lo, hi = (float(v) for v in params["x_range"])
        if not hi > lo:
            return (f"The input range [{lo:g}, {hi:g}] is empty:\n"
                    "move the two ends of the range slider apart.")
        return None

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.0, height=3.9)
        # Fixed margins instead of constrained layout: a slider move then only redraws, with no layout pass.
        fig.set_layout_engine(None)
        self.ax_f, self.ax_d = fig.subplots(1, 2)
        # Margins with room for wide tick labels ("−0.15" on the left, half of "−19.5" on the right), and a
        # strip under the title for the legend, so it never covers a curve.
        fig.subplots_adjust(left=0.09, right=0.965, bottom=0.13, top=0.74, wspace=0.27)
        for ax in (self.ax_f, self.ax_d):
            ax.axhline(0, color="#999999", linewidth=0.8)
            ax.axvline(0, color="#999999", linewidth=0.8)
        (self.line_f,) = self.ax_f.plot([], [], color=color("blue"), linewidth=2, label="f(x)")
        (self.line_d,) = self.ax_d.plot([], [], color=color("vermillion"), linewidth=2, label="f'(x)")
        self.thr_hi = self.ax_d.axhline(0, color=color("black"), linestyle="--", linewidth=1,
                                        label="± share × peak slope")
        self.thr_lo = self.ax_d.axhline(0, color=color("black"), linestyle="--", linewidth=1)
        self.shades: list[Any] = []
        style_axes(self.ax_f, xlabel="x (pre-activation)", ylabel="f(x)")
        style_axes(self.ax_d, xlabel="x (pre-activation)", ylabel="f'(x)")
        for ax in (self.ax_f, self.ax_d):
            # Few tick labels: text is most of the cost of redrawing on every slider move.
            ax.xaxis.set_major_locator(MaxNLocator(6))
            ax.yaxis.set_major_locator(MaxNLocator(5))
        shade_key = Patch(color=color("yellow"), alpha=0.4, label="saturated: a flat tail")
        fig.legend(handles=[self.line_f, self.line_d, self.thr_hi, shade_key], frameon=False, fontsize=9,
                   loc="center", ncol=4, bbox_to_anchor=(0.5, 0.855))
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        name, share = params["activation"], float(params["threshold"])
        sat = saturation(name, params["x_range"], share)
        self.line_f.set_data(sat.x, sat.f)
        self.line_d.set_data(sat.x, sat.df)
        self.thr_hi.set_ydata([sat.cutoff, sat.cutoff])
        self.thr_lo.set_ydata([-sat.cutoff, -sat.cutoff])
        for shade in self.shades:
            shade.remove()
        self.shades = [ax.fill_between(sat.x, 0, 1, where=sat.saturated, transform=ax.get_xaxis_transform(),
                                       color=color("yellow"), alpha=0.4, linewidth=0, step="mid")
                       for ax in (self.ax_f, self.ax_d)]
        for ax, y in ((self.ax_f, sat.f), (self.ax_d, np.concatenate([sat.df, [sat.cutoff, -sat.cutoff]]))):
            ax.set_xlim(sat.x[0], sat.x[-1])
            lo, hi = float(y.min()), float(y.max())
            pad = 0.08 * (hi - lo if hi > lo else 1.0)
            ax.set_ylim(lo - pad, hi + pad)
        self.ax_f.set_title(f"{name}(x)", fontsize=11)
        self.ax_d.set_title(f"{name}'(x), peak slope {sat.peak:.3g}", fontsize=11)
        assert self.fig is not None
        self.fig.suptitle(f"{name}: flat tails, |f'| below {share:g} × its peak (shaded), cover "
                          f"{sat.fraction:.0%} of x in [{sat.x[0]:g}, {sat.x[-1]:g}]", fontsize=12)


def render_activation_explorer(**params: Any) -> Figure:
    """The activation explorer's figure for these parameters (see ActivationExplorer.defaults)."""
    return ActivationExplorer().render(**params)
