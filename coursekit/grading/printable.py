"""Text from submissions made safe for the instructor's terminal, files and spreadsheets.

Anything a student controls (file names, exception messages, a notebook's kernel name)
can carry terminal escapes, bidirectional overrides or line breaks that forge a line of
output. `printable` replaces every such character with a visible escape (`\\x1b`,
`\\u202e`), so the text still says what was there but cannot act. `csv_cell` also keeps a
spreadsheet from evaluating a cell as a formula (OWASP's advice: a leading `'`).
"""

from __future__ import annotations

import unicodedata

__all__ = ["csv_cell", "printable"]

# a cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# control, format (bidirectional overrides, zero-width), surrogate, private, unassigned, line and paragraph separators
_ACTING = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


def _escape(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (os.fsdecode's surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, *, newlines: bool = False) -> str:
    """`text` with control, format, line-separator and surrogate characters escaped; keeps `\\n` if `newlines`."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(char if (char == "\n" and newlines) or unicodedata.category(char) not in _ACTING else _escape(char)
                   for char in text)


def csv_cell(text: object) -> str:
    """A text cell for the gradebook CSV: printable on one line, never read as a formula."""
    cell = printable(text)
    return "'" + cell if cell.startswith(FORMULA_START) else cell
