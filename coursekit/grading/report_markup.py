"""Small pieces of the class report's HTML: escaped text, tables, percentages, inline figures, disclosures."""

from __future__ import annotations

import base64
import functools
import html
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from coursekit.i18n import _

__all__ = ["CJK_FONTS", "esc", "figure_png", "heading", "number", "paragraph", "share", "students_list", "table_head",
           "unavailable"]

esc = html.escape

#: fonts with Chinese glyphs, in the order tried, for figures whose text needs them (DejaVu Sans has none)
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC",
             "SimHei")


@functools.cache
def _cjk_font() -> str | None:
    """The first of CJK_FONTS that matplotlib can use; the system's CJK font files are added to its list (for
    this process) when its cache predates them."""
    for attempt in range(2):
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((name for name in CJK_FONTS if name in installed), None)
        if found or attempt:
            return found
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name.lower() for key in ("cjk", "wqy", "sourcehansans")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
    return None


def _with_cjk(fig: Figure) -> None:
    """Give every text of `fig` a CJK font to fall back on, if some text needs one and one is installed."""
    texts = fig.findobj(Text)
    if not any(any(ord(c) >= 0x2E80 for c in t.get_text()) for t in texts):
        return
    fallback = _cjk_font()
    for text in texts:
        text.set_fontfamily(["DejaVu Sans", *([fallback] if fallback else [])])


def heading(text: str, level: int = 2) -> str:
    """A heading with escaped text."""
    return f"<h{level}>{esc(text)}</h{level}>"


def paragraph(text: str, *, kind: str = "") -> str:
    """A paragraph with escaped text, of a class ("note", "unavailable") if given."""
    return f"<p class='{kind}'>{esc(text)}</p>" if kind else f"<p>{esc(text)}</p>"


def table_head(names: Sequence[str]) -> str:
    """The start of a table with these column names."""
    return "<table><tr>" + "".join(f"<th>{esc(n)}</th>" for n in names) + "</tr>"


def share(value: float | None) -> str:
    """A share as a percentage for the reader ("—" when there is none)."""
    return "—" if value is None else f"{value * 100:.0f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{round(value, digits):g}"


def figure_png(draw: Callable[[Any], Any], *, width: float, height: float, alt: str, caption: str) -> str:
    """A <figure> with the PNG of what `draw(ax)` draws on a fresh Axes, inline as base64."""
    fig = Figure(figsize=(width, height), layout="constrained")
    draw(fig.add_subplot())
    _with_cjk(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{esc(alt)}'>"
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def students_list(ids: Sequence[str]) -> str:
    """A disclosure with the students' ids (closed until clicked)."""
    if not ids:
        return ""
    summary = _("{n} student ids").format(n=len(ids)) if len(ids) != 1 else _("1 student id")
    return f"<details><summary>{esc(summary)}</summary><div class='ids'>{esc(', '.join(ids))}</div></details>"


_REASONS = {"not_recorded": lambda: _("the results were written by an older coursekit grader, which did not record "
                                      "what this section needs. Grade the class again into a new folder with this "
                                      "version to see it."),
            "no_graded_students": lambda: _("no student's notebook could be graded (see Problems).")}


def unavailable(data: dict[str, Any], section: str) -> str:
    """The paragraph saying why a section cannot be shown ("" when it can)."""
    why = data["unavailable"].get(section)
    if why is None:
        return ""
    reason = _REASONS[why]() if why in _REASONS else why
    text = _("This section cannot be shown: {reason}").format(reason=reason)
    return f"<p class='unavailable'>{esc(text)}</p>"


