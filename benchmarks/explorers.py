"""Slider-to-figure latency of every explorer: the median time of one update (artists + PNG).

    python benchmarks/explorers.py

Each explorer renders once, then replays its `sample_moves` (cycled) as slider moves;
one move = `set(...)` on the reused figure plus encoding the PNG the widget shows.
Target: median < 100 ms.
"""

from __future__ import annotations

import importlib
import pkgutil
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")

TARGET_MS = 100.0
MOVES = 30


def explorers() -> list[type]:
    """Every concrete Explorer subclass defined in coursekit.widgets."""
    import coursekit.widgets as widgets
    from coursekit.widgets.base import Explorer

    for info in pkgutil.iter_modules(widgets.__path__):
        importlib.import_module(f"coursekit.widgets.{info.name}")
    found, stack = [], list(Explorer.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if not getattr(cls, "__abstractmethods__", None):
            found.append(cls)
    return sorted(found, key=lambda c: c.__name__)


def measure(cls: type) -> list[float]:
    """Milliseconds of each replayed slider move of one explorer."""
    explorer = cls()
    explorer.render()
    explorer.png()
    moves = list(cls.sample_moves) or [{}]
    times = []
    for i in range(MOVES):
        start = time.perf_counter()
        explorer.set(**moves[i % len(moves)])
        explorer.png()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    print(f"{'explorer':<34} {'median (ms)':>12} {'p90 (ms)':>9}  target median < {TARGET_MS:g} ms")
    failed = False
    for cls in explorers():
        times = sorted(measure(cls))
        median, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
        ok = median < TARGET_MS
        failed |= not ok
        print(f"{cls.__name__:<34} {median:>12.1f} {p90:>9.1f}  {'ok' if ok else 'OVER TARGET'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
