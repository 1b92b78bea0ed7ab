"""`coursekit report OUT`: rebuild the class report of a graded (or merged) folder; see `coursekit.grading.report`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coursekit.i18n import LANGUAGES, _

__all__ = ["add_report_command"]


def _report(args: argparse.Namespace) -> int:
    from coursekit.grading.journal import FolderBusy, hold
    from coursekit.grading.printable import printable
    from coursekit.grading.report import ReportError, write_report
    from coursekit.grading.report_read import read_folder
    from coursekit.grading.report_schema import markdown

    if args.schema:
        print(markdown())
        return 0
    if args.out is None:
        print("coursekit report: " + _("name the output folder of `coursekit grade`, e.g. `coursekit report "
                                       "grades`."), file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        if not (out / "gradebook.meta.json").is_file():
            read_folder(out)  # raises the message that says what the folder is not
        with hold(out, what="report"):
            files = write_report(out, language=args.language)
    except ReportError as exc:
        print(f"coursekit report: {printable(exc, newlines=True)}", file=sys.stderr)
        return 2
    except (FolderBusy, OSError, ValueError) as exc:
        print(f"coursekit report: {printable(exc, newlines=True)}", file=sys.stderr)
        return 1
    scores = files.data["scores"]
    print(_("Class report of {assignment} ({n} students): {html} and {json}").format(
        assignment=files.data["assignment"], n=scores["students"], html=printable(files.html),
        json=printable(files.json)))
    return 0


def add_report_command(sub: argparse._SubParsersAction) -> None:
    """Register `coursekit report` on the main parser's sub-commands."""
    parser = sub.add_parser(
        "report", help="write the class report (report.html, report.json) of a graded folder",
        description="Write the class report of a folder graded by `coursekit grade` (or merged from shards): "
                    "report.html, a page to read or print, and report.json, the same data for a script. "
                    "`coursekit grade` writes both at the end of every run; this rebuilds them. Nothing is run "
                    "again.",
        usage="coursekit report OUT [--language LANG]\n       coursekit report --schema")
    parser.add_argument("out", nargs="?", metavar="OUT", help="the --out folder of `coursekit grade`")
    parser.add_argument("--language", default=None, choices=LANGUAGES,
                        help="language of report.html (default: $COURSEKIT_LANG, else en)")
    parser.add_argument("--schema", action="store_true", help="print the documented schema of report.json")
    parser.set_defaults(handler=_report)
