"""A notebook opened in JupyterLab, before anything runs, shows each explorer as a picture, not widget text."""

from __future__ import annotations

import nbformat
import pytest

from .driver import Recorder, code_cell, image_bytes, open_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "01_gradients.ipynb"


def test_a_freshly_opened_notebook_shows_the_explorers_static_picture(page, lab, output_dir):
    server, folder = lab
    cells = nbformat.read(folder / NOTEBOOK, as_version=4).cells
    index = next(i for i, c in enumerate(cells) if c.cell_type == "code" and ".widget()" in c.source)
    shots = Recorder(page, output_dir, "4-fallback")
    with shots.step("opened-not-run"):
        panel = open_notebook(page, server.url, server.token, NOTEBOOK)
        cell = code_cell(panel, index)
        cell.scroll_into_view_if_needed()
        output = cell.locator(".jp-OutputArea-output").first
        output.wait_for()
        image = output.locator("img")
        image.wait_for()
        assert image_bytes(image).startswith(b"\x89PNG"), "the explorer's stored output is not a picture"
        text = output.inner_text()
        assert "VBox(" not in text and "HBox(" not in text, f"the explorer shows widget text: {text[:200]}"


def test_opening_a_notebook_does_not_mark_it_modified(page, lab, output_dir):
    """Opened, its kernel started, nothing run: JupyterLab must not think the notebook changed (so closing it
    asks nothing). The stored kernelspec and metadata are what the installed kernel writes."""
    server, _folder = lab
    shots = Recorder(page, output_dir, "4-fallback")
    with shots.step("opened-unmodified"):
        open_notebook(page, server.url, server.token, "03_activations.ipynb")
        page.wait_for_timeout(3000)  # give JupyterLab time to notice a kernelspec it would rewrite
        tab = page.locator(".lm-TabBar-tab.lm-mod-current", has_text="03_activations.ipynb").first
        tab.wait_for()
        classes = tab.get_attribute("class") or ""
        assert "jp-mod-dirty" not in classes, "the freshly opened notebook is marked modified"
