"""A kernel start-up hook for scripts/gpu_check.sh: records which cells allocate CUDA memory.

The GPU check starts each notebook's kernel with an IPython start-up file that calls `install()`.
After every cell the hook rewrites one JSON file (named by the GPU_CHECK_RECORD variable) with, per
cell, the SHA-1 of its source, its time and how many allocations PyTorch's CUDA caching allocator
served while it ran; and, for the notebook, the peak CUDA memory so far. The file is rewritten
after every cell because nbval kills the kernel at the end, so nothing can be written at exit.

The hook never imports torch itself and never initialises CUDA: it reads the counters only once the
notebook has done so. It prints nothing, so the outputs nbval compares are untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from typing import Any

__all__ = ["RECORD_VARIABLE", "install", "snapshot"]

RECORD_VARIABLE = "GPU_CHECK_RECORD"


def snapshot(user_ns: dict[str, Any] | None = None) -> dict[str, Any]:
    """What torch reports now: the CUDA counters once CUDA is initialised, and the notebook's `device`."""
    torch = sys.modules.get("torch")
    state: dict[str, Any] = {"torch": None, "cuda_available": None, "cuda_initialized": False}
    if user_ns is not None and "device" in user_ns:
        state["notebook_device"] = str(user_ns["device"])
    if torch is None:
        return state
    state["torch"] = getattr(torch, "__version__", None)
    state["cuda_available"] = bool(torch.cuda.is_available())
    if not torch.cuda.is_initialized():
        return state
    stats = torch.cuda.memory_stats()
    state.update(
        cuda_initialized=True,
        gpu_name=torch.cuda.get_device_name(),
        allocations=int(stats.get("allocation.all.allocated", 0)),
        peak_bytes=int(torch.cuda.max_memory_allocated()),
        bytes_in_use=int(torch.cuda.memory_allocated()),
    )
    return state


def _write(path: str, record: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(tmp, path)


def install() -> bool:
    """Register the pre/post cell callbacks in the running IPython kernel; False when not asked to."""
    path = os.environ.get(RECORD_VARIABLE)
    if not path:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    record: dict[str, Any] = {"pid": os.getpid(), "cells": [], "last": {}, "hook_errors": []}
    started: dict[str, float] = {"time": 0.0, "allocations": 0}

    def before(info: Any) -> None:
        try:
            started["time"] = time.perf_counter()
            started["allocations"] = snapshot().get("allocations", 0)
        except Exception as exc:  # noqa: BLE001 - a broken counter must never break the notebook
            record["hook_errors"].append(repr(exc))

    def after(result: Any) -> None:
        try:
            now = snapshot(shell.user_ns)
            source = result.info.raw_cell if result.info is not None else ""
            record["cells"].append({
                "sha1": hashlib.sha1(source.encode("utf-8")).hexdigest(),
                "seconds": round(time.perf_counter() - started["time"], 4),
                "cuda_allocations": now.get("allocations", 0) - started["allocations"],
                "error": result.error_in_exec is not None or result.error_before_exec is not None,
            })
            record["last"] = now
            _write(path, record)
        except Exception as exc:  # noqa: BLE001
            record["hook_errors"].append(repr(exc))

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)
    _write(path, record)
    return True
