"""Keeping the message catalogues whole: extract every marked string, update each language's `.po`.

    python -m coursekit.catalogue            # update coursekit/locale/<lang>/LC_MESSAGES/coursekit.po
    python -m coursekit.catalogue --check    # exit 1, listing them, if any string lacks a translation

Extraction is Babel's, over the package's Python sources, with the keywords `_` and `N_`
(see coursekit.i18n). New strings enter each catalogue untranslated; strings no longer in the code
are dropped; a translation whose named placeholders differ from its English is an error.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coursekit.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, catalogue_path

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog

__all__ = ["Gap", "extract", "gaps", "update"]

PACKAGE = Path(__file__).parent
KEYWORDS = {"_": None, "N_": None}
HEADER = ("# The {language} messages of coursekit: check() results, hints, explain(), rules, widgets,\n"
          "# feedback pages and class reports. `python -m coursekit.catalogue` keeps the entries equal\n"
          "# to the code's; translate each empty msgstr, keeping its {{placeholders}}.")
_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[!:][^{}]*)?\}(?!\})")


@dataclass(frozen=True)
class Gap:
    """One thing wrong with a catalogue: an untranslated, fuzzy, stale or badly-placeholdered message."""

    language: str
    kind: str  # "missing", "fuzzy", "placeholders", "stale"
    message: str
    where: str = ""

    def __str__(self) -> str:
        place = f" ({self.where})" if self.where else ""
        return f"[{self.language}] {self.kind}: {self.message!r}{place}"


def extract() -> dict[str, list[str]]:
    """Every marked string in the package's sources -> the places ("file:line") that use it."""
    from babel.messages.extract import extract_from_dir

    found: dict[str, list[str]] = {}
    method_map = [("**/locale/**", "ignore"), ("**.py", "python")]
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map=method_map, keywords=KEYWORDS, strip_comment_tags=True):
        if isinstance(message, tuple):  # plural forms are not used by the course
            message = message[0]
        if message:
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return dict(sorted(found.items()))


def placeholders(text: str) -> set[str]:
    """The named `{placeholders}` of a format string ({{ and }} are literal braces)."""
    return set(_PLACEHOLDER.findall(text))


def _read(code: str) -> Catalog:
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po

    path = catalogue_path(code)
    if not path.exists():
        return Catalog(locale=code, domain=DOMAIN, project="coursekit")
    with path.open("rb") as handle:
        return read_po(handle, locale=code, domain=DOMAIN)


def gaps(messages: dict[str, list[str]] | None = None) -> list[Gap]:
    """Everything that keeps the catalogues from covering the code exactly."""
    messages = extract() if messages is None else messages
    problems: list[Gap] = []
    for code in LANGUAGES[1:]:
        cat = _read(code)
        for text, places in messages.items():
            entry = cat.get(text)
            where = places[0]
            if entry is None or not entry.string:
                problems.append(Gap(code, "missing", text, where))
            elif entry.fuzzy:
                problems.append(Gap(code, "fuzzy", text, where))
            elif placeholders(str(entry.string)) != placeholders(text):
                problems.append(Gap(code, "placeholders", text, where))
        problems.extend(Gap(code, "stale", str(m.id)) for m in cat if m.id and m.id not in messages)
    return problems


def update() -> dict[str, int]:
    """Rewrite each language's catalogue to hold exactly the code's messages; returns untranslated counts."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    messages = extract()
    counts = {}
    for code in LANGUAGES[1:]:
        old = _read(code)
        new = Catalog(locale=code, domain=DOMAIN, project="coursekit", version=None, fuzzy=False,
                      header_comment=HEADER.format(language=code), copyright_holder="the coursekit authors",
                      msgid_bugs_address="", creation_date=old.creation_date, revision_date=old.revision_date,
                      last_translator=old.last_translator, language_team=f"coursekit ({code})")
        for text, places in messages.items():
            previous = old.get(text)
            locations = [(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places]
            new.add(text, previous.string if previous else "", locations=locations,
                    flags=previous.flags if previous else ())
        path = catalogue_path(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=100, sort_output=True, omit_header=False)
        counts[code] = sum(1 for m in new if m.id and not m.string)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit.catalogue", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="list what is missing; change nothing")
    args = parser.parse_args(argv)
    if args.check:
        problems = gaps()
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) in the catalogues under {LOCALE_DIR}")
        return 1 if problems else 0
    for code, missing in update().items():
        print(f"{catalogue_path(code)}: {missing} message(s) still to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
