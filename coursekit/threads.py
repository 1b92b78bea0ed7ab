"""Run loops over tiny tensors on one CPU thread.

A product of 16 × 16 matrices takes microseconds; waking a thread pool for it costs more than it
saves, and on a busy machine the pool's threads spend their time waiting for each other (a loop of
small steps can run ten times slower on two threads than on one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["one_thread"]


@contextmanager
def one_thread() -> Iterator[None]:
    """Within the block, torch uses one intra-op thread; the previous count is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
