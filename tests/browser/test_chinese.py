"""The Chinese edition in a real browser: a Chinese notebook in JupyterLab gives its feedback in Chinese.

JupyterLab opens notebooks/zh/03_activations.ipynb (from the same copy of the course as the other browser
tests); its first code cell selects the language (`coursekit.set_language("zh")`), and the check() of an
unanswered exercise must then say so in Chinese, with no widget text anywhere on the page. Screenshots go to
test-output/browser/5-chinese-*.png.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from .driver import (
    PANEL,
    Recorder,
    code_cell,
    error_outputs,
    menu,
    open_notebook,
    run_cell,
)
from .test_lab import exercise_cells

pytestmark = pytest.mark.browser

NOTEBOOK = "zh/03_activations.ipynb"
EXERCISE = "relu_grad"
SELECT = 'coursekit.set_language("zh")'
CJK = re.compile(r"[\u4e00-\u9fff]")
# what a widget that cannot be shown leaves on a page: its repr, an error box
WIDGET_TEXT = ("VBox(children", "HBox(children", "Error displaying widget", "model_id")
_NO_OUTPUTS_JS = "panel => document.querySelector(panel).querySelectorAll('.jp-OutputArea-output').length === 0"


def _widget_text(text: str) -> list[str]:
    return [leftover for leftover in WIDGET_TEXT if leftover in text]


def test_a_chinese_notebook_checks_an_exercise_in_chinese(page, lab, output_dir):
    server, folder = lab
    path = folder / NOTEBOOK
    if not path.exists():
        pytest.skip(f"no Chinese edition in this tree (notebooks/{NOTEBOOK} is missing)")
    cells = nbformat.read(path, as_version=4).cells
    first = next(i for i, c in enumerate(cells) if c.cell_type == "code")
    assert SELECT in cells[first].source, f"{NOTEBOOK}'s first code cell does not select Chinese"
    stub_index, check_index = exercise_cells(path, EXERCISE)
    shots = Recorder(page, output_dir, "5-chinese")
    with shots.step("opened"):
        panel = open_notebook(page, server.url, server.token, NOTEBOOK)
        shown = _widget_text(panel.inner_text())
        assert not shown, f"{NOTEBOOK}, as opened, shows widget text: {shown}"
        assert CJK.search(panel.locator(".jp-MarkdownCell").first.inner_text()), "the notebook's text is not Chinese"
    with shots.step("outputs-cleared"):
        # every output seen afterwards comes from this run, not from the file
        panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})
        menu(page, "Edit", "Clear Outputs of All Cells")
        page.wait_for_function(_NO_OUTPUTS_JS, arg=PANEL)
    with shots.step("first-cell-and-check-ran"):
        for index in (first, stub_index, check_index):
            run_cell(page, code_cell(panel, index))
        check = code_cell(panel, check_index)
        result = check.locator(".coursekit-check")
        result.wait_for(timeout=240_000)  # the kernel starts and imports torch first
        check.scroll_into_view_if_needed()
        assert "coursekit-not_attempted" in (result.get_attribute("class") or ""), \
            f"the stub's check() shows {result.get_attribute('class')!r}: {result.inner_text()}"
        text = result.inner_text()
        assert CJK.search(text), f"the check() of an unanswered exercise is not in Chinese: {text!r}"
        errors = error_outputs(panel)
        assert not errors, f"{NOTEBOOK} shows {len(errors)} error output(s):\n" + "\n---\n".join(errors)
        shown = _widget_text(panel.inner_text())
        assert not shown, f"{NOTEBOOK} shows widget text after running: {shown}"
