"""The language choice and the catalogue machinery (coursekit.i18n, coursekit.catalogue)."""

from __future__ import annotations

import pytest

from coursekit import catalogue as cat
from coursekit import i18n


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.setattr(i18n, "_chosen", None)


@pytest.fixture
def tiny_catalogue(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A zh catalogue with two entries (one fuzzy) in a temporary locale folder."""
    path = tmp_path / "zh" / "LC_MESSAGES" / "coursekit.po"
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                    'msgid "{n} of {total} cases pass"\nmsgstr "{total} 个用例中通过 {n} 个"\n\n'
                    '#, fuzzy\nmsgid "Not attempted yet"\nmsgstr "尚未作答"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    yield path
    i18n.catalogue.cache_clear()


@pytest.mark.parametrize("code, expected", [("zh", "zh"), ("zh_CN", "zh"), ("zh-Hans", "zh"), ("ZH", "zh"),
                                            ("en_GB.UTF-8", "en"), ("en", "en")])
def test_set_language_accepts_the_usual_spellings(code, expected):
    assert i18n.set_language(code) == expected
    assert i18n.language() == expected


@pytest.mark.parametrize("bad", ["fr", "", "klingon"])
def test_an_unknown_language_names_the_choices(bad):
    with pytest.raises(ValueError, match="'en', 'zh'"):
        i18n.set_language(bad)


def test_a_language_is_a_string():
    with pytest.raises(TypeError, match="not int"):
        i18n.set_language(7)  # type: ignore[arg-type]


def test_environment_sets_the_default_and_set_language_wins(monkeypatch):
    assert i18n.language() == "en"
    monkeypatch.setenv(i18n.ENV, "zh_CN.UTF-8")
    assert i18n.language() == "zh"
    i18n.set_language("en")
    assert i18n.language() == "en"


def test_a_bad_environment_value_falls_back_to_english(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "fr")
    assert i18n.language() == "en"


def test_using_language_restores_the_previous_choice():
    i18n.set_language("en")
    with i18n.using_language("zh") as code:
        assert code == "zh" and i18n.language() == "zh"
    assert i18n.language() == "en"


def test_translation_follows_the_language_and_skips_fuzzy_entries(tiny_catalogue):
    text = "{n} of {total} cases pass"
    assert i18n._(text) == text
    i18n.set_language("zh")
    assert i18n._(text).format(n=3, total=5) == "5 个用例中通过 3 个"
    assert i18n._("Not attempted yet") == "Not attempted yet"  # fuzzy: not trusted
    assert i18n._("never marked") == "never marked"
    assert i18n.N_("marked only") == "marked only"


def test_placeholders_are_the_named_fields():
    assert cat.placeholders("{n} of {total:.2f} {{literal}} {x!r}") == {"n", "total", "x"}


def test_gaps_find_missing_fuzzy_placeholder_and_stale_entries(tiny_catalogue):
    tiny_catalogue.write_text(tiny_catalogue.read_text(encoding="utf-8")
                              + '\nmsgid "gone from the code"\nmsgstr "旧"\n'
                              + '\nmsgid "{name} failed"\nmsgstr "失败了"\n', encoding="utf-8")
    messages = {"{n} of {total} cases pass": ["a.py:1"], "Not attempted yet": ["b.py:2"],
                "{name} failed": ["c.py:3"], "brand new": ["d.py:4"]}
    kinds = {(g.kind, g.message) for g in cat.gaps(messages)}
    assert kinds == {("fuzzy", "Not attempted yet"), ("placeholders", "{name} failed"),
                     ("missing", "brand new"), ("stale", "gone from the code")}


def test_every_marked_string_of_the_package_is_translated():
    """The translation coverage test: a learner-facing string without its Chinese fails here."""
    problems = cat.gaps()
    assert not problems, "\n".join(map(str, problems[:40])) + (
        f"\n... and {len(problems) - 40} more" if len(problems) > 40 else "") + \
        "\nrun `python -m coursekit.catalogue` and translate the empty entries"


def test_update_keeps_translations_and_is_idempotent(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(cat, "extract", lambda: {"one {x}": ["m.py:1"], "two": ["m.py:2"]})
    assert cat.update() == {"zh": 2}
    path = i18n.catalogue_path("zh")
    path.write_text(path.read_text(encoding="utf-8").replace('msgid "two"\nmsgstr ""', 'msgid "two"\nmsgstr "二"'),
                    encoding="utf-8")
    assert cat.update() == {"zh": 1}
    first = path.read_bytes()
    cat.update()
    assert path.read_bytes() == first
    i18n.catalogue.cache_clear()
    assert i18n.catalogue("zh") == {"two": "二"}
    i18n.catalogue.cache_clear()
