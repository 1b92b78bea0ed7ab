"""In Chinese, everything check(), hint(), solution(), explain() and the grader's hidden verdicts say is
Chinese (code, data and the learner's own error texts aside); in English, nothing changed."""

from __future__ import annotations

import importlib

import pytest

from coursekit import i18n
from coursekit.exercises import all_exercises
from coursekit.explain import EXPLANATIONS
from coursekit.grading.compare import NOT_ATTEMPTED

from .feedback_corpus import USAGE, feedback, hidden_feedback
from .prose import CJK, english_prose

EXERCISES = all_exercises()
check_module = importlib.import_module("coursekit.grading.check")


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """No language chosen by an earlier test, no hints already shown."""
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setattr(check_module, "_hints_shown", {})


def _untranslated(items) -> list[str]:
    problems = []
    for what, text in items:
        problems += [f"{what}: {run!r}" for run in english_prose(text)]
        if not CJK.search(text):
            problems.append(f"{what}: no Chinese at all in {text[:120]!r}")
    return problems


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.id for e in EXERCISES])
def test_every_message_about_an_exercise_is_chinese_in_chinese(exercise):
    with i18n.using_language("zh"):
        items = list(feedback(exercise)) + list(hidden_feedback(exercise))
    problems = _untranslated(items)
    assert not problems, "\n".join(problems[:20])


def test_check_used_the_wrong_way_answers_in_chinese():
    with i18n.using_language("zh"):
        items = [(what, text) for what, call in USAGE for text in (repr(call()), call()._repr_html_())]
    problems = _untranslated(items)
    assert not problems, "\n".join(problems)


def test_every_explanation_is_chinese_and_links_the_chinese_heading():
    from .prose import visible_text

    with i18n.using_language("zh"):
        items = [(e.key, text) for e in EXPLANATIONS for text in (repr(e), visible_text(e._repr_html_()))]
        anchors = {e.key: e.anchor for e in EXPLANATIONS}
    assert not _untranslated(items)
    assert all(CJK.search(anchor) for anchor in anchors.values()), anchors


def test_the_prose_check_finds_an_untranslated_message(monkeypatch):
    """The check above is not blind: drop one translation and the message it belongs to is reported."""
    exercise = next(e for e in EXERCISES if e.id == "sigmoid")
    full = dict(i18n.catalogue("zh"))
    monkeypatch.setattr(i18n, "catalogue", lambda code: {k: v for k, v in full.items() if k != NOT_ATTEMPTED})
    with i18n.using_language("zh"):
        problems = _untranslated(feedback(exercise))
    assert any("Not attempted yet: replace" in p for p in problems), problems[:5]
    assert english_prose("用例 1：sigmoid(x=tensor([0., 1.]))：引发了 RuntimeError: element 0 of tensors does "
                         "not require grad。提示：用 `torch.where(x > 0, a, b)` 选择。") == []
    assert english_prose("提示：这里 still needs translation. 见上文。") == ["still needs translation."]


@pytest.mark.parametrize("exercise", EXERCISES[::7], ids=[e.id for e in EXERCISES[::7]])
def test_english_is_english_whatever_the_environment_says(monkeypatch, exercise):
    """set_language("en") wins over COURSEKIT_LANG=zh, and English output holds no Chinese at all."""
    english = [text for _, text in feedback(exercise)]
    monkeypatch.setattr(check_module, "_hints_shown", {})
    monkeypatch.setenv(i18n.ENV, "zh")
    i18n.set_language("en")
    assert [text for _, text in feedback(exercise)] == english
    assert not any(CJK.search(text) for text in english)


def test_the_bank_s_own_words_are_all_in_the_catalogue():
    """Titles, conventions, hints, mistakes, rule texts and hidden labels: each has its Chinese."""
    zh = i18n.catalogue("zh")
    missing = []
    for exercise in EXERCISES:
        texts = [exercise.title, exercise.convention, *exercise.hints, *(m.message for m in exercise.mistakes),
                 *(r.text for r in exercise.rules)]
        missing += [f"{exercise.id}: {t!r}" for t in texts if t and t not in zh]
        with i18n.using_language("zh"):
            labels = [c.label for c in exercise.cases(hidden_seed=3) if c.hidden]
            missing += [f"{exercise.id}: hidden label {t!r}" for t in labels
                        if t and not CJK.search(i18n._(t))]
    assert not missing, "\n".join(missing)


def test_explain_links_a_heading_the_chinese_notebook_has():
    """The link is relative, so from a Chinese notebook it opens notebooks/zh/…: its anchor must be a heading there."""
    import json
    import re
    from pathlib import Path

    zh = Path(__file__).resolve().parents[2] / "notebooks" / "zh"
    wanted = {(e.notebook, e.section) for e in EXPLANATIONS}
    if not all((zh / notebook).exists() for notebook, _section in wanted):
        pytest.skip("no Chinese edition of the notebooks explain() links to in this tree")
    with i18n.using_language("zh"):
        for notebook, section in wanted:
            cells = json.loads((zh / notebook).read_text(encoding="utf-8"))["cells"]
            headings = {m.group(1).strip() for c in cells if c["cell_type"] == "markdown"
                        for m in re.finditer(r"^#+\s+(.+)$", "".join(c["source"]), re.M)}
            assert i18n._(section) in headings, (notebook, i18n._(section), sorted(headings))
