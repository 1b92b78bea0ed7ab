"""The `coursekit` command: a thin layer over typed functions.

    coursekit doctor        is this environment ready for the course?
    coursekit exercises     list the exercise bank by notebook
    coursekit lab           copy the notebooks into your folder (once) and open JupyterLab on it
                            (--lang zh: on the Chinese edition's 00_start_here)
    coursekit copy [DEST]   only copy the notebooks into your folder (never overwrites)
    coursekit grade         grade a folder of submitted notebooks into a gradebook
    coursekit report        rebuild the class report of a graded folder

`python -m coursekit` is the same command.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main"]

Handler = Callable[[argparse.Namespace], int]


def _doctor(args: argparse.Namespace) -> int:
    from coursekit.doctor import diagnose

    report = diagnose()
    if not args.quiet or not report.ok:
        print(report)
    if not report.ok:
        print("\ncoursekit doctor: the environment is not ready (see Problems above).", file=sys.stderr)
        return 1
    return 0


def _exercises(args: argparse.Namespace) -> int:
    from coursekit.exercises import all_exercises, by_notebook

    exercises = by_notebook(args.notebook) if args.notebook else all_exercises()
    if args.rules:
        from coursekit.exercises.rules import rules_table

        print(rules_table(exercises))
        return 0
    current = None
    for ex in exercises:
        if ex.notebook != current:
            current = ex.notebook
            print(f"\n{current}")
        cases = ex.cases()
        print(f"  {ex.id:<34} {ex.points:>4g} pt  {len(cases):>2} public cases  {ex.title}")
    print(f"\n{len(exercises)} exercises")
    return 0


def _lab(args: argparse.Namespace) -> int:
    from coursekit.i18n import language
    from coursekit.lab import run_lab
    from coursekit.workspace import WorkspaceError, copy_course, course_notebooks, start_notebook

    if args.source:
        folder = course_notebooks()
        print(f"Serving the course's own notebooks in {folder} (edits change the course itself).")
    else:
        report = copy_course(args.dir)
        print(report)
        folder = report.folder
    try:
        start = start_notebook(folder, args.lang or language())
    except WorkspaceError:
        if args.lang:  # asked for on the command line: say why it cannot be
            raise
        # only $COURSEKIT_LANG asked for it: open the English edition rather than nothing
        print(f"(no {language()} edition in {folder}: opening the English one)")
        start = start_notebook(folder, "en")
    return run_lab(port=args.port, folder=folder, start=start)


def _copy(args: argparse.Namespace) -> int:
    from coursekit.workspace import copy_course

    print(copy_course(args.dest))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `coursekit` command."""
    from coursekit import __version__
    from coursekit.workspace import EDITIONS

    parser = argparse.ArgumentParser(prog="coursekit", description="The course's command-line tools.")
    parser.add_argument("--version", action="version", version=f"coursekit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    doctor = sub.add_parser("doctor", help="check that everything the course needs is installed")
    doctor.add_argument("--quiet", action="store_true", help="print only when something is wrong")
    doctor.set_defaults(handler=_doctor)

    exercises = sub.add_parser("exercises", help="list the exercise bank")
    exercises.add_argument("--notebook", help="only this notebook's exercises, e.g. 03_activations")
    exercises.add_argument("--rules", action="store_true",
                           help="print the rules each exercise enforces (a Markdown table)")
    exercises.set_defaults(handler=_exercises)

    lab = sub.add_parser("lab", help="open JupyterLab on your copy of the course's notebooks",
                         description="Copy the course notebooks into your folder (once: your notebooks are never "
                                     "overwritten) and open JupyterLab on it.")
    lab.add_argument("--port", type=int, default=None, help="port to serve on (default: a free one)")
    lab.add_argument("--lang", choices=sorted(EDITIONS), default=None,
                     help="the edition to open on: en (English) or zh (中文, the notebooks under zh/); both are "
                          "copied (default: $COURSEKIT_LANG, else en)")
    where = lab.add_mutually_exclusive_group()
    where.add_argument("--dir", type=Path, default=None,
                       help="your folder for the notebooks (default: $COURSEKIT_WORKDIR or "
                            "~/how-neural-networks-learn)")
    where.add_argument("--source", action="store_true",
                       help="open the course's own notebooks instead of your copy (for course authors)")
    lab.set_defaults(handler=_lab)

    copy = sub.add_parser("copy", help="copy the course notebooks into a folder of yours (never overwrites)")
    copy.add_argument("dest", nargs="?", type=Path, default=None,
                      help="the folder (default: $COURSEKIT_WORKDIR or ~/how-neural-networks-learn)")
    copy.set_defaults(handler=_copy)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


def _grade_command(sub: argparse._SubParsersAction) -> None:
    from coursekit.grading.command import add_grade_command

    add_grade_command(sub)


def _report_command(sub: argparse._SubParsersAction) -> None:
    from coursekit.grading.report_command import add_report_command

    add_report_command(sub)


# Other modules add sub-commands here (e.g. `grade`), each a function taking the subparsers object.
_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [_grade_command, _report_command]


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user asked for something impossible: a message, not a traceback."""
    from coursekit.exercises import UnknownExerciseError
    from coursekit.workspace import WorkspaceError

    return (UnknownExerciseError, WorkspaceError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `coursekit` console script (and of `python -m coursekit`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`coursekit exercises | head`): stop quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except _user_errors() as exc:
        print(f"coursekit {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
