"""Peak memory of every notebook in a Binder-like environment (Binder gives 2 GB; target < 1.5 GB).

    python benchmarks/binder_memory.py [--venv DIR] [--rebuild] [--json FILE] [NOTEBOOK ...]

The environment is built the way repo2docker builds binder/ as far as this machine allows: a fresh
venv with binder/environment.yml's Python and its pip section installed (index-url lines dropped:
the CPU wheel of torch comes from the configured indexes), then binder/postBuild run with that venv
first on PATH. The venv is cached under bench-output/ and rebuilt when binder/ or pyproject.toml
change. Each notebook then runs in a fresh kernel of that venv; the peak is the kernel's maximum
resident set size (the Jupyter server's own ~100 MB comes on top of it on Binder).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
CACHED_VENV = ROOT / "bench-output" / "binder-venv"
LIMIT_MB = 1536.0  # our target; Binder itself kills the container at 2048 MB
BINDER_MB = 2048.0
# packages a CPU-only torch never needs: their presence means a CUDA build was resolved
CUDA_PACKAGES = re.compile(r"^(nvidia-.*|triton|cuda-.*)$", re.IGNORECASE)
_INDEX_OPTION = re.compile(r"^\s*(--(extra-)?index-url|-i|--no-index)\b")


def _bench_module():
    """benchmarks/notebooks.py (its measure() runs one notebook in a fresh kernel of a given Python)."""
    spec = importlib.util.spec_from_file_location("coursekit_bench_notebooks", ROOT / "benchmarks" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_environment(path: Path = BINDER / "environment.yml") -> tuple[str, list[str]]:
    """The Python version and the pip requirements (index options dropped) of a conda environment file."""
    data = yaml.safe_load(path.read_text())
    python, pip = "", []
    for item in data.get("dependencies", []):
        if isinstance(item, dict):
            pip.extend(str(line) for line in item.get("pip", []))
        elif re.match(r"^python\s*=", str(item)):
            python = re.sub(r"^python\s*=+\s*", "", str(item)).strip()
    if not python:
        raise ValueError(f"{path} pins no python=X.Y")
    if not pip:
        raise ValueError(f"{path} has no pip: section")
    return python, [line for line in pip if not _INDEX_OPTION.match(line)]


def find_python(version: str) -> str:
    """An interpreter of the given X.Y version on this machine."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version:
        return sys.executable
    found = shutil.which(f"python{version}")
    if not found:
        raise RuntimeError(f"binder/environment.yml asks for Python {version}, which is not installed here")
    return found


def _env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(command: list[str], *, venv: Path, log: list[str], cwd: Path = ROOT) -> None:
    done = subprocess.run(command, cwd=cwd, env=_env(venv), capture_output=True, text=True, check=False)
    log.append(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(command)}` failed (exit {done.returncode}):\n"
                           f"{(done.stdout + done.stderr)[-4000:]}")


def cuda_packages(report: Path) -> list[str]:
    """Names of CUDA packages in a `pip install --report` file."""
    installs = json.loads(report.read_text()).get("install", [])
    return sorted(i["metadata"]["name"] for i in installs if CUDA_PACKAGES.match(i["metadata"]["name"]))


def build_env(venv: Path, *, binder: Path = BINDER) -> Path:
    """Build the Binder-like venv at `venv` from scratch; returns its python. Raises with pip's output."""
    version, requirements = read_environment(binder / "environment.yml")
    if venv.exists():
        shutil.rmtree(venv)
    log: list[str] = []
    subprocess.run([find_python(version), "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    (venv / "binder-requirements.txt").write_text("\n".join(requirements) + "\n")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
           "-r", str(venv / "binder-requirements.txt")]
    # resolve first: a CUDA build of torch would be caught here, before gigabytes are downloaded
    _run([*pip, "--dry-run", "--report", str(venv / "resolution.json")], venv=venv, log=log)
    cuda = cuda_packages(venv / "resolution.json")
    if cuda:
        raise RuntimeError(f"binder/environment.yml resolves to CUDA packages {cuda}; Binder needs the CPU build")
    _run(pip, venv=venv, log=log)
    _run(["bash", str(binder / "postBuild")], venv=venv, log=log)
    (venv / "build.log").write_text("\n".join(log))
    _check_kernel_runs_in(venv)
    return venv / "bin" / "python"


def _check_kernel_runs_in(venv: Path) -> None:
    """A kernel started from the venv's Python runs in the venv (not in whatever Jupyter is installed)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.ipynb"
        source = f"import os, sys\nassert os.path.samefile(sys.prefix, {str(venv)!r}), sys.prefix\nimport coursekit"
        nbformat.write(new_notebook(cells=[new_code_cell(source)]), probe)
        _bench_module().measure(probe, python=str(venv / "bin" / "python"))


def env_key(binder: Path = BINDER) -> str:
    """A hash of everything the build reads, so a cached venv is rebuilt when any of it changes."""
    digest = hashlib.sha256()
    for path in sorted(binder.iterdir()) + [ROOT / "pyproject.toml"]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_env(venv: Path = CACHED_VENV, *, rebuild: bool = False) -> tuple[Path, float]:
    """The cached Binder-like venv, built when missing, stale or asked; returns (python, build seconds)."""
    stamp, key, python = venv / ".binder-key", env_key(), venv / "bin" / "python"
    fresh = stamp.exists() and stamp.read_text() == key and python.exists()
    if fresh and not rebuild and subprocess.run([str(python), "-c", "import coursekit"], check=False,
                                                capture_output=True).returncode == 0:
        return python, 0.0
    start = time.perf_counter()
    python = build_env(venv)
    stamp.write_text(key)
    return python, time.perf_counter() - start


def measure_all(python: Path, notebooks: list[Path]) -> list[dict[str, object]]:
    """Run each notebook in a fresh kernel of `python`; one row per notebook (an 'error' key on failure)."""
    measure = _bench_module().measure
    rows: list[dict[str, object]] = []
    for path in notebooks:
        try:
            row = measure(path, python=str(python))
        except Exception as exc:  # noqa: BLE001 - report it in the table and go on
            rows.append({"notebook": path.stem, "error": str(exc)[-2000:]})
            continue
        rows.append({"notebook": path.stem, "seconds": round(row["seconds"], 2),
                     "peak_mb": round(row["peak_mb"], 1), "ok": row["peak_mb"] < LIMIT_MB})
    return rows


def table(rows: list[dict[str, object]]) -> str:
    """The rows as a printed table."""
    lines = [f"{'notebook':<26} {'time (s)':>9} {'peak RSS (MB)':>14} {'of 2 GB':>8}  target < {LIMIT_MB:g} MB"]
    for row in rows:
        if "error" in row:
            first = str(row["error"]).strip().splitlines()[-1] if str(row["error"]).strip() else "?"
            lines.append(f"{row['notebook']:<26} FAILED: {first}")
            continue
        share = 100 * float(row["peak_mb"]) / BINDER_MB
        lines.append(f"{row['notebook']:<26} {row['seconds']:>9.1f} {row['peak_mb']:>14.0f} {share:>7.0f}%  "
                     f"{'ok' if row['ok'] else 'OVER TARGET'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--venv", type=Path, default=CACHED_VENV, help="where the Binder-like venv is kept")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the venv even when it is current")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks found under notebooks/")
        return 1
    python, took = cached_env(args.venv, rebuild=args.rebuild)
    print(f"Binder-like venv: {args.venv} ({f'built in {took:.0f} s' if took else 'cached, current'})")
    rows = measure_all(python, paths)
    print(table(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(row.get("ok") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
