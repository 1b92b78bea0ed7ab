"""The class report's figures draw the numbers they are given, on the Axes they are given."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from coursekit import plots
from coursekit.plots.style import color

matplotlib.use("Agg")


def _ax():
    return Figure().subplots()


def test_the_histogram_draws_the_counts_and_marks_the_maximum_and_the_median():
    ax = _ax()
    edges, counts = [0.0, 2.0, 4.0, 6.0, 8.0], [1, 0, 5, 3]
    assert plots.score_histogram(ax, edges=edges, counts=counts, max_total=8.0, median=4.5) is ax
    bars = ax.patches
    assert [b.get_height() for b in bars] == counts
    np.testing.assert_allclose([b.get_x() for b in bars], edges[:-1])
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.get_lines()}
    assert lines == {"maximum: 8": 8.0, "median: 4.5": 4.5}
    low, high = ax.get_xlim()
    assert low < 0 < 8 < high <= 8 * 1.05, "both lines inside the axes, no wasted range"
    assert ax.get_ylim()[1] > max(counts) and ax.get_title() == "Totals of 9 students"


def test_the_outcome_bars_split_each_exercise_and_put_the_first_on_top():
    ax = _ax()
    counts = [{"pass": 1, "fail": 2, "error": 1, "not_attempted": 0}, {"pass": 4, "fail": 0, "error": 0,
                                                                       "not_attempted": 0}]
    assert plots.exercise_outcomes(ax, ids=["hard", "easy"], counts=counts) is ax
    by_colour: dict[str, list[float]] = {}
    for bar in ax.patches:
        by_colour.setdefault(matplotlib.colors.to_hex(bar.get_facecolor()), []).append(bar.get_width())
    np.testing.assert_allclose(by_colour[color("green").lower()], [25.0, 100.0])
    np.testing.assert_allclose(by_colour[color("orange").lower()], [50.0, 0.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hard", "easy"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1], "the first exercise is drawn at the top"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["passed", "failed a case", "error or limit",
                                                                   "not attempted"]


def test_the_case_map_places_each_case_and_shades_the_flagged_bands():
    ax = _ax()
    assert plots.case_map(ax, share_failed=[0.5, 0.95], discrimination=[-0.4, 0.1], hidden=[False, True],
                          many=0.9, few=0.05) is ax
    public, hidden = ax.collections
    np.testing.assert_allclose(public.get_offsets(), [[50.0, -0.4]])
    np.testing.assert_allclose(hidden.get_offsets(), [[95.0, 0.1]])
    bands = sorted(p.get_x() for p in ax.patches)
    np.testing.assert_allclose(bands, [0.0, 90.0])


def test_a_report_figure_in_chinese_has_its_glyphs():
    from coursekit.grading.report_markup import _cjk_font, figure_png

    if _cjk_font() is None:
        pytest.skip("no CJK font installed")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of every missing glyph
        page = figure_png(lambda ax: ax.set_title("学生的总分"), width=3, height=2, alt="总分", caption="总分")
    assert page.startswith("<figure><img src='data:image/png;base64,")
