"""The course in a real browser: JupyterLab driven in Chromium as a learner uses it.

Every step is screenshotted into test-output/browser/; a failing step names its screenshot.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .driver import (
    Recorder,
    clear_and_run_all,
    code_cell,
    editor_text,
    error_outputs,
    image_bytes,
    open_notebook,
    replace_cell_source,
    run_cell,
    wait_for_idle_kernel,
)

pytestmark = pytest.mark.browser

START_NOTEBOOK = "00_start_here.ipynb"
# a topic notebook's exercise, as a learner meets it mid-course
EXERCISE_NOTEBOOK = "03_activations.ipynb"
EXERCISE = "relu_grad"
CORRECT_ANSWER = ["def relu_grad(x):", "    return (x > 0).to(x.dtype)"]
# the notebook whose explorer gets a slider moved; any notebook that displays an explorer will do
# when this one is not there
EXPLORER_NOTEBOOK = "01_gradients.ipynb"
# tried in turn (a handle at its maximum only moves down); PageUp/PageDown move a slider by several
# steps in one change of value, so exactly one figure update follows
SLIDER_KEYS = ("PageUp", "PageDown")
# notebook 08: a learner's own backward pass, checked through the adapter its exercise cell gives
ENGINE_NOTEBOOK = "08_build_autograd.ipynb"
ENGINE_ANSWERS = {
    "topological_order": [
        "def topological_order(inputs, output):",
        "    done, seen = [], set()",
        "    def visit(n):",
        "        if n not in seen:",
        "            seen.add(n)",
        "            for i in inputs[n]:",
        "                visit(i)",
        "            done.append(n)",
        "    visit(output)",
        "    return [n for n in reversed(done) if inputs[n]]",
    ],
    "backward_twice": [
        "def backward_freeing(output, grad=None, retain_graph=False):",
        "    grads = {output: torch.ones_like(output.value)}",
        "    for t in topological_order(engine.inputs_of(output), output):",
        "        for inp, g in zip(t.node.inputs, t.node.vjp(grads[t])):",
        "            grads[inp] = grads[inp] + g if inp in grads else g",
        "        if not retain_graph:",
        "            t.node.free()",
        "    for t, g in grads.items():",
        "        if t.node is None and t.requires_grad:",
        "            t.grad = g if t.grad is None else t.grad + g",
        "def backward_twice(program, values, retain_graph):",
        "    return engine.backward_twice(program, values, retain_graph=retain_graph, backward=backward_freeing)",
    ],
}


def exercise_cells(path: Path, exercise: str) -> tuple[int, int]:
    """Indices of the exercise's cell (tagged `exercise`, defining it) and of its check() cell."""
    cells = nbformat.read(path, as_version=4).cells
    stub = next((i for i, c in enumerate(cells) if c.cell_type == "code"
                 and "exercise" in c.metadata.get("tags", []) and f"def {exercise}" in c.source), None)
    assert stub is not None, f"{path.name} has no cell tagged 'exercise' that defines {exercise}"
    check = next((i for i, c in enumerate(cells) if i > stub and c.cell_type == "code"
                  and f"check({exercise}" in c.source), None)
    assert check is not None, f"{path.name} has no check({exercise}) cell after the exercise"
    return stub, check


def explorer_notebook(folder: Path) -> str:
    """EXPLORER_NOTEBOOK, or else the first notebook that displays an explorer widget."""
    if (folder / EXPLORER_NOTEBOOK).exists():
        return EXPLORER_NOTEBOOK
    for path in sorted(folder.glob("*.ipynb")):
        if any(c.cell_type == "code" and ".widget()" in c.source
               for c in nbformat.read(path, as_version=4).cells):
            return path.name
    pytest.fail(f"no notebook displays an explorer (looked for {EXPLORER_NOTEBOOK} and for `.widget()` cells)")


def test_start_here_runs_all_cells_without_errors(page, lab, output_dir):
    server, _ = lab
    shots = Recorder(page, output_dir, "1-start-here")
    with shots.step("opened"):
        panel = open_notebook(page, server.url, server.token, START_NOTEBOOK)
    with shots.step("ran-all-cells"):
        clear_and_run_all(page, panel)
        errors = error_outputs(panel)
        assert not errors, f"{START_NOTEBOOK} shows {len(errors)} error output(s):\n" + "\n---\n".join(errors)
        assert panel.locator(".jp-OutputArea-output").count() > 0, "Run All produced no output at all"
        # the course's lab settings answer JupyterLab's start-up question for the learner
        assert page.get_by_text("official Jupyter news").count() == 0, "JupyterLab asked about Jupyter news"


def test_exercise_check_not_attempted_then_pass(page, lab, output_dir):
    server, folder = lab
    stub_index, check_index = exercise_cells(folder / EXERCISE_NOTEBOOK, EXERCISE)
    shots = Recorder(page, output_dir, "2-exercise")
    with shots.step("opened"):
        panel = open_notebook(page, server.url, server.token, EXERCISE_NOTEBOOK)
        stub, check = code_cell(panel, stub_index), code_cell(panel, check_index)
        assert f"def {EXERCISE}" in editor_text(stub), f"cell {stub_index} is not the {EXERCISE} stub"
    with shots.step("check-says-not-attempted"):
        clear_and_run_all(page, panel)
        check.scroll_into_view_if_needed()
        result = check.locator(".coursekit-check")
        result.wait_for()
        assert "coursekit-not_attempted" in (result.get_attribute("class") or ""), \
            f"the stub's check() shows {result.get_attribute('class')!r}: {result.inner_text()}"
        assert "Not attempted" in result.inner_text()
    with shots.step("answer-typed"):
        stub.scroll_into_view_if_needed()
        replace_cell_source(page, stub, CORRECT_ANSWER)
        typed = editor_text(stub)
        assert typed == "\n".join(CORRECT_ANSWER), f"the editor holds {typed!r} after typing"
    with shots.step("check-passes"):
        run_cell(page, stub)
        run_cell(page, check)
        check.locator(".coursekit-pass").wait_for()
        assert check.locator(".coursekit-not_attempted").count() == 0
        assert "All cases pass" in check.locator(".coursekit-check").inner_text()


def test_explorer_slider_changes_the_figure(page, lab, output_dir):
    server, folder = lab
    name = explorer_notebook(folder)
    shots = Recorder(page, output_dir, "3-explorer")
    with shots.step("ran-all-cells"):
        panel = open_notebook(page, server.url, server.token, name)
        clear_and_run_all(page, panel)
        errors = error_outputs(panel)
        assert not errors, f"{name} shows {len(errors)} error output(s):\n" + "\n---\n".join(errors)
    with shots.step("figure-before"):
        explorer = panel.locator(".coursekit-explorer").first
        explorer.evaluate("e => e.scrollIntoView({block: 'center'})")  # sliders and figure in view
        image = explorer.locator("img.coursekit-explorer-figure")
        image.wait_for()
        before_src, before = image.get_attribute("src"), image_bytes(image)
        assert before.startswith(b"\x89PNG"), "the explorer's figure is not a PNG"
        (output_dir / "explorer-figure-before.png").write_bytes(before)
        handle = explorer.locator(".noUi-handle").first
        readout = explorer.locator(".widget-readout").first
        before_value = readout.inner_text()
    with shots.step("figure-after-slider-move"):
        after = before
        for key in SLIDER_KEYS:
            handle.focus()
            page.keyboard.press(key)
            try:
                page.wait_for_function("([img, src]) => img.getAttribute('src') !== src",
                                       arg=[image.element_handle(), before_src], timeout=30_000)
            except PlaywrightTimeoutError:
                continue  # the handle could not move this way; try the other direction
            wait_for_idle_kernel(page)
            after = image_bytes(image)
            break
        (output_dir / "explorer-figure-after.png").write_bytes(after)
        assert readout.inner_text() != before_value, f"the slider did not move (still {before_value})"
        assert after != before, "moving the slider did not change the figure's image bytes"


def test_build_autograd_runs_and_a_learners_freeing_backward_passes(page, lab, output_dir):
    server, folder = lab
    cells = {name: exercise_cells(folder / ENGINE_NOTEBOOK, name) for name in ENGINE_ANSWERS}
    shots = Recorder(page, output_dir, "4-build-autograd")
    with shots.step("ran-all-cells"):
        panel = open_notebook(page, server.url, server.token, ENGINE_NOTEBOOK)
        clear_and_run_all(page, panel)
        errors = error_outputs(panel)
        assert not errors, f"{ENGINE_NOTEBOOK} shows {len(errors)} error output(s):\n" + "\n---\n".join(errors)
        assert panel.locator(".coursekit-not_attempted").count() == 7, "every stub's check() says not attempted"
        assert panel.locator(".jp-RenderedImage img").count() >= 3, "the notebook's figures are missing"
    with shots.step("answers-typed"):
        for name, (stub_index, _) in cells.items():
            stub = code_cell(panel, stub_index)
            stub.scroll_into_view_if_needed()
            replace_cell_source(page, stub, ENGINE_ANSWERS[name])
            typed = editor_text(stub)
            assert [line.rstrip() for line in typed.splitlines()] == ENGINE_ANSWERS[name], typed
    with shots.step("checks-pass"):
        for stub_index, check_index in cells.values():
            run_cell(page, code_cell(panel, stub_index))
            check = code_cell(panel, check_index)
            run_cell(page, check)
            check.locator(".coursekit-pass").wait_for()
            assert "All cases pass" in check.locator(".coursekit-check").inner_text()
