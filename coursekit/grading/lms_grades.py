"""Grades back into the LMS: the totals of a Canvas download in the form Canvas's gradebook imports.

Canvas's gradebook export (and so its import) starts with the columns `Student`, `ID`,
`SIS User ID`, `SIS Login ID` and `Section`; every further column is an assignment, named
`<title> (<assignment id>)` when it is one Canvas already has, and a second row may give each
assignment's `Points Possible`. Canvas matches a row to its student by `ID`, the user id its
download puts in every file name, so the SIS columns may stay empty.

`canvas.csv` has one row per student whose Canvas user id is known (not the anonymous ids of
an anonymously graded assignment); a student whose notebook could not be graded at all gets an
empty score rather than a 0, so the instructor decides what it is worth.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from coursekit.grading.printable import csv_cell

__all__ = ["CANVAS_COLUMNS", "CANVAS_CSV", "canvas_csv"]

CANVAS_CSV = "canvas.csv"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def canvas_csv(results: Iterable[Any], *, assignment: str, max_total: float | None = None) -> str:
    """The CSV text: Canvas's five identifying columns, then one column named after the assignment.

    `results` are StudentResult-like (student, lms_id, total, problem); rename the last column
    to the Canvas assignment's `Title (id)` to fill an assignment that exists instead of a new one.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, csv_cell(assignment)])
    if max_total is not None:
        writer.writerow(["Points Possible", "", "", "", "", f"{max_total:g}"])
    for result in sorted(results, key=lambda r: r.student):
        if not result.lms_id.isdigit():
            continue
        score = "" if result.problem else f"{result.total:g}"
        writer.writerow([csv_cell(result.student), result.lms_id, "", "", "", score])
    return buffer.getvalue()
