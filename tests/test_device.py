import importlib
import random

import numpy as np
import pytest
import torch

import coursekit
from coursekit.device import choose_device

# `coursekit.device` is the function; the module is reached through importlib
device_module = importlib.import_module("coursekit.device")


def test_env_var_forces_cpu(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "cpu")
    choice = choose_device()
    assert choice.device == torch.device("cpu")
    assert "COURSEKIT_DEVICE" in choice.reason
    assert coursekit.device() == torch.device("cpu")


def test_unknown_device_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "tpu")
    with pytest.raises(ValueError, match="use cpu, cuda"):
        choose_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_gpu_says_so(monkeypatch):
    monkeypatch.setenv("COURSEKIT_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        choose_device()


def test_default_order_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("COURSEKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert choose_device().device.type == "mps"
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)
    assert choose_device().device.type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Test GPU")
    choice = choose_device()
    assert choice.device.type == "cuda" and "Test GPU" in choice.reason


def test_seed_makes_python_numpy_and_torch_repeatable():
    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(()))

    coursekit.seed(123)
    first = draw()
    coursekit.seed(123)
    assert draw() == first
    coursekit.seed(124)
    assert draw() != first


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        coursekit.seed(bad)
