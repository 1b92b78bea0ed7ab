"""Plots for optimisation on 2-D landscapes: contours, gradient fields, descent paths, surfaces, losses.

Every helper draws on the Axes it is given and returns it. Functions are torch functions
of a (..., 2) tensor (e.g. those of `coursekit.landscapes`); a `Landscape` also brings its
own window, contour scale and critical points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d import Axes3D

from coursekit.landscapes import Landscape, gradient
from coursekit.plots.style import color, style_axes

__all__ = [
    "contour",
    "critical_points",
    "function_and_derivative",
    "gradient_field",
    "grid",
    "loss_curves",
    "surface",
    "trajectories",
]

Fn = Callable[[torch.Tensor], torch.Tensor]
Limits = tuple[float, float]
_KIND_MARKERS = {"minimum": ("o", "green"), "maximum": ("^", "vermillion"), "saddle": ("X", "orange"),
                 "degenerate": ("D", "purple")}


def _window(fn: Fn | Landscape, xlim: Limits | None, ylim: Limits | None) -> tuple[Limits, Limits]:
    if isinstance(fn, Landscape):
        return xlim or fn.xlim, ylim or fn.ylim
    if xlim is None or ylim is None:
        raise ValueError("give xlim and ylim (or pass a Landscape, which knows its window)")
    return xlim, ylim


def grid(fn: Fn | Landscape, *, xlim: Limits | None = None, ylim: Limits | None = None,
         n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f on an n × n grid of the window: arrays X, Y, Z of shape (n, n)."""
    xlim, ylim = _window(fn, xlim, ylim)
    xs = torch.linspace(*xlim, n, dtype=torch.float64)
    ys = torch.linspace(*ylim, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    with torch.no_grad():
        z = fn(torch.stack([gx, gy], dim=-1))
    return gx.numpy(), gy.numpy(), z.numpy()


def contour(ax: Axes, fn: Fn | Landscape, *, xlim: Limits | None = None, ylim: Limits | None = None,
            levels: int = 20, log: bool | None = None, filled: bool = True, n: int = 121,
            title: str | None = None) -> Axes:
    """Contour lines of f (filled in light grey), on log-spaced levels for steep landscapes."""
    xlim, ylim = _window(fn, xlim, ylim)
    X, Y, Z = grid(fn, xlim=xlim, ylim=ylim, n=n)
    log = fn.log_levels if (log is None and isinstance(fn, Landscape)) else bool(log)
    if log:
        # Levels evenly spaced in log(f − min f): the deep valley gets as many lines as the steep walls.
        shifted = Z - Z.min()
        top = float(shifted.max())
        low = max(top * 1e-4, float(shifted[shifted > 0].min()) if (shifted > 0).any() else top * 1e-4)
        lv = np.geomspace(low, top, levels)
        Zp, norm = shifted + low * 1e-3, LogNorm(vmin=low, vmax=top)
    else:
        lv, Zp, norm = np.linspace(float(Z.min()), float(Z.max()), levels), Z, None
    if filled:
        ax.contourf(X, Y, Zp, levels=lv, cmap="Greys", norm=norm, alpha=0.3, extend="both")
    ax.contour(X, Y, Zp, levels=lv, colors="#777777", linewidths=0.6, norm=norm)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal", adjustable="box")
    return style_axes(ax, title=title, xlabel="x", ylabel="y", grid=False)


def gradient_field(ax: Axes, fn: Fn | Landscape, *, xlim: Limits | None = None, ylim: Limits | None = None,
                   n: int = 15, normalise: bool = True, title: str | None = None) -> Axes:
    """Arrows of ∇f on an n × n grid; all of one length when `normalise` (they show direction only)."""
    xlim, ylim = _window(fn, xlim, ylim)
    xs = torch.linspace(*xlim, n, dtype=torch.float64)
    ys = torch.linspace(*ylim, n, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    g = gradient(fn, torch.stack([gx, gy], dim=-1)).numpy()
    norm = np.linalg.norm(g, axis=-1)
    u, v = g[..., 0], g[..., 1]
    if normalise:
        safe = np.where(norm > 0, norm, 1.0)
        u, v = u / safe, v / safe
    ax.quiver(gx.numpy(), gy.numpy(), u, v, color=color("blue"), angles="xy", pivot="mid",
              scale_units="xy", scale=n / (0.8 * (xlim[1] - xlim[0])) if normalise else None, width=0.004)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    return style_axes(ax, title=title, xlabel="x", ylabel="y", grid=False)


def _finite_prefix(path: np.ndarray) -> tuple[np.ndarray, bool]:
    """The rows before the first non-finite one, and whether anything was cut off."""
    ok = np.isfinite(path).all(axis=tuple(range(1, path.ndim)))
    stop = int(np.argmin(ok)) if not ok.all() else len(path)
    return path[:stop], stop < len(path)


def _inside_prefix(path: np.ndarray, xlim: Limits, ylim: Limits) -> tuple[np.ndarray, bool]:
    """The rows up to (and including) the first one outside the window, and whether any row was cut."""
    out = (path[:, 0] < xlim[0]) | (path[:, 0] > xlim[1]) | (path[:, 1] < ylim[0]) | (path[:, 1] > ylim[1])
    if not out.any():
        return path, False
    stop = int(np.argmax(out))
    return path[: stop + 1], True


def trajectories(ax: Axes, paths: Mapping[str, np.ndarray | torch.Tensor], *,
                 colors: Sequence[str] | None = None, title: str | None = None, legend: bool = True,
                 inside: bool = False, linestyles: Sequence[str] | None = None,
                 widths: Sequence[float] | None = None) -> Axes:
    """Descent paths (arrays of shape (T, 2)) as lines with a start dot and an end star; axis limits kept.

    A path whose points turn NaN/inf is drawn up to its last finite point, labelled "diverged". With
    `inside`, a path that leaves the axes' window is drawn only up to its first point outside (so a
    divergent run cannot zig-zag across the others), labelled "leaves the plot after k steps".
    `linestyles` and `widths` (cycled) tell apart paths that run on top of one another.
    """
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    for i, (label, path) in enumerate(paths.items()):
        pts, diverged = _finite_prefix(np.asarray(torch.as_tensor(path, dtype=torch.float64)))
        left = False
        if inside:
            pts, left = _inside_prefix(pts, xlim, ylim)
        c = colors[i % len(colors)] if colors else color(i)
        if left:
            text = f"{label} (leaves the plot after {len(pts) - 1} steps)"
        elif diverged:
            text = f"{label} (diverged after {max(len(pts) - 1, 0)} steps)"
        else:
            text = label
        ls = linestyles[i % len(linestyles)] if linestyles else "-"
        lw = widths[i % len(widths)] if widths else 1.6
        ax.plot(pts[:, 0], pts[:, 1], ls=ls, color=c, lw=lw, marker=".", ms=4, label=text)
        if len(pts):
            ax.plot(*pts[0], "o", color=c, ms=7, mec="white")
            if not left:
                ax.plot(*pts[-1], "*", color=c, ms=12, mec="black", mew=0.5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    return style_axes(ax, title=title, legend=legend, grid=False)


def critical_points(ax: Axes, landscape: Landscape, *, legend: bool = True) -> Axes:
    """Mark a landscape's critical points, one marker per kind (minimum, maximum, saddle, degenerate)."""
    for kind, (marker, key) in _KIND_MARKERS.items():
        pts = landscape.points(kind)  # type: ignore[arg-type]
        if pts:
            arr = np.array(pts)
            ax.plot(arr[:, 0], arr[:, 1], marker, ls="none", color=color(key), ms=9, mec="black",
                    mew=0.6, label=kind)
    return style_axes(ax, legend=legend, grid=False)


def surface(ax: Axes, fn: Fn | Landscape, *, xlim: Limits | None = None, ylim: Limits | None = None,
            n: int = 61, zlim: Limits | None = None, title: str | None = None) -> Axes:
    """f as a 3-D surface (ax must have projection='3d'), optionally clipped to zlim."""
    if not isinstance(ax, Axes3D):
        raise ValueError("surface() needs a 3-D Axes: create it with projection='3d'")
    X, Y, Z = grid(fn, xlim=xlim, ylim=ylim, n=n)
    if zlim is not None:
        Z = np.clip(Z, *zlim)
    ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
    if zlim is not None:
        ax.set_zlim(*zlim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("f(x, y)")
    for axis in (ax.xaxis, ax.yaxis, ax.zaxis):  # few ticks: on a tilted 3-D axis dense labels overlap
        axis.set_major_locator(MaxNLocator(5, steps=[1, 2, 2.5, 5, 10]))
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def function_and_derivative(ax: Axes, x: np.ndarray | torch.Tensor, fx: np.ndarray | torch.Tensor,
                            dfx: np.ndarray | torch.Tensor, *, f_label: str = "f(x)", df_label: str = "f′(x)",
                            xlabel: str = "x", title: str | None = None) -> Axes:
    """f and its derivative on the same x axis, with the zero line: f′ = 0 where f is flat."""
    x, fx, dfx = (np.asarray(torch.as_tensor(a, dtype=torch.float64)) for a in (x, fx, dfx))
    ax.axhline(0.0, color="#999999", lw=0.8)
    ax.plot(x, fx, color=color("blue"), lw=2, label=f_label)
    ax.plot(x, dfx, color=color("orange"), lw=2, ls="--", label=df_label)
    return style_axes(ax, title=title, xlabel=xlabel, ylabel="value", legend=True)


def loss_curves(ax: Axes, curves: Mapping[str, np.ndarray | torch.Tensor | Sequence[float]], *,
                log: bool | None = None, ylabel: str = "loss", title: str | None = None,
                colors: Sequence[str] | None = None) -> Axes:
    """Loss against step for each run; log y axis when values are positive and span > 2 decades.

    A run that turns non-finite ends at its last finite value with an × and "diverged" in its label;
    the y limits are set from finite values only.
    """
    finite_values = []
    for i, (label, values) in enumerate(curves.items()):
        arr = np.asarray(torch.as_tensor(values, dtype=torch.float64)).reshape(-1)
        ok = np.isfinite(arr)
        stop = int(np.argmin(ok)) if not ok.all() else len(arr)
        c = colors[i % len(colors)] if colors else color(i)
        text = f"{label} (diverged at step {stop})" if stop < len(arr) else label
        ax.plot(np.arange(stop), arr[:stop], color=c, lw=1.8, label=text)
        if stop < len(arr) and stop > 0:
            ax.plot(stop - 1, arr[stop - 1], "x", color=c, ms=10, mew=2)
        finite_values.append(arr[:stop])
    values = np.concatenate(finite_values) if finite_values else np.array([])
    if log is None:
        log = bool(values.size and (values > 0).all() and values.max() / values.min() > 100)
    if log and values.size and (values > 0).any():
        ax.set_yscale("log")
        pos = values[values > 0]
        ax.set_ylim(pos.min() / 2, pos.max() * 2)
    elif values.size:
        lo, hi = float(values.min()), float(values.max())
        pad = 0.05 * (hi - lo) or 0.5 * max(abs(hi), 1.0)
        ax.set_ylim(lo - pad, hi + pad)
    return style_axes(ax, title=title, xlabel="step", ylabel=ylabel + (" (log scale)" if log else ""),
                      legend=True)
