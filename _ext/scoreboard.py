"""The scoreboard of every prediction (a local Sphinx extension), judged at build time.

The directive ``scoreboard`` renders :func:`dlnft.experiments.report.scoreboard`: one row per
prediction of the registry (:data:`dlnft.experiments.predictions.PREDICTIONS`), its id linked
to its chapter, its primary paired difference with the 95% interval, its verdict as a badge
and, for a null, the largest effect its data exclude. The option ``:compact:`` drops the
statement and endpoint columns (the index page's version). Since the table is computed from
the registry and the recorded files at every build, it cannot drift from them; a prediction
whose file is missing reads "not recorded". Any other failure to judge is a build warning (an
error under ``-W``).
"""
from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)


class ScoreboardDirective(SphinxDirective):
    """``scoreboard``: the table of every prediction and its verdict (no content)."""

    has_content = False
    option_spec = {"compact": directives.flag}

    def run(self) -> list[nodes.Node]:
        root = Path(self.env.srcdir)
        for path in [root / "dlnft" / "experiments" / "predictions.py",
                     *sorted((root / "data" / "results").glob("*.json"))]:
            self.env.note_dependency(str(path))
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


def setup(app):
    # the book's own package, not another copy installed elsewhere
    if str(app.srcdir) not in sys.path:
        sys.path.insert(0, str(app.srcdir))
    app.add_directive("scoreboard", ScoreboardDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
