"""How a notebook is shown in the book: its stored outputs, explorers as still figures, a launch line.

Pure functions on the notebook's JSON (a dict), so the tests can feed them any notebook. Nothing here
executes a cell: the book shows what `make notebooks` stored, which nbval checks. What the book itself
writes on a page (the launch line, the note under an explorer) is in the page's language, English or Chinese.
"""

from __future__ import annotations

import copy
import html
import posixpath
import re
from collections.abc import Mapping
from typing import Any

from .editions import EDITIONS

__all__ = ["EXPLORER_NOTE_CLASS", "LAUNCH_CLASS", "WORDS", "explorer_outputs", "is_explorer_cell",
           "jupyterlab_anchor", "prepare_notebook"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: the line an explorer stores beside its still figure ("run this cell for the interactive version"):
#: right in JupyterLab, wrong on a web page, so the book puts its own note in its place
FALLBACK_LINE = re.compile(r"interactive version", re.IGNORECASE)
EXPLORER_NOTE_CLASS = "coursebook-explorer-note"
# a stored HTML output's link to a notebook beside it, as JupyterLab follows it: NN_name.ipynb#Heading-Text
_NOTEBOOK_HREF = re.compile(r"""href=(["'])(?P<name>[\w.-]+)\.ipynb(?P<anchor>#[^"']*)?\1""")
LAUNCH_CLASS = "coursebook-launch"
# a cell that displays an explorer: the code is the same in both editions, whatever its stored caption says
_DISPLAYS_EXPLORER = re.compile(r"\.widget\(\s*\)")

#: the book's own words on a notebook page, by language ({binder}: the page's Binder link, {download}: the
#: notebook's file name)
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "launch": "Run this notebook: [launch it on Binder]({binder}) (JupyterLab in your browser, nothing to "
                  "install) · {{download}}`download the .ipynb <{download}>` · or locally with `make lab`.",
        "with_figure": "The interactive version of this figure, with its sliders,",
        "without_figure": "This cell shows an interactive explorer with sliders; it",
        "note": '{what} runs in JupyterLab: <a href="{binder}">launch this notebook on Binder</a> or run it on '
                "your own machine with <code>make lab</code>.",
        "plain": "{what} runs in JupyterLab (on Binder: {binder}, or locally with `make lab`).",
    },
    "zh": {
        "launch": "运行本笔记本：[在 Binder 上启动]({binder})（在浏览器中打开 JupyterLab，无需安装）· "
                  "{{download}}`下载 .ipynb 文件 <{download}>` · 或在自己的电脑上运行 `COURSEKIT_LANG=zh make lab`。",
        "with_figure": "这张图的交互版本（可以拖动滑块）",
        "without_figure": "这个单元格显示一个带滑块的交互式探索器，它",
        "note": '{what}在 JupyterLab 中运行：<a href="{binder}">在 Binder 上启动本笔记本</a>，或在自己的电脑上运行 '
                "<code>COURSEKIT_LANG=zh make lab</code>。",
        "plain": "{what}在 JupyterLab 中运行（Binder：{binder}；本地：`COURSEKIT_LANG=zh make lab`）。",
    },
}


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _mentions_fallback(output: Mapping[str, Any]) -> bool:
    if output.get("output_type") == "stream":
        return bool(FALLBACK_LINE.search(_text(output.get("text", ""))))
    data = output.get("data", {})
    return any(FALLBACK_LINE.search(_text(v)) for k, v in data.items() if k.startswith("text/"))


def is_explorer_cell(cell: Mapping[str, Any]) -> bool:
    """True for a code cell that displays an explorer: its code calls `.widget()`, or it stored a widget view
    or an explorer's fallback line."""
    if cell.get("cell_type") != "code":
        return False
    if _DISPLAYS_EXPLORER.search(_text(cell.get("source", ""))):
        return True
    return any(WIDGET_VIEW in o.get("data", {}) or _mentions_fallback(o) for o in cell.get("outputs", []))


def explorer_note(binder: str, *, with_figure: bool, language: str = "en") -> dict[str, Any]:
    """The output the book shows under an explorer (below its still figure when it stored one)."""
    words = WORDS[language]
    what = words["with_figure" if with_figure else "without_figure"]
    note = words["note"].format(what=what, binder=html.escape(binder, quote=True))
    plain = words["plain"].format(what=what, binder=binder)
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": f'<p class="{EXPLORER_NOTE_CLASS}">{note}</p>', "text/plain": plain}}


def explorer_outputs(outputs: list[dict[str, Any]], *, binder: str, language: str = "en") -> list[dict[str, Any]]:
    """An explorer cell's outputs as the book shows them: its still figure(s), then the book's note.

    A widget view cannot run on a web page (no kernel), so it and its text repr (`VBox(children=...`) go;
    a bundle with an image keeps only the image, so a fallback's "run this cell" text never shows; a text
    output that is only that line goes too. Errors and other outputs stay as they are.
    """
    kept: list[dict[str, Any]] = []
    for output in outputs:
        data = output.get("data")
        if data is None:
            if not _mentions_fallback(output):
                kept.append(output)
            continue
        images = {k: v for k, v in data.items() if k.startswith("image/")}
        if images:
            kept.append({**output, "data": images})
        elif WIDGET_VIEW not in data and not _mentions_fallback(output):
            kept.append(output)
    with_figure = any(k.startswith("image/") for o in kept for k in o.get("data", {}))
    return [*kept, explorer_note(binder, with_figure=with_figure, language=language)]


def jupyterlab_anchor(title: str) -> str:
    """The id JupyterLab gives a markdown heading: its text with each space made a hyphen."""
    return title.replace(" ", "-")


def _book_links(data: dict[str, Any]) -> dict[str, Any]:
    """HTML outputs' links to NN_name.ipynb point at the book's page NN_name.html (same anchor)."""
    if "text/html" not in data:
        return data
    linked = _NOTEBOOK_HREF.sub(lambda m: f"href={m[1]}{m['name']}.html{m['anchor'] or ''}{m[1]}",
                                _text(data["text/html"]))
    return {**data, "text/html": linked}


# a markdown cell's link to a notebook of the course, as JupyterLab follows it: [text](NN_name.ipynb#Heading-Text)
# beside it, or in the other edition's folder ([English](../00_start_here.ipynb), [中文](zh/00_start_here.ipynb))
_NOTEBOOK_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<folder>(?:[\w.-]+/)*)(?P<name>\d\d_[\w-]+)\.ipynb"
                            r"(?P<anchor>#[^)\s]*)?\)")


def _page_of(folder: str, name: str, *, language: str) -> str | None:
    """The page, relative to a notebook page of edition `language`, that shows the notebook `folder`/`name`
    (a link written in that edition's notebook folder); None when it is no notebook of either edition."""
    here = EDITIONS[language]
    target = posixpath.normpath(posixpath.join(here.notebooks, folder or "."))
    there = next((e for e in EDITIONS.values() if e.notebooks == target), None)
    if there is None:
        return None
    page = posixpath.join(there.site, "notebooks", f"{name}.html")
    return posixpath.relpath(page, posixpath.join(here.site, "notebooks"))


def _markdown_links(source: str, *, language: str) -> str:
    """Markdown links to a course notebook (NN_name.ipynb, or the other edition's) become links to its page.

    They are written as inline HTML: the pages are read through a folder link, from which MyST would
    resolve NN_name.ipynb against the notebooks' real folder and find no such document.
    """
    def page(m: re.Match[str]) -> str:
        href = _page_of(m["folder"], m["name"], language=language)
        if href is None:
            return m[0]
        text = "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p)
                       for i, p in enumerate(m["text"].split("`")))
        return f'<a href="{html.escape(href)}{html.escape(m["anchor"] or "")}">{text}</a>'

    return _NOTEBOOK_LINK.sub(page, source)


def _with_launch_line(source: str, *, binder: str, download: str, language: str) -> str:
    """`source` (a markdown cell) with the launch line put under its first `# ` title."""
    lines = source.split("\n")
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if title is None:
        return source
    launch = ["", f"```{{container}} {LAUNCH_CLASS}",
              WORDS[language]["launch"].format(binder=binder, download=download), "```", ""]
    return "\n".join([*lines[: title + 1], *launch, *lines[title + 1:]])


def prepare_notebook(notebook: Mapping[str, Any], *, binder: str, download: str,
                     language: str = "en") -> dict[str, Any]:
    """A copy of `notebook` as the book renders it.

    `binder` opens this notebook on Binder; `download` is the notebook's file name, relative to its page;
    `language` ('en' or 'zh') is the language of the page, in which the book's own lines are written.
    The stored widget state goes (the book never loads ipywidgets' scripts, which live on a CDN), explorer
    cells become still figures with a note, links to other notebooks (in markdown and in HTML outputs) go to
    their pages (a link to the other edition's notebook to that edition's page), and
    the title gets a line with the launch and download links.
    """
    if language not in WORDS:
        raise ValueError(f"the book is written in {', '.join(map(repr, WORDS))}, not {language!r}")
    result = copy.deepcopy(dict(notebook))
    result.get("metadata", {}).pop("widgets", None)
    titled = False
    for cell in result.get("cells", []):
        if cell.get("cell_type") == "code" and is_explorer_cell(cell):
            cell["outputs"] = explorer_outputs(cell["outputs"], binder=binder, language=language)
        if cell.get("cell_type") == "code":
            for output in cell["outputs"]:
                if "data" in output:
                    output["data"] = _book_links(output["data"])
        elif cell.get("cell_type") == "markdown":
            source = _markdown_links(_text(cell.get("source", "")), language=language)
            if not titled:
                launched = _with_launch_line(source, binder=binder, download=download, language=language)
                titled = launched != source
                source = launched
            cell["source"] = source
    return result
