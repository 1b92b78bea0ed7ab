"""The explorer pattern: a pure render(params) -> Figure, and a widget that updates it in place.

An explorer builds its figure and artists once (`build`), then each slider move only
changes artist data (`update`) and re-encodes the PNG shown in an ipywidgets Image.
Tests call `render(...)` directly; notebooks display `widget()`.
"""

from __future__ import annotations

import io
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import ipywidgets as W
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["SLIDER_STYLE", "Explorer", "choice_slider", "new_figure"]

#: controls show their whole description instead of cutting it to a fixed width
SLIDER_STYLE = {"description_width": "initial"}


def new_figure(*, width: float = 9.0, height: float = 3.8) -> Figure:
    """A figure that is not registered with pyplot (so it never shows twice), constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def choice_slider(values: tuple[float, ...], value: float, description: str) -> W.SelectionSlider:
    """A slider that offers exactly `values`, shown as written (%g), so a chosen value is never rounded."""
    return W.SelectionSlider(options=[(f"{v:g}", v) for v in values], value=value, description=description,
                             continuous_update=False, style=SLIDER_STYLE)


class Explorer(ABC):
    """Base class of every explorer; subclasses define defaults, controls, build and update."""

    #: parameter name -> default value
    defaults: Mapping[str, Any] = {}
    #: parameter overrides a learner might try one after another; the latency benchmark
    #: and the tests replay them as slider moves
    sample_moves: tuple[Mapping[str, Any], ...] = ()
    dpi: int = 80

    def __init__(self) -> None:
        self.fig: Figure | None = None
        self.last_update_s: float = 0.0

    # --- to implement -------------------------------------------------------------------
    @abstractmethod
    def controls(self) -> dict[str, W.ValueWidget]:
        """One widget per parameter, keyed by parameter name, each starting at its default."""

    @abstractmethod
    def build(self, params: Mapping[str, Any]) -> Figure:
        """Create the figure and keep handles to the artists `update` will change."""

    @abstractmethod
    def update(self, params: Mapping[str, Any]) -> None:
        """Change the artists (data, titles, limits) to show `params`; no new figure."""

    # --- provided -----------------------------------------------------------------------
    def params(self, **overrides: Any) -> dict[str, Any]:
        """The defaults with `overrides` applied; unknown names are an error that lists the known ones."""
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no parameter(s) {sorted(unknown)}; "
                            f"known: {sorted(self.defaults)}")
        return {**self.defaults, **overrides}

    def render(self, **overrides: Any) -> Figure:
        """A fresh figure for these parameters (pure: the same parameters give the same picture)."""
        params = self.params(**overrides)
        self.fig = self.build(params)
        self.update(params)
        return self.fig

    def set(self, **overrides: Any) -> Figure:
        """Move to new parameters reusing the current figure (what a slider move does)."""
        params = self.params(**overrides)
        if self.fig is None:
            return self.render(**params)
        self.update(params)
        return self.fig

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        assert self.fig is not None, "render() first"
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()

    def widget(self) -> W.Widget:
        """Sliders and the figure; moving a slider updates the figure in place."""
        controls = self.controls()
        self.render(**{k: c.value for k, c in controls.items()})
        image = W.Image(value=self.png(), format="png", layout=W.Layout(max_width="100%"))
        image.add_class("coursekit-explorer-figure")

        def on_change(_change: Any) -> None:
            start = time.perf_counter()
            self.set(**{k: c.value for k, c in controls.items()})
            image.value = self.png()
            self.last_update_s = time.perf_counter() - start

        for control in controls.values():
            control.observe(on_change, names="value")
        box = W.VBox([W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")), image])
        box.add_class("coursekit-explorer")
        return box
