"""Fixtures of the browser test: Debian's Chromium, the course's JupyterLab on a copy of notebooks/, a page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from coursekit.lab import LabServer, start_lab

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CHROMIUM = os.environ.get("COURSEKIT_CHROMIUM", "/usr/bin/chromium")
# Playwright adds --headless itself (headless=True) and gives every launch a fresh, temporary profile
# (--user-data-dir); the rest keeps Chromium off the network and quiet.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# JupyterLab user settings for the test: every cell stays in the DOM, no news pop-up over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """test-output/browser/ (COURSEKIT_TEST_OUTPUT overrides test-output), emptied of old screenshots."""
    base = Path(os.environ.get("COURSEKIT_TEST_OUTPUT", "test-output"))
    folder = (base if base.is_absolute() else ROOT / base) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed by the project's own script when it is missing."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install_chromium.sh")], capture_output=True,
                          text=True, timeout=900, check=False, env={**os.environ, "COURSEKIT_CHROMIUM": CHROMIUM})
    print(done.stdout.strip())
    if done.returncode == 2:
        pytest.skip(f"Chromium cannot be installed on this machine: {done.stderr.strip()}")
    if done.returncode != 0:
        pytest.fail(f"scripts/install_chromium.sh failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, output_dir: Path) -> Iterator[tuple[LabServer, Path]]:
    """JupyterLab as `make lab` starts it, serving a copy of notebooks/ so the repository's files stay as
    they are; its settings and workspaces live in the temporary folder too."""
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    shutil.copytree(NOTEBOOKS, notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {"JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "COURSEKIT_DEVICE": "cpu"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        server = start_lab(notebooks=notebooks, log=output_dir / "jupyterlab.log")
        try:
            yield server, notebooks
        finally:
            server.stop()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    try:
        yield context.new_page()
    finally:
        context.close()
