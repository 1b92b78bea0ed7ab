"""The book's configuration builds a small book of made-up notebooks: explorers, links, a new notebook, MathJax,
and its Chinese edition (book/zh/conf.py) with the language switch between the two.

The real book is built by `make book` and opened page by page in tests/browser/test_book.py; this builds
notebooks that show what the real ones may store next (an explorer's fallback figure, notebook 08, a
Chinese edition that lacks a notebook of the English one).
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
# an explorer's stored caption, once coursekit's messages are translated
ZH_CAPTION = "这是探索器的静态图片：运行这个单元格，就能得到交互版本。"


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
    # the Chinese edition, laid out as book/zh is: its own landing page and notebooks, no 08 yet
    chinese = source / "zh" / "notebooks"
    chinese.mkdir(parents=True)
    shutil.copy(BOOK / "zh" / "index.md", source / "zh" / "index.md")
    _write(chinese, "00_start_here", [
        _markdown("# 从这里开始\n\n欢迎，这里有 $a\\,x + b$。"),
        _markdown("## 课程地图\n\n| # | 笔记本 | 内容 |\n|---|---|---|\n"
                  "| 00 | `00_start_here` | 本页：环境设置 |\n| 01 | `01_explorers` | 滑块与计算图，$\\nabla f$ |\n")])
    _write(chinese, "01_explorers", [
        _markdown("# 01 · 探索器\n\n探索器的输出和计算图。"),
        _code("display(C().widget())", _display(**{"image/png": png, "text/plain": [ZH_CAPTION]})),
        _markdown("## 2. 另一节")])
    out = source / "_build" / "html"
    for conf, folder, into in ((BOOK, source, out), (BOOK / "zh", source / "zh", out / "zh")):
        done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-n", "-W", "--keep-going", "-q",
                               "-c", str(conf), "-d", str(into.parent / f"doctrees-{folder.name}"), str(folder),
                               str(into)], capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, f"the book ({conf}) did not build:\n{done.stdout}\n{done.stderr}"
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


def _html_lang(page: Path) -> str:
    return re.search(r"<html[^>]* lang=\"([^\"]+)\"", page.read_text())[1]


def _switch(page: Path) -> str:
    links = re.findall(r'<a class="btn btn-sm coursebook-language-switch" href="([^"]+)"', page.read_text())
    assert len(links) == 1, f"{page.name}: {len(links)} language switches"
    return links[0]


def test_each_edition_declares_its_language(built):
    assert _html_lang(built / "index.html") == "en"
    assert _html_lang(built / "notebooks" / "08_build_autograd.html") == "en"
    assert _html_lang(built / "zh" / "index.html") == "zh"
    assert _html_lang(built / "zh" / "notebooks" / "01_explorers.html") == "zh"


@pytest.mark.parametrize("page, target", [
    ("index.html", "zh/index.html"),
    ("notebooks/01_explorers.html", "zh/notebooks/01_explorers.html"),
    ("notebooks/08_build_autograd.html", "zh/index.html"),  # no Chinese 08 yet: the Chinese landing page
    ("search.html", "zh/search.html"),
    ("zh/index.html", "index.html"),
    ("zh/notebooks/00_start_here.html", "notebooks/00_start_here.html"),
    ("zh/genindex.html", "genindex.html"),
])
def test_the_switch_goes_to_the_same_page_in_the_other_edition(built, page, target):
    href = _switch(built / page)
    resolved = (built / page).parent.joinpath(href).resolve()
    assert resolved == (built / target).resolve() and resolved.is_file(), f"{page} switches to {href}"


def test_a_chinese_notebook_page_is_written_in_chinese(built):
    page = (built / "zh" / "notebooks" / "01_explorers.html").read_text()
    binder = "urlpath=lab/tree/notebooks/zh/01_explorers.ipynb"
    assert "在 Binder 上启动" in page and binder in page and "urlpath=lab/tree/notebooks/01_explorers" not in page
    notes = re.findall(r'<p class="coursebook-explorer-note">(.*?)</p>', page, re.S)
    assert len(notes) == 1 and notes[0].startswith("这张图的交互版本") and binder in notes[0]
    assert ZH_CAPTION not in page and "Run this notebook" not in page
    assert re.search(r'href="(\.\./\.\./_downloads|\.\./_downloads)/[0-9a-f]+/01_explorers\.ipynb"', page)


def test_the_chinese_landing_page_maps_the_chinese_notebooks(built):
    page = (built / "zh" / "index.html").read_text()
    main = page[page.index("<h2>课程地图"):]
    assert "<th class=\"head\"><p>笔记本</p></th>" in main
    order = re.findall(r'href="notebooks/(\d\d_\w+)\.html"', main)
    assert list(dict.fromkeys(order)) == ["00_start_here", "01_explorers"]
    assert "环境设置" in main and "本页" not in main and "从这里开始" in main
    assert "notebooks/zh/00_start_here.ipynb" in page


def test_the_chinese_search_index_holds_chinese_words(built):
    index = (built / "zh" / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(index[index.index("(") + 1: index.rindex(")")])["terms"]
    assert "计算图" in terms and "探索" in terms  # the course's term whole, and jieba's words
    english = json.loads((built / "searchindex.js").read_text()[len("Search.setIndex("):-1])["terms"]
    assert "计算图" not in english
