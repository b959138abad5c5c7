"""The HTML book, built from scratch and opened page by page in headless Chromium.

The session fixture builds the book with the same command as ``make book`` (Sphinx warnings
are errors) into a temporary directory and opens every page from disk (``file://``). Each
page must: log no console error, request nothing from another host and have no failed
request, load every image, render every formula with the vendored MathJax, and show the
controls of every embedded animation. A screenshot of each page goes to
``_build/screenshots/book/``. Skipped only when Chromium or chromedriver is not installed.
"""

import functools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from chromium import needs_chromium, start_chromium

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "_build" / "screenshots" / "book"  # emptied here: test_explorer writes beside it
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")

pytestmark = [
    pytest.mark.xdist_group("book"),  # one worker builds the book once and opens every page
    needs_chromium,
    pytest.mark.slow,
]


@pytest.fixture(scope="session")
def html_dir(tmp_path_factory):
    """Build the book like `make book`, into a temporary directory; warnings fail the build."""
    out = tmp_path_factory.mktemp("book")
    cmd = [
        str(JUPYTER_BOOK),
        "build",
        str(ROOT),
        "--path-output",
        str(out),
        "--warningiserror",
        "--keep-going",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"jupyter-book build failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def base(html_dir):
    """Pages are opened from disk, as a reader opens _build/html/index.html with no network."""
    return html_dir.as_uri()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


def _pages(html_dir: Path) -> list[str]:
    pages = sorted(p.relative_to(html_dir).as_posix() for p in html_dir.rglob("*.html"))
    return [p for p in pages if not p.startswith(("_static/", "_sources/", "_images/"))]


@functools.cache
def page_source(html_dir: Path, page: str) -> str:
    return (html_dir / page).read_text(encoding="utf-8")


def test_book_has_every_toc_page(html_dir):
    pages = _pages(html_dir)
    toc = (ROOT / "_toc.yml").read_text()
    for line in toc.splitlines():
        if line.strip().startswith(("- file:", "root:")):
            assert line.split(":", 1)[1].strip() + ".html" in pages, line
    assert {"index.html", "intro.html", "search.html"} <= set(pages)


_WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
const start = Date.now();
(function poll() {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) {
    mj.startup.promise.then(() => done("ok"), (e) => done("mathjax failed: " + e));
  } else if (Date.now() - start > 20000) { done("MathJax never started"); }
  else { setTimeout(poll, 100); }
})();
"""

_PAGE_FACTS = r"""
const mathEls = Array.from(document.querySelectorAll('.math'));
return {
  math: mathEls.length,
  unrendered: mathEls.filter(e => !e.querySelector('mjx-container')).length,
  merror: document.querySelectorAll('mjx-merror').length,
  mathjaxSrc: Array.from(document.scripts).map(s => s.src).filter(s => s.includes('mathjax')),
  images: Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete && i.naturalWidth > 0]),
  animations: document.querySelectorAll('div.animation').length,
  controls: Array.from(document.querySelectorAll('div.animation')).map(
      a => a.querySelectorAll('.anim-controls button').length),
  resources: performance.getEntriesByType('resource').map(r => r.name),
  // A reader at 1280 px must not scroll sideways to find a verdict: every output box holds its text.
  overflowing: Array.from(document.querySelectorAll('div.cell_output pre, div.cell_output table'))
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => e.textContent.split("\n").find(l => l.length > 0).slice(0, 60)),
  reprs: Array.from(document.querySelectorAll('div.cell_output'))
      .map(e => e.textContent).filter(t => /<[A-Za-z_.]+ (object at 0x|size \d+x\d+ with)/.test(t))
      .map(t => t.trim().slice(0, 80)),
  figures: document.querySelectorAll('div.cell_output img').length,
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent.replace('#', '').trim()),
};
"""


def _network(driver, origin: str) -> tuple[list[str], list[str]]:
    """URLs our pages requested, and the failed ones, from Chrome's performance log.

    Only requests whose document is one of the book's pages count: the log also holds
    Chrome's own start-up traffic (its new-tab page), which is not the book's doing.
    """
    ours, urls, failed = set(), [], []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        params = msg.get("params", {})
        if msg["method"] == "Network.requestWillBeSent" and params.get("documentURL", "").startswith(origin):
            ours.add(params["requestId"])
            urls.append(params["request"]["url"])
        elif params.get("requestId") not in ours:
            continue
        elif msg["method"] == "Network.responseReceived" and params["response"]["status"] >= 400:
            failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif msg["method"] == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{params.get('errorText')} (request {params['requestId']})")
    return urls, failed


def _local(url: str, base: str) -> bool:
    return url.startswith(base + "/") or urlparse(url).scheme in ("data", "blob", "about")


# Output boxes a reader at 1280 px would have to scroll sideways in (issue: every output fits its box).
OVERFLOWING: list[str] = []


def check_page(browser, base: str, html_dir: Path, page: str) -> tuple[list[str], dict]:
    """Open one page, save its screenshot; return what is wrong with it (empty: nothing) and its facts."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser"), browser.get_log("performance")  # drop the previous page's logs
    url, shot = f"{base}/{page}", SHOTS / page.replace("/", "__")[: -len(".html")]
    browser.get(url)
    if 'http-equiv="refresh"' in page_source(html_dir, page).lower():  # index.html forwards to intro.html
        WebDriverWait(browser, 30).until(
            lambda d: d.current_url != url and d.execute_script("return document.readyState") == "complete"
        )
        page = browser.current_url[len(base) + 1 :].split("#")[0]
    source = page_source(html_dir, page)
    # Sphinx loads MathJax only on pages with math; a page without any formula has no loader
    # to wait for (and its "mathjax_ignore" output classes are not one).
    loads_mathjax = re.search(r"<script[^>]*\bsrc=\"[^\"]*mathjax", source, re.IGNORECASE)
    mathjax = browser.execute_async_script(_WAIT_FOR_MATHJAX) if loads_mathjax else "ok"
    facts = browser.execute_script(_PAGE_FACTS)
    browser.save_screenshot(f"{shot}.png")
    if facts["animations"]:  # a second picture, scrolled to the first animation and its controls
        browser.execute_script("document.querySelector('div.animation').scrollIntoView()")
        browser.save_screenshot(f"{shot}__animation.png")
    urls, failed = _network(browser, base)
    embedded = source.count('<div class="animation">')
    checks = {
        "console errors": [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"],
        "requests outside the book": [u for u in urls + facts["resources"] if not _local(u, base)],
        "failed requests": failed,
        "images not loaded": [src for src, ok in facts["images"] if not ok],
        "MathJax": [] if mathjax == "ok" else [mathjax],
        "formulas not rendered": [facts["unrendered"]] if facts["unrendered"] else [],
        "TeX errors": [facts["merror"]] if facts["merror"] else [],
        "MathJax not from _static": [s for s in facts["mathjaxSrc"] if "/_static/mathjax/" not in s],
        "animations without 9 buttons": [c for c in facts["controls"] if c != 9],
        "raw object reprs instead of output": facts["reprs"],
        "animations lost": []
        if facts["animations"] == embedded
        else [f"{facts['animations']} of {embedded}"],
    }
    OVERFLOWING.extend(f"{page}: {first_line}" for first_line in facts["overflowing"])
    return [f"{page}: {what}: {found}" for what, found in checks.items() if found], facts


@pytest.fixture(scope="session")
def visited(html_dir, base, browser):
    """Every page opened once: ``{page: (problems, facts)}``, each page's screenshot saved."""
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    SHOTS.mkdir(parents=True)
    return {page: check_page(browser, base, html_dir, page) for page in _pages(html_dir)}


def test_every_page_renders_offline(html_dir, visited):
    problems = [p for found, _ in visited.values() for p in found]
    assert not problems, "\n".join(problems)
    assert not OVERFLOWING, f"{len(OVERFLOWING)} output boxes overflow at 1280 px:\n" + "\n".join(OVERFLOWING)
    assert {p.stem for p in SHOTS.glob("*.png") if "__animation" not in p.stem} == {
        p.replace("/", "__")[: -len(".html")] for p in _pages(html_dir)
    }


def test_every_numbered_chapter_has_a_figure_and_what_to_remember(visited):
    """A textbook convention, checked on the pages a reader sees: each numbered chapter shows at least
    one figure and ends with "What to remember", exercises and references."""
    numbered = [p for p in visited if re.match(r"chapters/\d\d_", p) and not p.startswith("chapters/9")]
    assert len(numbered) >= 12
    missing = []
    for page in numbered:
        facts = visited[page][1]
        if facts["figures"] < 1:
            missing.append(f"{page}: no figure")
        for heading in ("What to remember", "Exercises", "References"):
            if heading not in facts["headings"]:
                missing.append(f"{page}: no '{heading}' section")
    assert not missing, "\n".join(missing)


def test_cheatsheet_math_is_rendered(base, browser):
    """The cheat sheet exercises MathJax: display and inline formulas become mjx-containers."""
    browser.get(f"{base}/chapters/cheatsheet.html")
    assert browser.execute_async_script(_WAIT_FOR_MATHJAX) == "ok"
    facts = browser.execute_script(_PAGE_FACTS)
    assert facts["math"] >= 20 and facts["unrendered"] == 0 and facts["merror"] == 0


def test_search_page_finds_a_word(base, browser):
    """The search page works offline: a query for a word on the cheat sheet lists that page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/search.html?q=receptive")
    summary = WebDriverWait(browser, 30).until(
        lambda d: (
            "found" in d.find_element(By.CSS_SELECTOR, "#search-results .search-summary").text
            and d.find_element(By.CSS_SELECTOR, "#search-results .search-summary").text
        )
    )
    hits = [
        a.get_attribute("href")
        for a in browser.find_elements(By.CSS_SELECTOR, "#search-results ul.search li a")
    ]
    assert "found 0" not in summary and any("chapters/cheatsheet.html" in h for h in hits), (summary, hits)
