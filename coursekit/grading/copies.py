"""Answers that are a reference solution's code: found on the trusted side, flagged for the instructor.

The package is public, so a learner can paste a reference from its source. `reference_copies`
compares each answered function of a submission with its exercise's reference after both are
normalised: docstrings, comments, annotations and formatting dropped, and every name (the
function's, its inputs', its locals', the modules' it uses) replaced by its order of first
appearance, so renaming or reformatting a pasted reference still matches; attribute names
(`.exp`, `torch.where`), keyword names and constants are kept, since they are what the code
does. A short reference (a one-liner such as `a * x + b`) is what an honest learner writes
too, so it is flagged only when the answer also carries the reference's docstring or one of its
comments. Flags never change a grade; the instructor reads them in the gradebook.

`answer_forms` gives, per answered function, a digest of that normal form: the class report
buckets the class's answers by digest (one pass, never a comparison of every pair) to show
which students handed in the same code.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import inspect
import io
import textwrap
import threading
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from coursekit.exercises.model import Exercise

# CPython 3.11's parser is not safe to call from several threads at once ("AST constructor recursion depth
# mismatch", python/cpython#106905), and the grader parses answers from its worker threads
_PARSE_LOCK = threading.Lock()


def _parse(source: str) -> ast.Module:
    with _PARSE_LOCK:
        return ast.parse(source)


__all__ = ["MIN_NODES", "AnswerForm", "answer_forms", "normalised", "reference_copies", "reference_flag"]

#: a reference with fewer nodes than this (after normalising) is flagged only with its docstring or a comment
MIN_NODES = 40


class _Normaliser(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        return self.names.setdefault(name, f"_{len(self.names)}")

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        kept = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                        and isinstance(s.value.value, str))]
        return kept or [ast.Pass()]

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        node.name = self.rename(node.name)
        node.returns = None
        node.body = self._body(node.body)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self.rename(node.name)
        node.body = self._body(node.body)
        return self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None  # a string used as a comment
        return self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if node.value is None:
            return None
        return self.visit(ast.Assign(targets=[node.target], value=node.value))

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.rename(node.arg)
        node.annotation = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.rename(node.id)
        return node

    def visit_alias(self, node: ast.alias) -> ast.AST:
        node.asname = self.rename(node.asname or node.name.split(".")[0])
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self.rename(node.name)
        return self.generic_visit(node)

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> ast.AST:
        node.names = [self.rename(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global


def normalised(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, int]:
    """A function definition's normal form (names by order of appearance; no docstrings, comments, annotations
    or formatting) and the number of nodes of its body."""
    tree = _Normaliser().visit(_parse(ast.unparse(function)).body[0])
    return ast.dump(tree), sum(1 for statement in tree.body for _ in ast.walk(statement))


def _comments(source: str) -> set[str]:
    try:
        return {t.string.lstrip("#").strip() for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type == tokenize.COMMENT and len(t.string.lstrip("#").strip()) >= 12}
    except (tokenize.TokenError, SyntaxError):
        return set()


@dataclass(frozen=True)
class _Shape:
    form: str
    nodes: int
    marks: frozenset[str]  # the docstring and the comments: what only a paste carries


@functools.cache
def _reference_shape(exercise: Exercise) -> _Shape | None:
    try:
        source = textwrap.dedent(inspect.getsource(exercise.reference))
        function = _parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    form, nodes = normalised(function)
    doc = ast.get_docstring(function)
    marks = _comments(source) | ({" ".join(doc.split())} if doc else set())
    return _Shape(form, nodes, frozenset(marks))


def _python(source: str) -> str:
    """A cell's source with IPython's own syntax (magics, shell lines) blanked out, so ast can read it."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _definitions(cells: Iterable[tuple[int, str]]) -> dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    """The last top-level definition of each function name in the cells, with its cell's source."""
    found: dict[str, tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]] = {}
    for _, source in cells:
        try:
            tree = _parse(_python(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[node.name] = (node, source)
    return found


def _carries_marks(function: ast.FunctionDef | ast.AsyncFunctionDef, source: str, shape: _Shape) -> bool:
    doc = ast.get_docstring(function)
    own = _comments(ast.get_source_segment(source, function) or "") | ({" ".join(doc.split())} if doc else set())
    return bool(own & shape.marks)


@dataclass(frozen=True)
class AnswerForm:
    """One answered function in normal form: a digest of the form, its size, and whether it is the reference's."""

    digest: str  # the first 16 hex digits of the sha256 of the normal form
    nodes: int  # syntax nodes of the body: below MIN_NODES the same code is what anyone would write
    reference: bool  # the module's rule: the reference's form, and long enough or carrying its docstring/comments


def answer_forms(cells: Sequence[tuple[int, str]], exercises: Sequence[Exercise]) -> dict[str, AnswerForm]:
    """The normal form of each function exercise's answer in the cells (exercises without one are left out)."""
    definitions = _definitions(cells)
    found = {}
    for exercise in exercises:
        if exercise.kind != "function" or exercise.id not in definitions:
            continue
        function, source = definitions[exercise.id]
        try:
            form, nodes = normalised(function)
        except (SyntaxError, ValueError, RecursionError):
            continue
        shape = _reference_shape(exercise)
        same = shape is not None and form == shape.form and \
            (shape.nodes >= MIN_NODES or _carries_marks(function, source, shape))
        found[exercise.id] = AnswerForm(hashlib.sha256(form.encode()).hexdigest()[:16], nodes, same)
    return found


def reference_flag(exercise_id: str) -> str:
    """The gradebook's flag of an answer that is its exercise's reference solution."""
    return f"{exercise_id}: the code is the reference solution's (names, comments and formatting aside)"


def reference_copies(cells: Sequence[tuple[int, str]], exercises: Sequence[Exercise]) -> list[str]:
    """One flag per answer whose code is its exercise's reference solution (see the module's doc)."""
    forms = answer_forms(cells, exercises)
    return [reference_flag(e.id) for e in exercises if e.id in forms and forms[e.id].reference]
