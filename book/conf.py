"""Sphinx configuration of the course's website. `make book` builds it into book/_build/html.

The pages are the notebooks under notebooks/ (book/notebooks links there) with the outputs they store;
nothing is executed. The repository path comes from pyproject.toml ([tool.coursekit] repository).
This is the English edition; book/zh/conf.py builds the Chinese one (book/zh, from notebooks/zh/) into
book/_build/html/zh from this same configuration, and every page links to its twin in the other edition.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE / "_ext"), str(ROOT / "scripts")]

from repository import binder_url, book_url, read_repository  # noqa: E402

REPOSITORY = read_repository(ROOT / "pyproject.toml")

project = "How neural networks learn"
language = "en"

extensions = ["myst_nb", "sphinx_copybutton", "coursebook"]
coursebook_repository = REPOSITORY
coursebook_notebooks = "notebooks"
coursebook_vendor = str(HERE / "_build" / "vendor")
coursebook_edition = "en"

root_doc = "index"
# the Chinese edition (zh/, and notebooks/zh under the notebooks link) is a book of its own: book/zh/conf.py
exclude_patterns = ["_build", "zh", "notebooks/zh", "**/.ipynb_checkpoints", "README.md"]

# --- notebooks: stored outputs only -------------------------------------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True
# the book loads no ipywidgets scripts (they come from a CDN); pages.py shows explorers as still figures
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "substitution"]
myst_heading_anchors = 3
myst_substitutions = {
    "binder_start": f"[launch it on Binder]({binder_url(REPOSITORY, 'notebooks/00_start_here.ipynb')})",
    "repository_link": f"[github.com/{REPOSITORY}](https://github.com/{REPOSITORY})",
    "book_link": f"[{book_url(REPOSITORY)}]({book_url(REPOSITORY)})",
}

# --- math: MathJax 3 from the site itself (coursebook puts it into _static/; myst-parser configures it) -----

# --- HTML ------------------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = project
# absolute, so that the Chinese edition's configuration (book/zh) finds the same files
html_static_path = [str(HERE / "_static")]
html_css_files = ["coursebook.css"]
html_last_updated_fmt = None
html_show_sphinx = False
html_favicon = str(HERE / "_static" / "favicon.svg")
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    # Binder opens the default branch: HEAD, as in the README's badge
    "repository_branch": "HEAD",
    # page names already start with notebooks/, the notebooks' folder in the repository
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    # the link to the same page in the other edition (coursebook's template), then the theme's buttons
    "article_header_end": ["coursebook-language-switch.html", "article-header-buttons.html"],
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "notebook_interface": "jupyterlab"},
    "home_page_in_toc": True,
    # the search field lives in the sidebar; no second one in a header bar
    "navbar_persistent": [],
    "show_toc_level": 2,
    "footer_content_items": [],
}
html_context = {"default_mode": "light"}
