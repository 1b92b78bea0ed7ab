"""explain() recognises the autograd errors PyTorch really raises; the IPython hook adds to them and nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell

import coursekit
import coursekit.explain as explain_module
from coursekit.explain import EXPLANATIONS, explain

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _backward_twice():
    a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    p = torch.softmax(a, dim=0)
    torch.autograd.grad(p[1], a)
    torch.autograd.grad(p[2], a)


def _no_grad():
    (torch.ones(2) * 3).sum().backward()


def _leaf_in_place():
    w = torch.ones(2, requires_grad=True)
    w -= 0.1


def _non_scalar():
    w = torch.ones(2, requires_grad=True)
    (w * 2).backward()


def _saved_modified():
    w = torch.ones(3, requires_grad=True)
    e = w.exp()
    e.add_(1.0)
    e.sum().backward()


REAL_ERRORS = [(_backward_twice, "backward-twice"), (_no_grad, "no-grad"), (_leaf_in_place, "leaf-in-place"),
               (_non_scalar, "non-scalar-backward"), (_saved_modified, "saved-tensor-modified")]


def _raised(make) -> BaseException:
    with pytest.raises(RuntimeError) as info:
        make()
    return info.value


@pytest.mark.parametrize("make,key", REAL_ERRORS, ids=[k for _, k in REAL_ERRORS])
def test_real_pytorch_errors_are_explained(make, key):
    err = _raised(make)
    explanation = explain(err)
    assert explanation is not None and explanation.key == key
    assert explain(str(err)) is explanation  # the message alone is enough
    assert coursekit.explain(err) is explanation  # the top-level name is callable too
    text = repr(explanation)
    assert "How to fix it:" in text and explanation.notebook in text
    html = explanation._repr_html_()
    assert f"href='{explanation.notebook}#" in html and "<script" not in html


@pytest.mark.parametrize("err", [ValueError("shapes do not match"), RuntimeError("CUDA out of memory"),
                                 KeyError("x"), "", RuntimeError("")])
def test_unknown_errors_give_none(err):
    assert explain(err) is None


def test_an_exception_whose_str_fails_gives_none():
    class Broken(Exception):
        def __str__(self):
            raise ValueError("no message")

    assert explain(Broken()) is None


def _headings(notebook: str) -> set[str]:
    nb = json.loads((NOTEBOOKS / notebook).read_text())
    found = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("#"):
                    found.add(line.lstrip("#").strip())
    return found


@pytest.mark.parametrize("explanation", EXPLANATIONS, ids=[e.key for e in EXPLANATIONS])
def test_every_explanation_links_to_an_existing_section(explanation):
    assert explanation.section in _headings(explanation.notebook)
    assert " " not in explanation.anchor


# --- the IPython hook ---------------------------------------------------------------------------------------

@pytest.fixture
def shell():
    shell = InteractiveShell.instance()
    shell.run_cell("import torch", store_history=False)
    yield shell
    explain_module.uninstall()


BACKWARD_TWICE = ("a = torch.ones(3, requires_grad=True)\np = torch.softmax(a, 0)\n"
                  "torch.autograd.grad(p[1], a)\ntorch.autograd.grad(p[2], a)")


def _run(shell, capsys, source):
    capsys.readouterr()
    result = shell.run_cell(source, store_history=False)
    return result, ANSI.sub("", capsys.readouterr().out)


def test_hook_appends_the_explanation_after_the_traceback(shell, capsys):
    explain_module.install(shell)
    assert explain_module.installed()
    result, out = _run(shell, capsys, BACKWARD_TWICE)
    assert isinstance(result.error_in_exec, RuntimeError)
    assert "Traceback" in out and "RuntimeError: Trying to backward through the graph a second time" in out
    assert out.index("Trying to backward") < out.index("What this error means:")
    assert "06_retain_graph.ipynb" in out


@pytest.mark.parametrize("source", ["raise RuntimeError('something else went wrong')",
                                    "raise ValueError('not an autograd error')", "1 / 0"])
def test_unknown_errors_pass_through_unchanged(shell, capsys, source):
    _, plain = _run(shell, capsys, source)
    explain_module.install(shell)
    result, hooked = _run(shell, capsys, source)
    assert result.error_in_exec is not None
    assert type(result.error_in_exec).__name__ in plain and "Traceback" in plain
    assert hooked == plain
    assert "What this error means" not in hooked


def test_uninstall_restores_the_previous_handler(shell, capsys):
    before = (shell.custom_exceptions, shell.CustomTB)
    explain_module.install(shell)
    explain_module.install(shell)  # installing twice is harmless
    assert RuntimeError in shell.custom_exceptions
    explain_module.uninstall()
    assert (shell.custom_exceptions, shell.CustomTB) == before and not explain_module.installed()
    _, out = _run(shell, capsys, BACKWARD_TWICE)
    assert "Trying to backward" in out and "What this error means" not in out


def test_an_existing_custom_handler_keeps_working(shell, capsys):
    seen = []

    def handler(self, etype, value, tb, tb_offset=None):
        seen.append(etype)
        print("custom handler ran")

    shell.set_custom_exc((KeyError,), handler)
    try:
        explain_module.install(shell)
        _, out = _run(shell, capsys, "raise KeyError('k')")
        assert seen == [KeyError] and "custom handler ran" in out
        _, out = _run(shell, capsys, BACKWARD_TWICE)
        assert "What this error means" in out
    finally:
        explain_module.uninstall()
        shell.set_custom_exc((), None)
    assert shell.custom_exceptions == ()


def test_install_outside_ipython_says_what_to_do(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    with pytest.raises(RuntimeError, match="explain\\(err\\)"):
        explain_module.install()


def test_differentiating_a_plain_gradient_points_to_create_graph():
    x = torch.tensor(1.5, requires_grad=True)
    (first,) = torch.autograd.grad(x**3, x)  # no create_graph: `first` has no graph of its own
    with pytest.raises(RuntimeError) as info:
        torch.autograd.grad(first, x)
    explanation = explain(info.value)
    assert explanation is not None and explanation.key == "no-grad"
    assert "create_graph=True" in explanation.fix and "create_graph=True" in explanation.why
