"""The scoreboard of every prediction (a local Sphinx extension), judged at build time.

The directive ``scoreboard`` renders :func:`dlnft.experiments.report.scoreboard`: one row per
prediction of the registry (:data:`dlnft.experiments.predictions.PREDICTIONS`), its id linked
to its chapter, its primary paired difference with the 95% interval, its verdict as a badge
and, for a null, the largest effect its data exclude. The option ``:compact:`` drops the
statement and endpoint columns (the index page's version). Since the table is computed from
the registry and the recorded files at every build, it cannot drift from them; a prediction
whose file is missing reads "not recorded". Any other failure to judge is a build warning (an
error under ``-W``).

The directive ``headline-figure`` draws :func:`dlnft.experiments.report.headline_plot` of the
same scoreboard (every prediction's primary difference in units of its δ, coloured by its
verdict) at build time, as the notebooks draw their figures (:func:`dlnft.plotting.figure_png`:
a 2× PNG that carries its tick size for the phone test), with the directive's content as its
caption. The PNG is kept in the build environment and written to ``_images/`` of the HTML
output when the build finishes, so a rebuild that reads no page still has it.
"""
from __future__ import annotations

import base64
import html
import posixpath
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


def _note_sources(env) -> None:
    """Rebuild the page when the registry or a recorded file changes."""
    root = Path(env.srcdir)
    for path in [root / "dlnft" / "experiments" / "predictions.py",
                 *sorted((root / "data" / "results").glob("*.json"))]:
        env.note_dependency(str(path))


class ScoreboardDirective(SphinxDirective):
    """``scoreboard``: the table of every prediction and its verdict (no content)."""

    has_content = False
    option_spec = {"compact": directives.flag}

    def run(self) -> list[nodes.Node]:
        _note_sources(self.env)
        try:
            from dlnft.experiments import report

            board = report.scoreboard(compact="compact" in self.options)
            text = board.markdown(doc_prefix="/chapters/")
        except Exception as exc:          # noqa: BLE001 - any failure is a build warning
            logger.warning(f"scoreboard: cannot judge the predictions: {exc!r}",
                           location=(self.env.docname, self.lineno))
            return []
        container = nodes.container(classes=["dlnft-scoreboard"])
        summary = nodes.paragraph("", board.summary_text() + ".")
        self.state.nested_parse(StringList(text.splitlines(), source="dlnft.experiments"),
                                self.content_offset, container)
        for table in container.findall(nodes.table):
            table["classes"].append("dlnft-scoreboard-table")
        return [summary, container]


HEADLINE_PNG = "dlnft-headline.png"


class HeadlineFigureDirective(SphinxDirective):
    """``headline-figure``: the headline figure of every verdict; the content is its caption
    (plain text)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        _note_sources(self.env)
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from dlnft.experiments import report
            from dlnft.plotting import figure_png, use_book_style

            use_book_style()
            fig = report.headline_plot(report.scoreboard())
            encoded, size = figure_png(fig)
            plt.close(fig)
        except Exception as exc:          # noqa: BLE001 - any failure is a build warning
            logger.warning(f"headline-figure: cannot draw the verdicts: {exc!r}",
                           location=(self.env.docname, self.lineno))
            return []
        generated = getattr(self.env, "dlnft_generated", {})
        generated[HEADLINE_PNG] = base64.b64decode(encoded)
        self.env.dlnft_generated = generated
        depth = self.env.docname.count("/")
        src = posixpath.join(*([".."] * depth), "_images", HEADLINE_PNG)
        caption = html.escape(" ".join(self.content).strip())
        markup = (f'<figure class="align-default dlnft-headline" id="fig-headline">'
                  f'<img src="{src}" alt="Every prediction of the book and its verdict" '
                  f'width="{size["width"]}" height="{size["height"]}" '
                  f'style="max-width: 100%; height: auto">'
                  f'<figcaption><p><span class="caption-text">{caption}</span></p>'
                  f'</figcaption></figure>')
        return [nodes.raw("", markup, format="html")]


def _merge_generated(app, env, docnames, other):
    env.dlnft_generated = {**getattr(env, "dlnft_generated", {}),
                           **getattr(other, "dlnft_generated", {})}


def _write_generated(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / "_images"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in getattr(app.env, "dlnft_generated", {}).items():
        tmp = folder / (name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(folder / name)


def setup(app):
    # the book's own package, not another copy installed elsewhere
    if str(app.srcdir) not in sys.path:
        sys.path.insert(0, str(app.srcdir))
    app.add_directive("scoreboard", ScoreboardDirective)
    app.add_directive("headline-figure", HeadlineFigureDirective)
    app.connect("env-merge-info", _merge_generated)
    app.connect("build-finished", _write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
