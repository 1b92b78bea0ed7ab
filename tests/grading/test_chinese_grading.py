"""A class graded in Chinese gets its feedback in Chinese: COURSEKIT_LANG=zh (or `--lang zh`) decides the
language of the feedback pages and of the results' messages, including what the workers word themselves
(a broken rule), while the instructor's fields that the class report reads keep their English kinds."""

from __future__ import annotations

import json
import textwrap
import types
from pathlib import Path

import pytest

from coursekit import i18n
from coursekit.cli import main
from coursekit.exercises import by_notebook
from coursekit.grading.batch import grade
from coursekit.grading.sandbox import Limits, Sandbox

from .answers import BREAKS, RIGHT
from .conftest import SEED
from .corpus import FIRST, GOOD, STUB, notebook, write_notebook
from .prose import CJK, english_prose, visible_text

ASSIGNMENT = "05_softmax"
EXERCISES = by_notebook(ASSIGNMENT)
RAISES = "def {id}(*args, **kwargs):\n    return torch.zeros(2).sum().backward()"
ZEROS = "def {id}(*args, **kwargs):\n    return torch.zeros_like(args[0])"


@pytest.fixture(autouse=True)
def _no_language_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.setattr(i18n, "_chosen", None)


def _class(folder: Path) -> None:
    """Five students of 05_softmax: right, rule-breaking, not attempted, raising, wrong."""
    students = {
        "right": [RIGHT[e.id] for e in EXERCISES],
        "breaks": [BREAKS[e.id][0][0] for e in EXERCISES],
        "stub": [f"def {e.id}(*args, **kwargs):\n    raise NotImplementedError" for e in EXERCISES],
        "raises": [RAISES.format(id=e.id) for e in EXERCISES],
        "zeros": [ZEROS.format(id=e.id) for e in EXERCISES],
    }
    folder.mkdir(parents=True)
    for student, sources in students.items():
        cells = [FIRST, *("import torch\n" + textwrap.dedent(s) for s in sources)]
        (folder / f"{student}.ipynb").write_text(json.dumps(notebook(cells, assignment=ASSIGNMENT)))


@pytest.fixture(scope="module")
def graded_in_chinese(tmp_path_factory):
    """The class graded with COURSEKIT_LANG=zh: the grader and its workers take the language from there."""
    root = tmp_path_factory.mktemp("zh")
    _class(root / "submitted")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(i18n.ENV, "zh")
        patch.setattr(i18n, "_chosen", None)
        with Sandbox(limits=Limits(notebook_seconds=30, exercise_seconds=30, submission_seconds=120,
                                   memory_mb=1024)) as box:
            assert box.language == "zh"
            report = grade(submissions=root / "submitted", out=root / "out", seed=SEED, sandbox=box, workers=2,
                           progress=False)
    return root / "out", report


def _results(out: Path, student: str) -> dict[str, dict]:
    return {e["id"]: e for e in json.loads((out / "results" / f"{student}.json").read_text())["exercises"]}


def test_every_feedback_page_of_a_chinese_class_is_chinese(graded_in_chinese):
    out, report = graded_in_chinese
    assert report.failures == ()
    for page in sorted((out / "feedback").glob("*.html")):
        source = page.read_text(encoding="utf-8")
        assert "<html lang='zh'>" in source
        text = visible_text(source)
        assert f"给 {page.stem} 的反馈" in text and "分" in text
        assert english_prose(text) == [], (page.name, english_prose(text))
    assert json.loads((out / "gradebook.meta.json").read_text())["language"] == "zh"


def test_the_results_messages_are_chinese_and_the_workers_word_broken_rules_in_chinese(graded_in_chinese):
    out, _ = graded_in_chinese
    with i18n.using_language("zh"):
        for exercise in EXERCISES:
            broken = _results(out, "breaks")[exercise.id]
            rule = exercise.rules[BREAKS[exercise.id][0][1]]
            assert broken["status"] == "fail"
            # the violation is composed in the worker: in the class's language, with the rule's own text
            assert i18n._(rule.text) in broken["message"] and rule.text not in broken["message"], broken["message"]
            assert "：本练习要求：" in broken["message"], broken["message"]
            assert broken["title"] == i18n._(exercise.title) and CJK.search(broken["note"])
            stub = _results(out, "stub")[exercise.id]
            assert stub["status"] == "not_attempted" and stub["message"].startswith("未作答：你提交的 notebook 中")
            raised = _results(out, "raises")[exercise.id]
            assert raised["status"] == "error" and "这个报错的意思：" in raised["message"], raised["message"]
            zeros = _results(out, "zeros")[exercise.id]
            assert zeros["status"] == "fail" and CJK.search(zeros["message"])
            assert _results(out, "right")[exercise.id]["status"] == "pass"


def test_a_chinese_class_s_instructor_fields_keep_the_kinds_the_report_reads(graded_in_chinese):
    out, _ = graded_in_chinese
    rows = (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].split(",")[:2] == ["student", "source"]
    for student in ("right", "breaks", "stub", "raises", "zeros"):
        result = json.loads((out / "results" / f"{student}.json").read_text())
        assert result["problem"] == "" and all(e["problem"] == "" for e in result["exercises"])


def test_grade_lang_zh_on_the_command_line_and_back_to_english(tmp_path, capsys):
    """`coursekit grade --lang zh` with no COURSEKIT_LANG set: Chinese pages (the terminal summary is the
    instructor's, in English); the same command again takes every grade from the journal; graded again in
    English, nothing is reused and the pages are English."""
    submissions, out = tmp_path / "submitted", tmp_path / "out"
    write_notebook(submissions / "ana.ipynb", [FIRST, GOOD])
    write_notebook(submissions / "bo.ipynb", [FIRST, STUB])
    write_notebook(submissions / "cy.ipynb", [FIRST, "def scale_and_shift(x, a, b):\n    return a * (x + b)"])
    command = ["grade", str(submissions), "--out", str(out), "--seed", "7", "--quiet", "--workers", "2"]

    def pages() -> dict[str, str]:
        return {p.stem: p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.html")}

    assert main([*command, "--lang", "zh"]) == 0
    assert "3 students (seed 7): 3 graded now, 0 taken from the journal" in capsys.readouterr().out
    chinese = {name: visible_text(page) for name, page in pages().items()}
    assert "全部用例通过" in chinese["ana"] and "尚未作答" in chinese["bo"] and "还不对" in chinese["cy"]
    assert "你先平移后缩放了：a * (x + b) 不等于 a * x + b。" in chinese["cy"]
    assert all(english_prose(text) == [] for text in chinese.values()), chinese
    assert i18n.language() == "en"  # grading in Chinese left this process's language as it was

    assert main([*command, "--lang", "zh"]) == 0
    assert "0 graded now, 3 taken from the journal" in capsys.readouterr().out
    assert main(command) == 0
    assert "3 graded now, 0 taken from the journal" in capsys.readouterr().out
    english = pages()
    assert all("<html lang='en'>" in page and not CJK.search(page) for page in english.values())
    assert "You shifted before scaling: a * (x + b) is not a * x + b." in english["cy"]


@pytest.mark.parametrize("argv, env, said", [
    (["--lang", "fr"], None, "'fr' is not one of them"),
    ([], "klingon", "$COURSEKIT_LANG: the course is written in 'en', 'zh'"),
])
def test_a_language_the_course_does_not_have_is_refused_before_grading(tmp_path, monkeypatch, capsys, argv, env,
                                                                       said):
    if env:
        monkeypatch.setenv(i18n.ENV, env)
    write_notebook(tmp_path / "submitted" / "ana.ipynb", [FIRST, GOOD])
    assert main(["grade", str(tmp_path / "submitted"), "--out", str(tmp_path / "out"), *argv, "--quiet"]) == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_sandbox_in_another_language_is_refused(tmp_path):
    english_box = types.SimpleNamespace(language="en", limits=Limits())
    with pytest.raises(ValueError, match="start the Sandbox with language='zh'"):
        grade(submissions=tmp_path, out=tmp_path / "out", sandbox=english_box, language="zh")  # type: ignore[arg-type]
