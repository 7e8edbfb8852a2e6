"""The results appendix (a local Sphinx extension): every recorded result, read at build time.

The directive ``results-appendix`` reads the merged full-scale results ``data/results/NAME.json``
through :func:`dlnft.experiments.results.load`, so that it counts the valid runs only, one per
config (``NAME-smoke.json`` files are skipped: smoke runs are never results), and emits one
table row per file: the experiment, what it is (its description in the registry
:data:`dlnft.experiments.EXPERIMENTS`), the chapters that read it, the command that reproduces
it, and from the file's provenance the device, dates, wall time, runs, seeds and commit. Since
the table is made from the files at every build, it cannot drift from them. With no file
recorded it says so in one sentence.

A recorded file whose experiment has no entry in :data:`CHAPTERS` or in the registry, or that
cannot be read, is a build warning (an error under ``-W``), and so is a run that ``load`` leaves
out (corrupt or edited by hand).
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

# Experiment -> the chapters (document names) whose code reads its recorded file with
# results.load: the one place of this map. A new experiment's recorded file fails the build
# until it has an entry here (an empty one while no chapter reads it).
CHAPTERS: dict[str, tuple[str, ...]] = {
    "balance": ("chapters/01_conservation", "chapters/08_conclusion"),
    "balance_small": ("chapters/01_conservation", "chapters/08_conclusion"),
    "modular_lambda": ("chapters/05_regimes", "chapters/07_transformers",
                       "chapters/08_conclusion"),
    "modular_fourier": ("chapters/02_implicit_bias", "chapters/08_conclusion"),
    "modular_scale": ("chapters/02_implicit_bias", "chapters/08_conclusion"),
    "resnet_fmnist": ("chapters/03_reuse", "chapters/04_generalization",
                      "chapters/05_regimes", "chapters/06_resnets", "chapters/08_conclusion"),
    "modular": ("chapters/05_regimes", "chapters/07_transformers", "chapters/08_conclusion"),
    "lambda_fmnist": ("chapters/06_resnets", "chapters/08_conclusion"),
    "resnet": (),
    "resnet_groups": (),
}
HEADER = ("Experiment", "Chapters", "Reproduce", "Recorded")
WIDTHS = (34, 10, 26, 30)
# the lines of the "Recorded" cell: keys of summarize() and their labels
RECORDED = (("Device", ""), ("Date", ""), ("Wall time", "wall time "), ("Runs", ""),
            ("Commit", "commit "))
NONE_RECORDED = ("No full-scale result is recorded yet: {folder} holds no NAME.json. Each "
                 "chapter says so where it would plot one, and {command} records it.")


def recorded_files(folder: Path) -> list[Path]:
    """The merged full-scale result files in ``folder``, ``*-smoke.json`` left out, by name."""
    return sorted(p for p in Path(folder).glob("*.json") if not p.stem.endswith("-smoke"))


def duration(seconds: float) -> str:
    """Wall time for a reader: "42 s", "12 min", "3.4 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def summarize(data: dict) -> dict:
    """What the "Recorded" cell shows, from one merged file: the keys of :data:`RECORDED`.

    Device, date and commit come from the runs' own provenance (where they ran), falling back to
    the merge's when no run is recorded; several distinct values are all listed.
    """
    merge = data["provenance"]
    runs = data["runs"]
    sources = [r["provenance"] for r in runs] or [merge]

    def distinct(values):
        return list(dict.fromkeys(v for v in values if v))

    devices = distinct(p.get("device") for p in sources)
    dates = sorted(distinct(str(p.get("date", ""))[:10] for p in sources))
    commits = distinct((p.get("commit") or "")[:10] + ("+dirty" if p.get("dirty") else "")
                       for p in sources)
    seeds = {r["config"]["seed"] for r in runs if "seed" in r["config"]}
    count = f"{_plural(data['n_runs'], 'run')}, {_plural(len(seeds), 'seed')}"
    if data.get("missing"):
        count += f", {len(data['missing'])} missing"
    return {"Device": ", ".join(devices) or "unknown",
            "Date": dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}" if dates
            else "unknown",
            "Wall time": duration(float(data["wall_s"])),
            "Runs": count,
            "Commit": ", ".join(commits) or "unknown"}


def _entry(*children) -> nodes.entry:
    entry = nodes.entry()
    entry += nodes.paragraph("", "", *children)
    return entry


def _doc_link(docname: str) -> addnodes.pending_xref:
    """A link to a chapter, shown as its number: "chapters/04_generalization" -> "4"."""
    number = str(int(Path(docname).name.split("_")[0]))
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + docname,
                                refexplicit=True, refwarn=True)
    ref += nodes.inline(number, number)
    return ref


def _lines(*texts: str) -> nodes.entry:
    entry = nodes.entry()
    block = nodes.line_block()
    block += [nodes.line(text, text) for text in texts]
    entry += block
    return entry


class ResultsAppendix(SphinxDirective):
    """``results-appendix``: the table of recorded results (no arguments, no content)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        folder = Path(self.env.srcdir) / self.config.results_appendix_dir
        descriptions = self._descriptions()
        rows = []
        for path in recorded_files(folder):
            self.env.note_dependency(str(path))
            row = self._row(path, descriptions)
            if row is not None:
                rows.append(row)
        if not rows:
            return [self._none_recorded()]
        return [self._table(rows)]

    def _none_recorded(self) -> nodes.paragraph:
        """:data:`NONE_RECORDED` with the folder and the command as literals."""
        literals = {"folder": self.config.results_appendix_dir.rstrip("/") + "/",
                    "command": "python -m dlnft.experiments NAME --scale full"}
        para = nodes.paragraph()
        for i, part in enumerate(re.split(r"\{(\w+)\}", NONE_RECORDED)):
            para += nodes.literal(literals[part], literals[part]) if i % 2 else nodes.Text(part)
        return para

    def _descriptions(self) -> dict[str, str]:
        from dlnft.experiments import EXPERIMENTS

        return {name: e.description for name, e in EXPERIMENTS.items()}

    def _row(self, path: Path, descriptions: dict[str, str]):
        from dlnft.experiments import results

        location = (self.env.docname, self.lineno)
        try:
            with warnings.catch_warnings(record=True) as left_out:
                warnings.simplefilter("always")
                data = results.load(path.stem, path.parent, "full")
            name = data["name"]
            summary = summarize(data)
        except (results.ResultsError, ValueError, KeyError, TypeError,
                AttributeError) as exc:
            logger.warning(f"results appendix: cannot read {path}: {exc!r}", location=location)
            return None
        if name != path.stem:
            logger.warning(f"results appendix: {path} holds the results of {name!r}",
                           location=location)
            return None
        for caught in left_out:
            logger.warning(f"results appendix: {caught.message}", location=location)
        if name not in descriptions:
            logger.warning(f"results appendix: {path.name} is for {name!r}, which "
                           "dlnft.experiments.EXPERIMENTS does not know", location=location)
            return None
        if name not in CHAPTERS:
            logger.warning(f"results appendix: no chapter is given for {name!r}: add it to "
                           "CHAPTERS in _ext/results_appendix.py", location=location)
            return None
        links = []
        for i, doc in enumerate(CHAPTERS[name]):
            links += ([nodes.Text(", ")] if i else []) + [_doc_link(doc)]
        links = links or [nodes.Text("none")]
        command = f"python -m dlnft.experiments {name} --scale full"
        what = _entry(nodes.literal(name, name))
        what += nodes.paragraph("", descriptions[name])
        return [what, _entry(*links), _entry(nodes.literal(command, command)),
                _lines(*(label + summary[key] for key, label in RECORDED))]

    def _table(self, rows) -> nodes.table:
        table = nodes.table(classes=["results-appendix"])
        group = nodes.tgroup(cols=len(HEADER))
        table += group
        group += [nodes.colspec(colwidth=w) for w in WIDTHS]
        head = nodes.thead()
        head += nodes.row("", *(_entry(nodes.Text(h)) for h in HEADER))
        body = nodes.tbody()
        body += [nodes.row("", *cells) for cells in rows]
        group += [head, body]
        return table


def setup(app):
    app.add_config_value("results_appendix_dir", "data/results", "env")
    app.add_directive("results-appendix", ResultsAppendix)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
