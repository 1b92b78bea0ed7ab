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

from coursekit.workspace import WORKDIR_VAR

ROOT = Path(__file__).resolve().parent.parent


def test_coursekit_lab_serves_the_notebooks(tmp_path):
    # the same command `make lab` runs
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env[WORKDIR_VAR] = str(tmp_path / "course")
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


def test_the_learners_copy_is_made_once_and_never_overwritten(tmp_path, capsys):
    from coursekit.cli import main
    from coursekit.workspace import copy_course, course_notebooks

    dest = tmp_path / "mine"
    first = copy_course(dest)
    originals = sorted(str(p.relative_to(course_notebooks())) for p in course_notebooks().rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)  # the Chinese edition (zh/) too
    assert sorted(first.added) == originals and first.kept == ()
    answer = dest / "03_activations.ipynb"
    answer.write_text('{"my": "answers"}')
    (dest / "05_softmax.ipynb").unlink()  # a notebook the learner does not have yet (as after an upgrade)
    again = copy_course(dest)
    assert again.added == ("05_softmax.ipynb",) and "03_activations.ipynb" in again.kept
    assert answer.read_text() == '{"my": "answers"}'
    assert main(["copy", str(dest)]) == 0 and "kept your" in capsys.readouterr().out


def test_copy_refuses_a_file_and_the_course_folder_itself(tmp_path, capsys):
    from coursekit.cli import main
    from coursekit.workspace import course_notebooks

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    assert main(["copy", str(a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["copy", str(course_notebooks())]) == 2
    assert "course's own folder" in capsys.readouterr().err


def test_the_lab_asks_no_news_question_and_checks_for_no_update(tmp_path):
    from coursekit.lab import SETTINGS, lab_command

    overrides = json.loads((SETTINGS / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    schema = Path(sys.prefix) / "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json"
    properties = json.loads(schema.read_text())["properties"]
    assert set(notification) <= set(properties)
    assert {"const": "false", "title": "Never"} in properties["fetchNews"]["oneOf"]
    cmd = lab_command(port=1, token="t", notebooks=tmp_path)
    assert f"--LabApp.app_settings_dir={SETTINGS}" in cmd
