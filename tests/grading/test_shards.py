"""Scale-out: `--shard K/N` slices the class deterministically and `merge` puts the slices back together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.cli import main
from coursekit.exercises import get
from coursekit.exercises.source import stub_source
from coursekit.grading.batch import grade
from coursekit.grading.gradebook import merge, write_started
from coursekit.grading.submissions import in_shard, parse_shard

from .conftest import SEED
from .corpus import FIRST, GOOD, notebook, write_notebook

ANSWERS = {
    "right": GOOD,
    "shift_first": "def scale_and_shift(x, a, b):\n    return a * (x + b)",
    "no_shift": "def scale_and_shift(x, a, b):\n    return a * x",
    "raises": "def scale_and_shift(x, a, b):\n    raise ValueError('not today')",
}


def _write_class(folder: Path, size: int = 9) -> list[str]:
    """`size` students with different answers (and different files), as a flat folder."""
    names = []
    for i in range(size):
        kind = list(ANSWERS)[i % len(ANSWERS)]
        name = f"{kind}_{i}"
        write_notebook(folder / f"{name}.ipynb", [FIRST, ANSWERS[kind] + f"\n# student {i}"])
        names.append(name)
    return sorted(names)


def _contents(folder: Path) -> dict[Path, bytes]:
    """Every file of an output folder but the lock, which says who held the folder last."""
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != "grading.lock"}


def _files(folder: Path, sub: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / sub).glob("*"))}


@pytest.mark.parametrize("text,pair", [("1/1", (1, 1)), ("3/8", (3, 8)), (" 2 / 4 ", (2, 4)), ("8/8", (8, 8))])
def test_parse_shard_reads_k_of_n(text, pair):
    assert parse_shard(text) == pair


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "", "-1/2", "1/2/3", "1.5/3", "2of4"])
def test_parse_shard_rejects_anything_else_with_the_expected_form(text):
    with pytest.raises(ValueError, match=r"--shard takes K/N with 1 <= K <= N, e\.g\. 2/8"):
        parse_shard(text)


def test_slices_are_disjoint_cover_the_class_and_do_not_depend_on_order():
    students = [f"student{i:03d}" for i in range(300)] + ["Zoë", "o'brien", "a.b@uni.edu"]
    for n in (1, 2, 3, 7, 16):
        slices = [{s for s in students if in_shard(s, (k, n))} for k in range(1, n + 1)]
        assert set().union(*slices) == set(students)
        assert sum(len(s) for s in slices) == len(students), "a student is in two slices"
        reversed_slices = [{s for s in reversed(students) if in_shard(s, (k, n))} for k in range(1, n + 1)]
        assert reversed_slices == slices
    four = [sum(in_shard(s, (k, 4)) for s in students) for k in range(1, 5)]
    assert min(four) > len(students) / 8, f"slices far from even: {four}"


def test_slices_are_the_same_in_another_interpreter():
    names = [f"s{i}" for i in range(40)]
    here = [[n for n in names if in_shard(n, (k, 3))] for k in (1, 2, 3)]
    code = ("import json, sys; from coursekit.grading.submissions import in_shard; names = json.loads(sys.argv[1]); "
            "print(json.dumps([[n for n in names if in_shard(n, (k, 3))] for k in (1, 2, 3)]))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(names)], capture_output=True, text=True,
                          env=env, check=True)
    assert json.loads(done.stdout) == here


def test_sharded_runs_merge_into_exactly_the_unsharded_gradebook(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    students = _write_class(submissions)
    whole = grade(submissions=submissions, out=tmp_path / "all", seed=SEED, sandbox=sandbox, progress=False)
    assert whole.students == len(students)
    outs = []
    for k in (1, 2, 3):
        out = tmp_path / f"grades-{k}"
        report = grade(submissions=submissions, out=out, seed=SEED, shard=f"{k}/3", sandbox=sandbox, progress=False)
        mine = {p.stem for p in (out / "results").glob("*.json")}
        assert mine == {s for s in students if in_shard(s, (k, 3))}
        assert report.students == len(mine)
        assert json.loads((out / "gradebook.meta.json").read_text())["shard"] == f"{k}/3"
        outs.append(out)
    merged = tmp_path / "merged"
    book = merge(outs, merged)
    assert book == merged / "gradebook.csv"
    assert book.read_bytes() == (tmp_path / "all" / "gradebook.csv").read_bytes()
    for sub in ("results", "feedback"):
        assert _files(merged, sub) == _files(tmp_path / "all", sub)
    meta = json.loads((merged / "gradebook.meta.json").read_text())
    assert meta["merged_shards"] == ["1/3", "2/3", "3/3"] and meta["seed"] == SEED and meta["shard"] is None
    # the merged journal lets a later unsharded run into the merged folder reuse every grade
    again = grade(submissions=submissions, out=merged, seed=SEED, sandbox=sandbox, progress=False)
    assert again.graded == 0 and again.reused == len(students)
    assert book.read_bytes() == (tmp_path / "all" / "gradebook.csv").read_bytes()


def test_a_shard_graded_twice_is_identical(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    _write_class(submissions, size=6)
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        grade(submissions=submissions, out=out, seed=SEED, shard="2/2", sandbox=sandbox, progress=False)
    assert (first / "gradebook.csv").read_bytes() == (second / "gradebook.csv").read_bytes()
    assert _files(first, "results") == _files(second, "results")


def test_merge_refuses_outputs_graded_with_another_seed_or_assignment(tmp_path, sandbox, capsys):
    submissions = tmp_path / "submitted"
    _write_class(submissions, size=4)
    one = tmp_path / "seed-a"
    two = tmp_path / "seed-b"
    grade(submissions=submissions, out=one, seed=SEED, shard="1/2", sandbox=sandbox, progress=False)
    grade(submissions=submissions, out=two, seed=SEED + 1, shard="2/2", sandbox=sandbox, progress=False)
    with pytest.raises(ValueError, match=rf"graded differently \(seed {SEED} vs {SEED + 1}\)"):
        merge([one, two], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()

    other = tmp_path / "other"
    (other / "in").mkdir(parents=True)
    stub = stub_source(get("grad_f"))
    (other / "in" / "pat.ipynb").write_text(json.dumps(notebook([FIRST, stub], assignment="01_gradients")))
    grade(submissions=other / "in", out=other / "out", seed=SEED, sandbox=sandbox, progress=False)
    code = main(["grade", "merge", str(one), str(other / "out"), "--out", str(tmp_path / "merged")])
    err = capsys.readouterr().err
    assert code == 2
    assert "assignment 00_start_here vs 01_gradients" in err and "only shards graded with the same" in err
    assert not (tmp_path / "merged").exists()


def test_merge_through_the_cli_reports_missing_shards_and_bad_folders(tmp_path, sandbox, capsys):
    submissions = tmp_path / "submitted"
    _write_class(submissions, size=4)
    one = tmp_path / "grades-1"
    grade(submissions=submissions, out=one, seed=SEED, shard="1/2", sandbox=sandbox, progress=False)
    assert main(["grade", "merge", str(one), "--out", str(tmp_path / "merged")]) == 0
    out = capsys.readouterr().out
    assert f"Merged 1 folders into {tmp_path / 'merged' / 'gradebook.csv'}" in out
    assert "Not merged yet: shard(s) 2/2" in out

    assert main(["grade", "merge", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m2")]) == 2
    assert "is not a grading output" in capsys.readouterr().err
    assert main(["grade", "merge", str(one), "--out", str(one)]) == 2
    assert "is one of the folders to merge" in capsys.readouterr().err
    assert main(["grade", "merge", "--out", str(tmp_path / "m3")]) == 2
    assert "name the output folders of the shards" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists() and not (tmp_path / "m3").exists()


def test_a_folder_keeps_its_own_seed_and_shard(tmp_path, sandbox):
    submissions = tmp_path / "submitted"
    _write_class(submissions, size=4)
    out = tmp_path / "grades"
    grade(submissions=submissions, out=out, seed=SEED, shard="1/2", sandbox=sandbox, progress=False)
    before = _contents(out)
    with pytest.raises(ValueError, match=rf"graded with --seed {SEED}.*use --seed {SEED} \(or no --seed\)"):
        grade(submissions=submissions, out=out, seed=SEED + 5, shard="1/2", sandbox=sandbox, progress=False)
    with pytest.raises(ValueError, match="holds shard 1/2 and this run grades shard 2/2"):
        grade(submissions=submissions, out=out, seed=SEED, shard="2/2", sandbox=sandbox, progress=False)
    with pytest.raises(ValueError, match="holds shard 1/2 and this run grades the whole class"):
        grade(submissions=submissions, out=out, seed=SEED, sandbox=sandbox, progress=False)
    assert _contents(out) == before
    # no --seed: the folder's own seed is used and the run resumes
    again = grade(submissions=submissions, out=out, shard="1/2", sandbox=sandbox, progress=False)
    assert again.seed == SEED and again.graded == 0


def test_merge_refuses_a_shard_whose_run_has_not_finished(tmp_path, sandbox):
    """A killed shard's metadata is written when it starts: merging it would silently drop students."""
    submissions = tmp_path / "submitted"
    _write_class(submissions, size=4)
    one, two = tmp_path / "grades-1", tmp_path / "grades-2"
    grade(submissions=submissions, out=one, seed=SEED, shard="1/2", sandbox=sandbox, progress=False)
    grade(submissions=submissions, out=two, seed=SEED, shard="2/2", sandbox=sandbox, progress=False)
    meta = json.loads((two / "gradebook.meta.json").read_text())
    write_started(two, meta)  # what a run killed mid-way leaves behind
    with pytest.raises(ValueError, match="grades-2 has not finished .*run the same `coursekit grade` command again"):
        merge([one, two], tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
