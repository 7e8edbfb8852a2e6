"""The rendered book in a real browser: every page of the toc in headless Chromium.

For every page: no console errors, every image loaded, MathJax typeset every formula (no raw
``$$``/``\\(`` left, no MathJax errors), chapter pages carry the Colab link to their own
``.ipynb``, and interactive plotly figures rendered. A full-page screenshot of each page is saved
under ``_build/screenshots/``.

Layout, measured at 1280×900 (``browser_support.LAYOUT_JS`` and ``OVERFLOW_JS``): no code cell,
output or display equation wider than the text column (collapsed cells opened); in a chapter,
every figure in a cell output numbered and captioned, the first figure on the first screen
(its top within 900 px of the page's top), the first verdict box within two screens (1800 px)
of the "Act 3" heading, and visible code under half of the page's rendered lines. The numbers of
every page go to ``_build/screenshots/layout.json``.

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

from browser_support import (CHROMIUM, CODE_SHARE_MAX,
                             FIRST_FIGURE_MAX_PX, VERDICT_MAX_PX,
                             LAYOUT_JS, OVERFLOW_JS, ROOT, THEME_ERRORS, VIEWPORT, CdnMirror,
                             colab_url, mathjax_major, mathjax_package, plotly_js, serve,
                             toc_pages)

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI,
                       reason=f"{CHROMIUM} is missing (apt-get install chromium); runs in CI"),
]
PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
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


@pytest.fixture(scope="session")
def visit(site, browser, local_cdn):
    """visit(page) -> what the browser saw on the page, loaded once per session.

    A dict: mirror (the CdnMirror), errors (console), report (PAGE_REPORT), layout (LAYOUT_JS,
    at 1280×900, cells as the reader gets them), overflow (OVERFLOW_JS, collapsed cells opened).
    Saves the page's screenshot and adds its layout numbers to _build/screenshots/layout.json.
    A page that fails to load is tried once: later visits raise the same error at once.
    """
    seen: dict[str, dict] = {}
    failed: dict[str, Exception] = {}
    (SCREENSHOTS / "layout.json").unlink(missing_ok=True)     # this session's pages only

    def load(page: str) -> dict:
        if page in failed:
            raise failed[page]
        if page not in seen:
            try:
                seen[page] = _visit(page, site, browser, local_cdn)
            except Exception as exc:
                failed[page] = exc
                raise
            _record_layout(page, seen[page])
        return seen[page]

    return load


def _visit(page, site, browser, local_cdn) -> dict:
    mirror = CdnMirror(site, *local_cdn)
    tab = browser.new_page(viewport=VIEWPORT)
    errors = []
    tab.on("console", lambda m: errors.append((m.text, m.location.get("url", "")))
           if m.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append((f"uncaught: {exc.name}: {exc.message}", "")))
    tab.route("**/*", mirror)
    try:
        response = tab.goto(f"{site}/{page}.html", wait_until="load", timeout=180_000)
        assert response is not None and response.ok, f"{page}.html: HTTP {response and response.status}"
        report = tab.evaluate(PAGE_REPORT)
        layout = tab.evaluate(LAYOUT_JS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        # a viewport as tall as the page, settled, so no sidebar is caught mid-transition
        height = tab.evaluate("() => document.documentElement.scrollHeight")
        tab.set_viewport_size({"width": VIEWPORT["width"], "height": min(height, 16000)})
        tab.wait_for_timeout(500)
        tab.screenshot(path=str(SCREENSHOTS / f"{page.replace('/', '__')}.png"), full_page=True)
        tab.set_viewport_size(VIEWPORT)
        overflow = tab.evaluate(OVERFLOW_JS)
    finally:
        tab.close()
    return {"mirror": mirror, "errors": errors, "report": report, "layout": layout,
            "overflow": overflow}


def _record_layout(page: str, seen: dict) -> None:
    """Add the page's layout numbers to _build/screenshots/layout.json (written atomically)."""
    layout, overflow = seen["layout"], seen["overflow"]
    first = layout["firstFigure"]
    entry = {
        "first_figure_px": first,
        "first_figure_screens": None if first is None else round(first / VIEWPORT["height"], 2),
        "act3_px": layout["act3"],
        "act3_to_verdict_px": layout["act3ToVerdict"],
        "lines": layout["lines"],
        "code_lines": layout["codeLines"],
        "code_share": round(layout["codeLines"] / max(layout["lines"], 1), 3),
        "figures": layout["figures"],
        "too_wide": len(overflow["wide"]),
        "too_wide_by_kind": {k: sum(w["kind"] == k for w in overflow["wide"])
                             for k in ("code", "output", "equation")},
        "uncaptioned_figures": len(overflow["uncaptioned"]),
    }
    path = SCREENSHOTS / "layout.json"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data = {"viewport": VIEWPORT, "pages": {**data.get("pages", {}), page: entry}}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False))
    tmp.replace(path)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page, visit):
    seen = visit(page)
    mirror, errors, report = seen["mirror"], seen["errors"], seen["report"]
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


@pytest.mark.parametrize("page", PAGES)
def test_nothing_wider_than_the_column(page, visit):
    wide = visit(page)["overflow"]["wide"]
    assert not wide, (f"{page}: {len(wide)} code cells, outputs or display equations wider than "
                      f"the column (wrap at 88 characters, split equations):\n" + "\n".join(
                          f"  {w['kind']} ({w['width']} px in {w['column']} px): {w['text']!r}"
                          for w in wide))


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_figures_have_captions(page, visit):
    missing = visit(page)["overflow"]["uncaptioned"]
    assert not missing, (f"{page}: {len(missing)} figures without a number and caption (give "
                         f"the plotting cell `mystnb: figure: caption/name` metadata); their "
                         f"cells begin:\n" + "\n".join(f"  {m!r}" for m in missing))


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_shows_a_figure_within_two_screens(page, visit):
    first = visit(page)["layout"]["firstFigure"]
    assert first is not None, f"{page}: no figure"
    assert first <= FIRST_FIGURE_MAX_PX, (
        f"{page}: the first figure starts {first} px down ({first / VIEWPORT['height']:.1f} "
        f"screens of {VIEWPORT['height']} px); at most {FIRST_FIGURE_MAX_PX} px")


@pytest.mark.parametrize("page", CHAPTERS)
def test_act_3_leads_with_its_verdict(page, visit):
    layout = visit(page)["layout"]
    if page == CHAPTERS[-1]:        # the conclusion reads every verdict; it has no Act 3
        assert layout["act3"] is None, f"{page}: an Act 3 in the conclusion"
        return
    assert layout["act3"] is not None, f"{page}: no 'Act 3' heading (h2)"
    gap = layout["act3ToVerdict"]
    assert gap is not None, f"{page}: no verdict box (report.result_box) after the Act 3 heading"
    assert gap <= VERDICT_MAX_PX, (
        f"{page}: the first verdict is {gap} px below the Act 3 heading "
        f"({gap / VIEWPORT['height']:.1f} screens); at most {VERDICT_MAX_PX} px")


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_is_mostly_not_code(page, visit):
    layout = visit(page)["layout"]
    share = layout["codeLines"] / max(layout["lines"], 1)
    assert share < CODE_SHARE_MAX, (
        f"{page}: {layout['codeLines']} of {layout['lines']} rendered lines are visible code "
        f"({share:.0%}); collapse plotting and bookkeeping cells (hide-input) to get under "
        f"{CODE_SHARE_MAX:.0%}")


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
