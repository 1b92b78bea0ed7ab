"""The package as users install it: a wheel carries the notebooks, the lab settings and py.typed, and works
from a fresh virtual environment (the course's own bootstrap is an editable install, which hides such gaps)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_listed_packages_are_exactly_the_real_ones():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"]) - {"coursekit.course"}
    real = {".".join(p.relative_to(ROOT).parts[:-1]) for p in (ROOT / "coursekit").rglob("__init__.py")}
    assert listed == real
    assert config["package-dir"]["coursekit.course"] == "notebooks"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # setuptools builds in the repository's build/; a file left there by an earlier build (a notebook since
    # removed, say) would ship in this wheel
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                           str(ROOT)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deprecat" not in (done.stdout + done.stderr).lower()
    (found,) = out.glob("coursekit-*.whl")
    return found


def test_the_wheel_carries_notebooks_settings_license_and_types(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    # both editions: the English notebooks and the Chinese ones in notebooks/zh/
    notebooks = {p.relative_to(ROOT / "notebooks").as_posix() for p in (ROOT / "notebooks").glob("*.ipynb")}
    chinese = {p.relative_to(ROOT / "notebooks").as_posix() for p in (ROOT / "notebooks").glob("zh/*.ipynb")}
    assert {f"coursekit/course/{n}" for n in notebooks | chinese} <= names
    assert not any("ipynb_checkpoints" in n for n in names)
    assert "coursekit/lab_settings/overrides.json" in names and "coursekit/py.typed" in names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata


@pytest.mark.slow
def test_coursekit_from_the_wheel_in_a_fresh_venv_copies_the_course_and_checks_exercises(wheel, tmp_path):
    """A fresh venv that sees this environment's packages (torch and all) but not the repository."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = subprocess.run([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # this environment's site-packages, after the wheel's own files (so the wheel's coursekit wins)
    ours = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "outer.pth").write_text("\n".join(ours) + "\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = ("import coursekit, pathlib, sys; from coursekit.workspace import course_notebooks; "
             "print(pathlib.Path(coursekit.__file__).parent); print(course_notebooks())")
    done = subprocess.run([str(venv / "bin/python"), "-c", probe], capture_output=True, text=True, cwd=work,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    package, course = done.stdout.split()
    assert package.startswith(site) and course == str(Path(site) / "coursekit" / "course")
    copied = subprocess.run([str(venv / "bin/python"), "-m", "coursekit", "copy", str(work / "mine")],
                            capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert copied.returncode == 0, copied.stderr
    assert (work / "mine" / "00_start_here.ipynb").is_file()
    shipped = sorted(p.name for p in (ROOT / "notebooks").glob("zh/*.ipynb"))
    assert sorted(p.name for p in (work / "mine").glob("zh/*.ipynb")) == shipped  # the Chinese edition too
    listing = subprocess.run([str(venv / "bin/python"), "-m", "coursekit", "exercises", "--rules"],
                             capture_output=True, text=True, cwd=work, env=env, timeout=300)
    assert listing.returncode == 0 and "`softmax`" in listing.stdout
    check = ("from coursekit import check\nimport torch\n"
             "def sigmoid(x):\n    return 0.5 * (1 + torch.tanh(x / 2))\n"
             "r = check(sigmoid); print(r.status, r.points)")
    done = subprocess.run([str(venv / "bin/python"), "-c", check], capture_output=True, text=True, cwd=work, env=env,
                          timeout=300)
    assert done.stdout.split() == ["pass", "1.0"], done.stderr
    json.loads((work / "mine" / "00_start_here.ipynb").read_text())
