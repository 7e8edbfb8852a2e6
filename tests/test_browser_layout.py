"""The layout measurements of the browser test, on two small synthetic pages.

``browser_support.LAYOUT_JS`` and ``OVERFLOW_JS`` run on every page of the built book in
test_browser.py. Here they run on pages written with the markup myst-nb and the book theme
produce (``article.bd-article``, ``div.cell_input``/``div.cell_output``, hide-input cells as
``<details>``, captioned figures as ``<figure>`` + ``<figcaption>``, a verdict box as
``report.result_box`` renders it): one page that follows the
book's rules and must measure clean, one that breaks each rule once and must be caught, with
the element named.
"""
from __future__ import annotations

import pytest

from browser_support import (CHROMIUM, CODE_SHARE_MAX, FIRST_FIGURE_MAX_PX, VERDICT_MAX_PX,
                             LAYOUT_JS, OVERFLOW_JS, VIEWPORT, serve)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing")

# a 1×1 PNG, drawn at the size its attributes give
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
       "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
STYLE = """<style>
body { margin: 0; font: 16px/24px sans-serif; }
article.bd-article { width: 700px; margin-left: 200px; }
pre { overflow: auto; white-space: pre; font: 14px/20px monospace; margin: 0; }
mjx-container[display="true"] { display: block; overflow-x: auto; }
</style>"""


def code_cell(lines: list[str], hidden: bool = False, output: str | None = None,
              figure: str | None = None) -> str:
    source = f'<div class="cell_input"><div class="highlight"><pre>{chr(10).join(lines)}' \
             f'</pre></div></div>'
    if hidden:
        source = f"<details><summary>Show code cell source</summary>{source}</details>"
    out = ""
    if output is not None:
        out += f'<div class="output stream highlight"><div class="highlight"><pre>{output}' \
               f'</pre></div></div>'
    if figure == "captioned":
        out += f'<figure id="fig-x"><img src="{PNG}" width="600" height="300">' \
               f'<figcaption><p>Fig. 1 What to see.</p></figcaption></figure>'
    elif figure == "bare":
        out += f'<img src="{PNG}" width="600" height="300">'
    return f'<div class="cell">{source}<div class="cell_output">{out}</div></div>'


def page(body: str) -> str:
    return f"<!doctype html><html><head>{STYLE}</head><body><article class='bd-article'>" \
           f"{body}</article></body></html>"


# a verdict box as report.result_box renders it (a sphinx-design card)
VERDICT = ('<div class="sd-card dlnft-result"><div class="sd-card-header"><strong>Prediction '
           'x.y</strong> <span class="sd-badge">held</span></div></div>')
PROSE = "<p>" + " ".join(["A sentence of the argument that the figure illustrates."] * 30) + "</p>"
GOOD = page(
    "<h1>A chapter that follows the rules</h1>" + PROSE
    + code_cell(["import numpy as np"] * 3, hidden=True)
    + code_cell(["x = np.linspace(0, 1)", "plt.plot(x, x)"], hidden=True, figure="captioned")
    + PROSE + code_cell(["print(x.max())"], output="1.0") + PROSE
    + '<mjx-container display="true"><span>y = x</span></mjx-container>'
    + "<h2>Act 3 — Experiment</h2>" + PROSE + VERDICT + PROSE)
BAD = page(
    "<h1>A chapter that breaks each rule once</h1>"
    + "<h2>Act 3 — Experiment</h2>"
    + code_cell([f"step_{i} = {i}" for i in range(100)])
    + code_cell(["wide_code = '" + "w" * 150 + "'"])
    + code_cell(["hidden_wide = '" + "h" * 150 + "'"], hidden=True)
    + code_cell(["print(1)"], output="wide output " + "o" * 150)
    + '<mjx-container display="true"><span style="display:inline-block;width:1200px">'
      'wide equation</span></mjx-container>'
    + code_cell(["plt.plot(x, x)"], figure="bare") + PROSE + VERDICT)


@pytest.fixture(scope="module")
def measure(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("pages")
    (folder / "good.html").write_text(GOOD)
    (folder / "bad.html").write_text(BAD)
    base, server = serve(folder)

    def run(name: str) -> tuple[dict, dict]:
        tab = browser.new_page(viewport=VIEWPORT)
        try:
            tab.goto(f"{base}/{name}.html", wait_until="load")
            return tab.evaluate(LAYOUT_JS), tab.evaluate(OVERFLOW_JS)
        finally:
            tab.close()

    yield {name: run(name) for name in ("good", "bad")}
    server.shutdown()
    server.server_close()


def test_a_page_that_follows_the_rules_measures_clean(measure):
    layout, overflow = measure["good"]
    assert overflow == {"wide": [], "uncaptioned": []}
    assert layout["figures"] == 1
    assert 0 < layout["firstFigure"] <= FIRST_FIGURE_MAX_PX
    # the verdict box one paragraph below the Act 3 heading
    assert layout["act3"] > layout["firstFigure"]
    assert 0 < layout["act3ToVerdict"] <= VERDICT_MAX_PX
    # visible code: one line of the print cell; its output and the hidden cells are not code
    assert layout["codeLines"] == 1
    assert layout["codeLines"] / layout["lines"] < CODE_SHARE_MAX


def test_each_broken_rule_is_caught_and_named(measure):
    layout, overflow = measure["bad"]
    wide = {(w["kind"], w["text"][:11]) for w in overflow["wide"]}
    assert wide == {("code", "wide_code ="), ("code", "hidden_wide"), ("output", "wide output"),
                    ("equation", "wide equati")}, overflow["wide"]
    assert all(len(w["text"]) <= 60 and w["width"] > w["column"] for w in overflow["wide"])
    assert overflow["uncaptioned"] == ["plt.plot(x, x)"]
    # 100 lines of code come first: 100 × 20 px is past two screens
    assert layout["firstFigure"] > FIRST_FIGURE_MAX_PX
    # the verdict box comes after the 100 lines of code: more than two screens below Act 3
    assert layout["act3"] is not None and layout["act3ToVerdict"] > VERDICT_MAX_PX
    assert layout["codeLines"] == 100 + 1 + 1 + 1
    assert layout["codeLines"] / layout["lines"] >= CODE_SHARE_MAX
