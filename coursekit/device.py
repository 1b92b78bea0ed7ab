"""Which device the course's tensors live on, and seeding for reproducible runs."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["DeviceChoice", "choose_device", "device", "seed"]

ENV_VAR = "COURSEKIT_DEVICE"


@dataclass(frozen=True)
class DeviceChoice:
    """The device picked and the reason, in words a learner can read."""

    device: torch.device
    reason: str

    def __str__(self) -> str:
        return f"{self.device.type}: {self.reason}"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def choose_device() -> DeviceChoice:
    """Pick CUDA, then Apple MPS, then the CPU; the COURSEKIT_DEVICE variable overrides."""
    wanted = os.environ.get(ENV_VAR, "").strip().lower()
    if wanted:
        if wanted not in {"cpu", "cuda", "mps"} and not wanted.startswith("cuda:"):
            raise ValueError(f"{ENV_VAR}={wanted!r} is not a device; use cpu, cuda, cuda:N or mps.")
        if wanted.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"{ENV_VAR}={wanted} but PyTorch sees no CUDA GPU; unset it or use cpu.")
        if wanted == "mps" and not _mps_available():
            raise RuntimeError(f"{ENV_VAR}=mps but Apple's MPS backend is not available; unset it or use cpu.")
        return DeviceChoice(torch.device(wanted), f"set by {ENV_VAR}={wanted}")
    if torch.cuda.is_available():
        return DeviceChoice(torch.device("cuda"), f"an NVIDIA GPU is available ({torch.cuda.get_device_name(0)})")
    if _mps_available():
        return DeviceChoice(torch.device("mps"), "Apple's Metal (MPS) GPU backend is available")
    return DeviceChoice(torch.device("cpu"), "no GPU is available, so tensors stay on the CPU")


def device() -> torch.device:
    """The device the course's heavier experiments use (see `choose_device` for the rule)."""
    return choose_device().device


def seed(n: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators (all devices) with `n`."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"seed must be a non-negative integer, got {n!r}")
    random.seed(n)
    np.random.seed(n % 2**32)
    torch.manual_seed(n)
