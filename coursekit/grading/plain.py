"""Plain data: what a learner's result is reduced to before it is compared.

The in-notebook check() and the batch grader both turn a learner's return value into
these plain values (numbers, strings, tuples, `Array`, `Other`) and compare those,
so one comparison serves both. `to_wire`/`from_wire` carry plain values between
processes as JSON plus raw array bytes; nothing is ever unpickled.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from coursekit.exercises.functions import lookup
from coursekit.exercises.model import NamedFunction

__all__ = ["Array", "FunctionRef", "Other", "WireError", "encode", "from_wire", "materialize", "to_wire"]

# dtypes allowed in arrays that cross a process boundary
_WIRE_DTYPES = {"float64": np.float64, "float32": np.float32, "int64": np.int64, "bool": np.bool_}
_TORCH_OF = {"float64": torch.float64, "float32": torch.float32, "int64": torch.int64, "bool": torch.bool}
MAX_DEPTH = 8
MAX_ITEMS = 1000


@dataclass(frozen=True, eq=False)
class Array:
    """An array value: its data, the learner-visible dtype (e.g. 'torch.float32') and where it came from."""

    data: np.ndarray
    dtype: str
    container: str = "tensor"  # "tensor" or "ndarray"
    attached: bool = False  # a tensor that requires grad or hangs off a graph

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)


@dataclass(frozen=True)
class Other:
    """Anything that is not plain data, kept only as its type name and a short description."""

    type_name: str
    text: str = ""


@dataclass(frozen=True)
class FunctionRef:
    """A case input that is a registered function, carried by name."""

    name: str


def _tensor_to_array(value: torch.Tensor, *, keep_dtype: bool) -> Array | Other:
    # torch.Tensor's own methods are used unbound so that a hostile subclass cannot intercept them.
    plain = torch.Tensor.as_subclass(value, torch.Tensor)
    attached = bool(plain.requires_grad or plain.grad_fn is not None)
    detached = torch.Tensor.detach(plain)
    if detached.device.type != "cpu":
        detached = detached.cpu()
    dtype_name = str(detached.dtype).replace("torch.", "")
    if detached.is_complex() or not (detached.is_floating_point() or dtype_name in _WIRE_DTYPES
                                      or dtype_name.startswith(("int", "uint"))):
        return Other("torch.Tensor", f"dtype {dtype_name}")
    if keep_dtype and dtype_name in _WIRE_DTYPES:
        data = detached.numpy().copy()
    elif detached.dtype == torch.bool:
        data = detached.numpy().astype(np.float64)
    else:
        data = detached.to(torch.float64).numpy().copy()
    return Array(data, f"torch.{dtype_name}", "tensor", attached)


def encode(value: Any, *, keep_dtype: bool = False, _depth: int = 0) -> Any:
    """Reduce a Python value to plain data. Arrays become float64 `Array`s unless `keep_dtype`."""
    if _depth > MAX_DEPTH:
        return Other(type(value).__name__, "nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, NamedFunction):
        return FunctionRef(value.name)
    if isinstance(value, torch.Tensor):
        return _tensor_to_array(value, keep_dtype=keep_dtype)
    if isinstance(value, np.ndarray):
        dtype_name = str(value.dtype)
        if keep_dtype and dtype_name in _WIRE_DTYPES:
            data = np.array(value, copy=True)
        elif np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_:
            data = np.asarray(value, dtype=np.float64).copy()
        else:
            return Other("numpy.ndarray", f"dtype {dtype_name}")
        return Array(data, f"numpy.{dtype_name}", "ndarray", False)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (tuple, list)):
        if len(value) > MAX_ITEMS:
            return Other(type(value).__name__, f"{len(value)} items")
        items = [encode(v, keep_dtype=keep_dtype, _depth=_depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            return Other("dict", f"{len(value)} items")
        return {str(k): encode(v, keep_dtype=keep_dtype, _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, (int, float)):  # subclasses of int/float: keep only the number
        return float(value) if isinstance(value, float) else int(value)
    try:
        text = type(value).__name__
    except Exception:  # noqa: BLE001 - a hostile object may break even this
        text = "object"
    return Other(text)


def materialize(value: Any) -> Any:
    """Turn plain case inputs back into the objects a learner's function receives (fresh copies)."""
    if isinstance(value, Array):
        if value.container == "ndarray":
            return np.array(value.data, copy=True)
        dtype = _TORCH_OF.get(value.dtype.replace("torch.", ""), torch.float64)
        return torch.from_numpy(np.array(value.data, copy=True)).to(dtype)
    if isinstance(value, FunctionRef):
        return lookup(value.name)
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(v) for k, v in value.items()}
    return value


class WireError(ValueError):
    """Raised when bytes from another process are not valid plain data."""


def to_wire(value: Any) -> tuple[bytes, list[bytes]]:
    """Serialise plain data as a JSON header and a list of raw array buffers."""
    buffers: list[bytes] = []

    def walk(v: Any) -> Any:
        if isinstance(v, Array):
            name = str(v.data.dtype)
            if name not in _WIRE_DTYPES:
                raise WireError(f"array dtype {name} cannot be sent")
            buffers.append(np.ascontiguousarray(v.data).tobytes())
            return {"$array": len(buffers) - 1, "shape": list(v.data.shape), "wire": name,
                    "dtype": v.dtype, "container": v.container, "attached": v.attached}
        if isinstance(v, Other):
            return {"$other": v.type_name, "text": v.text}
        if isinstance(v, FunctionRef):
            return {"$fn": v.name}
        if isinstance(v, tuple):
            return {"$tuple": [walk(x) for x in v]}
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {"$dict": {str(k): walk(x) for k, x in v.items()}}
        if isinstance(v, float) and not math.isfinite(v):
            return {"$float": repr(v)}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        raise WireError(f"{type(v).__name__} is not plain data")

    header = json.dumps(walk(value), allow_nan=False).encode()
    return header, buffers


def from_wire(header: bytes, buffers: list[bytes], *, max_depth: int = MAX_DEPTH + 2) -> Any:
    """Rebuild plain data from `to_wire`'s output, validating every field (the sender is untrusted)."""
    try:
        tree = json.loads(header.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"header is not JSON: {exc}") from None

    def walk(v: Any, depth: int) -> Any:
        if depth > max_depth:
            raise WireError("data nested too deeply")
        if v is None or isinstance(v, (bool, int, str)):
            return v
        if isinstance(v, float):
            return v
        if isinstance(v, list):
            return [walk(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) == 0:
            raise WireError("unexpected value in plain data")
        if "$array" in v:
            return _array_from_wire(v, buffers)
        if "$other" in v:
            return Other(str(v["$other"])[:200], str(v.get("text", ""))[:200])
        if "$fn" in v:
            return FunctionRef(str(v["$fn"]))
        if "$tuple" in v and isinstance(v["$tuple"], list):
            return tuple(walk(x, depth + 1) for x in v["$tuple"])
        if "$dict" in v and isinstance(v["$dict"], dict):
            return {str(k): walk(x, depth + 1) for k, x in v["$dict"].items()}
        if "$float" in v and v["$float"] in ("nan", "inf", "-inf"):
            return float(v["$float"])
        raise WireError("unknown tagged value in plain data")

    return walk(tree, 0)


def _array_from_wire(v: dict[str, Any], buffers: list[bytes]) -> Array:
    index, shape, wire = v.get("$array"), v.get("shape"), v.get("wire")
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise WireError("array refers to a missing buffer")
    if wire not in _WIRE_DTYPES:
        raise WireError(f"array dtype {wire!r} is not allowed")
    if not isinstance(shape, list) or len(shape) > 8 or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise WireError("array shape is invalid")
    np_dtype = np.dtype(_WIRE_DTYPES[wire])
    count = math.prod(shape)
    if count * np_dtype.itemsize != len(buffers[index]):
        raise WireError("array buffer size does not match its shape")
    data = np.frombuffer(buffers[index], dtype=np_dtype).reshape(shape).copy()
    container = v.get("container")
    if container not in ("tensor", "ndarray"):
        raise WireError("array container is invalid")
    return Array(data, str(v.get("dtype", wire))[:40], container, bool(v.get("attached", False)))
