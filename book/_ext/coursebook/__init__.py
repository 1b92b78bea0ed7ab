"""The course's Sphinx extension: notebook pages with launch links, explorers as figures, the course map, MathJax,
and the switch between the English and the Chinese edition.

Configuration (set in book/conf.py and book/zh/conf.py): `coursebook_repository` (OWNER/REPO, from
pyproject.toml), `coursebook_notebooks` (the folder of notebooks, relative to the book's source folder),
`coursebook_vendor` (where the downloaded MathJax is kept between builds), `coursebook_edition` ('en' or
'zh': which edition this build is; see editions.py). The editions' source folders are laid out as their
sites are: the English book in book/, the Chinese one in book/zh/.
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
from .editions import EDITIONS, Edition, edition, switch_target
from .mathjax import vendor_mathjax
from .pages import jupyterlab_anchor, prepare_notebook

__all__ = ["setup"]


def _prepare_page(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read: a notebook under the notebooks folder is shown as `pages.prepare_notebook` makes it."""
    folder = app.config.coursebook_notebooks
    if not docname.startswith(folder + "/") or not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    notebook = json.loads(source[0])
    here = edition(app.config.coursebook_edition)
    binder = binder_url(app.config.coursebook_repository, here.repository_path(docname))
    shown = prepare_notebook(notebook, binder=binder, download=PurePosixPath(docname).name + ".ipynb",
                             language=here.language)
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
        language = edition(self.config.coursebook_edition).language
        return self.parse_text_to_nodes(course_map_markdown(lessons, folder=folder, language=language))


def _source_folder(app: Sphinx, of: Edition) -> Path:
    """The source folder of edition `of`: the sources are laid out as the site is (book/, book/zh/)."""
    here = edition(app.config.coursebook_edition)
    root = Path(app.srcdir).joinpath(*[".."] * len(PurePosixPath(here.site).parts))
    return (root / of.site).resolve()


def _other_editions(app: Sphinx) -> list[tuple[Edition, Path]]:
    """The other editions present beside this one (their 00 exists), with their source folders."""
    here = edition(app.config.coursebook_edition)
    folder = app.config.coursebook_notebooks
    found = []
    for there in EDITIONS.values():
        source = _source_folder(app, there)
        if there != here and (source / folder / "00_start_here.ipynb").is_file():
            found.append((there, source))
    return found


def _has_page(source: Path, pagename: str) -> bool:
    """Whether the edition built from `source` has the page `pagename` (a document, or a page Sphinx makes)."""
    if pagename in {"search", "genindex"}:
        return True
    return any((source / f"{pagename}{suffix}").is_file() for suffix in (".md", ".ipynb", ".rst"))


def _language_switch(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                     doctree: nodes.document | None) -> None:
    """html-page-context: the page's link to the same page in the other edition (templates/ shows it)."""
    here = edition(app.config.coursebook_edition)
    switches = []
    for there, source in _other_editions(app):
        exists = _has_page(source, pagename)
        href = switch_target(pagename, here=here, there=there, exists=exists)
        switches.append({"href": href, "name": there.name, "language": there.language})
        context["metatags"] = context.get("metatags", "") + (
            f'\n<link rel="alternate" hreflang="{there.language}" href="{href}" />')
    context["coursebook_switches"] = switches


def _rewrite_when_the_other_edition_changes(app: Sphinx, env: Any, added: set[str], changed: set[str],
                                            removed: set[str]) -> list[str]:
    """env-get-outdated: every page's switch depends on the other edition's pages, so when that set changes
    (a Chinese notebook added, say) every page is written again."""
    folder = app.config.coursebook_notebooks
    pages = sorted((there.language, str(p.relative_to(source))) for there, source in _other_editions(app)
                   for p in [*source.glob("*.md"), *(source / folder).glob("*.ipynb")])
    if getattr(env, "coursebook_other_pages", None) == pages:
        return []
    env.coursebook_other_pages = pages
    return sorted(env.found_docs - added - changed)


def _launch_button_opens_this_edition(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                                      doctree: nodes.document | None) -> None:
    """html-page-context, after the theme's launch buttons: the header's Binder button opens this edition's
    notebook (the theme knows only one notebooks folder, the English one)."""
    if not pagename.startswith(app.config.coursebook_notebooks + "/"):
        return
    url = binder_url(app.config.coursebook_repository, edition(app.config.coursebook_edition).repository_path(pagename))
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []) if group.get("label") == "launch-buttons" else []:
            if button.get("url", "").startswith("https://mybinder.org/"):
                button["url"] = url


def _serve_mathjax(app: Sphinx, config: Config) -> None:
    """config-inited: put the pinned MathJax into _static/ and point Sphinx at it."""
    folder = vendor_mathjax(Path(config.coursebook_vendor))
    config.html_static_path = [*config.html_static_path, str(folder)]
    config.mathjax_path = "mathjax/tex-chtml.js"


def _add_templates(app: Sphinx, config: Config) -> None:
    """config-inited: the extension's templates (the language switch) and a check of the edition's name."""
    edition(config.coursebook_edition)
    config.templates_path = [*config.templates_path, str(Path(__file__).parent / "templates")]


def _code_version() -> int:
    """A number that changes with this extension's code, so Sphinx re-reads every page when it does."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return int(digest.hexdigest()[:12], 16)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("coursebook_repository", "OWNER/REPO", "env", types=frozenset({str}))
    app.add_config_value("coursebook_notebooks", "notebooks", "env", types=frozenset({str}))
    app.add_config_value("coursebook_edition", "en", "env", types=frozenset({str}))
    # where downloaded MathJax is kept between builds
    app.add_config_value("coursebook_vendor", str(Path(app.outdir).parent / "vendor"), "", types=frozenset({str}))
    app.connect("config-inited", _serve_mathjax)
    app.connect("config-inited", _add_templates)
    app.connect("source-read", _prepare_page)
    app.connect("doctree-read", _add_jupyterlab_anchors)
    app.connect("html-page-context", _math_in_search_results, priority=400)
    app.connect("html-page-context", _language_switch)
    app.connect("env-get-outdated", _rewrite_when_the_other_edition_changes)
    # sphinx-book-theme adds its launch buttons at priority 501
    app.connect("html-page-context", _launch_button_opens_this_edition, priority=510)
    app.add_directive("course-map", CourseMap)
    return {"version": "1", "env_version": _code_version(), "parallel_read_safe": True,
            "parallel_write_safe": True}
