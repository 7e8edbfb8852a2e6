"""The rendered book in a real browser: every page of the toc in headless Chromium.

For every page: no console errors, every image loaded, MathJax typeset every formula (no raw
``$$``/``\\(`` left, no MathJax errors), chapter pages carry the Colab link to their own
``.ipynb``, and interactive plotly figures rendered. A full-page screenshot of each page is saved
under ``_build/screenshots/``.

The book loads MathJax (and plotly.js, where a page has a plotly figure) from CDNs; the test
answers those requests from local copies (see ``browser_support``) and aborts every other
external request. Set DLNFT_BOOK_HTML to an already built ``_build/html`` to skip the build.
Needs Debian's ``/usr/bin/chromium``: skipped without it, except in CI (CI=true), where it fails.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from browser_support import (CHROMIUM, CHROMIUM_ARGS, ROOT, THEME_ERRORS, CdnMirror, colab_url,
                             mathjax_major, mathjax_package, plotly_js, serve, toc_pages)

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI,
                       reason=f"{CHROMIUM} is missing (apt-get install chromium); runs in CI"),
]
PAGES = toc_pages()
# TeX left as text outside code: $…$, $$, \(, \[ or a control word such as \gamma or \mathrm
# (e.g. a "$" whose formula was cut by a Markdown list marker at the start of a line).
RAW_TEX = re.compile(r".{0,40}(?:\$|\\[(\[]|\\[A-Za-z]{2,}).{0,40}")
SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.fixture(scope="session")
def site_html(request) -> Path:
    """DLNFT_BOOK_HTML when set, else the book built once per session (conftest's book_html)."""
    given = os.environ.get("DLNFT_BOOK_HTML")
    if given:
        html = Path(given)
        assert (html / "index.html").exists(), f"DLNFT_BOOK_HTML={given} has no index.html"
        return html
    return request.getfixturevalue("book_html")


@pytest.fixture(scope="session")
def site(site_html):
    base, server = serve(site_html)
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: .ci/run installs it with apt-get"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def local_cdn(site_html):
    return mathjax_package(mathjax_major(site_html)), plotly_js()


# Everything measured inside the page, after MathJax finished and every image settled.
PAGE_REPORT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const step = window.innerHeight;             // scroll through so lazy images load
  for (let y = 0; y < document.body.scrollHeight; y += step) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, 50));
  }
  window.scrollTo(0, 0);
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(i => i.complete ? null :
    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  const main = document.querySelector('main') || document.body;
  const prose = main.cloneNode(true);          // the text a reader sees, code excluded
  prose.querySelectorAll('pre, code, script, style, mjx-container, mjx-assistive-mml')
       .forEach(e => e.remove());
  const math = Array.from(main.querySelectorAll('.math'));
  const plots = Array.from(main.querySelectorAll('.plotly-graph-div'));
  return {
    title: document.title,
    images: imgs.map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    text: prose.innerText,
    mathjaxLoaded: !!(window.MathJax && MathJax.version),
    math: math.length,
    mathTypeset: math.filter(e => e.querySelector('mjx-container')).length,
    mjxContainers: main.querySelectorAll('mjx-container').length,
    mjxErrors: Array.from(main.querySelectorAll('mjx-merror')).map(e => e.textContent),
    colab: Array.from(document.querySelectorAll('a[href*="colab.research.google.com"]'))
                .map(a => a.href),
    plots: plots.length,
    plotsRendered: plots.filter(p => p.classList.contains('js-plotly-plot') &&
                                     p.querySelector('svg.main-svg')).length,
  };
}"""


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page, site, browser, local_cdn):
    mirror = CdnMirror(site, *local_cdn)
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    tab.on("console", lambda m: errors.append((m.text, m.location.get("url", "")))
           if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append((f"uncaught: {exc.name}: {exc.message}", "")))
    tab.route("**/*", mirror)
    try:
        response = tab.goto(f"{site}/{page}.html", wait_until="load", timeout=60_000)
        assert response is not None and response.ok, f"{page}.html: HTTP {response and response.status}"
        report = tab.evaluate(PAGE_REPORT)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # a viewport as tall as the page, settled, so no sidebar is caught mid-transition
        height = tab.evaluate("() => document.documentElement.scrollHeight")
        tab.set_viewport_size({"width": 1280, "height": min(height, 16000)})
        tab.wait_for_timeout(500)
        tab.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '__')}.png"), full_page=True)
    finally:
        tab.close()

    assert not mirror.unexplained(), f"{page}: external requests the test cannot serve: " \
                                     f"{mirror.unexplained()}"
    allowed = set(mirror.blocked)
    real_errors = [(text, url) for text, url in errors
                   if url not in allowed and text not in THEME_ERRORS]
    assert not real_errors, f"{page}: console errors {real_errors}"

    broken = [i["src"] for i in report["images"] if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"

    raw = RAW_TEX.findall(report["text"])
    assert not raw, f"{page}: math that MathJax did not typeset, as text: {raw[:5]}"
    if report["math"]:
        assert report["mathjaxLoaded"], f"{page}: has math but MathJax did not load"
        assert report["mathTypeset"] == report["math"], (
            f"{page}: MathJax typeset {report['mathTypeset']} of {report['math']} formulas")
    assert not report["mjxErrors"], f"{page}: MathJax errors {report['mjxErrors']}"

    if page.startswith("chapters/"):
        assert colab_url(page) in report["colab"], (
            f"{page}: no Colab link to {colab_url(page)}; found {report['colab']}")
        assert all(u == colab_url(page) for u in report["colab"]), report["colab"]

    assert report["plotsRendered"] == report["plots"], (
        f"{page}: {report['plotsRendered']} of {report['plots']} plotly figures rendered")
    expected_plots = plotly_outputs(ROOT / f"{page}.ipynb")
    assert report["plots"] >= expected_plots, (
        f"{page}: the notebook has {expected_plots} plotly figures, the page shows "
        f"{report['plots']} (save them with an HTML representation, e.g. fig.show('notebook'))")


def plotly_outputs(ipynb: Path) -> int:
    """How many outputs of a notebook hold a plotly figure (0 for a page that is no notebook)."""
    if not ipynb.exists():
        return 0
    cells = json.loads(ipynb.read_text())["cells"]
    return sum("application/vnd.plotly.v1+json" in out.get("data", {})
               for c in cells if c["cell_type"] == "code" for out in c.get("outputs", []))


def test_every_toc_page_was_built(site_html):
    missing = [p for p in PAGES if not (site_html / f"{p}.html").exists()]
    assert not missing, f"toc pages missing from the build: {missing}"
