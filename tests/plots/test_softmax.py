"""The softmax notebook's plot helpers draw exactly the probabilities and the Jacobian they are given."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from coursekit import plots

matplotlib.use("Agg")


def _axes():
    return Figure().subplots()


def test_probability_bars_draw_one_bar_per_class_and_distribution():
    ax = _axes()
    z = torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64)
    dists = {"T = 1": torch.softmax(z, 0), "T = 4": torch.softmax(z / 4, 0)}
    assert plots.probability_bars(ax, dists, labels=["a", "b", "c"], title="claim") is ax
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, torch.cat(list(dists.values())).numpy(), rtol=1e-12)
    assert [t.get_text() for t in ax.texts] == [f"{v:.2f}" for v in torch.cat(list(dists.values())).tolist()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(dists)
    assert ax.get_title() == "claim" and ax.get_ylabel() == "probability"


def test_probability_bars_reject_distributions_of_different_lengths():
    with pytest.raises(ValueError, match="one probability per class"):
        plots.probability_bars(_axes(), {"a": [0.5, 0.5], "b": [0.2, 0.3, 0.5]})


def test_jacobian_heatmap_shows_every_entry_on_a_scale_centred_at_zero():
    ax = _axes()
    p = torch.softmax(torch.tensor([2.0, 1.0, 0.1], dtype=torch.float64), 0)
    J = torch.diag(p) - torch.outer(p, p)
    assert plots.jacobian_heatmap(ax, J) is ax
    (image,) = ax.images
    np.testing.assert_allclose(np.asarray(image.get_array()), J.numpy())
    norm = image.norm
    assert norm.vmin == pytest.approx(-norm.vmax) and norm.vcenter == 0.0
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:+.3f}" for v in J.flatten().tolist())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["z1", "z2", "z3"]
    with pytest.raises(ValueError, match="square"):
        plots.jacobian_heatmap(_axes(), torch.zeros(2, 3))
