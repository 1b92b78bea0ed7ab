"""The book's two editions, English and Chinese: where each one's pages and notebooks live, and the switch.

The English edition is the site's root (its notebook pages are notebooks/NN_name.html, built from the
repository's notebooks/); the Chinese one is the same book under zh/ (zh/notebooks/NN_name.html, built
from notebooks/zh/), each a Sphinx build of its own, so each has its own language, navigation and search.
A page's language switch goes to the same page in the other edition when that page exists, else to the
other edition's landing page.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

__all__ = ["EDITIONS", "Edition", "edition", "switch_target"]


@dataclass(frozen=True)
class Edition:
    """One edition of the book.

    `language` is its HTML lang (and Sphinx's language); `name` is how the switch names it, in its own
    language; `site` is its folder in the built site ("" for the root); `notebooks` is the repository
    folder of its notebooks, which its pages' folder `notebooks/` shows.
    """

    language: str
    name: str
    site: str
    notebooks: str

    def repository_path(self, docname: str) -> str:
        """The repository path of the notebook behind the page `docname` ('notebooks/03_x' -> its .ipynb)."""
        return f"{self.notebooks}/{posixpath.basename(docname)}.ipynb"


EDITIONS: dict[str, Edition] = {
    "en": Edition(language="en", name="English", site="", notebooks="notebooks"),
    "zh": Edition(language="zh", name="中文", site="zh", notebooks="notebooks/zh"),
}


def edition(code: str) -> Edition:
    """The edition of language `code` ('en' or 'zh'); a ValueError names the choices otherwise."""
    if code not in EDITIONS:
        raise ValueError(f"coursebook_edition must be one of {', '.join(map(repr, EDITIONS))}, not {code!r}")
    return EDITIONS[code]


def switch_target(pagename: str, *, here: Edition, there: Edition, exists: bool) -> str:
    """The link, relative to page `pagename` of edition `here`, to the same page in edition `there`.

    `exists` says whether edition `there` has that page; when it does not, the link goes to its landing page.
    """
    target = pagename if exists else "index"
    # from this page up to the site's root, then down into the other edition
    up = posixpath.relpath(".", posixpath.join(here.site, posixpath.dirname(pagename)) or ".")
    return posixpath.normpath(posixpath.join(up, there.site, target)) + ".html"
