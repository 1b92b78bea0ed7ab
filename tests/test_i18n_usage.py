"""The package uses the catalogue machinery soundly: what is marked is extracted, `_` is never shadowed
where it translates, and `coursekit doctor` reports a language the course does not have."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from coursekit import i18n
from coursekit.doctor import diagnose

PACKAGE = Path(i18n.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]


def _calls_underscore(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in ast.walk(node))


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_no_function_that_translates_also_binds_the_name_underscore(path):
    """`for _ in ...` or `x, _ = ...` in a function that calls `_()` makes `_` local there: the call then fails."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    clashes = [f"{getattr(fn, 'name', 'lambda')} (line {fn.lineno})" for fn in _functions(tree)
               if _calls_underscore(fn) and any(isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
                                                for n in ast.walk(fn))]
    assert not clashes, clashes


@pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(PACKAGE)) for p in SOURCES])
def test_no_marked_literal_hides_inside_an_f_string(path):
    """Babel does not look inside f-strings: a `_("...")` there would never reach the catalogue."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
              for call in ast.walk(node) if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
              and call.func.id in ("_", "N_") and call.args and isinstance(call.args[0], ast.Constant)]
    assert not hidden, f"{path.name}: lines {hidden}"


def test_every_marked_literal_is_extracted():
    """Each `_("...")`/`N_("...")` with a literal in the package's code is in what Babel extracts."""
    from coursekit.catalogue import extract

    extracted = set(extract())
    marked = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_") \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                marked.add(node.args[0].value)
    assert marked and marked <= extracted, sorted(marked - extracted)[:10]


def test_no_translation_is_the_english_copied_unless_it_is_a_name():
    names = re.compile(r"^[A-Za-z ]+$")  # titles such as "ELU" or "Leaky ReLU" are the same in both editions
    zh = i18n.catalogue("zh")
    untranslated = [k for k, v in zh.items() if v == k and not names.match(k)]
    assert not untranslated, untranslated[:10]


@pytest.mark.parametrize("value, problem", [("fr", True), ("zh_CN", False), ("", False)])
def test_doctor_reports_a_language_the_course_does_not_have(monkeypatch, value, problem):
    monkeypatch.setattr(i18n, "_chosen", None)
    monkeypatch.setenv(i18n.ENV, value)
    report = diagnose()
    found = [p for p in report.problems if i18n.ENV in p]
    assert bool(found) == problem, report.problems
    if problem:
        assert "'fr'" in found[0] and "en, zh" in found[0] and report.language == "en"
    assert ("language    zh (from COURSEKIT_LANG)" in str(report)) == (value == "zh_CN")
