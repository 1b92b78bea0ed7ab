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

import pytest

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
    course = course_notebooks()
    # both editions: the English notebooks and the Chinese ones under zh/ (where this copy has them)
    originals = sorted(str(p.relative_to(course)) for p in course.rglob("*.ipynb")
                       if ".ipynb_checkpoints" not in p.parts)
    assert sorted(first.added) == originals and first.kept == ()
    answer = dest / "03_activations.ipynb"
    answer.write_text('{"my": "answers"}')
    (dest / "05_softmax.ipynb").unlink()  # a notebook the learner does not have yet (as after an upgrade)
    again = copy_course(dest)
    assert again.added == ("05_softmax.ipynb",) and "03_activations.ipynb" in again.kept
    assert answer.read_text() == '{"my": "answers"}'
    assert main(["copy", str(dest)]) == 0 and "kept your" in capsys.readouterr().out


def _course(folder: Path, *, chinese: bool = True) -> Path:
    """A made-up course folder: two English notebooks and, if `chinese`, their Chinese editions under zh/."""
    for edition in ("", "zh") if chinese else ("",):
        (folder / edition).mkdir(parents=True, exist_ok=True)
        for name in ("00_start_here.ipynb", "01_gradients.ipynb"):
            (folder / edition / name).write_text(json.dumps({"edition": edition or "en", "name": name}))
    return folder


def test_both_editions_are_copied_and_a_learners_chinese_notebook_is_kept(tmp_path):
    from coursekit.workspace import copy_course

    course, dest = _course(tmp_path / "course"), tmp_path / "mine"
    first = copy_course(dest, source=course)
    assert sorted(first.added) == ["00_start_here.ipynb", "01_gradients.ipynb", "zh/00_start_here.ipynb",
                                   "zh/01_gradients.ipynb"]
    assert json.loads((dest / "zh" / "01_gradients.ipynb").read_text())["edition"] == "zh"
    (dest / "zh" / "01_gradients.ipynb").write_text('{"my": "答案"}')
    (dest / "zh" / "00_start_here.ipynb").unlink()
    again = copy_course(dest, source=course)
    assert again.added == ("zh/00_start_here.ipynb",) and "zh/01_gradients.ipynb" in again.kept
    assert (dest / "zh" / "01_gradients.ipynb").read_text() == '{"my": "答案"}'


def test_each_edition_starts_at_its_own_00(tmp_path):
    from coursekit.workspace import WorkspaceError, start_notebook

    both, english = _course(tmp_path / "both"), _course(tmp_path / "english", chinese=False)
    assert start_notebook(both) == "00_start_here.ipynb"
    assert start_notebook(both, "zh") == "zh/00_start_here.ipynb"
    with pytest.raises(WorkspaceError, match="no Chinese edition.*zh/00_start_here.ipynb is missing"):
        start_notebook(english, "zh")
    with pytest.raises(WorkspaceError, match="no 'fr' edition"):
        start_notebook(both, "fr")


@pytest.fixture
def served(monkeypatch, tmp_path):
    """`coursekit lab` in-process on a made-up course: the JupyterLab command it would run, not run."""
    import coursekit.lab
    import coursekit.workspace
    from coursekit import i18n

    commands: list[list[str]] = []
    monkeypatch.setattr(coursekit.lab.subprocess, "call", lambda cmd: commands.append(cmd) or 0)
    monkeypatch.setattr(coursekit.workspace, "course_notebooks", lambda: tmp_path / "course")
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.setattr(i18n, "_chosen", None)
    return commands


@pytest.mark.parametrize("args, env, opened", [
    (["--lang", "zh"], None, "zh/00_start_here.ipynb"),
    (["--lang", "en"], "zh", "00_start_here.ipynb"),
    ([], "zh", "zh/00_start_here.ipynb"),  # COURSEKIT_LANG=zh, as on a Chinese class's JupyterHub
    ([], None, "00_start_here.ipynb"),
])
def test_coursekit_lab_opens_the_chosen_edition(served, tmp_path, monkeypatch, capsys, args, env, opened):
    from coursekit.cli import main

    _course(tmp_path / "course")
    if env:
        monkeypatch.setenv("COURSEKIT_LANG", env)
    assert main(["lab", "--dir", str(tmp_path / "mine"), "--port", "8123", *args]) == 0
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:8123/lab/tree/{opened}?token=" in out
    (command,) = served
    assert f"--ServerApp.root_dir={tmp_path / 'mine'}" in command
    assert (tmp_path / "mine" / "zh" / "00_start_here.ipynb").is_file()


def test_coursekit_lab_without_a_chinese_edition(served, tmp_path, monkeypatch, capsys):
    from coursekit.cli import main

    _course(tmp_path / "course", chinese=False)
    assert main(["lab", "--dir", str(tmp_path / "mine"), "--lang", "zh"]) == 2
    assert "no Chinese edition" in capsys.readouterr().err and served == []
    # asked for only by the environment: the English edition opens, and the learner is told
    monkeypatch.setenv("COURSEKIT_LANG", "zh")
    assert main(["lab", "--dir", str(tmp_path / "mine")]) == 0
    out = capsys.readouterr().out
    assert "opening the English one" in out and "/lab/tree/00_start_here.ipynb?token=" in out


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
