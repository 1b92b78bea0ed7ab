"""Slider-to-figure latency of every explorer, judged against a bare redraw of the same figure.

    python benchmarks/explorers.py

Each explorer renders once, then replays its `sample_moves` (cycled) as slider moves; one move =
`set(...)` on the reused figure plus encoding the PNG the widget shows. In the same run, the same
figure is encoded again with nothing changed: that bare matplotlib redraw is the floor no explorer
can beat. Absolute milliseconds are printed (the course aims at a median under 100 ms on an idle
laptop), but a shared, loaded machine cannot turn that into a failure: the verdict is the ratio
move / redraw, which a slow machine scales alike. A move that costs more than RATIO_LIMIT redraws
is computing something it should cache, and exits 1.
"""

from __future__ import annotations

import importlib
import io
import os
import pkgutil
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")

AIM_MS = 100.0
RATIO_LIMIT = 4.0
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


def measure(cls: type) -> tuple[list[float], list[float]]:
    """Milliseconds of each replayed slider move, and of a bare redraw of the same figure, interleaved."""
    explorer = cls()
    explorer.render()
    explorer.png()
    moves = list(cls.sample_moves) or [{}]
    move_ms, redraw_ms = [], []
    for i in range(MOVES):
        start = time.perf_counter()
        explorer.set(**moves[i % len(moves)])
        explorer.png()
        move_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        explorer.fig.savefig(io.BytesIO(), format="png", dpi=explorer.dpi)
        redraw_ms.append((time.perf_counter() - start) * 1000)
    return move_ms, redraw_ms


def main() -> int:
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'explorer':<34} {'move (ms)':>10} {'p90':>7} {'redraw (ms)':>12} {'ratio':>6}  "
          f"verdict: ratio <= {RATIO_LIMIT:g} (aim: move < {AIM_MS:g} ms when idle)")
    failed = False
    for cls in explorers():
        moves, redraws = measure(cls)
        move, redraw = statistics.median(moves), statistics.median(redraws)
        p90 = sorted(moves)[int(0.9 * (len(moves) - 1))]
        ratio = move / redraw
        ok = ratio <= RATIO_LIMIT
        failed |= not ok
        note = "ok" if ok else "SLOWER THAN IT SHOULD BE"
        if ok and move >= AIM_MS:
            note = "ok (over the idle aim: machine load?)"
        print(f"{cls.__name__:<34} {move:>10.1f} {p90:>7.1f} {redraw:>12.1f} {ratio:>6.2f}  {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
