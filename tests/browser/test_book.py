"""The course website in a real browser: Chromium opens every page of the built book from a local server.

Each page must load with no console error and nothing from outside the site, show its math typeset, load
every image and link only to pages and anchors that exist; notebook pages must carry their Binder and
download links and show explorers as still figures. Search must work offline. Both editions are checked:
the English one at the site's root, the Chinese one under zh/ (built when notebooks/zh/ exists); every page
declares its language and links to the same page in the other edition. `make book` builds the site
(`make browser` and `make test` run it first); screenshots go to test-output/browser/book-*.png.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from .driver import Recorder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
# the editions: where each one's pages are in the site, where its notebooks are in the repository
EDITIONS = {"en": ("", NOTEBOOKS), "zh": ("zh/", NOTEBOOKS / "zh")}
HAS_CHINESE = (NOTEBOOKS / "zh" / "00_start_here.ipynb").is_file()
CHINESE_SEARCH_TERM, CHINESE_SEARCH_PAGE = "计算图", "zh/notebooks/06_retain_graph.html"
BUILD = ROOT / "book" / "_build"
SITE = BUILD / "html"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# what a widget that cannot be shown leaves on a page: its repr, its JSON, an error box
WIDGET_LEFTOVERS = ("VBox(children", "HBox(children", "model_id", "Error displaying widget",
                    "widget-view+json", "run this cell for the interactive version")
SEARCH_TERM = "retain_graph"

# After the page's load event: wait for MathJax's first typeset, load every image (lazy ones too), then
# report what a reader would see.
_OBSERVE_JS = r"""
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const images = [...document.images];
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.all(images.map(img => img.decode().catch(() => null)));
  // the reader's text, without code (where $ and \( are code) and without typeset math
  const article = (document.querySelector('main') || document.body).cloneNode(true);
  article.querySelectorAll('pre, code, script, style, mjx-container, .MathJax').forEach(e => e.remove());
  return {
    title: document.title,
    mathSpans: document.querySelectorAll('.math').length,
    untypeset: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container'))
                 .map(e => e.textContent.slice(0, 80)),
    prose: article.innerText,
    visibleText: document.body.innerText,
    brokenImages: images.filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src),
    imageCount: images.length,
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    assets: [...document.querySelectorAll('link[href]')].map(l => l.href)
              .concat([...document.querySelectorAll('script[src], img[src]')].map(e => e.src)),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id)
           .concat([...document.querySelectorAll('a[name]')].map(a => a.name)),
    binder: [...document.querySelectorAll('a[href^="https://mybinder.org"]')].map(a => a.href),
    widgetScripts: document.querySelectorAll('script[type^="application/vnd.jupyter.widget"]').length,
    lang: document.documentElement.lang,
    switches: [...document.querySelectorAll('a.coursebook-language-switch')]
                .map(a => ({href: a.href, lang: a.hreflang, text: a.textContent.trim()})),
    explorerNotes: [...document.querySelectorAll('.coursebook-explorer-note')].map(note => {
      const cell = note.closest('.cell');
      return cell ? cell.querySelectorAll('.cell_output img').length : -1;
    }),
  };
}
"""
# True (with counts) once no quote of the search results shows raw TeX outside typeset math
_QUOTES_JS = r"""
pattern => {
  const quotes = [...document.querySelectorAll('#search-results p.context')];
  const raw = new RegExp(pattern);
  const clean = quotes.every(q => {
    const copy = q.cloneNode(true);
    copy.querySelectorAll('mjx-container').forEach(e => e.remove());
    return !raw.test(copy.textContent);
  });
  return quotes.length && clean &&
    {count: quotes.length, typeset: document.querySelectorAll('#search-results mjx-container').length};
}
"""
RAW_MATH = re.compile(r"\$[^$\s][^$\n]*\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\frac|\\operatorname")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that drops a connection (it moved on to the next page) is no error of the site."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Visit:
    """What one page showed: the observations above plus what the browser logged while loading it."""

    path: str
    data: dict
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


def _pages(site: Path) -> list[str]:
    """Every HTML page of the site, both editions (theme templates under _static are not pages)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not {"_static", "_sources", "_downloads"} & set(p.relative_to(site).parts))


def _edition(path: str) -> tuple[str, str, Path]:
    """The edition of a page of the site: its language, its folder in the site and its notebooks' folder."""
    language = "zh" if path.startswith("zh/") else "en"
    return (language, *EDITIONS[language])


def _notebook_of(path: str) -> Path:
    """The notebook a notebook page shows (zh/notebooks/03_x.html -> notebooks/zh/03_x.ipynb)."""
    return _edition(path)[2] / (Path(path).stem + ".ipynb")


def _book_sources() -> list[Path]:
    book = ROOT / "book"
    files = [p for p in book.rglob("*") if p.is_file() and "_build" not in p.relative_to(book).parts]
    return [*files, *NOTEBOOKS.glob("*.ipynb"), *NOTEBOOKS.glob("zh/*.ipynb"), ROOT / "pyproject.toml"]


def _repository() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["coursekit"]["repository"]


def _explorer_cells(notebook: Path) -> list[bool]:
    """For each cell that displays an explorer (in order): whether its stored outputs include an image."""
    cells = json.loads(notebook.read_text())["cells"]
    found = []
    for cell in cells:
        outputs = cell.get("outputs", []) if cell["cell_type"] == "code" else []
        if ".widget()" in "".join(cell["source"]):  # displays an explorer, whatever its caption's language
            found.append(any(k.startswith("image/") for o in outputs for k in o.get("data", {})))
            continue
        texts = ["".join(o.get("text", "")) for o in outputs] + [
            "".join(v) if isinstance(v, list) else str(v)
            for o in outputs for k, v in o.get("data", {}).items() if k.startswith("text/")]
        if any(WIDGET_VIEW in o.get("data", {}) for o in outputs) or any(
                "interactive version" in t.lower() for t in texts):
            found.append(any(k.startswith("image/") for o in outputs for k in o.get("data", {})))
    return found


@pytest.fixture(scope="module")
def site() -> Path:
    """The built book, which must be newer than everything it is built from."""
    stamp = BUILD / ".built"
    if not stamp.exists():
        pytest.fail(f"no built book at {SITE}: run `make book` (make browser and make test do it first)")
    newer = [p for p in _book_sources() if p.stat().st_mtime > stamp.stat().st_mtime]
    if newer:
        pytest.fail(f"the built book is older than {newer[0].relative_to(ROOT)}: run `make book` again")
    return SITE


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site served over HTTP on a free local port (as GitHub Pages would, but here)."""
    httpd = _Server(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def book_page(browser: Browser, server: str) -> Iterator[Page]:
    """A page whose requests may go only to the local server; anything else is refused and recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    context.outside = []  # type: ignore[attr-defined]

    def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(server + "/") or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            context.outside.append(url)  # type: ignore[attr-defined]
            route.abort()

    context.route("**/*", guard)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def visits(book_page: Page, server: str, site: Path, output_dir: Path) -> dict[str, Visit]:
    """Every page opened once, in turn; two of them screenshotted."""
    page = book_page
    result: dict[str, Visit] = {}
    current: list[Visit] = []

    def on_console(message) -> None:
        if message.type == "error" and current:
            current[-1].console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: current and current[-1].console_errors.append(f"uncaught: {error}"))
    # a request the browser itself cancels (net::ERR_ABORTED: Chromium drops a favicon fetch when it
    # moves on) is no fault of the site; a missing file answers 404 below, and every file a page refers to
    # is fetched again in test_every_internal_link_resolves
    page.on("requestfailed", lambda request: current and "ERR_ABORTED" not in (request.failure or "")
            and current[-1].failed_requests.append(f"{request.url} ({request.failure})"))
    page.on("response", lambda response: current and response.status >= 400 and current[-1].failed_requests.append(
        f"{response.url} (HTTP {response.status})"))
    outside = page.context.outside  # type: ignore[attr-defined]
    for path in _pages(site):
        visit = Visit(path, {})
        current.append(visit)
        before = len(outside)
        page.goto(f"{server}/{path}", wait_until="networkidle")  # every request answered
        visit.data = page.evaluate(_OBSERVE_JS)
        visit.outside_requests = outside[before:]
        result[path] = visit
    shots = Recorder(page, output_dir, "book")
    page.goto(f"{server}/index.html", wait_until="load")
    page.evaluate(_OBSERVE_JS)
    shots.shot("landing-page")
    page.goto(f"{server}/notebooks/05_softmax.html", wait_until="load")
    page.evaluate(_OBSERVE_JS)
    page.locator(".cell_output img").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    shots.shot("notebook-05-figure-and-math")
    if HAS_CHINESE:
        for path, name in (("zh/index.html", "zh-landing-page"),
                           ("zh/notebooks/03_activations.html", "zh-notebook-03")):
            page.goto(f"{server}/{path}", wait_until="load")
            page.evaluate(_OBSERVE_JS)
            shots.shot(name)
        page.locator(".coursekit-check").first.evaluate("e => e.scrollIntoView({block: 'center'})")
        shots.shot("zh-notebook-03-check")
    return result


def _notebook_pages(visits: dict[str, Visit]) -> dict[str, Visit]:
    return {path: v for path, v in visits.items() if path.startswith(("notebooks/", "zh/notebooks/"))}


def _editions() -> list[str]:
    return ["en", "zh"] if HAS_CHINESE else ["en"]


def test_every_notebook_and_the_landing_page_are_built(visits):
    expected = set()
    for language in _editions():
        site, notebooks = EDITIONS[language]
        expected |= {f"{site}notebooks/{p.stem}.html" for p in notebooks.glob("*.ipynb")}
        expected |= {f"{site}index.html", f"{site}search.html"}
    assert expected <= set(visits), f"pages missing from the book: {sorted(expected - set(visits))}"
    assert HAS_CHINESE or not any(path.startswith("zh/") for path in visits), "Chinese pages without notebooks/zh"


def test_no_console_errors_and_nothing_loaded_from_outside(visits):
    problems = [f"{v.path}: console: {e}" for v in visits.values() for e in v.console_errors]
    problems += [f"{v.path}: request failed: {r}" for v in visits.values() for r in v.failed_requests]
    problems += [f"{v.path}: loads from outside the site: {u}" for v in visits.values() for u in v.outside_requests]
    assert not problems, "\n".join(problems)


def test_math_is_typeset_and_no_raw_tex_is_left(visits):
    with_math = [v for v in visits.values() if v.data["mathSpans"]]
    assert len(with_math) >= len(_notebook_pages(visits)) // 2, "hardly any page has math: is dollarmath on?"
    problems = [f"{v.path}: not typeset: {s!r}" for v in visits.values() for s in v.data["untypeset"]]
    for v in visits.values():
        prose = v.data["prose"]
        problems += [f"{v.path}: raw TeX in the text: {m.group(0)!r} in …{prose[max(0, m.start() - 60):m.end() + 20]!r}"
                     for m in RAW_MATH.finditer(prose)]
    assert not problems, "\n".join(problems)


def test_every_image_loads(visits):
    figures = sum(v.data["imageCount"] for v in _notebook_pages(visits).values())
    assert figures > 20, f"only {figures} images on the notebook pages: the notebooks' figures are missing"
    broken = [f"{v.path}: {src}" for v in visits.values() for src in v.data["brokenImages"]]
    assert not broken, "images that did not load:\n" + "\n".join(broken)


def test_every_internal_link_resolves(visits, server):
    ids = {path: set(v.data["ids"]) for path, v in visits.items()}
    status: dict[str, int] = {}
    problems = []
    for visit in visits.values():
        for link in visit.data["links"] + visit.data["assets"]:
            if not link.startswith(server + "/"):
                continue
            target, fragment = urldefrag(link)
            path = urlsplit(target).path.lstrip("/") or "index.html"
            if path not in status:
                try:
                    with urllib.request.urlopen(target, timeout=30) as response:
                        status[path] = response.status
                except urllib.error.HTTPError as error:
                    status[path] = error.code
            fragment = unquote(fragment)  # the browser gives a heading's Chinese anchor percent-encoded
            if status[path] != 200:
                problems.append(f"{visit.path}: {link} answers HTTP {status[path]}")
            elif fragment and path in ids and fragment not in ids[path]:
                problems.append(f"{visit.path}: {link}: no element with id {fragment!r} on {path}")
    assert status, "no internal links found at all"
    assert not problems, "\n".join(sorted(set(problems)))


def test_binder_links_open_each_notebook_in_jupyterlab(visits):
    repository = _repository()
    form = re.compile(r"^https://mybinder\.org/v2/gh/[^/]+/[^/]+/HEAD\?urlpath=lab/tree/notebooks/(zh/)?[^/?#]+\.ipynb$")
    problems = []
    landings = {f"{EDITIONS[language][0]}index.html" for language in _editions()}
    for path, visit in {**_notebook_pages(visits), **{p: visits[p] for p in landings}}.items():
        notebook = _notebook_of(path) if path in _notebook_pages(visits) else _edition(path)[2] / "00_start_here.ipynb"
        relative = notebook.relative_to(ROOT).as_posix()
        expected = f"https://mybinder.org/v2/gh/{repository}/HEAD?urlpath=lab/tree/{relative}"
        links = visit.data["binder"]
        if not links:
            problems.append(f"{path}: no Binder link")
        problems += [f"{path}: Binder link {link} is not of the form {form.pattern}" for link in links
                     if not form.match(link)]
        problems += [f"{path}: Binder link {link} should be {expected}" for link in links if link != expected]
    assert not problems, "\n".join(problems)


def test_each_notebook_page_offers_its_ipynb_for_download(visits, server):
    problems = []
    for path, visit in _notebook_pages(visits).items():
        name = Path(path).stem + ".ipynb"
        downloads = [link for link in visit.data["links"] if link.startswith(server + "/")
                     and link.endswith("/" + name)]
        if not downloads:
            problems.append(f"{path}: no link to {name}")
        notebook = _notebook_of(path)
        for link in downloads:
            with urllib.request.urlopen(link, timeout=30) as response:
                if response.read() != notebook.read_bytes():
                    problems.append(f"{path}: {link} is not the notebook as stored in {notebook.relative_to(ROOT)}")
    assert not problems, "\n".join(problems)


def test_explorers_show_their_still_figure_and_no_widget_leftovers(visits):
    problems = []
    for path, visit in _notebook_pages(visits).items():
        problems += [f"{path}: shows {text!r}" for text in WIDGET_LEFTOVERS if text in visit.data["visibleText"]]
        if visit.data["widgetScripts"]:
            problems.append(f"{path}: {visit.data['widgetScripts']} ipywidgets script tag(s) left in the page")
        expected = _explorer_cells(_notebook_of(path))
        shown = visit.data["explorerNotes"]
        if len(shown) != len(expected):
            problems.append(f"{path}: {len(expected)} explorer cell(s) but {len(shown)} note(s) saying where they run")
        for number, (images, stored) in enumerate(zip(shown, expected, strict=False), start=1):
            if stored and images < 1:
                problems.append(f"{path}: explorer {number} stored a still figure but the page shows none")
    assert any(_explorer_cells(p) for p in NOTEBOOKS.glob("*.ipynb")), "no notebook displays an explorer"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "zh"])
def test_landing_page_lists_every_notebook_in_order(visits, server, language):
    if language not in _editions():
        pytest.skip("no Chinese edition in this tree (notebooks/zh/)")
    site, notebooks = EDITIONS[language]
    landing = visits[f"{site}index.html"]
    order = [link.rsplit("/", 1)[-1] for link in landing.data["links"]
             if link.startswith(f"{server}/{site}notebooks/") and link.endswith(".html")]
    first_seen = list(dict.fromkeys(order))
    expected = [f"{p.stem}.html" for p in sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))]
    assert first_seen[: len(expected)] == expected, f"course map order {first_seen} != notebooks {expected}"
    for words in ("make lab", "make test", "coursekit grade", "COURSEKIT_NO_SOLUTIONS"):
        assert words in landing.data["visibleText"], f"the landing page does not mention {words!r}"


def test_search_finds_retain_graph_offline(book_page, server, output_dir):
    page = book_page
    shots = Recorder(page, output_dir, "book-search")
    with shots.step("results"):
        page.goto(f"{server}/index.html", wait_until="load")
        page.locator(".bd-sidebar-primary .search-button-field").first.click()
        field_ = page.locator("#pst-search-dialog input[name='q']")
        field_.fill(SEARCH_TERM)
        field_.press("Enter")
        page.wait_for_url(re.compile(r"/search\.html\?q="))
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        targets = results.evaluate_all("links => links.map(a => a.href)")
        assert any("notebooks/06_retain_graph.html" in t for t in targets), (
            f"searching {SEARCH_TERM!r} did not find notebook 06; results: {targets}")
    with shots.step("quotes-typeset"):
        # the results quote the pages' text; their math must be typeset as on the pages
        page.wait_for_function("() => !document.querySelector('#search-status')?.textContent.includes('Searching')")
        quotes = page.wait_for_function(_QUOTES_JS, arg=RAW_MATH.pattern, timeout=30_000).json_value()
        assert quotes["count"] > 0, "the results quote nothing"
        assert quotes["typeset"] > 0, "no math was typeset in the results' quotes"


def test_every_page_declares_its_language(visits):
    wrong = [f"{path}: <html lang={v.data['lang']!r}>, expected {_edition(path)[0]!r}" for path, v in visits.items()
             if v.data["lang"] != _edition(path)[0]]
    assert not wrong, "\n".join(wrong)


def test_every_page_switches_to_the_same_page_in_the_other_edition(visits, server):
    if not HAS_CHINESE:
        assert all(not v.data["switches"] for v in visits.values()), "a language switch with one edition only"
        pytest.skip("no Chinese edition in this tree (notebooks/zh/): one edition, no switch")
    problems = []
    for path, visit in visits.items():
        language, site, _ = _edition(path)
        other = "en" if language == "zh" else "zh"
        twin = EDITIONS[other][0] + path.removeprefix(site)
        switches = visit.data["switches"]
        if len(switches) != 1:
            problems.append(f"{path}: {len(switches)} language switches, expected 1")
            continue
        (switch,) = switches
        target = urlsplit(switch["href"]).path.lstrip("/")
        if target not in visits:
            problems.append(f"{path}: the switch goes to {target}, which is no page of the site")
        elif target != twin:
            problems.append(f"{path}: the switch goes to {target}, not to the same page in the other edition ({twin})")
        elif visits[target].data["lang"] != other or switch["lang"] != other:
            problems.append(f"{path}: the switch to {target} is marked {switch['lang']!r}, the page is "
                            f"{visits[target].data['lang']!r}")
        expected_text = {"en": "English", "zh": "中文"}[other]
        if switch["text"] != expected_text:
            problems.append(f"{path}: the switch reads {switch['text']!r}, expected {expected_text!r}")
    assert not problems, "\n".join(problems)


def test_chinese_text_has_a_font(visits):
    """Without a CJK font Chromium draws Chinese characters as boxes (scripts/install_chromium.sh adds one)."""
    if not HAS_CHINESE:
        pytest.skip("no Chinese edition in this tree (notebooks/zh/)")
    import subprocess

    fonts = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False).stdout
    assert fonts.strip(), ("no font for Chinese is installed: the Chinese pages render as boxes "
                           "(apt-get install fonts-noto-cjk)")
    chinese = visits["zh/index.html"].data["visibleText"]
    assert re.search(r"[\u4e00-\u9fff]{20}", chinese), "the Chinese landing page shows hardly any Chinese"


def test_chinese_search_finds_a_chinese_term_offline(book_page, server, output_dir):
    if not HAS_CHINESE:
        pytest.skip("no Chinese edition in this tree (notebooks/zh/)")
    page = book_page
    shots = Recorder(page, output_dir, "book-zh-search")
    with shots.step("results"):
        page.goto(f"{server}/zh/search.html?q={CHINESE_SEARCH_TERM}", wait_until="load")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        page.wait_for_function("() => !document.querySelector('#search-status')?.textContent.includes('Searching')")
        targets = [urlsplit(t).path.lstrip("/") for t in results.evaluate_all("links => links.map(a => a.href)")]
        assert CHINESE_SEARCH_PAGE in targets, (
            f"searching {CHINESE_SEARCH_TERM!r} in the Chinese edition did not find {CHINESE_SEARCH_PAGE}: {targets}")
        assert all(t.startswith("zh/") for t in targets), f"the Chinese search found English pages: {targets}"
