"""The repository path is one setting: pyproject.toml holds it, the README's links and the book follow it."""

import shutil
import tomllib
from pathlib import Path

import pytest
import repository
from repository import binder_url, book_url, check_readme, read_repository, set_repository

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_the_readme_agrees_with_the_setting():
    assert check_readme(ROOT / "README.md", read_repository()) == []


def test_setting_it_rewrites_pyproject_and_every_readme_link(checkout):
    old = read_repository(checkout / "pyproject.toml")
    before = (checkout / "pyproject.toml").read_text()
    changed = set_repository("Ada-Lovelace/how-networks-learn", root=checkout)
    assert sorted(p.name for p in changed) == ["README.md", "pyproject.toml"]
    assert read_repository(checkout / "pyproject.toml") == "Ada-Lovelace/how-networks-learn"
    after = (checkout / "pyproject.toml").read_text()
    # only the setting's line changed, the rest of the TOML is as it was
    assert [a for a, b in zip(after.splitlines(), before.splitlines(), strict=True) if a != b] == [
        'repository = "Ada-Lovelace/how-networks-learn"']
    assert tomllib.loads(after)["project"] == tomllib.loads(before)["project"]
    readme = (checkout / "README.md").read_text()
    assert check_readme(checkout / "README.md", "Ada-Lovelace/how-networks-learn") == []
    assert f"v2/gh/{old}/" not in readme and book_url(old) not in readme
    assert "https://ada-lovelace.github.io/how-networks-learn/" in readme  # Pages' host name is lower-case
    assert set_repository("Ada-Lovelace/how-networks-learn", root=checkout) == []  # again: nothing to do


@pytest.mark.parametrize("bad", ["", "justaname", "a/b/c", "-ada/course", "ada-/course", "ada/..", "ada/c d",
                                 "a" * 40 + "/course", "ada/"])
def test_a_bad_path_is_refused_and_nothing_is_written(checkout, bad):
    before = {p.name: p.read_bytes() for p in checkout.iterdir()}
    with pytest.raises(ValueError, match="not a GitHub repository path"):
        set_repository(bad, root=checkout)
    assert {p.name: p.read_bytes() for p in checkout.iterdir()} == before


def test_a_pyproject_without_the_setting_is_refused_before_the_readme_is_touched(checkout):
    text = (checkout / "pyproject.toml").read_text()
    (checkout / "pyproject.toml").write_text(text.replace("[tool.coursekit]", "[tool.other]"))
    readme = (checkout / "README.md").read_bytes()
    with pytest.raises(KeyError, match="tool.coursekit"):
        set_repository("ada/course", root=checkout)
    assert (checkout / "README.md").read_bytes() == readme


def test_the_check_names_a_link_that_disagrees(checkout):
    readme = checkout / "README.md"
    readme.write_text(readme.read_text() + "\n[x](https://mybinder.org/v2/gh/someone/else/HEAD?urlpath=lab)\n")
    problems = check_readme(readme, read_repository(checkout / "pyproject.toml"))
    assert len(problems) == 1 and "someone/else" in problems[0]


def test_links_have_binders_and_pages_forms():
    assert binder_url("ada/course", "notebooks/01_gradients.ipynb") == (
        "https://mybinder.org/v2/gh/ada/course/HEAD?urlpath=lab/tree/notebooks/01_gradients.ipynb")
    assert book_url("Ada/Course") == "https://ada.github.io/Course/"


def test_the_command_line(capsys):
    assert repository.main([]) == 0
    assert capsys.readouterr().out.strip() == read_repository()
    assert repository.main(["--check"]) == 0
    assert repository.main(["--expect", "someone/else"]) == 1
    assert "make repository REPO=someone/else" in capsys.readouterr().err
    assert repository.main(["not a path"]) == 2
    err = capsys.readouterr().err
    assert "not a GitHub repository path" in err and "Traceback" not in err
