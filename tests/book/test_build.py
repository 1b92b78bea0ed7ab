"""The book's configuration builds a small book of made-up notebooks: explorers, links, a new notebook, MathJax.

The real book is built by `make book` and opened page by page in tests/browser/test_book.py; this builds
notebooks that show what the real ones may store next (an explorer's fallback figure, notebook 08).
"""

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VIEW = {"model_id": "0123456789abcdef0123456789abcdef", "version_major": 2, "version_minor": 0}
REPR = ["VBox(children=(HBox(children=(FloatLogSlider(value=1.0, description='temperature T'…"]


def _png() -> str:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(source: str, *outputs: dict) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "execution_count": 1, "outputs": list(outputs)}


def _display(**data) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": data}


def _write(folder: Path, name: str, cells: list[dict], *, widgets: bool = False) -> None:
    metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}}
    if widgets:
        metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "state": {VIEW["model_id"]: {"model_name": "VBoxModel", "state": {}}}, "version_major": 2,
            "version_minor": 0}}
    folder.joinpath(f"{name}.ipynb").write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5,
                                                            "metadata": metadata, "cells": cells}))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("book")
    shutil.copy(BOOK / "index.md", source / "index.md")
    shutil.copytree(BOOK / "_static", source / "_static")
    notebooks = source / "notebooks"
    notebooks.mkdir()
    png = _png()
    _write(notebooks, "00_start_here", [
        _markdown("# Start here\n\nWelcome, with $a\\,x + b$."),
        _markdown("## The course map\n\n| # | Notebook | What it teaches |\n|---|---|---|\n"
                  "| 00 | `00_start_here` | this page: set-up |\n| 01 | `01_explorers` | sliders, $\\nabla f$ |\n")])
    _write(notebooks, "01_explorers", [
        _markdown("# 01 · Explorers\n\nThree ways an explorer's output may be stored."),
        _markdown("## 1. A widget and nothing else"),
        _code("display(A().widget())", _display(**{WIDGET_VIEW: VIEW, "text/plain": REPR})),
        _markdown("## 2. A widget with its still figure"),
        _code("display(B().widget())", _display(**{WIDGET_VIEW: VIEW, "image/png": png, "text/plain": REPR})),
        _markdown("## 3. A still figure and a line"),
        _code("display(C().widget())", _display(**{"image/png": png, "text/plain": ["<Figure size 200x100>"]}),
              {"output_type": "stream", "name": "stdout",
               "text": ["Run this cell for the interactive version.\n"]}),
        _code("explain(err)", _display(**{
            "text/html": ["<b>Learn more:</b> <a href='01_explorers.ipynb#2.-A-widget-with-its-still-figure'>"
                          "section 2</a>"], "text/plain": ["Learn more: section 2"]}))], widgets=True)
    _write(notebooks, "08_build_autograd", [_markdown("# 08 · Build autograd\n\nNot yet in 00's map.")])
    out = source / "_build" / "html"
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-n", "-W", "--keep-going", "-q",
                           "-c", str(BOOK), str(source), str(out)], capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"the book did not build:\n{done.stdout}\n{done.stderr}"
    return out


def test_explorers_become_still_figures_with_a_note(built):
    page = (built / "notebooks" / "01_explorers.html").read_text()
    for leftover in ("VBox(children", WIDGET_VIEW, "widget-state+json", "Run this cell for the interactive version",
                     "require.min.js", "embed-amd.js"):
        assert leftover not in page, f"the page still holds {leftover!r}"
    notes = re.findall(r'<p class="coursebook-explorer-note">(.*?)</p>', page, re.S)
    assert len(notes) == 3
    assert "interactive explorer" in notes[0] and all("this figure" in n for n in notes[1:])
    binder = "https://mybinder.org/v2/gh/{}/HEAD?urlpath=lab/tree/notebooks/01_explorers.ipynb"
    repository = re.search(r'^repository = "(.*)"$', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert all(f'href="{binder.format(repository)}"' in n for n in notes)
    figures = re.findall(r'<img[^>]+src="(\.\./_images/[0-9a-f]+\.png)"', page)
    assert len(figures) == 2 and all((built / "notebooks" / f).is_file() for f in figures)


def test_a_jupyterlab_link_to_a_section_lands_on_it(built):
    page = (built / "notebooks" / "01_explorers.html").read_text()
    assert "href='01_explorers.html#2.-A-widget-with-its-still-figure'" in page
    assert 'id="2.-A-widget-with-its-still-figure"' in page


def test_each_notebook_page_has_its_launch_line(built):
    page = (built / "notebooks" / "08_build_autograd.html").read_text()
    assert "coursebook-launch" in page and "urlpath=lab/tree/notebooks/08_build_autograd.ipynb" in page
    download = re.search(r'href="(\.\./_downloads/[0-9a-f]+/08_build_autograd\.ipynb)"', page)
    assert download and (built / "notebooks" / download[1]).is_file()


def test_the_landing_page_maps_every_notebook_in_order(built):
    page = (built / "index.html").read_text()
    main = page[page.index('id="the-course-map"'):]
    order = re.findall(r'href="notebooks/(\d\d_\w+)\.html"', main)
    assert list(dict.fromkeys(order)) == ["00_start_here", "01_explorers", "08_build_autograd"]
    assert "Set-up" in main and "this page" not in main


def test_mathjax_and_fonts_come_from_the_site(built):
    assert (built / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert list((built / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    for page in built.rglob("*.html"):
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', page.read_text())
        assert not remote, f"{page.name} loads {remote}"


def test_the_pages_workflow_publishes_what_make_book_builds():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = workflow["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "make book" in runs and any("repository.py --expect" in r for r in runs)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "book/_build/html"
    makefile = (ROOT / "Makefile").read_text()
    assert "BOOK := book/_build" in makefile and "$(BOOK)/html" in makefile
