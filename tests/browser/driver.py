"""Drive JupyterLab in Chromium the way a learner does: menus, clicks and keys, never its internals."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Locator, Page

RUN_TIMEOUT_MS = 240_000  # a whole notebook, kernel start included, on a busy 2-core machine
UI_TIMEOUT_MS = 60_000

# the visible notebook panel (other tabs stay in the DOM, hidden)
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
KERNEL_IDLE = re.compile(r"^(?!No Kernel).*\|\s*Idle\s*$")
ERROR_MIME = '[data-mime-type="application/vnd.jupyter.error"]'
STDERR_MIME = '[data-mime-type="application/vnd.jupyter.stderr"]'

# True once a run has finished: the kernel is idle, no cell waits ("[*]"), and every code cell
# got an execution count (or a cell failed, which stops Run All).
_RUN_FINISHED_JS = """
([panel, errorSel]) => {
  const root = document.querySelector(panel);
  if (!root) return false;
  const indicator = root.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.dataset.status !== 'idle') return false;
  const prompts = [...root.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
    .map(e => e.textContent.trim());
  if (prompts.some(t => t.includes('*'))) return false;
  return prompts.every(t => /\\[\\d+\\]/.test(t)) || root.querySelector(errorSel) !== null;
}
"""

# True when no cell shows an output or an execution count: a later count comes from this run.
_CLEARED_JS = """
panel => {
  const root = document.querySelector(panel);
  return root.querySelectorAll('.jp-OutputArea-output').length === 0 &&
    [...root.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].every(e => !/\\d/.test(e.textContent));
}
"""

# The bytes behind an <img>, base64-encoded (ipywidgets serves the PNG as a blob: URL).
_IMAGE_BYTES_JS = """
async img => {
  const response = await fetch(img.src);
  const bytes = new Uint8Array(await response.arrayBuffer());
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
"""


class Recorder:
    """Numbered screenshots of a page; a failing step is screenshotted and reported with its path."""

    def __init__(self, page: Page, folder: Path, prefix: str) -> None:
        self.page, self.folder, self.prefix = page, folder, prefix
        self.count = 0
        self.saved: list[Path] = []

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        self.saved.append(path)
        return path

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one step; screenshot it when it ends, and on failure raise with the screenshot's path."""
        try:
            yield
        except Exception as exc:
            try:
                where = f"screenshot: {self.shot(name + '-FAILED')}"
            except Exception as shot_error:  # noqa: BLE001 - the page may be gone; report why
                where = f"no screenshot ({type(shot_error).__name__}: {shot_error})"
            raise AssertionError(f"browser step '{name}' failed; {where}\n{type(exc).__name__}: {exc}") from exc
        self.shot(name)


def open_notebook(page: Page, base_url: str, token: str, name: str) -> Locator:
    """Open a notebook in a workspace of its own (no other tabs) and wait until its kernel is idle."""
    workspace = f"{Path(name).stem}-{secrets.token_hex(4)}"
    page.goto(f"{base_url}/lab/workspaces/{workspace}/tree/{name}?token={token}", timeout=UI_TIMEOUT_MS)
    panel = page.locator(PANEL)
    panel.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=UI_TIMEOUT_MS)
    wait_for_idle_kernel(page)
    assert page.locator(".jp-NotebookPanel").count() == 1, "more than one notebook is open"
    return panel


def wait_for_idle_kernel(page: Page) -> None:
    """Wait until the status bar reads "<kernel> | Idle" (it says "No Kernel | Initializing" at first)."""
    page.locator("#jp-main-statusbar").get_by_text(KERNEL_IDLE).wait_for(timeout=RUN_TIMEOUT_MS)


def menu(page: Page, top: str, item: str) -> None:
    """Click a menu-bar entry, then one of its items, by their labels (e.g. Run → Run All Cells)."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
    page.locator(".lm-Menu-item").filter(has=label).click()


def clear_and_run_all(page: Page, panel: Locator) -> None:
    """Edit → Clear Outputs of All Cells, then Run → Run All Cells, and wait until the run is over.

    Clearing first means every output seen afterwards was produced by this run, not stored in the file.
    """
    panel.locator(".jp-Notebook").click(position={"x": 5, "y": 5})  # focus the notebook, command mode
    menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(_CLEARED_JS, arg=PANEL, timeout=UI_TIMEOUT_MS)
    menu(page, "Run", "Run All Cells")
    wait_until_run_finished(page)


def wait_until_run_finished(page: Page) -> None:
    page.wait_for_function(_RUN_FINISHED_JS, arg=[PANEL, ERROR_MIME], timeout=RUN_TIMEOUT_MS, polling=250)


def error_outputs(panel: Locator) -> list[str]:
    """Texts of error outputs: exceptions, tracebacks on stderr, widgets that failed to display."""
    found = panel.locator(ERROR_MIME).all_inner_texts()
    found += [t for t in panel.locator(STDERR_MIME).all_inner_texts() if "Traceback" in t]
    found += [t for t in panel.locator(".jp-OutputArea-output").all_inner_texts()
              if "Error displaying widget" in t]
    return [t.strip()[-1500:] for t in found]


def code_cell(panel: Locator, index: int) -> Locator:
    """The notebook's cell number `index` (counting every cell, as nbformat does)."""
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


def editor_text(cell: Locator) -> str:
    return "\n".join(cell.locator(".cm-content .cm-line").all_inner_texts())


def replace_cell_source(page: Page, cell: Locator, lines: list[str]) -> None:
    """Click into the cell's editor, select everything, and type `lines` as they are.

    After Enter the editor indents by itself; Shift+Home selects that indentation so the typed line's
    own indentation replaces it.
    """
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    for number, line in enumerate(lines):
        if number:
            page.keyboard.press("Enter")
            page.keyboard.press("Shift+Home")
        page.keyboard.type(line)


def run_cell(page: Page, cell: Locator) -> None:
    """Click the cell's editor and press Shift+Enter, as a learner runs one cell."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")


def image_bytes(image: Locator) -> bytes:
    """The PNG an <img> shows, read back through its src URL."""
    return base64.b64decode(image.evaluate(_IMAGE_BYTES_JS))
