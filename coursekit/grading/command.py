"""`coursekit grade`: the command-line face of `coursekit.grading.batch.grade` and `gradebook.merge`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["add_grade_command"]

DESCRIPTION = """\
Grade a class's submitted notebooks for one course notebook (the "assignment").

Each student's code runs in a locked-down process (no access to other submissions, the
gradebook or the network; limits on time, memory, processes and output). The expected
answers are computed outside it, from the same exercises check() uses in the notebook,
plus hidden cases drawn from --seed. A broken or hostile notebook scores 0 on what it
broke, with the reason; everyone else is unaffected.

SUBMISSIONS is a folder of <student>.ipynb files, nbgrader's course folder (or its
submitted/ folder) laid out as submitted/<student>/<assignment>/<notebook>.ipynb, or the
zip (or unzipped folder) that Canvas, Moodle or Gradescope gives you: the student and the
LMS's id come from its names, and each student's latest submission is graded. A zip is
unpacked into a private temporary folder: names that climb out of it, links, encrypted
members and zip bombs are refused with the reason.

Written to OUT:
  gradebook.csv            one row per student: id, source, lms_id, points per exercise, total,
                           problem, flags
  canvas.csv               for a Canvas download: the totals in Canvas's gradebook import format
  gradebook.meta.json      assignment, seed, maximum points, limits
  results/<student>.json   each exercise's points, status and message
  feedback/<student>.html  what to send back to each student (hidden inputs never shown)
  report.html, report.json the class report: scores, exercises, cases, mistakes, problems,
                           similarity (`coursekit report OUT` rebuilds it)
  journal.jsonl            what is graded: run the same command again to resume after a
                           crash or Ctrl-C; unchanged notebooks are never graded twice
  grading.lock             one grader at a time writes OUT; a second one says who holds it

Every entry named *.ipynb gets a row, even one that cannot be read (a FIFO, a folder, a
link out of SUBMISSIONS, a file over 100 MB): its `problem` says why. Submissions that are
byte-identical to another student's, and answers whose code is a reference solution's, are
listed under `flags` (never scored down)."""

EPILOG = """\
examples:
  coursekit grade submitted/ --out grades --seed 2024
  coursekit grade submitted/ --out grades --seed 2024 --lang zh        (Chinese feedback)
  coursekit grade collected/ --out grades --seed 2024 --assignment 03_activations
  coursekit grade submitted/ --out grades-3 --seed 2024 --shard 3/8     (one of 8 machines)
  coursekit grade merge grades-1 grades-2 grades-3 ... --out grades     (combine the shards)

  coursekit grade submissions.zip --out grades --seed 2024                 (an LMS download)
  coursekit grade submitted/ --out grades --seed 2024 --bank ~/private/hw3_bank.py

Use the same --seed for every shard and every re-run: it decides the hidden cases."""


def _grade(args: argparse.Namespace) -> int:
    from coursekit.grading.batch import grade
    from coursekit.grading.gradebook import META, merge, missing_shards
    from coursekit.grading.journal import FolderBusy
    from coursekit.grading.printable import printable
    from coursekit.grading.sandbox import Limits, SandboxError

    if args.paths[0] == "merge":
        if len(args.paths) < 2:
            print("coursekit grade merge: name the output folders of the shards, e.g. "
                  "`coursekit grade merge grades-1 grades-2 --out grades`.", file=sys.stderr)
            return 2
        try:
            book = merge([Path(p) for p in args.paths[1:]], Path(args.out))
        except (ValueError, FileNotFoundError) as exc:
            print(f"coursekit grade merge: {printable(exc, newlines=True)}", file=sys.stderr)
            return 2
        except (FolderBusy, OSError) as exc:
            print(f"coursekit grade merge: {printable(exc, newlines=True)}", file=sys.stderr)
            return 1
        print(f"Merged {len(args.paths) - 1} folders into {printable(book)}")
        _merged_report(book.parent)
        missing = missing_shards(json.loads((book.parent / META).read_text()))
        if missing:
            print(f"Not merged yet: shard(s) {', '.join(missing)}; the gradebook lacks their students.")
        return 0
    if len(args.paths) != 1:
        print("coursekit grade: give one submissions folder (or `merge OUT1 OUT2 ...`).", file=sys.stderr)
        return 2
    try:
        language = _language(args.lang)
    except ValueError as exc:
        print(f"coursekit grade: {printable(exc)}", file=sys.stderr)
        return 2
    try:
        limits = Limits(notebook_seconds=args.notebook_timeout, exercise_seconds=args.exercise_timeout,
                        submission_seconds=args.submission_timeout, memory_mb=args.memory_mb)
        report = grade(submissions=Path(args.paths[0]), out=Path(args.out), workers=args.workers, seed=args.seed,
                       assignment=args.assignment, shard=args.shard, gradescope=args.gradescope, limits=limits,
                       progress=not args.quiet, language=language, bank=args.bank)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"coursekit grade: {printable(exc, newlines=True)}", file=sys.stderr)
        return 2
    except (FolderBusy, SandboxError, OSError) as exc:
        print(f"coursekit grade: {printable(exc, newlines=True)}", file=sys.stderr)
        return 1
    print(repr(report))
    return 0


def _language(option: str | None) -> str:
    """The language of the students' feedback: --lang, else $COURSEKIT_LANG, else English; a value the course
    does not know is an error here (a class must not get English feedback by a typo)."""
    from coursekit import i18n

    if option is not None:
        return i18n.normalise(option)
    wanted = os.environ.get(i18n.ENV, "").strip()
    if not wanted:
        return "en"
    try:
        return i18n.normalise(wanted)
    except ValueError as exc:
        raise ValueError(f"${i18n.ENV}: {exc}") from None


def _merged_report(out: Path) -> None:
    """The class report of a merged folder: the report of the whole class."""
    from coursekit.grading.journal import FolderBusy, hold
    from coursekit.grading.printable import printable
    from coursekit.grading.report import ReportError, write_report

    try:
        with hold(out, what="report"):
            files = write_report(out)
    except (ReportError, FolderBusy, OSError) as exc:
        print(f"No class report: {printable(exc, newlines=True)}", file=sys.stderr)
        return
    print(f"Class report: {printable(files.html)}")


def add_grade_command(sub: argparse._SubParsersAction) -> None:
    """Register `coursekit grade` (and `coursekit grade merge`) on the main parser's sub-commands."""
    parser = sub.add_parser("grade", help="grade a folder of submitted notebooks into a gradebook",
                            description=DESCRIPTION, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            usage="coursekit grade SUBMISSIONS --out OUT [--seed N] [options]\n"
                                  "       coursekit grade merge OUT1 OUT2 ... --out OUT")
    parser.add_argument("paths", nargs="+", metavar="SUBMISSIONS",
                        help="the submissions folder or LMS zip (or `merge` followed by shard output folders)")
    parser.add_argument("--out", required=True, metavar="OUT", help="folder for the gradebook, results and feedback")
    parser.add_argument("--seed", type=int, default=None, metavar="N",
                        help="seed of the hidden cases; keep it for re-runs and shards (default: the one OUT "
                             "was graded with, else a random one, recorded in gradebook.meta.json)")
    parser.add_argument("--assignment", metavar="NOTEBOOK", default=None,
                        help="the course notebook to grade, e.g. 03_activations (default: what the notebooks' "
                             "metadata says)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="submissions computing at once (default: CPU count); a submission that only sleeps "
                             "lends its core to the next one, so up to 2N may be in progress")
    parser.add_argument("--shard", metavar="K/N", default=None,
                        help="grade only the K-th of N deterministic slices of the class (1 <= K <= N)")
    parser.add_argument("--bank", metavar="PATH", default=None,
                        help="an instructor's private exercises (a Python file or package using the course's "
                             "Exercise/register API): added to the course's, or replacing those of the same id, for "
                             "this run; never visible to the students' code")
    parser.add_argument("--gradescope", action="store_true",
                        help="also write Gradescope results.json files (gradescope/<student>/results.json)")
    limits = parser.add_argument_group("limits per submission")
    limits.add_argument("--notebook-timeout", type=float, default=60.0, metavar="S",
                        help="seconds to run the notebook's cells (default: 60)")
    limits.add_argument("--exercise-timeout", type=float, default=10.0, metavar="S",
                        help="seconds for all cases of one exercise (default: 10)")
    limits.add_argument("--submission-timeout", type=float, default=300.0, metavar="S",
                        help="seconds for everything of one submission (default: 300)")
    limits.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                        help="memory the student's code may use (default: 2048)")
    parser.add_argument("--lang", default=None, metavar="LANG",
                        help="language of the students' feedback (results messages and feedback pages): en or zh "
                             "(default: $COURSEKIT_LANG, else en)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=_grade)
