"""The table of scripts/gpu_check.sh: per notebook, GPU and CPU wall time, pass/fail, CUDA memory.

Reads what the script left in its output folder: `notebooks.txt` (one notebook a line: its KEY, a
tab, its path) and, per pass (`gpu`, `cpu`) and notebook, `runs/PASS/KEY.status` ("exit-code seconds"),
`KEY.junit.xml` (nbval's per-cell results) and `KEY.record.json` (from gpu_check_hook.py).
Writes `gpu_check_table.txt` and `gpu_check.json` there and prints the table.
Usage: python scripts/gpu_check_report.py OUT_DIR [--decide gpu|cpu] [--gpu usable|absent|unusable]
The exit code with --decide: 0 when every notebook passed in that pass, 1 when one failed,
3 when one has no result (not run, e.g. the time budget ran out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PassResult", "Row", "cuda_cells", "main", "read_pass", "render", "summarise"]

PASSES = ("gpu", "cpu")
MIB = 2**20


@dataclass
class PassResult:
    """One notebook in one pass: how it ended, how long it took and what the kernel recorded."""

    ran: bool = False
    exit_code: int | None = None
    seconds: float | None = None
    cells: int = 0
    failed: int = 0
    skipped: int = 0
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.ran and self.exit_code == 0

    def verdict(self) -> str:
        if not self.ran:
            return "not run"
        if self.exit_code == 124:
            return "TIMEOUT"
        if self.cells == 0:
            return "ERROR" if self.exit_code else "pass"
        ok = self.cells - self.failed - self.skipped
        word = "pass" if self.passed else "FAIL"
        return f"{word} {ok}/{self.cells - self.skipped}"


def _junit_counts(path: Path) -> tuple[int, int, int]:
    """Cells, failed (failures + errors) and skipped, from pytest's JUnit XML."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    cells = failed = skipped = 0
    for suite in suites:
        cells += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return cells, failed, skipped


def read_pass(folder: Path, key: str) -> PassResult:
    """Read one notebook's results in one pass folder; a missing status file means it did not run."""
    status = folder / f"{key}.status"
    if not status.exists():
        return PassResult()
    code, seconds = status.read_text().split()[:2]
    result = PassResult(ran=True, exit_code=int(code), seconds=float(seconds))
    junit = folder / f"{key}.junit.xml"
    if junit.exists():
        try:
            result.cells, result.failed, result.skipped = _junit_counts(junit)
        except ET.ParseError:
            pass
    record = folder / f"{key}.record.json"
    if record.exists():
        try:
            result.record = json.loads(record.read_text())
        except json.JSONDecodeError:
            result.record = {"hook_errors": ["unreadable record"]}
    return result


def cuda_cells(notebook: Path, record: dict[str, Any]) -> list[int]:
    """nbval's numbers ("Cell N", code cells from 0) of the cells that made CUDA allocations.

    The kernel identifies a cell by the SHA-1 of its source; cells run in order, so each hash is
    matched to the first code cell with that source after the previously matched one.
    """
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []  # the notebook is gone or unreadable: its table row says so through its verdicts
    # nbformat stores a source as one string or as a list of lines
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c.get("cell_type") == "code"]
    hashes = [hashlib.sha1(s.encode("utf-8")).hexdigest() for s in sources]
    found, start = [], 0
    for cell in record.get("cells", []):
        try:
            index = hashes.index(cell["sha1"], start)
        except ValueError:
            continue  # code the kernel ran that is not a notebook cell
        start = index + 1
        if cell.get("cuda_allocations", 0) > 0:
            found.append(index)
    return found


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    spans, first, last = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == last + 1:
            last = n
            continue
        spans.append(str(first) if first == last else f"{first}-{last}")
        if n is not None:
            first = last = n
    return "Cell " + ", ".join(spans)


@dataclass
class Row:
    """One line of the table."""

    notebook: str
    gpu: PassResult
    cpu: PassResult
    gpu_cells: list[int]
    cpu_cells: list[int]


def summarise(out: Path) -> list[Row]:
    """Every notebook listed in OUT/notebooks.txt with its results from both passes."""
    rows = []
    for line in (out / "notebooks.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        key, path = line.split("\t", 1)
        notebook = Path(path)
        gpu, cpu = (read_pass(out / "runs" / name, key) for name in PASSES)
        rows.append(Row(
            notebook=key,
            gpu=gpu,
            cpu=cpu,
            gpu_cells=cuda_cells(notebook, gpu.record) if gpu.record else [],
            cpu_cells=cuda_cells(notebook, cpu.record) if cpu.record else [],
        ))
    return rows


def _seconds(result: PassResult) -> str:
    """Wall time of the notebook's pytest run, and in brackets the time its cells took in the kernel."""
    if result.seconds is None:
        return "-"
    cells = result.record.get("cells")
    inside = f" ({sum(c.get('seconds', 0) for c in cells):.1f})" if cells else ""
    return f"{result.seconds:.1f}{inside}"


def _device(result: PassResult) -> str:
    return result.record.get("last", {}).get("notebook_device", "?") if result.ran else "-"


def _cuda(result: PassResult) -> dict[str, Any]:
    last = result.record.get("last", {})
    return last if last.get("cuda_initialized") else {}


def _peak(result: PassResult) -> str:
    if not result.ran or not result.record:
        return "-"
    cuda = _cuda(result)
    return f"{cuda.get('peak_bytes', 0) / MIB:.1f} MiB" if cuda else "no CUDA"


def _allocations(result: PassResult) -> str:
    if not _cuda(result):
        return "-"
    return str(sum(c.get("cuda_allocations", 0) for c in result.record.get("cells", [])))


GPU_STATES = {"usable": "", "absent": "no GPU", "unusable": "GPU unusable"}


def render(rows: list[Row], *, heading: str = "", gpu: str = "usable") -> str:
    """The table as text: one line per notebook, then notes on anything that needs a look.

    `gpu` says why a GPU column may be empty: "usable", "absent" or "unusable".
    """
    header = ("notebook", "GPU", "GPU s (cells)", "CPU", "CPU s (cells)", "GPU/CPU", "device GPU/CPU",
              "CUDA peak", "CUDA allocs", "cells that allocated CUDA memory")
    lines = []
    for row in rows:
        ratio = "-"
        if row.gpu.seconds and row.cpu.seconds:
            ratio = f"{row.gpu.seconds / row.cpu.seconds:.2f}"
        gpu_verdict = GPU_STATES[gpu] if gpu != "usable" and not row.gpu.ran else row.gpu.verdict()
        lines.append((row.notebook, gpu_verdict, _seconds(row.gpu), row.cpu.verdict(), _seconds(row.cpu),
                      ratio, f"{_device(row.gpu)} / {_device(row.cpu)}", _peak(row.gpu), _allocations(row.gpu),
                      _ranges(row.gpu_cells) if _cuda(row.gpu) else "-"))
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    text = [heading] if heading else []
    text += [fmt.format(*header).rstrip(), fmt.format(*("-" * w for w in widths)).rstrip()]
    text += [fmt.format(*line).rstrip() for line in lines]
    gpu_total = sum(r.gpu.seconds or 0 for r in rows)
    cpu_total = sum(r.cpu.seconds or 0 for r in rows)
    text.append(f"summed wall time of the notebook runs: GPU {gpu_total:.1f} s, CPU {cpu_total:.1f} s "
                "(each run: pytest, a fresh kernel, every cell; in brackets the cells alone)")
    notes = []
    for row in rows:
        if row.cpu_cells:
            notes.append(f"{row.notebook}: with COURSEKIT_DEVICE=cpu, {_ranges(row.cpu_cells)} still "
                         "allocated CUDA memory (a tensor placed on 'cuda' by name?)")
        if row.gpu.ran and row.gpu.record and not _device(row.gpu).startswith("cuda"):
            notes.append(f"{row.notebook}: in the GPU pass the notebook's device was {_device(row.gpu)}, not cuda")
        for name, result in (("GPU", row.gpu), ("CPU", row.cpu)):
            if result.ran and not result.record:
                notes.append(f"{row.notebook}: the {name} pass left no record from the kernel's memory hook")
            errors = result.record.get("hook_errors")
            if errors:
                notes.append(f"{row.notebook}: the {name} pass's memory hook failed: {errors[0]}")
    text += [f"note: {n}" for n in notes]
    return "\n".join(text)


def _json(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        entry = asdict(row)
        for name in PASSES:
            entry[name]["verdict"] = getattr(row, name).verdict()
        out.append(entry)
    return out


def main(argv: list[str] | None = None) -> int:
    """Write and print the table; with --decide, the exit code says whether that pass passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--decide", choices=PASSES)
    parser.add_argument("--heading", default="")
    parser.add_argument("--gpu", choices=sorted(GPU_STATES), default="usable",
                        help="absent or unusable: why the GPU columns are empty")
    args = parser.parse_args(argv)
    rows = summarise(args.out)
    table = render(rows, heading=args.heading, gpu=args.gpu)
    (args.out / "gpu_check_table.txt").write_text(table + "\n", encoding="utf-8")
    (args.out / "gpu_check.json").write_text(json.dumps(_json(rows), indent=1), encoding="utf-8")
    print(table)
    if not args.decide:
        return 0
    results = [getattr(row, args.decide) for row in rows]
    if any(r.ran and not r.passed for r in results):
        return 1
    if not all(r.ran for r in results) or not results:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
