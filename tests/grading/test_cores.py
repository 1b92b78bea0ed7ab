"""Cores are shared fairly: a sleeping worker lends its core, a spinning one keeps it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from coursekit.grading.batch import grade
from coursekit.grading.cores import Cores, process_tree_cpu, wait_for_answer

from .conftest import SEED, TEST_LIMITS
from .corpus import FIRST, GOOD, write_notebook


def test_claims_never_hand_out_more_cores_than_there_are():
    cores = Cores(2)
    inside, most, lock = [0], [0], threading.Lock()

    def work() -> None:
        with cores.claim():
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2
    with pytest.raises(ValueError):
        Cores(0)


def test_a_lent_core_can_be_taken_by_another_claim_and_back():
    cores = Cores(1)
    with cores.claim() as first:
        first.lend()
        with cores.claim() as second:
            assert second.held and not first.try_take()
        assert first.try_take() and first.held


def test_a_waiting_claim_is_served_before_one_that_asks_later():
    cores = Cores(1)
    served: list[str] = []

    def wait_in_line() -> None:
        with cores.claim():
            served.append("in line")

    with cores.claim() as first:
        waiter = threading.Thread(target=wait_in_line, daemon=True)
        waiter.start()
        time.sleep(0.2)  # the thread now waits for the only core
        first.lend()
        # the core is promised to the one in line: asking again, even at once, does not overtake it
        assert not first.try_take()
        waiter.join(timeout=5)
        assert served == ["in line"]
        assert first.try_take()  # and once it is given back, it is free again


def test_process_tree_cpu_counts_children_and_says_none_for_a_gone_process():
    spinner = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run([sys.executable, "
                                "'-c', 'while True: pass'])"])
    try:
        # the middle process only waits, so CPU time beyond its start-up is the grandchild's spinning; poll
        # for it rather than sleeping a fixed second, which a loaded machine may not give the spinner
        deadline, used = time.monotonic() + 30, None
        while time.monotonic() < deadline and not (used is not None and used > 0.3):
            time.sleep(0.2)
            used = process_tree_cpu(spinner.pid)
        assert used is not None and used > 0.3, used  # the grandchild's spinning is counted
    finally:
        for child in open(f"/proc/{spinner.pid}/task/{spinner.pid}/children").read().split():
            os.kill(int(child), 9)
        spinner.kill()
        spinner.wait()
    assert process_tree_cpu(spinner.pid) is None


@pytest.mark.parametrize("program,lent", [("import time; time.sleep(30)", True), ("while True: pass", False)])
def test_a_silent_worker_lends_its_core_only_while_it_sleeps(program, lent):
    mine, theirs = socket.socketpair()
    process = subprocess.Popen([sys.executable, "-c", program])
    cores = Cores(1)
    try:
        with cores.claim() as claim:
            start = time.monotonic()
            wait_for_answer(mine, process.pid, time.monotonic() + 1.2, claim)
            assert time.monotonic() - start >= 1.1
            assert claim.held is not lent
            theirs.sendall(b"x")  # an answer arrives: the core is taken back at once when free
            wait_for_answer(mine, process.pid, time.monotonic() + 5, claim)
            assert claim.held
    finally:
        process.kill()
        process.wait()
        mine.close()
        theirs.close()
    assert wait_for_answer(mine, 1, time.monotonic() + 1, None) is None  # no claim: no waiting at all


def test_sleeping_submissions_do_not_hold_the_only_core(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    for name in ("nap_a", "nap_b"):
        write_notebook(submissions / f"{name}.ipynb", [FIRST, "import time\ntime.sleep(3600)", GOOD])
    start = time.monotonic()
    report = grade(submissions=submissions, out=tmp_path / "out", seed=SEED, sandbox=sandbox, workers=1,
                   progress=False)
    took = time.monotonic() - start
    limit = TEST_LIMITS.notebook_seconds
    # one core, two sleepers: they wait out their notebook limits side by side, not one after the other
    assert took < 1.6 * limit, f"{took:.1f} s for two sleepers with a {limit:g} s limit"
    for name in ("nap_a", "nap_b"):
        result = json.loads((tmp_path / "out" / "results" / f"{name}.json").read_text())
        assert result["total"] == 1.0 and "time limit" in result["stopped"][0]
    assert report.graded == 2
