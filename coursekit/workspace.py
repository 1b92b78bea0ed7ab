"""The learner's working copy of the course notebooks, so the originals stay as they were shipped.

The notebooks ship inside the package (``coursekit/course`` in a wheel; ``notebooks/`` in the
repository), the Chinese edition in its ``zh/`` folder. `copy_course` copies both editions into a
folder of the learner's, once: a notebook already there is never overwritten, so an upgrade of the
package (or a ``git pull``) cannot touch a learner's answers, and a notebook new in the course is
added the next time. `start_notebook` names the notebook JupyterLab opens first in each edition.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["EDITIONS", "WORKDIR_VAR", "CopyReport", "WorkspaceError", "copy_course", "course_notebooks",
           "default_workdir", "start_notebook"]

WORKDIR_VAR = "COURSEKIT_WORKDIR"
_DEFAULT_FOLDER = "how-neural-networks-learn"
_FIRST = "00_start_here.ipynb"
#: each edition's folder inside the course folder, by language (the languages of coursekit.i18n)
EDITIONS: dict[str, str] = {"en": "", "zh": "zh"}
_EDITION_NAMES = {"en": "English", "zh": "Chinese"}


class WorkspaceError(RuntimeError):
    """The course's notebooks cannot be found, or the learner's folder cannot take them."""


def course_notebooks() -> Path:
    """The folder holding the course's own notebooks: the repository's notebooks/, else the installed copy."""
    checkout = Path(__file__).resolve().parent.parent / "notebooks"
    if (checkout / _FIRST).is_file():
        return checkout
    shipped = Path(str(resources.files("coursekit") / "course"))
    if (shipped / _FIRST).is_file():
        return shipped
    raise WorkspaceError("The course notebooks are not installed with this copy of coursekit (neither "
                         f"{checkout} nor {shipped} holds {_FIRST}). Reinstall coursekit from its wheel or "
                         "repository.")


def start_notebook(folder: Path, language: str = "en") -> str:
    """The path, relative to `folder`, of the `language` edition's 00_start_here (e.g. 'zh/00_start_here.ipynb')."""
    if language not in EDITIONS:
        raise WorkspaceError(f"The course has no {language!r} edition; choose one of {', '.join(EDITIONS)}.")
    relative = "/".join(part for part in (EDITIONS[language], _FIRST) if part)
    if not (Path(folder) / relative).is_file():
        raise WorkspaceError(f"{folder} holds no {_EDITION_NAMES[language]} edition of the course ({relative} is "
                             "missing). Copy the course again with `coursekit copy` (it adds what is missing and "
                             "overwrites nothing), or open another edition.")
    return relative


def default_workdir() -> Path:
    """Where the learner's copy lives: $COURSEKIT_WORKDIR, else ~/how-neural-networks-learn."""
    chosen = os.environ.get(WORKDIR_VAR, "").strip()
    return Path(chosen).expanduser() if chosen else Path.home() / _DEFAULT_FOLDER


@dataclass(frozen=True)
class CopyReport:
    """What copy_course did: the folder, the notebooks it added, and those it kept as the learner left them."""

    folder: Path
    added: tuple[str, ...]
    kept: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"The course notebooks are in {self.folder}"]
        if self.added:
            lines.append(f"  added {len(self.added)}: {', '.join(self.added)}")
        if self.kept:
            lines.append(f"  kept your {len(self.kept)} existing notebook(s) as they are (nothing is overwritten)")
        return "\n".join(lines)


def copy_course(dest: Path | None = None, *, source: Path | None = None) -> CopyReport:
    """Copy every course notebook (both editions) missing from `dest` (default: `default_workdir()`) into it;
    never overwrite."""
    dest = Path(dest) if dest is not None else default_workdir()
    source = source or course_notebooks()
    if dest.exists() and not dest.is_dir():
        raise WorkspaceError(f"{dest} exists and is not a folder: choose another place for your notebooks.")
    if dest.resolve() == source.resolve():
        raise WorkspaceError(f"{dest} is the course's own folder; your copy must live somewhere else.")
    added, kept = [], []
    try:
        for original in sorted(source.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in original.parts:
                continue
            relative = original.relative_to(source)
            target = dest / relative
            if target.exists():
                kept.append(str(relative))
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(original, target)
            added.append(str(relative))
    except OSError as exc:
        raise WorkspaceError(f"Could not copy the notebooks into {dest}: {exc.strerror or exc}.") from None
    return CopyReport(dest, tuple(added), tuple(kept))
