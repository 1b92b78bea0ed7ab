"""The convergence phase diagram: where momentum descent converges, oscillates, is too slow or diverges
over a grid of (learning rate, β), with one chosen run's loss beside it."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullLocator

from coursekit import landscapes, quadratics
from coursekit.i18n import _
from coursekit.plots.style import color, style_axes
from coursekit.widgets.base import SLIDER_STYLE, Explorer, new_figure
from coursekit.widgets.optimisation import (
    MOMENTUM_SETUPS,
    describe_run,
    diverged_text,
    loss_gap,
    lr_slider,
    lr_values,
    run,
    set_loss_axes,
)

__all__ = ["PHASES", "PhaseDiagramExplorer", "phase_grid", "render_phase_diagram"]

#: the four outcomes of a descent run, in the phase diagram's colour order
PHASES = ("converges", "oscillates", "too slow", "diverges")
_PHASE_COLORS = ("green", "orange", "sky", "vermillion")


def phase_grid(name: str, *, steps: int, n_lr: int = 48, n_beta: int = 30,
               tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outcome of momentum descent for every (lr, β) of a grid: lr edges, β edges and phase indices.

    Phase indices follow PHASES: 0 converges (f − min f below tol · its start value), 3 diverges
    (non-finite or above its start value at the end), 1 oscillates (bounded, the loss rose by more than
    a millionth of itself at some step), 2 too slow (the loss only fell, but not far enough).
    """
    lsc = landscapes.landscape(name)
    start, (lr_lo, lr_hi) = MOMENTUM_SETUPS[name]
    lr_edges = np.geomspace(lr_lo, lr_hi, n_lr + 1)
    beta_edges = np.linspace(0.0, 0.99, n_beta + 1)
    lr_mid = np.sqrt(lr_edges[:-1] * lr_edges[1:])
    beta_mid = 0.5 * (beta_edges[:-1] + beta_edges[1:])
    lr_t, beta_t = torch.meshgrid(torch.tensor(lr_mid), torch.tensor(beta_mid), indexing="xy")
    x0 = torch.tensor(start, dtype=torch.float64).expand(*lr_t.shape, 2)
    path = landscapes.descend(lsc, x0, lr=lr_t, beta=beta_t, steps=steps)
    with torch.no_grad():
        gap = loss_gap(lsc, lsc(path)).numpy()  # (steps + 1, n_beta, n_lr)
    finite = np.isfinite(gap).all(0)
    with np.errstate(invalid="ignore"):
        went_up = (np.diff(gap, axis=0) > 1e-6 * gap[:-1]).any(0)
        phase = np.where(went_up, 1, 2)
        phase = np.where(gap[-1] < tol * gap[0], 0, phase)
        phase = np.where(~finite | (gap[-1] > gap[0]), 3, phase)
    return lr_edges, beta_edges, phase


@lru_cache(maxsize=16)
def _cached_phase_grid(name: str, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return phase_grid(name, steps=steps)


class PhaseDiagramExplorer(Explorer):
    """Where momentum descent converges, oscillates or diverges over (lr, β), and one chosen run."""

    defaults: Mapping[str, Any] = {"function": "elongated", "steps": 100, "lr": 0.1, "beta": 0.5}
    sample_moves = (
        {"lr": 0.3}, {"beta": 0.9}, {"lr": 0.5}, {"lr": 0.02, "beta": 0.2}, {"steps": 200},
        {"function": "rosenbrock", "lr": 1e-3, "beta": 0.9, "steps": 100}, {"lr": 3e-3}, {"beta": 0.5},
        {"function": "elongated", "lr": 0.1, "beta": 0.5},
    )

    def controls(self) -> dict[str, W.ValueWidget]:
        d = self.defaults
        return {
            "function": W.Dropdown(options=list(MOMENTUM_SETUPS), value=d["function"], description="f",
                                   style=SLIDER_STYLE),
            "steps": W.IntSlider(value=d["steps"], min=20, max=300, step=20, description=_("steps"),
                                 continuous_update=False, style=SLIDER_STYLE),
            "lr": lr_slider(d["lr"], lr_values(1e-5, 1.0)),
            "beta": W.FloatSlider(value=d["beta"], min=0.0, max=0.99, step=0.01, description=_("momentum β"),
                                  continuous_update=False, style=SLIDER_STYLE),
        }

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.5, height=4.6)
        fig.set_layout_engine(None)
        self.ax_p, self.ax_l = fig.subplots(1, 2)
        # the legend sits in a strip under the title, outside the diagram, so it hides no region boundary
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.11, top=0.71, wspace=0.25)
        self.cmap = ListedColormap([color(k) for k in _PHASE_COLORS])
        self.mesh: Any = None
        self.key: tuple[str, int] | None = None
        (self.bound,) = self.ax_p.plot([], [], "--", color="black", lw=1.4, label="lr = 2(1 + β)/L")
        (self.best,) = self.ax_p.plot([], [], "*", ms=15, color=color("yellow"), mec="black", mew=1.2,
                                      label="best (lr, β)", zorder=6)
        (self.marker,) = self.ax_p.plot([], [], "o", ms=10, mfc="white", mec="black", mew=2,
                                        label="chosen run", clip_on=False, zorder=5)
        words = ("converges: gap < 1e-6 × start", "oscillates: bounded, loss rose",
                 "too slow: loss only fell", "diverges")
        handles = [Patch(color=color(k), label=w) for k, w in zip(_PHASE_COLORS, words, strict=True)]
        self.legend = fig.legend(handles=[*handles, self.bound, self.best, self.marker], frameon=False,
                                 fontsize=8, ncol=4, loc="center", bbox_to_anchor=(0.5, 0.82))
        self.ax_p.set_xscale("log")
        self.ax_p.xaxis.set_minor_locator(NullLocator())
        style_axes(self.ax_p, xlabel="learning rate (log scale)", ylabel="momentum β", grid=False)
        (self.loss_line,) = self.ax_l.plot([], [], color=color("blue"), lw=1.8)
        self.text = diverged_text(self.ax_l)
        style_axes(self.ax_l, xlabel="step", ylabel="f − min f (log scale)")
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        name, steps = params["function"], int(params["steps"])
        lr, beta = float(params["lr"]), float(params["beta"])
        lsc = landscapes.landscape(name)
        lr_edges, beta_edges, phase = _cached_phase_grid(name, steps)
        if self.key != (name, steps):
            if self.mesh is not None:
                self.mesh.remove()
            self.mesh = self.ax_p.pcolormesh(lr_edges, beta_edges, phase, cmap=self.cmap, vmin=-0.5, vmax=3.5)
            self.ax_p.set_xlim(lr_edges[0], lr_edges[-1])
            self.ax_p.set_ylim(beta_edges[0], beta_edges[-1])
            bound_text, best_text = self.legend.get_texts()[len(PHASES): len(PHASES) + 2]
            if name == "elongated":  # the quadratic's exact stability bound, L = κ = 10
                b = np.linspace(0.0, 0.99, 50)
                kappa = landscapes.ELONGATED_KAPPA
                self.bound.set_data(2 * (1 + b) / kappa, b)
                bound_text.set_text("lr = 2(1 + β)/L")
                best = quadratics.best_momentum(1.0, kappa)
                self.best.set_data([best.lr], [best.beta])
                best_text.set_text(f"fastest: lr = {best.lr:.3f}, β = {best.beta:.3f}")
            else:
                self.bound.set_data([], [])
                self.best.set_data([], [])
                bound_text.set_text("no bound line: not a quadratic")
                best_text.set_text("no closed-form best (lr, β)")
            self.key = (name, steps)
        self.marker.set_data([np.clip(lr, lr_edges[0], lr_edges[-1])], [beta])
        result = run(name, MOMENTUM_SETUPS[name][0], lr=lr, beta=beta, steps=steps)
        loss = result.finite_loss
        self.loss_line.set_data(np.arange(len(loss)), loss)
        diverged = result.diverged(gap=True)
        self.text.set_text(result.divergence_words() if diverged else "")
        self.text.set_visible(diverged)
        set_loss_axes(self.ax_l, {"run": result}, log=True)
        self.ax_p.set_title(f"outcome after {steps} steps on {lsc.formula}", fontsize=10, y=1.0)
        self.ax_l.set_title(f"lr = {lr:.3g}, β = {beta:.2f}: {describe_run(result, lsc)}", fontsize=9, y=1.0)
        shares = {p: float((phase == i).mean()) for i, p in enumerate(PHASES)}
        assert self.fig is not None
        self.fig.suptitle("Momentum descent " + ", ".join(f"{p} on {s:.0%}" for p, s in shares.items())
                          + " of the (lr, β) grid", fontsize=11)


def render_phase_diagram(**params: Any) -> Figure:
    """The phase diagram explorer's figure (see PhaseDiagramExplorer.defaults)."""
    return PhaseDiagramExplorer().render(**params)
