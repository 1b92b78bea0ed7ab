"""pyproject.toml, environment.yml and binder/environment.yml list the same packages and versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDA_NAMES = {"pytorch": "torch"}  # conda-forge's package name -> PyPI's
NOT_PACKAGES = {"python", "pip"}


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement)
    assert match, requirement
    name = match.group(1).lower().replace("_", "-")
    spec = match.group(2).replace(" ", "")
    # conda writes an exact pin as `=`, pip as `==`; Binder's CPU build carries the +cpu local label
    spec = re.sub(r"^=(?!=)", "==", spec).replace("+cpu", "")
    return CONDA_NAMES.get(name, name), spec


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(_split(r) for r in data["project"]["dependencies"])


def _conda(path: Path) -> tuple[dict[str, str], list[str]]:
    data = yaml.safe_load(path.read_text())
    packages, pip = {}, []
    for item in data["dependencies"]:
        if isinstance(item, dict):
            pip.extend(item["pip"])
        else:
            name, spec = _split(item)
            if name not in NOT_PACKAGES:
                packages[name] = spec
    return packages, pip


def test_environment_yml_matches_pyproject():
    packages, pip = _conda(ROOT / "environment.yml")
    assert packages == _pyproject()
    assert pip == ["-e .[dev]"]


def test_binder_environment_matches_pyproject():
    packages, pip = _conda(ROOT / "binder" / "environment.yml")
    assert packages == {}, "Binder installs everything with pip, from the pip section"
    options = [p for p in pip if p.startswith("-")]
    requirements = dict(_split(p) for p in pip if not p.startswith("-"))
    assert requirements == _pyproject()
    assert options == ["--extra-index-url https://download.pytorch.org/whl/cpu"]


def test_binder_uses_cpu_torch_and_lists_pip():
    text = (ROOT / "binder" / "environment.yml").read_text()
    assert "torch==2.13.0+cpu" in text
    packages = yaml.safe_load(text)["dependencies"]
    assert "pip" in packages and any(str(p).startswith("python=3.11") for p in packages)


def test_postbuild_fails_fast_and_installs_the_package():
    script = (ROOT / "binder" / "postBuild").read_text()
    assert "set -e" in script
    assert re.search(r"pip install .*--no-deps.* -e \.", script)


def test_tested_torch_is_pinned_everywhere():
    assert _pyproject()["torch"] == "==2.13.0"
    assert "torch==2.13.0" in (ROOT / "scripts" / "install_torch.sh").read_text().replace('$want', "2.13.0")
