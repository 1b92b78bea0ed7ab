"""The temperature explorer: fixed logits, a temperature slider, the softmax probabilities and their entropy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure

from coursekit.i18n import _
from coursekit.plots.style import color, style_axes
from coursekit.widgets.base import SLIDER_STYLE, Explorer, new_figure

__all__ = ["TemperatureExplorer", "entropy_nats", "render_temperature_explorer", "tempered_softmax"]

DEFAULT_LOGITS: tuple[float, ...] = (2.5, 1.5, 1.0, 0.0, -1.0)
T_MIN, T_MAX = 10**-1.5, 10**1.5


def tempered_softmax(logits: Sequence[float] | torch.Tensor, temperature: float) -> np.ndarray:
    """softmax(z / T) in float64, as a NumPy array."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    z = torch.as_tensor(logits, dtype=torch.float64)
    return torch.softmax(z / temperature, dim=-1).numpy()


def entropy_nats(p: np.ndarray) -> float:
    """H(p) = -sum p log p in nats (0 log 0 counts as 0)."""
    p = np.asarray(p, dtype=np.float64)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum())


class TemperatureExplorer(Explorer):
    """Move the temperature: low T concentrates the probability on the largest logit, high T spreads it out."""

    defaults: Mapping[str, Any] = {"temperature": 1.0}
    sample_moves = ({"temperature": 0.1}, {"temperature": 0.5}, {"temperature": 2.0}, {"temperature": 10.0},
                    {"temperature": 0.05}, {"temperature": 1.0}, {"temperature": 25.0})

    def __init__(self, logits: Sequence[float] | None = None) -> None:
        super().__init__()
        self.logits = tuple(float(v) for v in (logits if logits is not None else DEFAULT_LOGITS))
        if len(self.logits) < 2:
            raise ValueError("the explorer needs at least two logits")

    def controls(self) -> dict[str, W.ValueWidget]:
        return {"temperature": W.FloatLogSlider(value=self.defaults["temperature"], base=10, min=np.log10(T_MIN),
                                                max=np.log10(T_MAX), step=0.05, description=_("temperature T"),
                                                readout_format=".2f", style=SLIDER_STYLE)}

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.0, height=3.6)
        # Fixed margins instead of constrained layout: a slider move then only redraws, with no layout pass.
        fig.set_layout_engine(None)
        self.ax_p, self.ax_h = fig.subplots(1, 2, width_ratios=(1.3, 1.0))
        fig.subplots_adjust(left=0.07, right=0.985, bottom=0.15, top=0.80, wspace=0.25)
        n = len(self.logits)
        x = np.arange(n)
        self.bars = self.ax_p.bar(x, np.zeros(n), width=0.6, color=color("blue"), label="softmax(z / T)")
        self.values = [self.ax_p.text(i, 0.0, "", ha="center", va="bottom", fontsize=8) for i in range(n)]
        self.reference = tempered_softmax(self.logits, 1.0)
        self.ax_p.plot(x, self.reference, linestyle="", marker="D", markerfacecolor="none",
                       markeredgecolor=color("black"), markersize=6, label="T = 1 (plain softmax)")
        self.ax_p.axhline(1 / n, color=color("orange"), linestyle="--", linewidth=1.2,
                          label=f"uniform 1/{n} (T → ∞)")
        self.ax_p.set_xticks(x, [f"z={v:g}" for v in self.logits])
        self.ax_p.set_ylim(0, 1.12)
        style_axes(self.ax_p, xlabel="class (its logit)", ylabel="probability", legend=True)
        self.ax_p.legend(frameon=False, fontsize=8, loc="upper right")
        temps = np.logspace(np.log10(T_MIN), np.log10(T_MAX), 200)
        self.ax_h.plot(temps, [entropy_nats(tempered_softmax(self.logits, t)) for t in temps], color=color("green"),
                       linewidth=2, label="entropy H(softmax(z / T))")
        self.ax_h.axhline(np.log(n), color=color("orange"), linestyle="--", linewidth=1.2,
                          label=f"maximum log {n} (uniform)")
        (self.marker,) = self.ax_h.plot([], [], marker="o", color=color("vermillion"), markersize=8,
                                        linestyle="", label="current T")
        self.ax_h.set_xscale("log")
        self.ax_h.set_ylim(0, np.log(n) * 1.45)
        style_axes(self.ax_h, xlabel="temperature T (log scale)", ylabel="entropy (nats)", legend=True)
        self.ax_h.legend(frameon=False, fontsize=8, loc="upper left")
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        t = float(params["temperature"])
        p = tempered_softmax(self.logits, t)
        for bar, text, value, ref in zip(self.bars, self.values, p, self.reference, strict=True):
            bar.set_height(value)
            # The value sits on its bar; only when the T = 1 diamond is close above the bar does it move over
            # the diamond, so a number is never read as the diamond's value.
            above = max(value, ref) if 0 <= ref - value < 0.12 else value
            text.set_position((bar.get_x() + bar.get_width() / 2, above + 0.03))
            text.set_text(f"{value:.2f}")
        h = entropy_nats(p)
        self.marker.set_data([t], [h])
        self.ax_p.set_title(f"T = {t:.2f}: the largest logit gets {p.max():.0%} of the probability", fontsize=11)
        self.ax_h.set_title(f"entropy {h:.2f} of at most {np.log(len(p)):.2f} nats", fontsize=11)
        assert self.fig is not None
        self.fig.suptitle("Low temperature sharpens softmax towards the largest logit, high temperature "
                          "flattens it towards uniform", fontsize=12)


def render_temperature_explorer(**params: Any) -> Figure:
    """The temperature explorer's figure for these parameters (see TemperatureExplorer.defaults)."""
    return TemperatureExplorer().render(**params)
