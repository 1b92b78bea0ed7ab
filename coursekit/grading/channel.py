"""Length-prefixed messages between the grader and its sandboxed workers.

A frame is a 4-byte length, a JSON header (a small dict of metadata plus plain data
in `coursekit.grading.plain`'s wire format) and the raw array buffers the header
lists. The reader never trusts the sender: every size is capped, every field is
validated by `from_wire`, and nothing is ever unpickled.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from typing import Any

from coursekit.grading.plain import WireError, from_wire, to_wire

__all__ = ["ChannelClosed", "ChannelError", "ChannelTimeout", "Message", "receive", "send"]

_LENGTH = struct.Struct("!I")
MAX_HEADER = 4 * 2**20


class ChannelError(Exception):
    """The other side sent something that is not a valid message (or too much of it)."""


class ChannelClosed(ChannelError):
    """The other side closed the connection (the process ended)."""


class ChannelTimeout(ChannelError):
    """No complete message arrived before the deadline."""


Message = tuple[dict[str, Any], Any]


def send(sock: socket.socket, meta: dict[str, Any], data: Any = None) -> None:
    """Send `meta` (JSON-able dict) and `data` (plain data, arrays included) as one frame."""
    wire_header, buffers = to_wire(data)
    header = json.dumps({"meta": meta, "data": wire_header.decode(), "buffers": [len(b) for b in buffers]},
                        allow_nan=False).encode()
    sock.sendall(b"".join([_LENGTH.pack(len(header)), header, *buffers]))


def _read_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    view = bytearray(size)
    got = 0
    while got < size:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout("no answer before the deadline")
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            n = sock.recv_into(memoryview(view)[got:], size - got)
        except TimeoutError:
            raise ChannelTimeout("no answer before the deadline") from None
        except OSError as exc:
            raise ChannelClosed(f"connection lost: {exc.strerror or exc}") from None
        if n == 0:
            raise ChannelClosed("the other side closed the connection")
        got += n
    return bytes(view)


def receive(sock: socket.socket, *, deadline: float | None = None, max_bytes: int = 64 * 2**20) -> Message:
    """Read one frame and return (meta, data); raises a ChannelError subclass on anything invalid."""
    (length,) = _LENGTH.unpack(_read_exact(sock, _LENGTH.size, deadline))
    if length > MAX_HEADER:
        raise ChannelError(f"message header of {length} bytes is larger than the {MAX_HEADER} byte limit")
    try:
        header = json.loads(_read_exact(sock, length, deadline).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ChannelError(f"message header is not JSON: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise ChannelError("message header is not an object")
    meta, sizes, wire = header.get("meta"), header.get("buffers"), header.get("data")
    if not isinstance(meta, dict) or not isinstance(wire, str) or not isinstance(sizes, list) \
            or not all(isinstance(s, int) and s >= 0 for s in sizes) or len(sizes) > 10_000:
        raise ChannelError("message header has the wrong fields")
    total = sum(sizes)
    if total > max_bytes:
        raise ChannelError(f"message carries {total / 2**20:.1f} MB of data, over the "
                           f"{max_bytes / 2**20:.0f} MB limit")
    buffers = [_read_exact(sock, s, deadline) if s else b"" for s in sizes]
    try:
        data = from_wire(wire.encode(), buffers)
    except (WireError, ValueError, TypeError, RecursionError) as exc:
        raise ChannelError(f"message data is invalid: {exc}") from None
    return meta, data
