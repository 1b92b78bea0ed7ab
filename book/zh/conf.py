"""Sphinx configuration of the course website's Chinese edition: the English one (../conf.py), in Chinese.

`make book` builds it into book/_build/html/zh: the landing page zh/index.md and the Chinese notebooks,
notebooks/zh/ (book/zh/notebooks links there), with the outputs they store. Sphinx's language is "zh", so
every page declares lang="zh" (browsers pick CJK fonts), the theme's own words are Chinese, and search
splits Chinese text into words with jieba (the course's terms added from search_terms.txt).
"""

import logging
import shutil
import sys
from pathlib import Path

import jieba
import sphinx

# the English configuration, imported from its folder; that folder leaves sys.path again, or `import zh`
# (docutils looks for its Chinese module so) would find this folder
_ENGLISH = str(Path(__file__).resolve().parents[1])
sys.path.insert(0, _ENGLISH)
try:
    from conf import *  # noqa: F403 - the same book; what differs follows
    from conf import HERE, REPOSITORY, binder_url, book_url
finally:
    sys.path.remove(_ENGLISH)

project = "神经网络如何学习"
language = "zh"
html_title = project
coursebook_edition = "zh"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
myst_substitutions = {
    "binder_start": f"[在 Binder 上启动]({binder_url(REPOSITORY, 'notebooks/zh/00_start_here.ipynb')})",
    "repository_link": f"[github.com/{REPOSITORY}](https://github.com/{REPOSITORY})",
    "book_link": f"[{book_url(REPOSITORY)}zh/]({book_url(REPOSITORY)}zh/)",
}

# Chinese search: jieba cuts the text into words; the course's terms are words of their own
html_search_language = "zh"
html_search_options = {"dict": str(Path(__file__).resolve().parent / "search_terms.txt")}
jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict ..." on every build
# Sphinx 9.0's Chinese search needs a stemmer it does not define (see the file)
html_js_files = ["coursebook-zh-stemmer.js"]

# Sphinx's words in the pages' scripts ("Search finished, found ..."): its Chinese catalogue is filed under
# zh_CN, this book's language is zh, so the script's catalogue is put where Sphinx looks for zh
_SCRIPT_WORDS = Path(sphinx.__file__).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "sphinx.js"
_LOCALE = HERE / "_build" / "locale"
(_LOCALE / "zh" / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
shutil.copyfile(_SCRIPT_WORDS, _LOCALE / "zh" / "LC_MESSAGES" / "sphinx.js")
locale_dirs = [str(_LOCALE)]
