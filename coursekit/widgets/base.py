"""The explorer pattern: a pure render(params) -> Figure, and a widget that updates it in place.

An explorer builds its figure and artists once (`build`), then each slider move only
changes artist data (`update`) and re-encodes the PNG shown in an ipywidgets Image.
Tests call `render(...)` directly; notebooks display `widget()`.

Two promises every explorer keeps:

- it never freezes silently: a parameter combination the figure cannot show is named in the
  figure (`problem`), and an error raised while updating appears in the explorer's own
  message line, with the figure left at the last setting that worked;
- a stored notebook shows a picture, not widget text: the widget's display carries a static
  PNG of its first figure, captioned "run this cell for the interactive version". JupyterLab
  renders widget views only in trusted notebooks with a live kernel; a freshly opened
  notebook, a site built from stored outputs and a terminal pick that PNG (or its caption as
  text/plain) instead.
"""

from __future__ import annotations

import base64
import html
import io
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import ipywidgets as W
import matplotlib.image as mpimg
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from coursekit.i18n import N_, _

__all__ = ["FALLBACK_NOTE", "SLIDER_STYLE", "Explorer", "ExplorerView", "captioned_png", "choice_slider", "new_figure"]

#: controls show their whole description instead of cutting it to a fixed width
SLIDER_STYLE = {"description_width": "initial"}
#: the caption of the static picture a stored notebook shows in place of the live explorer
FALLBACK_NOTE = N_("A static picture of this explorer: run this cell for the interactive version.")
_CAPTION_INCHES = 0.32


def new_figure(*, width: float = 9.0, height: float = 3.8) -> Figure:
    """A figure that is not registered with pyplot (so it never shows twice), constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def choice_slider(values: tuple[float, ...], value: float, description: str) -> W.SelectionSlider:
    """A slider that offers exactly `values`, shown as written (%g), so a chosen value is never rounded."""
    return W.SelectionSlider(options=[(f"{v:g}", v) for v in values], value=value, description=_(description),
                             continuous_update=False, style=SLIDER_STYLE)


def captioned_png(png: bytes, caption: str, *, dpi: int) -> bytes:
    """`png` with a strip below it holding `caption`, at the same pixel scale."""
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    height, width = pixels.shape[:2]
    strip = int(round(_CAPTION_INCHES * dpi))
    fig = Figure(figsize=(width / dpi, (height + strip) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.figimage(pixels, xo=0, yo=strip, origin="upper")
    fig.text(0.5, 0.5 * strip / (height + strip), caption, ha="center", va="center", fontsize=11,
             style="italic", color="#333333")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


class ExplorerView(W.VBox):
    """The widget of an explorer: controls, figure and message line; its display carries a static fallback."""

    def __init__(self, children: list[W.Widget], *, fallback_png: bytes, **kwargs: Any) -> None:
        super().__init__(children, **kwargs)
        self.fallback_png = fallback_png

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        # The widget view first (a live frontend renders it), then what everything else renders:
        # the first figure as a PNG, and the caption instead of the VBox(children=...) repr.
        bundle = dict(super()._repr_mimebundle_(**kwargs) or {})
        bundle["image/png"] = base64.b64encode(self.fallback_png).decode("ascii")
        bundle["text/plain"] = _(FALLBACK_NOTE)
        return bundle


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
        self.last_error: str = ""
        self._notice: Any = None

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

    def problem(self, params: Mapping[str, Any]) -> str | None:
        """Why these parameters cannot be drawn (shown in the figure instead), or None when they can."""
        return None

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
        self._notice = None
        self._show(params)
        return self.fig

    def set(self, **overrides: Any) -> Figure:
        """Move to new parameters reusing the current figure (what a slider move does)."""
        params = self.params(**overrides)
        if self.fig is None:
            return self.render(**params)
        self._show(params)
        return self.fig

    @property
    def notice(self) -> str:
        """The message the figure shows in place of a picture it cannot draw ('' when none)."""
        return self._notice.get_text() if self._notice is not None and self._notice.get_visible() else ""

    def _show(self, params: Mapping[str, Any]) -> None:
        assert self.fig is not None
        why = self.problem(params)
        if why is None:
            self.update(params)
            if self._notice is not None:
                self._notice.set_visible(False)
            return
        if self._notice is None:
            self._notice = self.fig.text(0.5, 0.5, "", ha="center", va="center", fontsize=13, wrap=True,
                                         zorder=20, color="#7a2e00",
                                         bbox={"boxstyle": "round,pad=0.8", "facecolor": "white",
                                               "edgecolor": "#D55E00", "alpha": 0.95})
        self._notice.set_text(why)
        self._notice.set_visible(True)

    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        assert self.fig is not None, "render() first"
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()

    def widget(self) -> ExplorerView:
        """Sliders, the figure and a message line; moving a slider updates the figure in place."""
        controls = self.controls()
        self.render(**{k: c.value for k, c in controls.items()})
        first = self.png()
        image = W.Image(value=first, format="png", layout=W.Layout(max_width="100%"))
        image.add_class("coursekit-explorer-figure")
        message = W.HTML(value="", layout=W.Layout(display="none"))
        message.add_class("coursekit-explorer-message")

        def on_change(_change: Any) -> None:
            start = time.perf_counter()
            try:
                self.set(**{k: c.value for k, c in controls.items()})
                png = self.png()
            except Exception as exc:  # noqa: BLE001 - shown in the explorer, never lost in a callback
                self.last_error = f"{type(exc).__name__}: {exc}"
                message.value = _("<b>The figure could not be updated</b> ({error}); it still shows the last "
                                  "setting that worked.").format(error=html.escape(self.last_error))
                message.layout.display = None
                return
            image.value = png
            self.last_error = ""
            message.value = ""
            message.layout.display = "none"
            self.last_update_s = time.perf_counter() - start

        for control in controls.values():
            control.observe(on_change, names="value")
        box = ExplorerView([W.HBox(list(controls.values()), layout=W.Layout(flex_flow="row wrap")), image,
                            message], fallback_png=captioned_png(first, FALLBACK_NOTE, dpi=self.dpi))
        box.add_class("coursekit-explorer")
        return box
