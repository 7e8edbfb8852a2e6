"""What the browser test needs besides the browser and the built book: a local server, and local
copies of the scripts the pages load from CDNs (the test machines have no network).

* :func:`serve` serves a folder on 127.0.0.1 on a free port from a daemon thread.
* :class:`CdnMirror` answers the book's CDN requests from local files: MathJax from the npm
  package ``mathjax`` (installed with npm on first use, the major version the pages ask for) and
  plotly.js from the copy bundled with the Python ``plotly`` package. Every other external
  request is aborted and recorded.
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
