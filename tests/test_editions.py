"""The English and Chinese editions cannot drift apart.

The rule, cell by cell (notebooks/NN_name.ipynb against notebooks/zh/NN_name.ipynb):
- the same cells in the same order: same types, same tags;
- code cells run the same program: their Python syntax trees are equal once comments are gone
  and the literal text inside `print(...)` is blanked (printed prose may be translated; every
  expression, number, name, title and label is the same). The first code cell of the Chinese
  edition adds exactly one statement, `coursekit.set_language("zh")`;
- markdown cells carry the same display formulas ($$...$$, unchanged), and every English cell
  with prose in it is translated (holds Chinese characters).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SELECT = 'coursekit.set_language("zh")'
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORDS = re.compile(r"[A-Za-z]{3,}")


class _BlankPrinted(ast.NodeTransformer):
    """Blank string literals (and f-strings' literal parts) that are arguments of print()."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "print":
            for arg in node.args:
                self._blank(arg)
        return node

    def _blank(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        elif isinstance(node, ast.JoinedStr):
            # the prose around the values goes; the values and their formats stay (a translation may
            # put them in another order)
            fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
            node.values = sorted(fields, key=ast.dump)
        else:
            for child in ast.iter_child_nodes(node):
                self._blank(child)


def program(source: str) -> str:
    """The code cell as the rule compares it: its syntax tree with printed text blanked."""
    tree = ast.parse(TransformerManager().transform_cell(source))
    return ast.dump(_BlankPrinted().visit(tree), include_attributes=False)


def _drop_selection(source: str) -> str:
    lines = source.splitlines()
    if SELECT not in [line.strip() for line in lines]:
        raise AssertionError(f"the Chinese edition's first code cell must select the language with `{SELECT}`")
    return "\n".join(line for line in lines if line.strip() != SELECT)


def _prose(markdown: str) -> bool:
    text = _DISPLAY_MATH.sub("", markdown)
    text = re.sub(r"\$[^$]*\$|`[^`]*`|\([^)]*\.ipynb[^)]*\)|<[^>]+>", "", text)
    return len(_WORDS.findall(text)) >= 3


def drift(english: Path, chinese: Path) -> list[str]:
    """Every way the Chinese edition differs from the English one beyond what the rule allows."""
    en, zh = nbformat.read(english, as_version=4), nbformat.read(chinese, as_version=4)
    if len(en.cells) != len(zh.cells):
        return [f"{len(en.cells)} cells in English, {len(zh.cells)} in Chinese: a cell was added or removed "
                "in one edition only"]
    problems, first_code = [], True
    for i, (a, b) in enumerate(zip(en.cells, zh.cells, strict=True)):
        where = f"cell {i}"
        if a.cell_type != b.cell_type:
            problems.append(f"{where}: {a.cell_type} in English, {b.cell_type} in Chinese")
            continue
        if sorted(a.metadata.get("tags", [])) != sorted(b.metadata.get("tags", [])):
            problems.append(f"{where}: tags {a.metadata.get('tags', [])} vs {b.metadata.get('tags', [])}")
        if a.cell_type == "code":
            zh_source = b.source
            if first_code:
                try:
                    zh_source = _drop_selection(zh_source)
                except AssertionError as err:
                    problems.append(f"{where}: {err}")
                first_code = False
            try:
                same = program(a.source) == program(zh_source)
            except SyntaxError as err:
                problems.append(f"{where}: does not parse ({err.msg}, line {err.lineno})")
                continue
            if not same:
                problems.append(f"{where}: the code differs (beyond comments and printed text)")
        elif a.cell_type == "markdown":
            if _DISPLAY_MATH.findall(a.source) != _DISPLAY_MATH.findall(b.source):
                problems.append(f"{where}: its display formulas ($$...$$) differ")
            if _prose(a.source) and not _CJK.search(b.source):
                problems.append(f"{where}: not translated")
    return problems


@pytest.mark.parametrize("english", ENGLISH, ids=[p.stem for p in ENGLISH])
def test_the_chinese_edition_matches_the_english(english: Path) -> None:
    chinese = english.parent / "zh" / english.name
    assert chinese.exists(), f"{chinese.relative_to(ROOT)} is missing: every notebook has a Chinese edition"
    problems = drift(english, chinese)
    assert not problems, f"{chinese.relative_to(ROOT)} has drifted from {english.name}:\n" + "\n".join(problems)


def _notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) if kind == "code" else nbformat.v4.new_markdown_cell(s)
                for kind, s in cells]
    return nb


_EN = [("markdown", "The gradient points uphill: $$\\nabla f(x)$$ is the steepest direction."),
       ("code", "import coursekit\nx = 1.5  # the start\nprint(f'x = {x:.2f} at the start')"),
       ("code", "y = x ** 2\nprint('y is', y)")]
_ZH = [("markdown", "梯度指向上坡方向：$$\\nabla f(x)$$ 是最陡的方向。"),
       ("code", f"import coursekit\n{SELECT}\nx = 1.5  # 起点\nprint(f'起点处 x = {{x:.2f}}')"),
       ("code", "y = x ** 2\nprint('y 等于', y)")]


def _pair(tmp_path: Path, zh: list[tuple[str, str]]) -> list[str]:
    nbformat.write(_notebook(_EN), tmp_path / "en.ipynb")
    nbformat.write(_notebook(zh), tmp_path / "zh.ipynb")
    return drift(tmp_path / "en.ipynb", tmp_path / "zh.ipynb")


def test_comments_and_printed_text_may_be_translated(tmp_path: Path) -> None:
    assert _pair(tmp_path, _ZH) == []


@pytest.mark.parametrize("break_, expected", [
    (lambda zh: zh[:2], "a cell was added or removed"),
    (lambda zh: [zh[0], zh[1], ("code", "y = x ** 3\nprint('y 等于', y)")], "the code differs"),
    (lambda zh: [zh[0], zh[1], ("code", "y = x ** 2\nprint('y 等于', x)")], "the code differs"),
    (lambda zh: [("markdown", "The gradient points uphill: $$\\nabla f(x)$$ is steep."), zh[1], zh[2]],
     "not translated"),
    (lambda zh: [("markdown", "梯度：$$\\nabla g(x)$$"), zh[1], zh[2]], "display formulas"),
    (lambda zh: [zh[0], ("code", "import coursekit\nx = 1.5"), zh[2]], "select the language"),
    (lambda zh: [zh[0], zh[1], ("markdown", "y = x ** 2")], "code in English, markdown in Chinese"),
])
def test_a_deliberate_break_is_caught(tmp_path: Path, break_, expected: str) -> None:
    problems = _pair(tmp_path, break_(list(_ZH)))
    assert any(expected in p for p in problems), problems
