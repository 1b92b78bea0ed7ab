"""How the book shows a notebook: explorers as still figures with a note, links to pages, a launch line."""

import base64
import copy

from coursebook.pages import (
    EXPLORER_NOTE_CLASS,
    LAUNCH_CLASS,
    WIDGET_VIEW,
    explorer_outputs,
    is_explorer_cell,
    jupyterlab_anchor,
    prepare_notebook,
)

BINDER = "https://mybinder.org/v2/gh/ada/course/HEAD?urlpath=lab/tree/notebooks/01_x.ipynb"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n fake").decode()
VIEW = {"model_id": "7a9e48c62b63432da4e8bd3a33d9470b", "version_major": 2, "version_minor": 0}
REPR = "VBox(children=(HBox(children=(Dropdown(description='f', index=1, options=('bowl', …"


def _display(**data):
    return {"output_type": "display_data", "metadata": {}, "data": data}


def _code(*outputs, source="display(Explorer().widget())"):
    return {"cell_type": "code", "metadata": {}, "source": source, "execution_count": 1, "outputs": list(outputs)}


def _notes(outputs):
    return [o for o in outputs if EXPLORER_NOTE_CLASS in o.get("data", {}).get("text/html", "")]


def test_a_stored_widget_without_state_leaves_only_the_note():
    # today's notebooks: the widget view and its text repr, no figure
    shown = explorer_outputs([_display(**{WIDGET_VIEW: VIEW, "text/plain": [REPR]})], binder=BINDER)
    assert len(shown) == 1 and _notes(shown) == shown
    html = shown[0]["data"]["text/html"]
    assert f'href="{BINDER}"' in html and "interactive explorer" in html and "VBox" not in html


def test_a_fallback_figure_in_the_widget_bundle_is_shown_without_the_widget():
    line = ["run this cell for the interactive version"]
    bundle = _display(**{WIDGET_VIEW: VIEW, "image/png": PNG, "text/plain": line})
    shown = explorer_outputs([bundle], binder=BINDER)
    assert shown[0]["data"] == {"image/png": PNG}
    assert "interactive version of this figure" in _notes(shown)[0]["data"]["text/html"]
    assert len(shown) == 2


def test_a_fallback_figure_with_its_own_line_keeps_the_figure_and_drops_the_line():
    outputs = [_display(**{"image/png": PNG, "text/plain": ["<Figure size 720x304 with 2 Axes>"]}),
               {"output_type": "stream", "name": "stdout", "text": ["Run this cell for the interactive version.\n"]},
               _display(**{"text/html": ["<p><i>Run this cell</i> for the interactive version.</p>"],
                           "text/plain": ["Run this cell for the interactive version."]})]
    cell = _code(*outputs)
    assert is_explorer_cell(cell)
    shown = explorer_outputs(outputs, binder=BINDER)
    assert [o["data"] for o in shown[:-1]] == [{"image/png": PNG}]
    assert _notes(shown) == shown[-1:]


def test_other_outputs_of_an_explorer_cell_stay():
    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad", "traceback": ["ValueError: bad"]}
    printed = {"output_type": "stream", "name": "stdout", "text": ["lr = 0.1\n"]}
    shown = explorer_outputs([printed, _display(**{WIDGET_VIEW: VIEW, "text/plain": [REPR]}), error], binder=BINDER)
    assert shown[:2] == [printed, error] and len(_notes(shown)) == 1


def test_cells_without_an_explorer_are_left_alone():
    figure = _code(_display(**{"image/png": PNG, "text/plain": ["<Figure>"]}), source="plt.show()")
    printed = _code({"output_type": "stream", "name": "stdout", "text": ["the version is 2\n"]}, source="print(v)")
    assert not is_explorer_cell(figure) and not is_explorer_cell(printed)
    assert not is_explorer_cell({"cell_type": "markdown", "source": "interactive version", "metadata": {}})


def _notebook():
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {"a": {}}}}},
            "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# 01 · Gradients\n", "\n", "Intro."]},
                      {"cell_type": "markdown", "metadata": {}, "source": "# Not the title\n"},
                      _code(_display(**{WIDGET_VIEW: VIEW, "text/plain": [REPR]})),
                      _code(_display(**{"text/html": ["<b>Learn more:</b> <a href='06_retain_graph.ipynb#1.-The-"
                                                      "computation-graph'>06</a> <a href=\"https://x.org/a.ipynb\">"
                                                      "elsewhere</a>"], "text/plain": ["Learn more"]}),
                            source="explain(err)")]}


def test_prepare_notebook_drops_the_widget_state_and_leaves_its_input_alone():
    notebook = _notebook()
    before = copy.deepcopy(notebook)
    shown = prepare_notebook(notebook, binder=BINDER, download="01_x.ipynb")
    assert notebook == before
    assert "widgets" not in shown["metadata"]
    assert WIDGET_VIEW not in str(shown["cells"])


def test_prepare_notebook_puts_the_launch_line_under_the_title_only():
    shown = prepare_notebook(_notebook(), binder=BINDER, download="01_x.ipynb")
    title, second = shown["cells"][0]["source"], shown["cells"][1]["source"]
    lines = title.split("\n")
    assert lines[0] == "# 01 · Gradients" and LAUNCH_CLASS in lines[2]
    assert f"]({BINDER})" in title and "{download}`download the .ipynb <01_x.ipynb>`" in title
    assert title.endswith("Intro.")
    assert second == "# Not the title\n"


def test_links_to_notebooks_in_html_outputs_go_to_their_pages():
    shown = prepare_notebook(_notebook(), binder=BINDER, download="01_x.ipynb")
    html = shown["cells"][3]["outputs"][0]["data"]["text/html"]
    assert "href='06_retain_graph.html#1.-The-computation-graph'" in html
    assert 'href="https://x.org/a.ipynb"' in html  # someone else's notebook stays where it is


def test_the_jupyterlab_anchor_is_the_heading_with_hyphens_for_spaces():
    # JupyterLab's id for a markdown heading; coursekit.explain links to sections with the same rule
    assert jupyterlab_anchor("1. The computation graph and saved tensors") == \
        "1.-The-computation-graph-and-saved-tensors"
    assert jupyterlab_anchor("6. .grad accumulates: zero_grad") == "6.-.grad-accumulates:-zero_grad"


def test_markdown_links_to_other_notebooks_go_to_their_pages():
    from coursebook.pages import prepare_notebook

    notebook = {"metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Title"},
        {"cell_type": "markdown", "metadata": {},
         "source": "See [06, section “3. `retain_graph`”](06_retain_graph.ipynb#3.-Without-retain_graph) and "
                   "[05](05_softmax.ipynb); [the web](https://example.org/x.ipynb) stays."},
    ]}
    out = prepare_notebook(notebook, binder="https://mybinder.org/v2/gh/o/r/HEAD", download="x.ipynb")
    text = out["cells"][1]["source"]
    assert '<a href="06_retain_graph.html#3.-Without-retain_graph">06, section “3. <code>retain_graph</code>”</a>' \
        in text
    assert '<a href="05_softmax.html">05</a>' in text and "(https://example.org/x.ipynb)" in text


def test_a_chinese_page_gets_the_books_lines_in_chinese():
    caption = ["这是探索器的静态图片：运行这个单元格，就能得到交互版本。"]  # a translated caption
    notebook = {"metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# 01 · 梯度\n\n正文。"},
        _code(_display(**{"image/png": PNG, "text/plain": caption}), source="display(GradientExplorer().widget())")]}
    shown = prepare_notebook(notebook, binder=BINDER, download="01_x.ipynb", language="zh")
    title = shown["cells"][0]["source"]
    assert f"[在 Binder 上启动]({BINDER})" in title and "{download}`下载 .ipynb 文件 <01_x.ipynb>`" in title
    assert "Run this notebook" not in title
    outputs = shown["cells"][1]["outputs"]
    assert outputs[0]["data"] == {"image/png": PNG}  # the caption, in any language, does not show
    note = _notes(outputs)[0]["data"]["text/html"]
    assert note.startswith(f'<p class="{EXPLORER_NOTE_CLASS}">这张图的交互版本') and f'href="{BINDER}"' in note


def test_an_explorer_is_recognised_by_its_code_whatever_its_caption_says():
    figure = _display(**{"image/png": PNG, "text/plain": ["静态图片"]})
    assert is_explorer_cell(_code(figure, source="display(SoftmaxExplorer().widget())"))
    assert is_explorer_cell(_code(source="display(SoftmaxExplorer().widget())"))  # not run yet
    assert not is_explorer_cell(_code(figure, source="plt.show()"))


def test_an_unknown_language_is_refused():
    import pytest

    with pytest.raises(ValueError, match="'en', 'zh'"):
        prepare_notebook(_notebook(), binder=BINDER, download="01_x.ipynb", language="fr")


def test_links_between_the_editions_go_to_the_other_editions_page():
    def linked(source, language):
        notebook = {"metadata": {}, "cells": [{"cell_type": "markdown", "metadata": {}, "source": source}]}
        return prepare_notebook(notebook, binder=BINDER, download="00.ipynb", language=language)["cells"][0]["source"]

    assert linked("中文版: [zh/00_start_here.ipynb](zh/00_start_here.ipynb)", "en") == \
        '中文版: <a href="../zh/notebooks/00_start_here.html">zh/00_start_here.ipynb</a>'
    assert linked("English: [00](../00_start_here.ipynb)", "zh") == \
        'English: <a href="../../notebooks/00_start_here.html">00</a>'
    assert linked("见 [05](05_softmax.ipynb#1.-定义)", "zh") == '见 <a href="05_softmax.html#1.-定义">05</a>'
    # a notebook that is no page of the book stays a link to the file
    assert linked("[x](../other/01_x.ipynb)", "en") == "[x](../other/01_x.ipynb)"
