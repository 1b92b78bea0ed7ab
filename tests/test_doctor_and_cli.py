import importlib.metadata
import subprocess
import sys

import pytest

from coursekit import doctor
from coursekit.cli import main


def test_doctor_reports_versions_device_and_widgets(capsys):
    report = doctor.diagnose()
    assert report.ok, report.problems
    for name in ("python", "torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab"):
        assert report.versions[name] != "MISSING"
    assert report.device in ("cpu", "cuda", "mps")
    assert "jupyterlab_widgets" in report.widgets_frontend
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "torch" in out and "device" in out and "binder" in out


def test_doctor_fails_with_a_clear_message_when_a_package_is_missing(monkeypatch, capsys):
    real = doctor._version

    def fake(dist):
        return None if dist in ("ipywidgets", "jupyterlab_widgets") else real(dist)

    monkeypatch.setattr(doctor, "_version", fake)
    assert main(["doctor", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "ipywidgets is not installed" in captured.out
    assert "not ready" in captured.err


def test_binder_is_detected_from_its_environment(monkeypatch):
    monkeypatch.delenv("BINDER_SERVICE_HOST", raising=False)
    monkeypatch.delenv("BINDER_REQUEST", raising=False)
    monkeypatch.delenv("BINDER_LAUNCH_HOST", raising=False)
    assert not doctor.on_binder()
    monkeypatch.setenv("BINDER_SERVICE_HOST", "10.0.0.1")
    assert doctor.on_binder()


def test_exercises_command_lists_the_bank(capsys):
    assert main(["exercises"]) == 0
    out = capsys.readouterr().out
    assert "00_start_here" in out and "scale_and_shift" in out


def test_exercises_command_suggests_on_a_typo(capsys):
    assert main(["exercises", "--notebook", "00_start_her"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean '00_start_here'" in err and "Traceback" not in err


def test_console_script_is_installed():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("coursekit") == "coursekit.cli:main"


def test_exercises_rules_table_lists_every_rule_and_the_readme_carries_it(capsys):
    from pathlib import Path

    from coursekit.exercises import all_exercises

    assert main(["exercises", "--rules"]) == 0
    table = capsys.readouterr().out.strip()
    rows = table.splitlines()[2:]
    assert len(rows) == sum(len(e.rules) for e in all_exercises()) > 20
    assert all(rule.text.replace("|", "\\|") in table for e in all_exercises() for rule in e.rules)
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    start = readme.index("<!-- rules table:")
    block = readme[readme.index("\n", start) + 1:readme.index("<!-- end of rules table -->")].strip()
    assert block == table, "README's rules table is stale: paste `coursekit exercises --rules` into it"


def test_python_dash_m_and_version():
    from coursekit import __version__

    done = subprocess.run([sys.executable, "-m", "coursekit", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"coursekit {__version__}"


def test_a_closed_pipe_ends_the_listing_quietly():
    listing = subprocess.Popen([sys.executable, "-m", "coursekit", "exercises"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert listing.stdout is not None
    listing.stdout.readline()
    listing.stdout.close()  # what `| head -1` does
    _, err = listing.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


@pytest.mark.parametrize("args", [
    ["exercises", "--notebook", "99_nope"],
    ["exercises", "--bogus"],
    ["doctor", "extra"],
    ["lab", "--port", "not-a-number"],
    ["grade", "no/such/folder", "--out", "x", "--seed", "1"],
    ["grade", ".", "--out", "x", "--shard", "5/3"],
    ["grade", "merge", "--out", "x"],
    ["grade", "merge", "no/such/out-1", "--out", "x"],
    ["nope"],
])
def test_no_user_error_prints_a_traceback(args, tmp_path):
    done = subprocess.run([sys.executable, "-m", "coursekit", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and done.stderr.strip(), done.stderr
