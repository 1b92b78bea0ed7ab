"""The learner's language: chosen once, and every learner-facing string looked up in its catalogue.

Strings are written in English in the code and marked for extraction (Babel's `pybabel extract`
with the keywords `_` and `N_`); each translation lives in a gettext catalogue,
`coursekit/locale/<language>/LC_MESSAGES/coursekit.po`, read at first use.

- `_("text")` translates now, into the current language.
- `N_("text")` only marks a module-level constant for extraction; translate it where it is shown,
  with `_(CONSTANT)`, so a language chosen after import still applies.
- Placeholders are named (`_("{n} of {total} cases pass").format(n=..., total=...)`) so a
  translation may put them in another order.

The language is, in order: `set_language(...)` (the first cell of a Chinese notebook), the
`COURSEKIT_LANG` environment variable (a whole JupyterHub, or `coursekit grade`), then English.
The grader passes the class's language to its workers explicitly (their environment is scrubbed), so
what a worker words itself (a broken rule) is in the class's language too.

What is not translated, by decision:
- figure text drawn by matplotlib (titles, axis labels, legends, an explorer's static-picture caption and
  the notices drawn in its figure) stays English in both editions: drawing Chinese needs a CJK font, and not
  every target (a local venv, Binder, CI) has one, so a translated figure would show empty boxes there;
- the text of an exception the learner's code raised, PyTorch's own and that of the course's engine and
  loop checker (worded as PyTorch words its errors, and matched by `explain()` and the exercises'
  recognisers), is shown as raised; the explanation and hint shown with it are translated;
- what the instructor reads: the terminal summary, `coursekit doctor`, why a notebook could not be read at
  all, and a problem's kind in the gradebook (timeout, crash, ...: the words the class report groups by).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

__all__ = ["LANGUAGES", "N_", "_", "catalogue", "language", "normalise", "set_language", "using_language"]

#: the languages the course ships, English first (the source language, with no catalogue)
LANGUAGES: tuple[str, ...] = ("en", "zh")
DOMAIN = "coursekit"
LOCALE_DIR = Path(__file__).parent / "locale"
ENV = "COURSEKIT_LANG"

_chosen: str | None = None


def normalise(code: str) -> str:
    """'zh', 'zh_CN', 'zh-Hans', 'ZH' -> 'zh'; raises ValueError naming the choices otherwise."""
    if not isinstance(code, str):
        raise TypeError(f"a language is a string such as 'en' or 'zh', not {type(code).__name__}")
    base = code.strip().replace("-", "_").split("_")[0].split(".")[0].lower()
    if base not in LANGUAGES:
        raise ValueError(f"the course is written in {', '.join(repr(c) for c in LANGUAGES)}; "
                         f"{code!r} is not one of them")
    return base


def set_language(code: str) -> str:
    """Choose the language of every message from now on, for this process; returns it ('en' or 'zh')."""
    global _chosen
    _chosen = normalise(code)
    return _chosen


def language() -> str:
    """The current language: set_language(), else $COURSEKIT_LANG, else 'en'."""
    if _chosen is not None:
        return _chosen
    wanted = os.environ.get(ENV, "").strip()
    if not wanted:
        return "en"
    try:
        return normalise(wanted)
    except ValueError:
        return "en"  # a bad environment value must not break every message; `coursekit doctor` reports it


class using_language:  # noqa: N801 - used as a function: `with using_language("zh"):`
    """Context manager: messages inside the block are in `code`; the previous choice comes back after."""

    def __init__(self, code: str) -> None:
        self.code = normalise(code)
        self._previous: str | None = None

    def __enter__(self) -> str:
        global _chosen
        self._previous, _chosen = _chosen, self.code
        return self.code

    def __exit__(self, *exc: object) -> None:
        global _chosen
        _chosen = self._previous


def catalogue_path(code: str) -> Path:
    """Where the `.po` catalogue of a language lives in the package."""
    return LOCALE_DIR / normalise(code) / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(code: str) -> dict[str, str]:
    """msgid -> translation of one language (empty for English); fuzzy and empty entries are left out."""
    code = normalise(code)
    if code == "en":
        return {}
    from babel.messages.pofile import read_po

    path = catalogue_path(code)
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        messages = read_po(handle, locale=code, domain=DOMAIN)
    return {str(m.id): str(m.string) for m in messages
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def _(message: str) -> str:
    """`message` in the current language (itself when English or not yet translated)."""
    code = language()
    if code == "en":
        return message
    return catalogue(code).get(message, message)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark a string for extraction without translating it (translate at the point of use with `_`)."""
    return message
