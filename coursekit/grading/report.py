"""The class report: `report.html` and `report.json` of a grading output folder.

    coursekit report OUT              # rebuild them from OUT (a merged folder too)

`coursekit grade` writes both at the end of every run. The report is built from what the grader
recorded (`gradebook.meta.json`, `gradebook.csv`, `results/`); no student code runs again. A
report of a merged folder is the report of the whole class. The parts: reading the folder
(`report_read`), the numbers (`report_data`, schema in `report_schema`), the page
(`report_html`, `report_sections`, figures from `coursekit.plots.report`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.grading.journal import atomic_write
from coursekit.grading.report_data import report_data
from coursekit.grading.report_html import render
from coursekit.grading.report_read import ReportError, read_folder
from coursekit.i18n import using_language

__all__ = ["HTML", "JSON", "ReportError", "ReportFiles", "build_report", "write_report"]

HTML, JSON = "report.html", "report.json"


@dataclass(frozen=True)
class ReportFiles:
    """Where the report was written, and its data."""

    html: Path
    json: Path
    data: dict[str, Any]


def build_report(out: Path | str) -> tuple[dict[str, Any], str]:
    """The report's data and its HTML page for a grading output folder; raises ReportError when it is not one."""
    data = report_data(read_folder(Path(out)))
    return data, render(data)


def write_report(out: Path | str, *, language: str | None = None) -> ReportFiles:
    """Build the report of `out` (in `language`, else the current one) and write report.html and report.json."""
    out = Path(out)
    if language is not None:
        with using_language(language):
            return write_report(out)
    data, page = build_report(out)
    atomic_write(out / JSON, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    atomic_write(out / HTML, page)
    return ReportFiles(out / HTML, out / JSON, data)
