"""The course map of the landing page, made from the notebooks present and 00's own map.

Each numbered notebook under notebooks/ is one row, in file-name order (00's order); what it teaches is
the row of 00's course-map table that names it, so the landing page and 00 never disagree, and a new
notebook appears as soon as its file exists. The Chinese edition's map is made the same way from the
Chinese notebooks (notebooks/zh/), their titles and their 00's table.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HEADERS", "Lesson", "course_map", "course_map_markdown"]

_NUMBERED = re.compile(r"^\d\d_\w+\.ipynb$")
# a row of 00's table: | 03 | `03_activations` | what it teaches |, the name possibly a link to the notebook:
# | 03 | [`03_activations`](03_activations.ipynb) | ... |
_MAP_ROW = re.compile(r"^\|\s*\d\d\s*\|\s*\[?`?(?P<name>\d\d_\w+)`?(?:\]\([^)\s]*\))?\s*\|\s*(?P<teaches>.+?)\s*\|\s*$")
# a map describes the notebook it sits in as "this page: ..." (本页：...); elsewhere that reads wrong
_THIS_PAGE = re.compile(r"^(this (page|notebook)|本页|本笔记本)\s*[:,：，]\s*", re.IGNORECASE)
#: the map's header row, by language
HEADERS = {"en": "| # | Notebook | What it teaches |", "zh": "| # | 笔记本 | 内容 |"}
_NUMBER_PREFIX = re.compile(r"^\d\d\s*[·:.\-：、]\s*")


@dataclass(frozen=True)
class Lesson:
    """One notebook of the course: `name` (file stem), its title and what it teaches (may be empty)."""

    name: str
    title: str
    teaches: str

    @property
    def number(self) -> str:
        return self.name[:2]


def _markdown_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in notebook.get("cells", []) if c.get("cell_type") == "markdown"]


def _title(path: Path) -> str:
    for cell in _markdown_cells(path):
        for line in cell.splitlines():
            if line.startswith("# "):
                return _NUMBER_PREFIX.sub("", line[2:].strip())
    return path.stem


def _map_rows(path: Path) -> dict[str, str]:
    rows = {}
    for cell in _markdown_cells(path):
        for line in cell.splitlines():
            match = _MAP_ROW.match(line.strip())
            if match:
                teaches = _THIS_PAGE.sub("", match["teaches"])
                rows[match["name"]] = teaches[:1].upper() + teaches[1:]
    return rows


def course_map(notebooks: Path) -> list[Lesson]:
    """The numbered notebooks in `notebooks`, in order, each with its title and 00's description."""
    paths = sorted(p for p in notebooks.glob("*.ipynb") if _NUMBERED.match(p.name))
    if not paths:
        raise FileNotFoundError(f"no numbered notebooks (NN_name.ipynb) in {notebooks}")
    rows = _map_rows(paths[0])  # 00, the first, holds the map
    return [Lesson(p.stem, _title(p), rows.get(p.stem, "")) for p in paths]


def course_map_markdown(lessons: list[Lesson], *, folder: str = "notebooks", language: str = "en") -> str:
    """The map as a MyST table, its header in `language` ('en' or 'zh'); each title links to its page."""
    lines = [HEADERS[language], "|---|---|---|"]
    for lesson in lessons:
        teaches = lesson.teaches.replace("|", "\\|")
        title = lesson.title.replace("<", "\\<").replace("`", "\\`")
        lines.append(f"| {lesson.number} | {{doc}}`{title} <{folder}/{lesson.name}>` | {teaches} |")
    return "\n".join(lines)
