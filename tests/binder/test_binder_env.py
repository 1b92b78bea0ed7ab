"""Binder: a fresh environment built from binder/ alone runs every notebook within Binder's memory.

The build and the measurement are benchmarks/binder_memory.py's (`make bench` prints the same table
from a cached venv); here the venv is always built from scratch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.binder

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def _binder_memory():
    spec = importlib.util.spec_from_file_location("coursekit_bench_binder", ROOT / "benchmarks" / "binder_memory.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _output_file() -> Path:
    base = Path(os.environ.get("COURSEKIT_TEST_OUTPUT", "test-output"))
    path = (base if base.is_absolute() else ROOT / base) / "binder-memory.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def test_pip_section_is_read_without_index_options():
    bench = _binder_memory()
    version, requirements = bench.read_environment()
    assert version == "3.11"
    assert "torch==2.13.0+cpu" in requirements
    assert not [r for r in requirements if r.startswith("-")], "index options must have been dropped"


def test_every_notebook_runs_in_binder_memory(tmp_path, capsys):
    bench = _binder_memory()
    # run copies, so nothing a notebook writes lands in the repository
    copies = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, copies, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebooks = sorted(copies.glob("*.ipynb"))
    assert notebooks, "no notebooks under notebooks/"
    start = time.perf_counter()
    python = bench.build_env(tmp_path / "venv")
    built = time.perf_counter() - start
    installed = json.loads((tmp_path / "venv" / "resolution.json").read_text())["install"]
    names = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in installed}
    assert names.get("torch") == "2.13.0+cpu", f"torch resolved to {names.get('torch')}"
    assert bench.cuda_packages(tmp_path / "venv" / "resolution.json") == []

    rows = bench.measure_all(python, notebooks)
    report = {"build_seconds": round(built, 1), "limit_mb": bench.LIMIT_MB, "binder_mb": bench.BINDER_MB,
              "notebooks": rows}
    _output_file().write_text(json.dumps(report, indent=2))
    with capsys.disabled():  # the table is the point of this test: show it even when it passes
        print(f"\nBinder-like venv built in {built:.0f} s\n{bench.table(rows)}")

    failed = {row["notebook"]: row["error"] for row in rows if "error" in row}
    assert not failed, "notebooks failed in the Binder-like environment:\n" + "\n\n".join(
        f"{name}:\n{error}" for name, error in failed.items())
    over = {row["notebook"]: row["peak_mb"] for row in rows if not row["ok"]}
    assert not over, f"peak memory over {bench.LIMIT_MB:g} MB (Binder allows 2048 MB): {over}"
    assert len(rows) == len(notebooks)
