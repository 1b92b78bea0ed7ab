"""The initialisation explorer: init, activation, depth and scale -> the forward and backward signal per layer.

A batch of standard-normal inputs goes through `depth` bias-free layers z = h Wᵀ, h = f(z), all of
width `width`; the loss is L = Σ v ⊙ h_L with a fixed standard-normal v, so ∂L/∂h_L has std 1.
`depth_profile` returns the std of every layer's activations h_k (forward) and of the gradient
∂L/∂h_k that reaches them (backward), from seeded weights, on the CPU.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from coursekit.plots.style import color, style_axes
from coursekit.widgets.base import SLIDER_STYLE, Explorer, choice_slider, new_figure

__all__ = ["ACTIVATIONS", "INITS", "SCALES", "DepthProfile", "InitDepthExplorer", "depth_profile", "init_std",
           "render_init_depth"]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"relu": torch.relu, "tanh": torch.tanh,
                                                                  "sigmoid": torch.sigmoid}
#: init name -> how the explorer names it
INITS: dict[str, str] = {"default": "PyTorch's nn.Linear default", "xavier": "Xavier", "he": "He"}
#: multipliers of the init's standard deviation the slider offers (exact values)
SCALES: tuple[float, ...] = (0.25, 0.5, 0.7, 0.9, 1.0, 1.1, 1.4, 2.0, 4.0)


def init_std(init: str, activation: str, fan_in: int, fan_out: int) -> float:
    """The weight std of an init for a layer fan_in -> fan_out followed by `activation`.

    default: nn.Linear's kaiming_uniform_(a=√5), U(-1/√fan_in, 1/√fan_in), std 1/√(3·fan_in).
    xavier: gain·√(2/(fan_in + fan_out)), gain = calculate_gain(activation) for tanh (5/3) and sigmoid (1),
    and Glorot's own gain 1 for ReLU (with calculate_gain('relu') = √2 a square layer's Xavier is He).
    he: kaiming_normal_ in fan_in mode for ReLU, √(2/fan_in).
    """
    if init not in INITS:
        raise ValueError(f"Unknown init {init!r}; choose one of {', '.join(INITS)}.")
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}.")
    if init == "default":
        return 1.0 / math.sqrt(3.0 * fan_in)
    if init == "he":
        return math.sqrt(2.0 / fan_in)
    gain = 5.0 / 3.0 if activation == "tanh" else 1.0
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


@dataclass(frozen=True)
class DepthProfile:
    """Per-layer std of the activations (forward) and of the loss gradient with respect to them (backward)."""

    forward: np.ndarray
    backward: np.ndarray
    weight_std: float

    @staticmethod
    def factor(values: np.ndarray) -> float:
        """The geometric mean change from one layer to the next, in the order given, after the first layer.

        The first layer is left out because its input differs from the rest: standard-normal inputs
        forward, and the raw upstream gradient v (not yet through the activation's slope) backward.
        """
        v = np.asarray(values, dtype=np.float64)[1:]
        if len(v) < 2 or not np.all(v > 0):
            return float("nan")
        return float(np.exp(np.mean(np.diff(np.log(v)))))

    @property
    def forward_factor(self) -> float:
        """How the activations' std changes per layer, from layer 2 up."""
        return self.factor(self.forward)

    @property
    def backward_factor(self) -> float:
        """How the gradient's std changes per layer on its way down, from layer L - 1 to layer 1."""
        return self.factor(self.backward[::-1])


@functools.lru_cache(maxsize=64)
def depth_profile(init: str, activation: str, depth: int, *, scale: float = 1.0, width: int = 64,
                  batch: int = 256, seed: int = 0) -> DepthProfile:
    """The forward and backward std per layer of a seeded stack of `depth` layers (float64, CPU)."""
    if not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    std = scale * init_std(init, activation, width, width)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # matrices this small are faster on one thread than shared between several
    try:
        return _profile(init, activation, depth, std, width, batch, seed)
    finally:
        torch.set_num_threads(threads)


def _profile(init: str, activation: str, depth: int, std: float, width: int, batch: int, seed: int) -> DepthProfile:
    gen = torch.Generator().manual_seed(seed)
    # the input requires grad only so that autograd records the layers; the weights are constants here
    h = torch.randn(batch, width, generator=gen, dtype=torch.float64).requires_grad_()
    f = ACTIVATIONS[activation]
    outputs = []
    with torch.enable_grad():
        for _ in range(depth):
            if init == "default":  # uniform on ±√3·std, as nn.Linear draws it
                w = (torch.rand(width, width, generator=gen, dtype=torch.float64) * 2 - 1) * math.sqrt(3) * std
            else:
                w = torch.randn(width, width, generator=gen, dtype=torch.float64) * std
            h = f(h @ w.T)
            h.retain_grad()
            outputs.append(h)
        v = torch.randn(batch, width, generator=gen, dtype=torch.float64)
        (h * v).sum().backward()
    forward = np.array([o.detach().std().item() for o in outputs])
    backward = np.array([o.grad.std().item() for o in outputs if o.grad is not None])
    assert len(backward) == len(outputs), "every layer's output kept its gradient (retain_grad)"
    return DepthProfile(forward, backward, std)


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _decade(value: float, _position: object = None) -> str:
    """10⁻⁸ in plain text: mathtext tick labels would cost most of a slider move's redraw."""
    if value <= 0:
        return ""
    exponent = math.log10(value)
    if abs(exponent - round(exponent)) > 1e-9:
        return ""
    return "10" + str(round(exponent)).translate(_SUPERSCRIPT)


def _plain(value: float, _position: object = None) -> str:
    return f"{value:g}"


def _in_between(value: float, _position: object = None) -> str:
    """Minor tick labels 0.2, 0.5, 2, 5, 20 ...: the 2s and 5s of each decade."""
    if value <= 0:
        return ""
    mantissa = value / 10 ** math.floor(math.log10(value) + 1e-9)
    return f"{value:g}" if round(mantissa, 6) in (2.0, 5.0) else ""


def _factor_text(factor: float) -> str:
    return "n/a" if not math.isfinite(factor) else f"×{factor:.2f}"


class InitDepthExplorer(Explorer):
    """Pick an init, an activation, a depth and a scale: watch the signal survive, vanish or explode with depth."""

    defaults: Mapping[str, Any] = {"init": "default", "activation": "relu", "depth": 20, "scale": 1.0}
    sample_moves = ({"init": "he"}, {"activation": "tanh"}, {"init": "xavier"}, {"scale": 1.4},
                    {"activation": "sigmoid", "scale": 1.0}, {"depth": 40}, {"init": "default", "depth": 10},
                    {"activation": "relu", "scale": 0.7})

    def controls(self) -> dict[str, W.ValueWidget]:
        return {
            "init": W.Dropdown(options=[(label, key) for key, label in INITS.items()], value=self.defaults["init"],
                               description="init", style=SLIDER_STYLE),
            "activation": W.Dropdown(options=list(ACTIVATIONS), value=self.defaults["activation"],
                                     description="activation", style=SLIDER_STYLE),
            "depth": W.IntSlider(value=self.defaults["depth"], min=2, max=40, step=1, description="layers",
                                 continuous_update=False, style=SLIDER_STYLE),
            "scale": choice_slider(SCALES, self.defaults["scale"], "× the init's std"),
        }

    def build(self, params: Mapping[str, Any]) -> Figure:
        fig = new_figure(width=9.0, height=3.8)
        # Fixed margins instead of constrained layout: a slider move then only redraws, with no layout pass.
        fig.set_layout_engine(None)
        self.ax_f, self.ax_b = fig.subplots(1, 2, sharey=True)
        fig.subplots_adjust(left=0.08, right=0.985, bottom=0.14, top=0.78, wspace=0.08)
        (self.line_f,) = self.ax_f.plot([], [], marker="o", markersize=3, color=color("blue"), linewidth=1.6,
                                        label="std of h_k")
        (self.line_b,) = self.ax_b.plot([], [], marker="s", markersize=3, color=color("vermillion"), linewidth=1.6,
                                        label="std of ∂L/∂h_k")
        for ax, (xlabel, ylabel) in ((self.ax_f, ("layer k", "standard deviation (log scale)")),
                                     (self.ax_b, ("layer k", None))):
            ax.axhline(1.0, color=color("black"), linestyle="--", linewidth=1.0,
                       label="1: the input's std" if ax is self.ax_f else "1: the std of ∂L/∂h_L")
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_decade))
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            style_axes(ax, xlabel=xlabel, ylabel=ylabel)
            ax.legend(frameon=False, fontsize=8, loc="lower left" if ax is self.ax_f else "lower right")
        return fig

    def update(self, params: Mapping[str, Any]) -> None:
        init, activation, depth = str(params["init"]), str(params["activation"]), int(params["depth"])
        scale = float(params["scale"])
        profile = depth_profile(init, activation, depth, scale=scale)
        layers = np.arange(1, depth + 1)
        self.line_f.set_data(layers, profile.forward)
        self.line_b.set_data(layers, profile.backward)
        values = np.concatenate([profile.forward, profile.backward, [1.0]])
        values = values[values > 0]
        # the y range follows the data (shared by both panels), so no point is ever off the chart
        low, high = values.min() / 3, values.max() * 3
        self.ax_f.set_ylim(low, high)
        # a narrow range has few decade ticks: then write the numbers plainly and label the 2s and 5s too
        narrow = high / low < 300
        for ax in (self.ax_f, self.ax_b):
            ax.yaxis.set_major_formatter(FuncFormatter(_plain if narrow else _decade))
            ax.yaxis.set_minor_formatter(FuncFormatter(_in_between) if narrow else NullFormatter())
        for ax in (self.ax_f, self.ax_b):
            ax.set_xlim(0.5, depth + 0.5)
        self.ax_f.set_title(f"forward: std {_factor_text(profile.forward_factor)} per layer", fontsize=11)
        self.ax_b.set_title(f"backward: std {_factor_text(profile.backward_factor)} per layer, "
                            f"from layer {depth} down", fontsize=11)
        assert self.fig is not None
        self.fig.suptitle(f"{INITS[init]} init (weight std {profile.weight_std:.3g}) with {activation}, "
                          f"{depth} layers of width 64", fontsize=12)


def render_init_depth(**params: Any) -> Figure:
    """The initialisation explorer's figure for these parameters (see InitDepthExplorer.defaults)."""
    return InitDepthExplorer().render(**params)
