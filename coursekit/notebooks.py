"""Re-execute notebooks in place so their stored outputs are current (`make notebooks`).

What is stored is what a learner should see on opening the notebook, and nothing that changes from
one run to the next, so a second run changes no byte: no execution timestamps, no widget models
(an explorer's output keeps its still picture and the line that says how to get the live version;
its model ids would be new on every run), and the kernelspec the installed kernel writes (so
JupyterLab does not mark an unedited notebook as modified).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["WIDGET_VIEW", "execute_notebook", "normalise"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def normalise(nb: Any, *, kernel_display_name: str) -> Any:
    """Drop what changes between runs (timestamps, widget models) and store the installed kernel's name."""
    nb.metadata.pop("widgets", None)
    nb.metadata.setdefault("kernelspec", {})["display_name"] = kernel_display_name
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and WIDGET_VIEW in data and "image/png" in data:  # an explorer with its still picture
                del data[WIDGET_VIEW]
    return nb


def _installed_display_name(kernel: str) -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return str(KernelSpecManager().get_kernel_spec(kernel).display_name)


def execute_notebook(path: Path, *, timeout: int = 600) -> float:
    """Run every cell of the notebook at `path` in a fresh kernel and save it; returns seconds taken."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    normalise(nb, kernel_display_name=_installed_display_name("python3"))
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
