"""The repository's GitHub path (OWNER/REPO): one setting, `[tool.coursekit] repository` in pyproject.toml.

The README's links (its Binder badge and the book's address) and every page of the book
are made from it. Usage:

    python scripts/repository.py                   print the setting
    python scripts/repository.py OWNER/REPO        set it and rewrite the README's links to match
    python scripts/repository.py --check           exit 1 when a README link disagrees with the setting
    python scripts/repository.py --expect O/R      exit 1 unless the setting is O/R (the Pages workflow)
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

__all__ = ["binder_url", "book_url", "check_readme", "read_repository", "set_repository", "validate"]

ROOT = Path(__file__).resolve().parents[1]

# GitHub's rules: an owner is 1-39 letters, digits or single hyphens, not at either end; a repository name
# is letters, digits, '.', '_' and '-', and neither '.' nor '..'.
_OWNER = re.compile(r"^(?!-)[A-Za-z0-9-]{1,39}(?<!-)$")
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_SETTING_LINE = re.compile(r'^(repository\s*=\s*)"[^"\n]*"', re.MULTILINE)
_SECTION = re.compile(r"^\[tool\.coursekit\]\s*$", re.MULTILINE)
# every Binder link in the README opens this repository
_BINDER = re.compile(r"https://mybinder\.org/v2/gh/[^/\s)]+/[^/\s)]+/HEAD")


def validate(repository: str) -> str:
    """`repository` if it is a GitHub path OWNER/REPO; else a ValueError saying why."""
    owner, slash, name = repository.partition("/")
    if not slash or not _OWNER.match(owner) or not _NAME.match(name) or name in {".", ".."}:
        raise ValueError(f"{repository!r} is not a GitHub repository path: write OWNER/REPO, "
                         "e.g. ada-lovelace/how-networks-learn")
    return repository


def read_repository(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The setting, read from `pyproject` ([tool.coursekit] repository)."""
    with pyproject.open("rb") as handle:
        data = tomllib.load(handle)
    try:
        value = data["tool"]["coursekit"]["repository"]
    except KeyError:
        raise KeyError(f"{pyproject} has no [tool.coursekit] repository = \"OWNER/REPO\" setting") from None
    return validate(value)


def binder_url(repository: str, notebook: str) -> str:
    """Binder's link that opens `notebook` (a path from the repository root) in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{repository}/HEAD?urlpath=lab/tree/{notebook}"


def book_url(repository: str) -> str:
    """Where GitHub Pages publishes the book of `repository` (owners are lower-case in the host name)."""
    owner, _, name = repository.partition("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def _readme_with(text: str, old: str, new: str) -> str:
    text = _BINDER.sub(f"https://mybinder.org/v2/gh/{new}/HEAD", text)
    return text.replace(book_url(old), book_url(new))


def check_readme(readme: Path, repository: str) -> list[str]:
    """What in the README does not use `repository`, one line each (empty when everything agrees)."""
    text = readme.read_text(encoding="utf-8")
    expected = f"https://mybinder.org/v2/gh/{repository}/HEAD"
    binder = _BINDER.findall(text)
    problems = [f"Binder link {link} (expected {expected})" for link in binder if link != expected]
    if not binder:
        problems.append(f"{readme.name} has no Binder link")
    if book_url(repository) not in text:
        problems.append(f"{readme.name} does not link to the book at {book_url(repository)}")
    return problems


def set_repository(repository: str, *, root: Path = ROOT) -> list[Path]:
    """Write `repository` into pyproject.toml and the README's links; returns the files changed.

    Both files are checked before either is written, so a bad path or a pyproject.toml without the
    setting changes nothing.
    """
    validate(repository)
    pyproject, readme = root / "pyproject.toml", root / "README.md"
    old = read_repository(pyproject)
    text = pyproject.read_text(encoding="utf-8")
    section = _SECTION.search(text)
    if section is None:
        raise KeyError(f"{pyproject} has no [tool.coursekit] section to hold the repository setting")
    rest = text[section.end():]
    end = re.search(r"^\[", rest, re.MULTILINE)
    body = rest[: end.start() if end else len(rest)]
    if not _SETTING_LINE.search(body):
        raise KeyError(f"{pyproject}'s [tool.coursekit] section has no repository = \"...\" line")
    new_body = _SETTING_LINE.sub(lambda m: f'{m.group(1)}"{repository}"', body, count=1)
    new_pyproject = text[: section.end()] + new_body + rest[len(body):]
    tomllib.loads(new_pyproject)  # still valid TOML
    old_readme = readme.read_text(encoding="utf-8")
    new_readme = _readme_with(old_readme, old, repository)
    changed = []
    for path, old, new in ((pyproject, text, new_pyproject), (readme, old_readme, new_readme)):
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Show, set or check the repository's GitHub path (OWNER/REPO).")
    parser.add_argument("repository", nargs="?", help="the new setting, e.g. ada-lovelace/how-networks-learn")
    parser.add_argument("--check", action="store_true", help="check that the README's links use the setting")
    parser.add_argument("--expect", metavar="OWNER/REPO", help="fail unless the setting is this path")
    args = parser.parse_args(argv)
    try:
        if args.repository:
            changed = set_repository(args.repository)
            names = ", ".join(p.name for p in changed) or "nothing (already set)"
            print(f"repository = {args.repository}; rewrote {names}. The book picks it up at its next build.")
            return 0
        current = read_repository()
    except (ValueError, KeyError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"repository: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    if args.expect and current != args.expect:
        print(f"repository: pyproject.toml says {current!r} but this is {args.expect!r}: run "
              f"`make repository REPO={args.expect}` and commit, so the README and the book link here.",
              file=sys.stderr)
        return 1
    if args.check or args.expect:
        wrong = check_readme(ROOT / "README.md", current)
        if wrong:
            print("repository: README.md links disagree with the setting "
                  f"{current!r}:\n  " + "\n  ".join(wrong), file=sys.stderr)
            return 1
    print(current)
    return 0


if __name__ == "__main__":
    sys.exit(main())
