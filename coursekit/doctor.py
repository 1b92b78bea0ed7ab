"""`coursekit doctor`: is this environment ready for the course?"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import platform
from dataclasses import dataclass, field

__all__ = ["Report", "diagnose"]

REQUIRED = ("torch", "numpy", "matplotlib", "ipywidgets", "jupyterlab", "ipykernel")
TESTED_TORCH = "2.13.0"


@dataclass
class Report:
    """What doctor found: versions, the device and why, Binder, widgets, and the problems to fix."""

    versions: dict[str, str] = field(default_factory=dict)
    device: str = ""
    device_reason: str = ""
    on_binder: bool = False
    widgets_frontend: str = ""
    language: str = "en"  # of check(), hints and feedback: set_language() / $COURSEKIT_LANG
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        width = max(len(k) for k in self.versions) if self.versions else 10
        lines = ["coursekit doctor", ""]
        lines += [f"  {name:<{width}}  {version}" for name, version in self.versions.items()]
        lines += ["", f"  device      {self.device} ({self.device_reason})",
                  f"  binder      {'yes' if self.on_binder else 'no'}",
                  f"  widgets     {self.widgets_frontend}",
                  f"  language    {self.language}"]
        lines += [f"  note: {n}" for n in self.notes]
        if self.problems:
            lines += ["", "Problems:"] + [f"  - {p}" for p in self.problems]
        else:
            lines += ["", "Everything the course needs is here."]
        return "\n".join(lines)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _widgets_frontend() -> tuple[str, bool]:
    """Whether JupyterLab will render widgets: the jupyterlab_widgets extension must be installed."""
    version = _version("jupyterlab_widgets")
    if version is None:
        return "missing: install ipywidgets>=8 (it brings jupyterlab_widgets) so sliders render", False
    return f"jupyterlab_widgets {version} (sliders render in JupyterLab)", True


def _language() -> tuple[str, str]:
    """The language messages come in, and what is wrong with $COURSEKIT_LANG ('' when nothing)."""
    from coursekit import i18n

    wanted = os.environ.get(i18n.ENV, "").strip()
    if not wanted:
        return i18n.language(), ""
    try:
        i18n.normalise(wanted)
    except ValueError as exc:
        return i18n.language(), (f"{i18n.ENV}={wanted!r} is not a language of the course ({exc}); messages fall back "
                                 f"to English. Set it to one of {', '.join(i18n.LANGUAGES)}, or unset it.")
    return f"{i18n.language()} (from {i18n.ENV})", ""


def on_binder() -> bool:
    """True inside a Binder session (repo2docker sets BINDER_* variables there)."""
    return any(k in os.environ for k in ("BINDER_SERVICE_HOST", "BINDER_REQUEST", "BINDER_LAUNCH_HOST"))


def diagnose() -> Report:
    """Collect the report; a missing required package or a wrong torch version is a problem."""
    report = Report()
    report.versions["python"] = platform.python_version()
    for dist in REQUIRED + ("matplotlib-inline",):
        version = _version(dist)
        report.versions[dist] = version or "MISSING"
        if version is None and dist in REQUIRED:
            report.problems.append(f"{dist} is not installed: run `make lab` (or pip install -e .) to install it.")
    torch_version = _version("torch")
    if torch_version and torch_version.split("+")[0] != TESTED_TORCH:
        report.notes.append(f"torch {torch_version} is not the tested {TESTED_TORCH}; results may differ.")
    if torch_version:
        try:
            from coursekit.device import choose_device
            choice = choose_device()
            report.device, report.device_reason = str(choice.device), choice.reason
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            report.device, report.device_reason = "unknown", str(exc)
            report.problems.append(f"cannot pick a device: {exc}")
    report.language, language_problem = _language()
    if language_problem:
        report.problems.append(language_problem)
    report.on_binder = on_binder()
    report.widgets_frontend, widgets_ok = _widgets_frontend()
    if not widgets_ok:
        report.problems.append(report.widgets_frontend)
    return report
