"""How long the learner waits for check(): every exercise of the bank checked with its reference answer.

    python benchmarks/check_speed.py [--repeat N]

Each exercise is checked `repeat` times with its own reference solution standing in for the
learner's answer (every case runs, so this is the slowest path a correct answer takes); the table
gives the median per exercise and the median and maximum over the bank. The figures are absolute
milliseconds on this machine, printed with its load; the only judgement is a generous ceiling on
the slowest exercise (a learner notices a check that takes longer than about a second).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

CEILING_MS = 1000.0


def measure(repeat: int) -> list[tuple[str, float]]:
    """(exercise id, median milliseconds of check()) for every exercise of the bank."""
    from coursekit.exercises import all_exercises
    from coursekit.grading.check import check

    rows = []
    for exercise in all_exercises():
        answer = exercise.reference() if exercise.kind == "value" else exercise.reference
        check(exercise.id, answer)  # warm-up: first calls import and allocate
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = check(exercise.id, answer)
            times.append((time.perf_counter() - start) * 1000)
        if result.status != "pass":
            raise SystemExit(f"{exercise.id}: its own reference does not pass check(): {result!r}")
        rows.append((exercise.id, statistics.median(times)))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="checks per exercise (default 15)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    rows = measure(args.repeat)
    width = max(len(name) for name, _ in rows)
    print(f"{'exercise':<{width}}  {'median (ms)':>11}")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:11.2f}")
    medians = [ms for _, ms in rows]
    print(f"{'bank median':<{width}}  {statistics.median(medians):11.2f}")
    print(f"{'bank maximum':<{width}}  {max(medians):11.2f}   ceiling {CEILING_MS:g} ms")
    return 0 if max(medians) < CEILING_MS else 1


if __name__ == "__main__":
    sys.exit(main())
