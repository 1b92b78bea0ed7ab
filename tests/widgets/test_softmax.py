"""The temperature explorer shows softmax(z / T) for the slider's T, and what its titles claim."""

from __future__ import annotations

import math
import re

import ipywidgets as W
import matplotlib
import numpy as np
import pytest
import torch

from coursekit.widgets import TemperatureExplorer, render_temperature_explorer
from coursekit.widgets.softmax import DEFAULT_LOGITS, entropy_nats, tempered_softmax

matplotlib.use("Agg")


@pytest.mark.parametrize("temperature", [0.05, 0.3, 1.0, 4.0, 30.0])
def test_bars_are_the_tempered_softmax(temperature):
    explorer = TemperatureExplorer()
    fig = explorer.render(temperature=temperature)
    heights = np.array([bar.get_height() for bar in explorer.bars])
    expected = torch.softmax(torch.tensor(DEFAULT_LOGITS, dtype=torch.float64) / temperature, dim=0).numpy()
    np.testing.assert_allclose(heights, expected, rtol=1e-12)
    assert [t.get_text() for t in explorer.values] == [f"{p:.2f}" for p in expected]
    # titles: the top probability and the entropy shown are the bars' own
    share = int(re.search(r"gets (\d+)%", explorer.ax_p.get_title()).group(1))
    assert share == round(100 * expected.max())
    h = -(expected[expected > 0] * np.log(expected[expected > 0])).sum()
    assert f"entropy {h:.2f}" in explorer.ax_h.get_title()
    assert explorer.marker.get_xdata()[0] == temperature and explorer.marker.get_ydata()[0] == pytest.approx(h)
    assert "sharpens" in fig._suptitle.get_text()


def test_low_temperature_is_one_hot_and_high_temperature_is_uniform():
    cold = tempered_softmax(DEFAULT_LOGITS, 0.01)
    hot = tempered_softmax(DEFAULT_LOGITS, 1e4)
    np.testing.assert_allclose(cold, np.eye(len(DEFAULT_LOGITS))[0], atol=1e-12)
    np.testing.assert_allclose(hot, np.full(len(DEFAULT_LOGITS), 1 / len(DEFAULT_LOGITS)), atol=1e-3)
    assert entropy_nats(cold) < 1e-9 and entropy_nats(hot) == pytest.approx(math.log(len(DEFAULT_LOGITS)), abs=1e-6)


def test_entropy_curve_rises_with_temperature():
    explorer = TemperatureExplorer()
    explorer.render()
    (curve,) = [line for line in explorer.ax_h.get_lines() if line.get_label().startswith("entropy")]
    assert np.all(np.diff(curve.get_ydata()) >= -1e-12)


def test_reference_markers_are_plain_softmax_and_custom_logits_work():
    explorer = TemperatureExplorer(logits=[1.0, 0.0])
    explorer.render(temperature=2.0)
    np.testing.assert_allclose(explorer.reference, torch.softmax(torch.tensor([1.0, 0.0]), 0).numpy(), rtol=1e-6)
    assert len(explorer.bars) == 2
    with pytest.raises(ValueError):
        TemperatureExplorer(logits=[1.0])
    with pytest.raises(ValueError):
        tempered_softmax([1.0, 2.0], 0.0)


def test_slider_moves_update_the_same_figure():
    explorer = TemperatureExplorer()
    fig = explorer.render()
    for move in TemperatureExplorer.sample_moves:
        assert explorer.set(**move) is fig
        assert explorer.png()[:8] == b"\x89PNG\r\n\x1a\n"
    assert explorer.bars[0].get_height() == pytest.approx(tempered_softmax(DEFAULT_LOGITS, 25.0)[0])


def test_widget_has_a_temperature_slider():
    box = TemperatureExplorer().widget()
    sliders = [c for c in box.children[0].children if isinstance(c, W.FloatLogSlider)]
    assert len(sliders) == 1 and sliders[0].value == 1.0
    sliders[0].value = 0.5
    image = box.children[1]
    assert isinstance(image, W.Image) and image.value[:4] == b"\x89PNG"


def test_render_function_and_unknown_parameter():
    fig = render_temperature_explorer(temperature=0.5)
    assert len(fig.axes) == 2
    with pytest.raises(TypeError, match="temperature"):
        render_temperature_explorer(temp=0.5)


@pytest.mark.parametrize("temperature", [0.05, 0.3, 1.0, 30.0])
def test_value_labels_sit_on_their_bars_not_on_a_distant_diamond(temperature):
    explorer = TemperatureExplorer()
    explorer.render(temperature=temperature)
    for bar, text, ref in zip(explorer.bars, explorer.values, explorer.reference, strict=True):
        y = text.get_position()[1]
        height = bar.get_height()
        assert height < y <= max(height, ref) + 0.03  # above its bar, and never floating above both
        # the label (about 0.06 tall) does not cover the T = 1 diamond: the diamond is below it or clear above it
        assert ref < y or ref >= y + 0.09
