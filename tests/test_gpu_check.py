"""scripts/gpu_check.sh: its CPU half end to end, the table it prints, and the kernels' memory hook.

The end-to-end test runs the real script (an nvidia-smi that finds no GPU comes first on its PATH,
so it takes the CPU path on any machine) on two tiny notebooks, one of them failing, and on one
exercise-bank test: every step of the CPU half runs, while the course's own notebooks are left to
the nbval step of `make test`, which already runs every one of them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


report = _load("gpu_check_report")


def _sha1(source: str) -> str:
    return hashlib.sha1(source.encode("utf-8")).hexdigest()


def _notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """A notebook of code cells, each with its source and the stdout stored as its output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for count, (source, stdout) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        if stdout:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _path_hiding_the_gpu(folder: Path) -> str:
    """PATH with an nvidia-smi first that finds no GPU, so the script takes its CPU path everywhere."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "nvidia-smi"
    shim.write_text("#!/bin/sh\necho 'No devices were found' >&2\nexit 6\n")
    shim.chmod(0o755)
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


@pytest.mark.slow
def test_cpu_half_runs_notebooks_writes_the_table_and_fails_on_a_failing_notebook(tmp_path):
    first = "import torch\n\nimport coursekit\n\ndevice = coursekit.device()\ncoursekit.seed(0)"
    demo = "x = torch.arange(4.0, device=device)\nprint(f\"{(x * x).sum().item():.1f}\")"
    leftovers = "print(sorted(n for n in dir() if n.startswith(\"_gc\")))"
    good = _notebook(tmp_path / "nb" / "tiny_ok.ipynb", [(first, ""), (demo, "14.0\n"), (leftovers, "[]\n")])
    bad = _notebook(tmp_path / "nb" / "tiny_bad.ipynb", [("print(1 + 1)", "3\n")])
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "COURSEKIT_DEVICE"}
    env.update(
        PATH=_path_hiding_the_gpu(tmp_path / "bin"),
        GPU_CHECK_OUT=str(out),
        GPU_CHECK_NOTEBOOKS=f"{good} {bad}",
        GPU_CHECK_BANK_TESTS="tests/exercises/test_bank.py::test_reference_scores_full_points[grad_f]",
        GPU_CHECK_VENV=sys.prefix,
        GPU_CHECK_JOBS="2",
    )
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log  # a notebook failed in the CPU half, which is all there is without a GPU
    assert "no NVIDIA GPU here" in proc.stdout
    assert "coursekit doctor" in proc.stdout and "Everything the course needs is here." in proc.stdout
    assert "1 passed" in proc.stdout  # the exercise-bank test ran
    assert "tiny_bad failed; the end of" in proc.stdout  # the failing notebook's log is shown
    phases = proc.stdout.split("======== phase times ========")[1]
    for name in ("machine", "environment", "coursekit doctor", "nbval on the CPU", "exercise bank", "table"):
        assert name in phases, phases
    assert "nbval on the GPU" not in proc.stdout

    table = (out / "gpu_check_table.txt").read_text()
    assert table.strip() in proc.stdout
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("tiny_")}
    assert set(rows) == {"tiny_ok", "tiny_bad"}
    assert "no GPU" in rows["tiny_ok"] and "pass 3/3" in rows["tiny_ok"] and "- / cpu" in rows["tiny_ok"]
    assert "FAIL 0/1" in rows["tiny_bad"]

    record = json.loads((out / "runs" / "cpu" / "tiny_ok.record.json").read_text())
    assert [c["sha1"] for c in record["cells"]] == [_sha1(first), _sha1(demo), _sha1(leftovers)]
    assert record["last"]["notebook_device"] == "cpu" and not record["last"]["cuda_initialized"]
    assert record["hook_errors"] == []
    summary = json.loads((out / "gpu_check.json").read_text())
    assert [entry["cpu"]["verdict"] for entry in summary] == ["pass 3/3", "FAIL 0/1"]


HOOK_DRIVER = r"""
import json, os, sys, types

class Cuda:
    # the few calls the hook makes, with counters a cell can move
    def __init__(self):
        self.initialized, self.allocations, self.peak = False, 0, 0
    def is_available(self): return True
    def is_initialized(self): return self.initialized
    def memory_stats(self): return {"allocation.all.allocated": self.allocations}
    def max_memory_allocated(self): return self.peak
    def memory_allocated(self): return self.peak // 2
    def get_device_name(self): return "Test GPU"
    def allocate(self, count, nbytes):
        self.initialized = True
        self.allocations += count
        self.peak = max(self.peak, nbytes)

torch = types.ModuleType("torch")
torch.__version__ = "0.0+test"
torch.cuda = Cuda()
sys.modules["torch"] = torch

from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
sys.path.insert(0, sys.argv[1])
import gpu_check_hook
assert gpu_check_hook.install()
for source in sys.argv[3:]:
    shell.run_cell(source)
print(json.dumps(sorted(k for k in shell.user_ns if "gpu_check" in k)))
"""


def test_hook_counts_cuda_allocations_per_cell_and_the_peak(tmp_path):
    record_path = tmp_path / "record.json"
    cells = ["x = 1", "import torch\ntorch.cuda.allocate(3, 2**21)", "device = 'cuda:0'",
             "torch.cuda.allocate(2, 2**20)", "1 / 0"]
    env = {**os.environ, "GPU_CHECK_RECORD": str(record_path)}
    proc = subprocess.run([sys.executable, "-c", HOOK_DRIVER, str(ROOT / "scripts"), "unused", *cells],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []  # nothing of the hook in the user's names
    record = json.loads(record_path.read_text())
    assert [c["sha1"] for c in record["cells"]] == [_sha1(s) for s in cells]
    assert [c["cuda_allocations"] for c in record["cells"]] == [0, 3, 0, 2, 0]
    assert [c["error"] for c in record["cells"]] == [False, False, False, False, True]
    last = record["last"]
    assert last["cuda_initialized"] and last["allocations"] == 5 and last["peak_bytes"] == 2**21
    assert last["notebook_device"] == "cuda:0" and last["gpu_name"] == "Test GPU"
    assert record["hook_errors"] == []


def test_hook_does_nothing_unless_asked(monkeypatch):
    hook = _load("gpu_check_hook")
    monkeypatch.delenv(hook.RECORD_VARIABLE, raising=False)
    assert hook.install() is False


def _results(folder: Path, key: str, *, code: int, seconds: float, cells: int, failed: int = 0,
             record: dict | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.status").write_text(f"{code} {seconds}\n")
    (folder / f"{key}.junit.xml").write_text(
        f'<testsuites><testsuite name="pytest" tests="{cells}" failures="{failed}" errors="0" skipped="0">'
        "</testsuite></testsuites>")
    if record is not None:
        (folder / f"{key}.record.json").write_text(json.dumps(record))


def _fixture_run(tmp_path: Path) -> tuple[Path, Path]:
    """An output folder as the script leaves it after both passes on one notebook of four code cells."""
    sources = ["import torch", "w = torch.zeros(3, device=device)", "print(1)", "w = torch.zeros(3, device=device)"]
    nb = _notebook(tmp_path / "notebooks" / "07_demo.ipynb", [(s, "") for s in sources])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notebooks.txt").write_text(f"07_demo\t{nb}\n")
    # the kernel also ran code that is no notebook cell; cells 1 and 3 share a source
    cells = [{"sha1": _sha1("%matplotlib inline"), "seconds": 0.1, "cuda_allocations": 0}]
    allocations = [0, 0, 0, 4]
    cells += [{"sha1": _sha1(s), "seconds": 0.5, "cuda_allocations": n}
              for s, n in zip(sources, allocations, strict=True)]
    gpu_record = {"cells": cells, "hook_errors": [], "last": {
        "cuda_initialized": True, "peak_bytes": 3 * 2**20, "allocations": 4, "notebook_device": "cuda"}}
    _results(out / "runs" / "gpu", "07_demo", code=0, seconds=3.0, cells=4, record=gpu_record)
    cpu_record = {"cells": cells[1:3], "hook_errors": [], "last": {"cuda_initialized": False, "notebook_device": "cpu"}}
    _results(out / "runs" / "cpu", "07_demo", code=0, seconds=6.0, cells=4, record=cpu_record)
    return out, nb


def test_table_reports_times_memory_and_the_cells_that_allocated(tmp_path):
    out, nb = _fixture_run(tmp_path)
    rows = report.summarise(out)
    assert rows[0].gpu_cells == [3]  # the second copy of the same source, not the first
    text = report.render(rows)
    line = next(line for line in text.splitlines() if line.startswith("07_demo"))
    for expected in ("pass 4/4", "3.0 (2.1)", "6.0 (1.0)", "0.50", "cuda / cpu", "3.0 MiB", "Cell 3"):
        assert expected in line, line
    assert "note:" not in text
    assert report.main([str(out), "--decide", "gpu"]) == 0
    assert (out / "gpu_check_table.txt").read_text().strip() == text.strip()


def test_decide_fails_on_a_failed_or_missing_notebook_and_notes_cuda_use_on_the_cpu_pass(tmp_path):
    out, _ = _fixture_run(tmp_path)
    _results(out / "runs" / "gpu", "07_demo", code=1, seconds=3.0, cells=4, failed=1)
    assert report.main([str(out), "--decide", "gpu"]) == 1
    assert "FAIL 3/4" in (out / "gpu_check_table.txt").read_text()
    assert report.main([str(out), "--decide", "cpu"]) == 0

    record = json.loads((out / "runs" / "cpu" / "07_demo.record.json").read_text())
    record["cells"][1]["cuda_allocations"] = 2
    (out / "runs" / "cpu" / "07_demo.record.json").write_text(json.dumps(record))
    text = report.render(report.summarise(out))
    assert "with COURSEKIT_DEVICE=cpu, Cell 1 still allocated CUDA memory" in text

    (out / "runs" / "gpu" / "07_demo.status").unlink()
    assert report.main([str(out), "--decide", "gpu"]) == 3  # not run: the budget ran out
    assert "not run" in (out / "gpu_check_table.txt").read_text()
    assert "no GPU" in report.render(report.summarise(out), gpu="absent")


def test_cell_ranges_are_compact():
    assert report._ranges([]) == "none"
    assert report._ranges([0, 1, 2, 5, 7, 8]) == "Cell 0-2, 5, 7-8"
