"""What the browser test needs besides the browser and the built book: a local server, and local
copies of the scripts the pages load from CDNs (the test machines have no network).

* :func:`serve` serves a folder on 127.0.0.1 on a free port from a daemon thread.
* :class:`CdnMirror` answers the book's CDN requests from local files: MathJax from the npm
  package ``mathjax`` (installed with npm on first use, the major version the pages ask for) and
  plotly.js from the copy bundled with the Python ``plotly`` package. Every other external
  request is aborted and recorded.
* :data:`LAYOUT_JS` and :data:`OVERFLOW_JS` measure a page's layout in the browser: where its
  first figure sits, how many of its rendered lines are code, which code, output and display
  equations are wider than the text column, which figures have no caption.
"""
from __future__ import annotations

import functools
import http.server
import json
import mimetypes
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic",
                 "--disable-sync"]
MATHJAX_URL = re.compile(r"https://cdn\.jsdelivr\.net/npm/mathjax@(\d+)[^/]*/(.+)")
PLOTLY_URL = re.compile(r"https://cdn\.plot\.ly/plotly-[\w.\-]*\.js")
# Requests the pages may make that nothing on them needs (web fonts with local fallbacks,
# analytics): aborted, and their failures are not console errors. Every other blocked request
# fails the test. The book makes none of these today.
UNNEEDED: tuple[re.Pattern, ...] = ()
# Console errors that the theme's own scripts print on every page, whatever the book contains;
# exact texts, so that anything else still fails. Both are harmless to readers:
# - sphinx-thebe's settings script is emitted twice by jupyter-book 1.0.4 + sphinx-book-theme
#   1.1, so the second `const THEBE_JS_URL` throws (the first already set it);
# - pydata-sphinx-theme 0.15 reads an empty theme mode from localStorage on a first visit and
#   resets it to "auto" (pydata/pydata-sphinx-theme#1635).
THEME_ERRORS = (
    "uncaught: SyntaxError: Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode: . Resetting to auto.",
)


def toc_pages() -> list[str]:
    """The pages of the book in toc order, as paths without suffix: index, chapters/NN_slug,
    and the reference pages with their sections (api/...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def files(entries):
        for entry in entries:
            yield entry["file"]
            yield from files(entry.get("sections", []))

    pages = [toc["root"], *files(toc.get("chapters", []) + [c for p in toc.get("parts", [])
                                                           for c in p.get("chapters", [])])]
    return [str(Path(p).with_suffix("")) for p in pages]


def colab_url(page: str) -> str:
    """The Colab link a chapter page must carry, built from _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    github = repo["url"].rstrip("/").removeprefix("https://github.com/")
    return (f"{config['launch_buttons']['colab_url'].rstrip('/')}/github/{github}/blob/"
            f"{repo['branch']}/{page}.ipynb")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder: Path):
    """(base URL, server) of an HTTP server for ``folder`` on 127.0.0.1; call .shutdown()."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def mathjax_major(html: Path) -> str:
    """The MathJax major version the built pages load from the CDN."""
    for page in html.rglob("*.html"):
        m = MATHJAX_URL.search(page.read_text(errors="replace"))
        if m:
            return m.group(1)
    raise RuntimeError(f"no page under {html} loads MathJax from {MATHJAX_URL.pattern}")


def mathjax_package(major: str) -> Path:
    """The folder of the npm package mathjax@<major>, installed with npm on first use.

    Under $DLNFT_MATHJAX_PREFIX (default: _build/node of the repository).
    """
    prefix = Path(os.environ.get("DLNFT_MATHJAX_PREFIX", ROOT / "_build" / "node"))
    pkg = prefix / "node_modules" / "mathjax"
    if not (pkg / "package.json").exists() or \
            json.loads((pkg / "package.json").read_text())["version"].split(".")[0] != major:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(f"npm is needed to install mathjax@{major} (the pages load it from "
                               f"a CDN the test cannot reach): apt-get install npm, or run "
                               f"`npm install --prefix {prefix} mathjax@{major}` elsewhere")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix",
                        str(prefix), f"mathjax@{major}"], check=True, capture_output=True,
                       timeout=300)
    return pkg


def plotly_js() -> Path:
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.exists():
        raise RuntimeError(f"plotly.min.js is missing from the plotly package at {path}")
    return path


class CdnMirror:
    """A Playwright route handler: local server passes, CDNs are answered locally, rest aborted."""

    def __init__(self, base: str, mathjax: Path, plotly: Path):
        self.base, self.mathjax, self.plotly = base, mathjax, plotly
        self.served: list[str] = []     # CDN URLs answered from local files
        self.blocked: list[str] = []    # other external URLs, aborted

    def __call__(self, route):
        url = route.request.url
        if url.startswith(self.base) or url.startswith("data:"):
            return route.continue_()
        m = MATHJAX_URL.match(url.split("?")[0])
        if m:
            path = (self.mathjax / m.group(2)).resolve()
            if self.mathjax.resolve() in path.parents and path.is_file():
                self.served.append(url)
                return route.fulfill(path=str(path), content_type=_content_type(path))
        if PLOTLY_URL.match(url.split("?")[0]):
            self.served.append(url)
            return route.fulfill(path=str(self.plotly), content_type="application/javascript")
        self.blocked.append(url)
        return route.abort()

    def unexplained(self) -> list[str]:
        """Blocked requests that a page might need (anything but unneeded fonts/analytics)."""
        return [u for u in self.blocked if not any(p.search(u) for p in UNNEEDED)]

    def hosts(self) -> set[str]:
        return {urlparse(u).netloc for u in self.served}


def _content_type(path: Path) -> str:
    if path.suffix == ".js":
        return "application/javascript"
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# The page size every layout number refers to; a "screen" is one viewport height.
VIEWPORT = {"width": 1280, "height": 900}
FIRST_FIGURE_MAX_PX = VIEWPORT["height"]       # a chapter shows a figure on its first screen
VERDICT_MAX_PX = 2 * VIEWPORT["height"]        # Act 3's first verdict within two screens of it
CODE_SHARE_MAX = 0.5                           # visible code lines: under half of the lines

# Shared by both scripts: the text column and what counts as code, output and a figure.
_LAYOUT_COMMON = r"""
  const column = document.querySelector('article.bd-article') ||
                 document.querySelector('main') || document.body;
  // rendered: has boxes, is not hidden, and is not inside a collapsed cell (the content of a
  // closed <details> keeps boxes in Chromium, so it is excluded by name too)
  const shown = e => e.getClientRects().length > 0 &&
                     getComputedStyle(e).visibility !== 'hidden' &&
                     !(e.closest('details:not([open])') && !e.closest('summary')) &&
                     (!e.checkVisibility || e.checkVisibility());
  const isOutput = e => !!e.closest('div.cell_output');
  const isCode = e => !isOutput(e) && !!e.closest('div.cell_input, div.highlight');
  const figures = Array.from(column.querySelectorAll(
    'div.cell_output img, figure img, div.cell_output .plotly-graph-div'));
"""

LAYOUT_JS = """() => {""" + _LAYOUT_COMMON + r"""
  // Where the first figure starts, in px from the top of the page, as the reader gets the page
  // (collapsed cells collapsed). null: no figure.
  const tops = figures.filter(shown).map(e => e.getBoundingClientRect().top + window.scrollY);
  const firstFigure = tops.length ? Math.round(Math.min(...tops)) : null;

  // From the "Act 3" heading to the first verdict box after it (report.result_box renders a
  // div.dlnft-result), in px. act3: null when the page has no Act 3; verdict: null when no
  // box follows the heading.
  const top = e => e.getBoundingClientRect().top + window.scrollY;
  const act3 = Array.from(column.querySelectorAll('h2'))
    .find(h => /^Act 3\b/.test(h.textContent.trim()));
  const act3Top = act3 ? Math.round(top(act3)) : null;
  const verdicts = Array.from(column.querySelectorAll('.dlnft-result')).filter(shown)
    .map(top).filter(y => act3 && y > act3Top);
  const act3ToVerdict = act3 && verdicts.length ? Math.round(Math.min(...verdicts) - act3Top)
                                                : null;

  // Rendered lines of the column: the line boxes of its text (one per line of a paragraph, a
  // code cell, an output), plus display equations (their height in lines of body text).
  const boxes = [];
  const walker = document.createTreeWalker(column, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.textContent.trim() || el.closest('mjx-container, script, style') || !shown(el)) {
      continue;
    }
    range.selectNodeContents(t);
    const code = isCode(el);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.height > 0) {
        boxes.push({y: r.top + window.scrollY + r.height / 2, h: r.height, code});
      }
    }
  }
  const body = parseFloat(getComputedStyle(column).lineHeight) || 24;
  for (const m of column.querySelectorAll('mjx-container[display="true"]')) {
    if (!shown(m)) continue;
    const r = m.getBoundingClientRect();
    const n = Math.max(1, Math.round(r.height / body));
    for (let i = 0; i < n; i++) {
      boxes.push({y: r.top + window.scrollY + (i + 0.5) * r.height / n, h: r.height / n,
                  code: false});
    }
  }
  boxes.sort((a, b) => a.y - b.y);
  let lines = 0, codeLines = 0, last = null;
  for (const b of boxes) {            // boxes whose centres are this close share a line
    if (last && b.y - last.y < 0.5 * Math.min(b.h, last.h)) {
      last.code = last.code || b.code;
      continue;
    }
    if (last) { lines += 1; codeLines += last.code ? 1 : 0; }
    last = {...b};
  }
  if (last) { lines += 1; codeLines += last.code ? 1 : 0; }
  return {firstFigure, act3: act3Top, act3ToVerdict, lines, codeLines,
          viewportHeight: window.innerHeight, figures: figures.length};
}"""

OVERFLOW_JS = """() => {""" + _LAYOUT_COMMON + r"""
  // Every collapsed cell opened: hidden code must fit the column too once a reader opens it.
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const right = column.getBoundingClientRect().right;
  const clips = e => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
  const tex = e => {
    try {
      const items = MathJax.startup.document.getMathItemsWithin(e);
      if (items.length) return items[0].math;
    } catch (err) { /* no MathJax: fall back to the text */ }
    return e.textContent;
  };
  const snippet = s => s.replace(/\s+/g, ' ').trim().slice(0, 60);
  const wide = [];
  const selector = 'div.cell_input pre, .highlight pre, div.cell_output pre, ' +
                   'mjx-container[display="true"]';
  for (const el of column.querySelectorAll(selector)) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    // wider than its own box (scrolls or spills), sticking out of a clipping ancestor, or
    // reaching past the text column
    let cut = el.scrollWidth > el.clientWidth + 1 || r.right > right + 1;
    for (let a = el.parentElement; !cut && a && a !== column; a = a.parentElement) {
      cut = clips(a) && r.right > a.getBoundingClientRect().right + 1;
    }
    if (cut) {
      const kind = el.tagName === 'MJX-CONTAINER' ? 'equation' :
                   isOutput(el) ? 'output' : 'code';
      wide.push({kind, text: snippet(kind === 'equation' ? tex(el) : el.textContent),
                 width: Math.max(el.scrollWidth, Math.round(r.right - r.left)),
                 column: Math.round(el.clientWidth)});
    }
  }
  // A figure is captioned when it sits in a <figure> with a non-empty <figcaption> (what
  // myst-nb makes of a cell's `mystnb: figure: caption` metadata).
  const uncaptioned = figures.filter(f => f.tagName === 'IMG').filter(img => {
    const fig = img.closest('figure');
    const cap = fig && fig.querySelector('figcaption');
    return !(cap && cap.textContent.trim());
  }).map(img => {
    const cell = img.closest('div.cell');
    const source = cell && cell.querySelector('div.cell_input pre');
    return snippet(source ? source.textContent : (img.getAttribute('src') || ''));
  });
  return {wide, uncaptioned};
}"""
