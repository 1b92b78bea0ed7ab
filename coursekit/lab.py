"""Start the course's JupyterLab on a free local port (used by `make lab` and the browser test)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LabServer", "free_port", "lab_command", "start_lab"]

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on `host` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


SETTINGS = Path(__file__).resolve().parent / "lab_settings"


def lab_command(*, port: int, token: str, notebooks: Path, open_browser: bool = False,
                host: str = "127.0.0.1") -> list[str]:
    """The jupyter lab command line for the course, token-protected, root-safe, asking nothing on start-up."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.port={port}", f"--ServerApp.ip={host}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={notebooks}", "--ServerApp.open_browser=" + str(open_browser),
           # the course's settings (no "get notified about Jupyter news?" question, no update check)
           f"--LabApp.app_settings_dir={SETTINGS}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


@dataclass
class LabServer:
    """A running JupyterLab: its process, base URL and token."""

    process: subprocess.Popen[bytes]
    url: str
    token: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_lab(*, notebooks: Path | None = None, log: Path | None = None, timeout: float = 90.0) -> LabServer:
    """Start JupyterLab in the background and wait until its API answers."""
    notebooks = notebooks or ROOT / "notebooks"
    port, token = free_port(), secrets.token_hex(16)
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - owned by the process
    process = subprocess.Popen(lab_command(port=port, token=token, notebooks=notebooks),
                               stdout=out, stderr=subprocess.STDOUT)
    server = LabServer(process, f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with code {process.returncode}" + (f"; see {log}" if log else ""))
        try:
            with urllib.request.urlopen(f"{server.url}/api/contents?token={token}", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s")


def run_lab(*, port: int | None = None, folder: Path, start: str = "00_start_here.ipynb") -> int:
    """Run JupyterLab in the foreground on `folder` (a free port unless given) and print the URL that opens
    `start` (a notebook's path relative to `folder`)."""
    port = port or free_port()
    token = secrets.token_hex(16)
    url = f"http://127.0.0.1:{port}/lab/tree/{start}?token={token}"
    print(f"\nOpen the course at:\n    {url}\n(press Ctrl+C twice to stop JupyterLab)\n", flush=True)
    return subprocess.call(lab_command(port=port, token=token, notebooks=folder))
