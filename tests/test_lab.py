"""`make lab` serves JupyterLab on the course: the server answers and lists the notebooks."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_coursekit_lab_serves_the_notebooks(tmp_path):
    # the same command `make lab` runs
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    process = subprocess.Popen([sys.executable, "-m", "coursekit.cli", "lab"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    try:
        url = None
        for line in process.stdout:
            match = re.search(r"(http://127\.0\.0\.1:\d+)/lab/tree/00_start_here\.ipynb\?token=(\w+)", line)
            if match:
                url, token = match.groups()
                break
        assert url, "coursekit lab did not print the URL to open"
        listing = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and listing is None:
            try:
                with urllib.request.urlopen(f"{url}/api/contents?token={token}", timeout=2) as response:
                    listing = json.load(response)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer on the printed URL"
        names = {item["name"] for item in listing["content"]}
        expected = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
        assert expected <= names
        with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=10) as response:
            assert response.status == 200 and b"JupyterLab" in response.read()
        try:
            urllib.request.urlopen(f"{url}/api/contents", timeout=5)
            raise AssertionError("the server answered without its token")
        except urllib.error.HTTPError as err:
            assert err.code == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
