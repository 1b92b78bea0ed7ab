"""The class report in real Chromium: a generated class of 03_activations, its report.html opened from disk.

Every figure must load, every section and every link of the contents must be there, nothing may be
fetched from anywhere, a disclosure must open without any script, and printing must hide the
contents and keep the figures. Screenshots go to test-output/browser/report-*.png, the printed
report to test-output/browser/report.pdf.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page

from .driver import Recorder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("scores", "exercises", "cases", "mistakes", "problems", "similarity")
STUDENTS = 200

_OBSERVE_JS = r"""
async () => {
  const images = [...document.images];
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  return {
    images: images.map(img => ({src: img.src.slice(0, 21), width: img.naturalWidth, height: img.naturalHeight,
                                shown: img.getBoundingClientRect().width})),
    sections: [...document.querySelectorAll('section[id]')].map(s => ({id: s.id,
                                                                      heading: s.querySelector('h2').innerText})),
    links: [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href')),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    scripts: document.querySelectorAll('script').length,
    details: document.querySelectorAll('details').length,
    text: document.body.innerText,
  };
}
"""


def _generator():
    spec = importlib.util.spec_from_file_location("coursekit_bench_report", ROOT / "benchmarks" / "report.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    from coursekit.grading.report import write_report

    out = tmp_path_factory.mktemp("report") / "grades"
    _generator().Generator("03_activations").write(out, STUDENTS)
    return write_report(out).html


def _open(page: Page, path: Path) -> tuple[list[str], list[str]]:
    """Open the page from disk; returns the console errors and every request that was not the file itself or
    inline data."""
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("data:", path.as_uri())) else None)
    page.goto(path.as_uri(), wait_until="load")
    return errors, outside


def test_the_report_opens_with_every_figure_and_section(page, report_page, output_dir):
    shots = Recorder(page, output_dir, "report")
    with shots.step("top"):
        errors, outside = _open(page, report_page)
        seen = page.evaluate(_OBSERVE_JS)
        assert errors == [] and outside == [], (errors, outside)
        assert seen["scripts"] == 0
        assert len(seen["images"]) == 3
        for image in seen["images"]:
            assert image["src"] == "data:image/png;base64"
            assert image["width"] > 0 and image["height"] > 0 and image["shown"] > 300, image
        assert [s["id"] for s in seen["sections"]] == list(SECTIONS)
        assert [s["heading"] for s in seen["sections"]] == ["Scores", "Per exercise", "Item analysis",
                                                            "Mistakes: what to re-teach", "Problems", "Similarity"]
        assert seen["links"] == [f"#{s}" for s in SECTIONS] and set(SECTIONS) <= set(seen["ids"])
        text = seen["text"]
        assert f"{STUDENTS} students" in text and "point-biserial correlation" in text
        assert "it accuses no one" in text
        assert seen["details"] > 10
    with shots.step("exercises"):
        page.locator("#exercises").scroll_into_view_if_needed()
    with shots.step("mistakes-disclosure-open"):
        mistakes = page.locator("#mistakes")
        mistakes.scroll_into_view_if_needed()
        first = mistakes.locator("details").first
        ids = first.locator(".ids")
        assert not ids.is_visible()
        first.locator("summary").click()
        assert ids.is_visible() and re.fullmatch(r"student\d{5}(, student\d{5})*", ids.inner_text())
        first.scroll_into_view_if_needed()
    with shots.step("similarity"):
        page.locator("#similarity").scroll_into_view_if_needed()
    page.screenshot(path=str(output_dir / "report-full.png"), full_page=True)


def test_the_report_prints_without_its_contents_and_with_its_figures(page, report_page, output_dir):
    _open(page, report_page)
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('nav')).display") == "none"
    assert page.evaluate("[...document.images].every(i => i.getBoundingClientRect().width > 300)")
    page.screenshot(path=str(output_dir / "report-print.png"), full_page=False)
    pdf = page.pdf(path=str(output_dir / "report.pdf"), format="A4")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 3, f"the printed report has {pages} pages"
