"""Every explorer shows a picture when its notebook is opened, and never freezes silently."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import ipywidgets as W
import matplotlib
import matplotlib.image as mpimg
import pytest
from IPython.core.interactiveshell import InteractiveShell

from coursekit.widgets import (
    ActivationExplorer,
    GradientDescentExplorer,
    MomentumExplorer,
    PhaseDiagramExplorer,
    TemperatureExplorer,
)
from coursekit.widgets.base import FALLBACK_NOTE, ExplorerView, captioned_png

matplotlib.use("Agg")

EXPLORERS = [ActivationExplorer, GradientDescentExplorer, MomentumExplorer, PhaseDiagramExplorer, TemperatureExplorer]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: notebooks whose stored explorer outputs were written before explorers carried a fallback; each must be
#: re-executed (then removed from here: the strict xfail fails as soon as the notebook is up to date)
NOT_YET_REEXECUTED: set[str] = set()


def _pixels(png: bytes):
    return mpimg.imread(io.BytesIO(png), format="png")


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda c: c.__name__)
def test_display_carries_the_first_figure_and_a_caption_instead_of_widget_text(cls):
    explorer = cls()
    box = explorer.widget()
    assert isinstance(box, ExplorerView)
    data, _ = InteractiveShell.instance().display_formatter.format(box)
    # the live view for a frontend with the widget manager, a PNG and a caption for everything else
    assert set(data) == {WIDGET_VIEW, "image/png", "text/plain"}
    assert data[WIDGET_VIEW]["model_id"] == box.model_id
    assert data["text/plain"] == FALLBACK_NOTE and "VBox" not in data["text/plain"]
    fallback = _pixels(base64.b64decode(data["image/png"]))
    figure = _pixels(bytes(box.children[1].value))   # what the live widget shows first
    strip = round(0.32 * explorer.dpi)
    assert fallback.shape[0] == figure.shape[0] + strip and fallback.shape[1] == figure.shape[1]
    # the top of the fallback is the figure itself, pixel for pixel; the strip below holds the caption
    assert abs(fallback[: figure.shape[0], :, :3] - figure[:, :, :3]).max() < 1e-6
    assert fallback[figure.shape[0]:, :, :3].min() < 0.5   # dark text in the strip


def test_captioned_png_rejects_what_is_not_a_png():
    with pytest.raises((SyntaxError, ValueError, OSError)):
        captioned_png(b"not a png", "caption", dpi=80)


def _values_to_try(control: W.ValueWidget) -> list:
    """The values a learner can reach with a control: every option, or both ends and the middle."""
    if isinstance(control, (W.Dropdown, W.SelectionSlider)):
        return [value for _, value in control.options] if isinstance(control.options[0], tuple) \
            else list(control.options)
    if isinstance(control, W.FloatRangeSlider):
        lo, hi = control.min, control.max
        return [(lo, hi), (lo, lo), (hi, hi), (0.0, 0.0), (lo, lo + control.step), (-3.0, 3.0)]
    lo, hi = control.min, control.max
    return [lo, hi, type(lo)((lo + hi) / 2)]


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda c: c.__name__)
def test_every_reachable_control_value_updates_the_figure_or_says_why_not(cls):
    explorer = cls()
    box = explorer.widget()
    controls = dict(zip(cls.defaults, box.children[0].children, strict=True))
    image, message = box.children[1], box.children[2]
    for name, control in controls.items():
        for value in _values_to_try(control):
            control.value = value
            # no error escaped into the callback: the message line stays hidden ...
            assert message.layout.display == "none" and message.value == "", (name, value, explorer.last_error)
            # ... and the figure shows these parameters (as a fresh render of them does), or a notice in the
            # figure says why it cannot
            params = {k: c.value for k, c in controls.items()}
            fresh = cls()
            fresh.render(**params)
            if fresh.notice:
                assert explorer.notice == fresh.notice, (name, value)
            else:
                assert not explorer.notice
                assert explorer.fig._suptitle.get_text() == fresh.fig._suptitle.get_text(), (name, value)
                assert bytes(image.value) == explorer.png()
        control.value = cls.defaults[name] if not isinstance(control, W.FloatRangeSlider) \
            else tuple(cls.defaults[name])
        assert not explorer.notice
    assert bytes(image.value).startswith(b"\x89PNG")


@pytest.mark.parametrize("cls", EXPLORERS, ids=lambda c: c.__name__)
def test_an_error_while_updating_appears_in_the_explorer_and_keeps_the_last_figure(cls, monkeypatch):
    explorer = cls()
    box = explorer.widget()
    control = box.children[0].children[0]
    image, message = box.children[1], box.children[2]
    before = bytes(image.value)

    def broken(params):
        raise RuntimeError("the update broke")

    monkeypatch.setattr(explorer, "update", broken)
    options = _values_to_try(control)
    control.value = next(v for v in options if v != control.value)
    assert message.layout.display is None and "RuntimeError: the update broke" in message.value
    assert "last setting that worked" in message.value and explorer.last_error
    assert bytes(image.value) == before
    monkeypatch.undo()
    control.value = cls.defaults[next(iter(cls.defaults))]
    assert message.layout.display == "none" and message.value == "" and not explorer.last_error


def test_the_error_text_is_escaped_html():
    explorer = TemperatureExplorer()
    box = explorer.widget()

    def broken(params):
        raise ValueError("<script>alert(1)</script>")

    explorer.update = broken
    box.children[0].children[0].value = 0.5
    assert "<script>" not in box.children[2].value and "&lt;script&gt;" in box.children[2].value


def test_activation_range_with_equal_ends_is_named_in_the_figure_and_clears_when_moved_apart():
    explorer = ActivationExplorer()
    box = explorer.widget()
    x_range = box.children[0].children[1]
    x_range.value = (4.0, 4.0)
    assert "empty" in explorer.notice and box.children[2].layout.display == "none"
    x_range.value = (-2.0, 4.0)
    assert explorer.notice == "" and "[-2, 4]" in explorer.fig._suptitle.get_text()
    # a fresh render of an impossible range draws the notice on an empty figure instead of raising
    fresh = ActivationExplorer()
    fresh.render(x_range=(1.0, 1.0))
    assert "move the two ends" in fresh.notice


def _explorer_outputs(path: Path) -> list[dict]:
    nb = json.loads(path.read_text())
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})]


SHOWING = [p for p in NOTEBOOKS if _explorer_outputs(p)]


@pytest.mark.parametrize("path", SHOWING, ids=[p.stem for p in SHOWING])
def test_stored_notebooks_show_a_figure_not_widget_text(request, path):
    if path.stem in NOT_YET_REEXECUTED:
        request.applymarker(pytest.mark.xfail(strict=True, reason="stored before explorers had a fallback"))
    for output in _explorer_outputs(path):
        data = output["data"]
        text = "".join(data.get("text/plain", ""))
        assert "image/png" in data, f"{path.name}: an explorer output has no static picture"
        assert _pixels(base64.b64decode(data["image/png"])).shape[0] > 100
        assert text == FALLBACK_NOTE and "VBox(" not in text
