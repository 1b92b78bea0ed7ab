"""Re-execute notebooks in place so their stored outputs are current (`make notebooks`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

__all__ = ["execute_notebook"]


def execute_notebook(path: Path, *, timeout: int = 600) -> float:
    """Run every cell of the notebook at `path` in a fresh kernel and save it; returns seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"executing {path} ...", end=" ", flush=True)
        try:
            took = execute_notebook(path)
        except Exception as exc:  # noqa: BLE001 - report which notebook failed, then stop
            print(f"FAILED\n{exc}", file=sys.stderr)
            return 1
        print(f"{took:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
