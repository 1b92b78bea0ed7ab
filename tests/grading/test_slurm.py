"""Scale-out on a real engine: the README's Slurm array job, on a one-node cluster started here, merged.

Run by `make scale` (which `make test` runs): it needs root, to start slurmctld, slurmd and
munged, and installs Slurm from Debian's packages when it is missing. Elsewhere it is skipped.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .corpus import scale_class
from .slurm import Cluster

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(os.environ.get("COURSEKIT_SCALE_TEST") != "1",
                                reason="the Slurm scale-out test runs with `make scale` (part of `make test`)")


def readme_sbatch() -> str:
    """The sbatch array script of the README, exactly as printed there."""
    text = (ROOT / "README.md").read_text()
    scripts = [block for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S) if "#SBATCH" in block]
    assert len(scripts) == 1, "the README should show one sbatch script"
    return scripts[0]


def _coursekit() -> str:
    return str(Path(sys.executable).parent / "coursekit")


def _rows(book: Path) -> dict[str, dict[str, str]]:
    with open(book, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def test_the_readme_array_job_on_slurm_merges_into_the_single_run(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld, slurmd and munged needs root")
    install = subprocess.run(["bash", str(ROOT / "scripts" / "install_slurm.sh")], capture_output=True, text=True,
                             check=False)
    assert install.returncode == 0, install.stderr
    began = time.monotonic()
    course = tmp_path / "class"
    students = scale_class(course / "submitted")
    script = readme_sbatch()
    assert "--shard $SLURM_ARRAY_TASK_ID/4" in script and "#SBATCH --array=1-4" in script
    (course / "grade.sbatch").write_text(script)

    single = subprocess.run([_coursekit(), "grade", "submitted/", "--out", "grades-single", "--seed", "2024",
                             "--quiet"], cwd=course, capture_output=True, text=True, check=False, timeout=170)
    assert single.returncode == 0, single.stderr
    single_s = time.monotonic() - began

    cluster = Cluster(tmp_path / "slurm")
    try:
        cluster.start()
        env = {**cluster.env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        job = subprocess.run(["sbatch", "--wait", f"--chdir={course}", "grade.sbatch"], cwd=course, env=env,
                             capture_output=True, text=True, check=False, timeout=170)
        outputs = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(course.glob("slurm-*.out")))
        assert job.returncode == 0, f"{job.stdout}{job.stderr}\n{outputs}\n{cluster.logs()}"
    finally:
        left = cluster.stop()
    assert left == [], f"processes of the test cluster are still running: {left}"
    slurm_s = time.monotonic() - began - single_s

    shards = [f"grades-{k}" for k in range(1, 5)]
    merged = subprocess.run([_coursekit(), "grade", "merge", *shards, "--out", "grades"], cwd=course,
                            capture_output=True, text=True, check=False)
    assert merged.returncode == 0, merged.stderr
    assert "Merged 4 folders into grades/gradebook.csv" in merged.stdout and "Not merged yet" not in merged.stdout
    one, many = _rows(course / "grades-single" / "gradebook.csv"), _rows(course / "grades" / "gradebook.csv")
    assert sorted(one) == sorted(many) == students
    differ = {s: (one[s], many[s]) for s in students if one[s] != many[s]}
    assert differ == {}, differ
    assert (course / "grades" / "gradebook.csv").read_bytes() == \
        (course / "grades-single" / "gradebook.csv").read_bytes()
    print(f"\nSlurm 22.05 array job: 4 shards of {len(students)} students; single run {single_s:.0f} s, "
          f"cluster + array job {slurm_s:.0f} s; merged gradebook identical to the single run's")
