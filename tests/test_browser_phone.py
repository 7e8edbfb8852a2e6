"""The rendered book on a phone: every page of the toc at 390 px wide in headless Chromium.

Two rules, measured on every page (``PHONE_JS``):

* **No sideways scroll.** The document is no wider than the phone
  (``document.documentElement.scrollWidth <= 390``; not ``innerWidth``, which a mobile browser
  widens to fit a page that sticks out); a wide table or code block may scroll inside its own
  container, never the page. The elements that stick out are named.
* **Readable figures.** No matplotlib figure's tick labels render below :data:`MIN_TICK_PX`
  CSS pixels. A figure's tick labels are ``tick_pt`` points at ``dpi`` image pixels per inch;
  shown at ``shown`` CSS pixels wide out of ``natural`` image pixels, they render at
  ``tick_pt / 72 × dpi × shown / natural`` CSS pixels. ``dpi`` is read from the PNG (its pHYs
  chunk, written by matplotlib), ``tick_pt`` from the ``dlnft:tick_pt`` text chunk that
  :func:`dlnft.plotting.use_book_style` writes (the smallest visible tick label of the figure);
  a figure drawn before that chunk existed counts at the style's tick size
  (:data:`dlnft.plotting.STYLE`), which is what its chapter set.

Chapters 1, 2, 5 and 7 fail on figures drawn two panels to a row and are listed in
:data:`KNOWN_FAILURES` (strict xfail: a page that passes fails the test until it is removed from
the list). The numbers of every page go to ``_build/screenshots/phone.json``, a screenshot of the
first screen of each page to ``_build/screenshots/phone/``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from PIL import Image

from browser_support import CHROMIUM, ROOT, CdnMirror, toc_pages
from test_browser import local_cdn, site, site_html  # noqa: F401 (fixtures)

IN_CI = os.environ.get("CI", "").lower() == "true"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI,
                       reason=f"{CHROMIUM} is missing (apt-get install chromium); runs in CI"),
]
PHONE = {"width": 390, "height": 844}
MIN_TICK_PX = 9.0
PAGES = toc_pages()
SCREENSHOTS = ROOT / "_build" / "screenshots"
# Pages that still fail a rule at 390 px, and the rule ("scroll" or "ticks"), as strict xfails:
# none today (every figure is drawn with dlnft.plotting's phone-sized style).
KNOWN_FAILURES: dict[str, str] = {}

PHONE_JS = r"""async (vw) => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  for (let y = 0; y < document.body.scrollHeight; y += window.innerHeight) {
    window.scrollTo(0, y);                       // so lazy images load
    await new Promise(r => setTimeout(r, 30));
  }
  window.scrollTo(0, 0);
  const imgs = Array.from(document.querySelectorAll('main img, article img'));
  await Promise.all(imgs.map(i => i.complete ? null :
    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  // the phone's width, not innerWidth: a mobile browser widens its layout viewport to fit
  // a page that sticks out, and zooms out
  // an element sticks out when its right edge passes the viewport and no ancestor clips or
  // scrolls it sideways; only the outermost such element is named
  const clipped = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
    }
    return false;
  };
  const out = [];
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 0.5 || clipped(e)) continue;
    const style = getComputedStyle(e);
    // hidden, or the theme's off-screen "skip to content" link (as wide as the page)
    if (style.visibility === 'hidden' || e.id === 'pst-skip-link') continue;
    if (out.some(o => o.el.contains(e))) continue;
    out.push({el: e, right: Math.round(r.right)});
  }
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ?
     '.' + e.className.trim().split(/\s+/).slice(0, 3).join('.') : '');
  const figures = imgs.filter(i => i.naturalWidth > 0).map(i => ({
    src: i.currentSrc || i.src, natural: i.naturalWidth,
    shown: i.getBoundingClientRect().width}));
  return {viewport: vw, innerWidth: window.innerWidth,
          scrollWidth: document.documentElement.scrollWidth,
          wide: out.slice(0, 10).map(o => ({element: name(o.el), right: o.right})),
          figures: figures};
}"""


def figure_ticks(html: Path, site_url: str, figure: dict) -> dict | None:
    """The rendered tick-label size (CSS px) of one matplotlib figure on the page; None for
    an image that is not a matplotlib figure of the book."""
    from dlnft.plotting import STYLE

    if not figure["src"].startswith(site_url):
        return None
    path = html / unquote(urlparse(figure["src"]).path).lstrip("/")
    with Image.open(path) as img:
        info = dict(img.info)
    if not str(info.get("Software", "")).startswith("Matplotlib") or "dpi" not in info:
        return None
    dpi = float(info["dpi"][0])
    tick_pt = float(info.get("dlnft:tick_pt", min(STYLE["xtick.labelsize"],
                                                  STYLE["ytick.labelsize"])))
    px = tick_pt / 72 * dpi * figure["shown"] / figure["natural"]
    return {"image": path.name[:12], "dpi": round(dpi), "tick_pt": tick_pt,
            "styled": "dlnft:tick_pt" in info, "natural_px": figure["natural"],
            "shown_px": round(figure["shown"], 1), "tick_px": round(px, 2)}


@pytest.fixture(scope="session")
def phone(site, site_html, browser, local_cdn):  # noqa: F811
    """phone(page) -> what a 390 px wide browser saw on the page, loaded once per session."""
    seen: dict[str, dict] = {}
    record = SCREENSHOTS / "phone.json"
    record.unlink(missing_ok=True)

    def load(page: str) -> dict:
        if page in seen:
            return seen[page]
        mirror = CdnMirror(site, *local_cdn)
        tab = browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                               has_touch=True)
        tab.route("**/*", mirror)
        try:
            response = tab.goto(f"{site}/{page}.html", wait_until="load", timeout=180_000)
            assert response is not None and response.ok, f"{page}.html did not load"
            measured = tab.evaluate(PHONE_JS, PHONE["width"])
            (SCREENSHOTS / "phone").mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / "phone" / f"{page.replace('/', '__')}.png"))
        finally:
            tab.close()
        ticks = [t for t in (figure_ticks(site_html, site, f) for f in measured["figures"]) if t]
        seen[page] = {**measured, "ticks": ticks,
                      "smallest_tick_px": min((t["tick_px"] for t in ticks), default=None)}
        data = json.loads(record.read_text()) if record.exists() else {}
        data[page] = {k: v for k, v in seen[page].items() if k != "figures"}
        tmp = record.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(record)
        return seen[page]

    return load


def _marks(page: str, rule: str):
    if KNOWN_FAILURES.get(page) == rule:
        return pytest.param(page, marks=pytest.mark.xfail(strict=True, reason=(
            f"{page} still draws figures for a wider screen (fix, then remove it from "
            "KNOWN_FAILURES)")))
    return page


@pytest.mark.parametrize("page", [_marks(p, "scroll") for p in PAGES])
def test_no_sideways_scroll_on_a_phone(page, phone):
    seen = phone(page)
    assert seen["scrollWidth"] <= seen["viewport"], (
        f"{page} scrolls sideways at {PHONE['width']} px: the document is "
        f"{seen['scrollWidth']} px wide; sticking out: {seen['wide']}")


@pytest.mark.parametrize("page", [_marks(p, "ticks") for p in PAGES])
def test_figure_tick_labels_readable_on_a_phone(page, phone):
    small = [t for t in phone(page)["ticks"] if t["tick_px"] < MIN_TICK_PX]
    assert not small, (f"{page}: {len(small)} figure(s) with tick labels below {MIN_TICK_PX} "
                       f"px at {PHONE['width']} px wide: {small}")


def test_known_failures_are_pages_of_the_book():
    assert set(KNOWN_FAILURES) <= set(PAGES)
    assert set(KNOWN_FAILURES.values()) <= {"scroll", "ticks"}
