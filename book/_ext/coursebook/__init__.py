"""The course's Sphinx extension: notebook pages with launch links, explorers as figures, the course map, MathJax.

Configuration (set in book/conf.py): `coursebook_repository` (OWNER/REPO, from pyproject.toml),
`coursebook_notebooks` (the folder of notebooks, relative to the book's source folder), `coursebook_vendor`
(where the downloaded MathJax is kept between builds).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

from docutils import nodes
from repository import binder_url  # scripts/repository.py, put on sys.path by book/conf.py
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util.docutils import SphinxDirective

from .coursemap import course_map, course_map_markdown
from .mathjax import vendor_mathjax
from .pages import jupyterlab_anchor, prepare_notebook

__all__ = ["setup"]


def _prepare_page(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: a notebook under the notebooks folder is shown as `pages.prepare_notebook` makes it."""
    folder = app.config.coursebook_notebooks
    if not docname.startswith(folder + "/") or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    notebook = json.loads(source[0])
    shown = prepare_notebook(notebook, binder=binder_url(app.config.coursebook_repository, f"{docname}.ipynb"),
                             download=PurePosixPath(docname).name + ".ipynb")
    source[0] = json.dumps(shown, ensure_ascii=False)


def _add_jupyterlab_anchors(app: Sphinx, doctree: nodes.document) -> None:
    """doctree-read: each section also answers to the id JupyterLab gives its heading, so links written for
    JupyterLab (explain()'s "learn more", NN_name.ipynb#1.-The-heading) land on the same section here."""
    if not app.env.docname.startswith(app.config.coursebook_notebooks + "/"):
        return
    for section in doctree.findall(nodes.section):
        anchor = jupyterlab_anchor(section[0].astext())
        if anchor not in section["ids"]:
            section["ids"].append(anchor)


def _math_in_search_results(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                            doctree: nodes.document | None) -> None:
    """html-page-context: the search page loads MathJax and typesets the math its results quote."""
    if pagename == "search":
        context["has_maths_elements"] = True  # read by sphinx.ext.mathjax, which runs after this
        app.add_js_file("coursebook-search.js", loading_method="defer")


class CourseMap(SphinxDirective):
    """``{course-map}``: the table of the course's notebooks, in order, each linked to its page."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        folder = self.config.coursebook_notebooks
        lessons = course_map(Path(self.env.srcdir) / folder)
        for lesson in lessons:  # rebuild the landing page when a notebook changes
            self.env.note_dependency(str(Path(self.env.srcdir) / folder / f"{lesson.name}.ipynb"))
        return self.parse_text_to_nodes(course_map_markdown(lessons, folder=folder))


def _serve_mathjax(app: Sphinx, config: Config) -> None:
    """config-inited: put the pinned MathJax into _static/ and point Sphinx at it."""
    folder = vendor_mathjax(Path(config.coursebook_vendor))
    config.html_static_path = [*config.html_static_path, str(folder)]
    config.mathjax_path = "mathjax/tex-chtml.js"


def _code_version() -> int:
    """A number that changes with this extension's code, so Sphinx re-reads every page when it does."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return int(digest.hexdigest()[:12], 16)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("coursebook_repository", "OWNER/REPO", "env", types=frozenset({str}))
    app.add_config_value("coursebook_notebooks", "notebooks", "env", types=frozenset({str}))
    # where downloaded MathJax is kept between builds
    app.add_config_value("coursebook_vendor", str(Path(app.outdir).parent / "vendor"), "", types=frozenset({str}))
    app.connect("config-inited", _serve_mathjax)
    app.connect("source-read", _prepare_page)
    app.connect("doctree-read", _add_jupyterlab_anchors)
    app.connect("html-page-context", _math_in_search_results, priority=400)
    app.add_directive("course-map", CourseMap)
    return {"version": "1", "env_version": _code_version(), "parallel_read_safe": True,
            "parallel_write_safe": True}
