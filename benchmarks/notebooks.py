"""Run time and peak memory of every notebook, each in a fresh kernel on the CPU.

    python benchmarks/notebooks.py [NOTEBOOK ...]

Peak memory is the kernel process's maximum resident set size. Each notebook runs in its
own wrapper process, so the kernel is that wrapper's only child and RUSAGE_CHILDREN
reports exactly its peak, and its CPU time (user + system, start-up included): on a busy
machine the wall time grows with the load, the CPU time much less. Targets: < 15 s and
< 1.5 GB per notebook (wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_TARGET_S = 15.0
MEMORY_TARGET_MB = 1536.0

_WRAPPER = r"""
import json, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
with client.setup_kernel():
    start = time.perf_counter()
    client.execute_cell  # kernel is warm here: time only the cells
    for index, cell in enumerate(nb.cells):
        client.execute_cell(cell, index)
    took = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": took, "peak_mb": usage.ru_maxrss / 1024, "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def measure(path: Path, *, python: str = sys.executable) -> dict[str, float]:
    """Execute one notebook in a fresh kernel; returns {'seconds', 'peak_mb'}."""
    env = {**os.environ, "COURSEKIT_DEVICE": os.environ.get("COURSEKIT_DEVICE", "cpu")}
    done = subprocess.run([python, "-c", _WRAPPER, str(path)], capture_output=True, text=True, env=env,
                          check=False, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{path.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--python", default=sys.executable, help="interpreter whose environment runs the kernels")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} (1 min)")
    print(f"{'notebook':<28} {'time (s)':>9} {'kernel CPU (s)':>15} {'peak RSS (MB)':>14}  target < "
          f"{TIME_TARGET_S:g} s, < {MEMORY_TARGET_MB:g} MB")
    rows, failed = [], False
    for path in paths:
        try:
            row = measure(path, python=args.python)
        except Exception as exc:  # noqa: BLE001 - report and go on with the next notebook
            print(f"{path.stem:<28} FAILED: {exc}")
            failed = True
            continue
        ok = row["seconds"] < TIME_TARGET_S and row["peak_mb"] < MEMORY_TARGET_MB
        failed |= not ok
        rows.append({"notebook": path.stem, **row})
        print(f"{path.stem:<28} {row['seconds']:>9.1f} {row['cpu_s']:>15.1f} {row['peak_mb']:>14.0f}  "
              f"{'ok' if ok else 'OVER TARGET'}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
