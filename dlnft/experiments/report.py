"""Verdict-first results: a result box and a forest plot of a judged prediction.

A chapter's Act 3 opens with what its experiment found. :func:`result_box` reads the recorded
sweep of a prediction (:func:`dlnft.experiments.results.load_recorded`), judges it by the
book's one rule (:func:`dlnft.experiments.summary.judge`) and returns a :class:`ResultBox`:
what was trained on what data, where and when it was recorded (seeds, device, dates,
commits), the prediction in one sentence, the primary paired difference d̄ ± its 95%
half-width with its Holm-adjusted sign-flip p, the verdict as a badge, and for a primary that
is not as predicted what its interval excludes. In a notebook it shows as a card (HTML with
sphinx-design's card and badge classes, styled by ``_static/result.css``); its plain text,
the same content, is what ``print`` and nbval see. :func:`forest_plot` draws the family of
paired differences of one or more boxes: one row per comparison, the mean with its 95%
interval, zero, the predicted side shaded, the equivalence band (-δ, δ), and the outcome of
each comparison in a fixed colour and marker (:data:`OUTCOME_STYLE`). :func:`scoreboard`
judges every prediction of the registry at once, one :class:`ScoreRow` each ("not recorded"
where the recorded file is missing): chapter 8 opens with it, with :func:`scoreboard_plot`'s
count of each verdict, and the index page shows it compact (``_ext/scoreboard.py``), under
:func:`headline_plot`, every prediction's primary difference on one axis in units of its δ.
"""
from __future__ import annotations

import html
import re
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .predictions import Prediction, get
from .summary import OUTCOMES, VERDICTS, Judgement, judge

OUTCOME_STYLE = {
    "as predicted": ("#1a7f37", "o"),
    "opposite": ("#c62828", "X"),
    "equivalent": ("#1f5fa8", "D"),
    "not conclusive": ("#6e6e6e", "s"),
}
"""Colour and marker of each outcome of a comparison, the same in every forest plot."""

VERDICT_BADGE = {
    "held": "success",
    "held in part": "info",
    "mixed": "warning",
    "failed": "danger",
    "no effect larger than δ": "primary",
    "not conclusive": "secondary",
}
"""The sphinx-design (Bootstrap) colour of each verdict's badge."""

PREDICTED_SIDE = "#1a7f37"
"""Fill colour of the predicted side of zero (drawn at low opacity)."""
BAND = "#1f5fa8"
"""Fill colour of the equivalence band (-δ, δ) (drawn at low opacity)."""


def _recorded(merged: dict, experiment: str) -> dict:
    """Seeds, devices, dates and commits of the runs of ``merged``."""
    if not isinstance(merged, dict) or not isinstance(merged.get("runs"), list) \
            or not merged["runs"]:
        raise ValueError(f"merged must be a merged results dict with a non-empty list of "
                         f"runs (of {experiment!r}), got {type(merged).__name__}")
    runs = merged["runs"]
    prov = [r.get("provenance", {}) for r in runs]
    dates = sorted(str(p.get("date", "?"))[:10] for p in prov)
    by_date = [str(p.get("commit"))[:7]
               for p in sorted(prov, key=lambda p: str(p.get("date", "")))]
    return {
        "experiment": experiment,
        "runs": len(runs),
        "seeds": sorted({r["config"].get("seed") for r in runs}, key=str),
        "devices": sorted({str(p.get("device", "unknown device")) for p in prov}),
        "dates": (dates[0], dates[-1]),
        "commits": sorted({str(p.get("commit"))[:7] for p in prov}),
        "span": (by_date[0], by_date[-1]),      # commits of the first and last run recorded
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


@dataclass(frozen=True, repr=False)
class ResultBox:
    """A prediction, its judgement and where its data come from.

    prediction: the registry entry (:class:`dlnft.experiments.predictions.Prediction`).
    judgement: its :class:`dlnft.experiments.summary.Judgement`. description: what was
    trained on what data (the experiment's description). recorded: runs, seeds, devices,
    first and last date, commits of the recorded file. Its ``repr`` (text/plain) is
    :meth:`text`; in a notebook it renders as :meth:`html`.
    """
    prediction: Prediction
    judgement: Judgement
    description: str
    recorded: dict

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    def _number(self, x: float) -> str:
        return f"{x:+.{self.prediction.digits}f}"

    def primary_text(self) -> str:
        """The primary comparison: label, d̄ ± 95% half-width (unit), seeds, Holm p,
        outcome."""
        c, p = self.judgement.primary, self.prediction
        if c.n >= 2:
            spread = (f"{self._number(c.mean)} ± {c.half:.{p.digits}f}{p.unit} "
                      f"(95% interval over {c.n} seeds)")
        else:
            return (f"{c.label}: {self._number(c.mean)}{p.unit} (one seed: no interval, no "
                    f"test), {c.outcome}")
        return f"{c.label}: {spread}, Holm p {c.p_holm:.3f}, {c.outcome}"

    def recorded_text(self) -> str:
        """Runs, seeds, device(s), dates and commit(s) of the recorded file."""
        r = self.recorded
        first, last = r["dates"]
        when = first if first == last else f"{first} to {last}"
        commits = r["commits"]
        if len(commits) == 1:
            said = f"commit {commits[0]}"
        elif len(commits) <= 3:
            said = f"commits {', '.join(commits)}"
        else:                   # a sweep committed seed by seed: its first and last commit
            said = f"{len(commits)} commits, {r['span'][0]} to {r['span'][1]}"
        return (f"{_plural(r['runs'], 'run')}, {_plural(len(r['seeds']), 'seed')}, on "
                f"{', '.join(r['devices'])}, {when}, {said} "
                f"(data/results/{r['experiment']}.json)")

    def rows(self) -> list[tuple[str, str]]:
        """(heading, text) of each line of the box, verdict first."""
        p, j = self.prediction, self.judgement
        delta = f"{p.delta:.{p.digits}f}"
        out = [("Verdict", j.verdict),
               ("Trained", self.description),
               ("Recorded", self.recorded_text()),
               ("Prediction", p.statement),
               ("Endpoint", f"{p.endpoint}; δ = {delta}{p.unit}"),
               ("Primary", self.primary_text())]
        excluded = j.excluded_text(p.digits, p.unit)
        if excluded:
            out.append(("The data", excluded))
        return out

    def text(self) -> str:
        """The box as plain text, one ``heading: text`` line each."""
        return "\n".join([f"Prediction {self.prediction.id}"]
                         + [f"{head}: {body}" for head, body in self.rows()])

    def html(self) -> str:
        """The box as a sphinx-design card with the verdict as a badge."""
        colour = VERDICT_BADGE[self.verdict]
        badge = (f'<span class="sd-badge sd-bg-{colour} sd-bg-text-{colour} '
                 f'dlnft-verdict">{html.escape(self.verdict)}</span>')
        items = "".join(f"<dt>{html.escape(head)}</dt><dd>{html.escape(body)}</dd>"
                        for head, body in self.rows()[1:])
        return (f'<div class="sd-card sd-shadow-sm sd-mb-3 dlnft-result '
                f'dlnft-result-{colour}">'
                f'<div class="sd-card-header"><strong>Prediction '
                f'{html.escape(self.prediction.id)}</strong> {badge}</div>'
                f'<div class="sd-card-body"><dl class="dlnft-result-rows">{items}</dl>'
                f'</div></div>')

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


def result_box(prediction: Prediction | str, merged: dict | None = None,
               judgement: Judgement | None = None) -> ResultBox:
    """The result box of ``prediction`` (a registry entry or its id).

    merged: the merged results it is judged on (default: the recorded full-scale file,
    :func:`dlnft.experiments.results.load_recorded` of ``prediction.experiment``).
    judgement: its judgement (default: :func:`dlnft.experiments.summary.judge` on
    ``merged``); ValueError when it is the judgement of another prediction.
    """
    from . import EXPERIMENTS
    from .results import load_recorded

    if isinstance(prediction, str):
        prediction = get(prediction)
    if not isinstance(prediction, Prediction):
        raise ValueError(f"prediction must be a Prediction or a prediction id, got "
                         f"{prediction!r}")
    if merged is None:
        merged = load_recorded(prediction.experiment)
    recorded = _recorded(merged, prediction.experiment)
    if judgement is None:
        judgement = judge(prediction, merged)
    if not isinstance(judgement, Judgement) or judgement.id != prediction.id:
        raise ValueError(f"judgement must be the Judgement of {prediction.id!r}, got "
                         f"{getattr(judgement, 'id', judgement)!r}")
    if judgement.verdict not in VERDICTS:
        raise ValueError(f"judgement.verdict must be one of {VERDICTS}, got "
                         f"{judgement.verdict!r}")
    experiment = EXPERIMENTS.get(prediction.experiment)
    description = experiment.description if experiment else prediction.experiment
    return ResultBox(prediction, judgement, description, recorded)


def forest_plot(*boxes: ResultBox, width: float = 4.67, per_delta: bool = False):
    """A forest plot of the paired differences of the predictions in ``boxes`` (one panel).

    One row per comparison of each box's family, top to bottom in the family's order
    (primary first), each box's rows under its prediction's id: the mean paired difference
    with its 95% interval, in the colour and marker of its outcome (:data:`OUTCOME_STYLE`).
    A vertical line marks zero; the predicted side of zero is shaded green (a "direction"
    claim) and the equivalence band (-δ, δ) blue, over the rows of its own prediction. The
    boxes must share a unit (ValueError otherwise). width: inches (the height follows from
    the number of rows). per_delta: plot every difference divided by its prediction's δ, so
    that predictions in different units share one axis (the band is then (-1, 1)). Returns
    the matplotlib Figure.
    """
    if not boxes:
        raise ValueError("boxes must hold at least one ResultBox, got none")
    bad = [b for b in boxes if not isinstance(b, ResultBox)]
    if bad:
        raise ValueError(f"boxes must be ResultBox objects (see result_box), got {bad[0]!r}")
    units = {b.prediction.unit for b in boxes}
    if len(units) != 1 and not per_delta:
        raise ValueError(f"boxes must share a unit to share an axis, got {sorted(units)} "
                         f"(per_delta=True plots each in units of its δ)")
    if not isinstance(per_delta, bool):
        raise ValueError(f"per_delta must be True or False, got {per_delta!r}")

    def scale(b):
        return b.prediction.delta if per_delta else 1.0
    if not (isinstance(width, (int, float)) and 2 <= width <= 10):
        raise ValueError(f"width must be between 2 and 10 inches, got {width!r}")
    n_rows = sum(len(b.judgement.comparisons) + 1 for b in boxes)
    claims = {b.judgement.claim for b in boxes}
    seen = [o for o in OUTCOMES if any(c.outcome == o for b in boxes
                                       for c in b.judgement.comparisons)]
    legend_rows = math.ceil((len(seen) + 1 + ("direction" in claims)) / 2)
    legend_h = 0.12 + 0.24 * legend_rows
    height = 0.75 + 0.5 * n_rows + legend_h
    fig, ax = plt.subplots(figsize=(width, height))
    white = {"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85}
    lows, highs = [0.0], [0.0]
    for b in boxes:
        for c in b.judgement.comparisons:
            half = 0.0 if math.isnan(c.half) else c.half
            lows.append((c.mean - half) / scale(b))
            highs.append((c.mean + half) / scale(b))
        lows.append(-b.prediction.delta / scale(b))
        highs.append(b.prediction.delta / scale(b))
    pad = 0.12 * (max(highs) - min(lows))
    xlim = (min(lows) - pad, max(highs) + pad)
    y = n_rows
    for b in boxes:
        p, j = b.prediction, b.judgement
        top = y - 0.5
        ax.text(0.0, y, f"{p.id}: {j.verdict}", transform=ax.get_yaxis_transform(),
                fontsize=11, fontweight="bold", va="center", ha="left", bbox=white,
                zorder=5)
        y -= 1
        bottom = y - len(j.comparisons) + 0.5
        ys = [top, bottom]
        k = scale(b)
        ax.fill_betweenx(ys, -p.delta / k, p.delta / k, color=BAND, alpha=0.15, lw=0)
        if j.claim == "direction":
            edge = xlim[1] if p.sign > 0 else xlim[0]
            ax.fill_betweenx(ys, 0, edge, color=PREDICTED_SIDE, alpha=0.10, lw=0)
        for c in j.comparisons:
            colour, marker = OUTCOME_STYLE[c.outcome]
            if c.n >= 2:
                ax.plot([(c.mean - c.half) / k, (c.mean + c.half) / k], [y, y],
                        color=colour, lw=2.5, zorder=4)
            ax.plot(c.mean / k, y, marker=marker, color=colour, ms=9, ls="none", zorder=4)
            ax.text(0.0, y + 0.16, c.label + (" (one seed)" if c.n < 2 else ""),
                    transform=ax.get_yaxis_transform(), fontsize=10, va="bottom",
                    ha="left", color="#333333", bbox=white, zorder=5)
            y -= 1
    ax.axvline(0, color="black", lw=1)
    ax.set_xlim(*xlim)
    ax.set_ylim(0.3, n_rows + 0.6)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    if per_delta:
        ax.set_xlabel("paired difference / δ, mean ± 95% interval")
    else:
        unit = units.pop().strip()
        ax.set_xlabel("paired difference, mean ± 95% interval"
                      + (f" ({unit})" if unit else ""))
    handles = [Line2D([], [], color=OUTCOME_STYLE[o][0], marker=OUTCOME_STYLE[o][1],
                      ls="none", ms=8, label=o) for o in seen]
    handles.append(Patch(color=BAND, alpha=0.3, label="(−1, 1): ±δ" if per_delta
                         else "(−δ, δ)"))
    if "direction" in claims:
        handles.append(Patch(color=PREDICTED_SIDE, alpha=0.25, label="predicted side"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, legend_h / height, 1, 1))
    return fig


NOT_RECORDED = "not recorded"
"""The scoreboard's verdict of a prediction whose recorded file is missing or holds no run."""

SCORE_BADGE = {**VERDICT_BADGE, NOT_RECORDED: "light"}
"""The badge colour of each scoreboard verdict (:data:`VERDICT_BADGE` and "not recorded")."""


def _shorten(text: str, width: int) -> str:
    """The first sentence of ``text``, cut at a word to at most ``width`` characters."""
    first = text.split(". ")[0].strip().rstrip(".")
    if len(first) <= width:
        return first
    cut = first[:width - 1].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"


def chapter_docs() -> dict[int, str]:
    """{chapter number: its page, ``"NN_slug"``} of the chapters next to the package
    (``chapters/NN_slug.md``); empty where the package is installed without the book."""
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "chapters"
    return {int(p.name[:2]): p.stem for p in sorted(folder.glob("[0-9][0-9]_*.md"))}


@dataclass(frozen=True)
class ScoreRow:
    """One prediction on the scoreboard: the registry entry, its judgement on the recorded
    file (None when the file is missing or holds no run; ``missing`` then says why)."""
    prediction: Prediction
    judgement: Judgement | None
    missing: str = ""

    @property
    def verdict(self) -> str:
        return self.judgement.verdict if self.judgement else NOT_RECORDED

    def primary_text(self) -> str:
        """The primary paired difference d̄ with its 95% interval [d̄ − h, d̄ + h] and the
        number of seeds n; "—" when not recorded."""
        if self.judgement is None:
            return "—"
        c, p = self.judgement.primary, self.prediction
        if c.n < 2:
            return f"{c.mean:+.{p.digits}f}{p.unit} (one seed, no interval)"
        return (f"{c.mean:+.{p.digits}f} [{c.mean - c.half:+.{p.digits}f}, "
                f"{c.mean + c.half:+.{p.digits}f}]{p.unit}, n = {c.n}")

    def excluded(self) -> float | None:
        """For a null primary comparison (outcome "equivalent" or "not conclusive", at least 2
        seeds): the largest |effect| outside its 95% interval, max(|d̄ − h|, |d̄ + h|); the
        data exclude a paired difference larger than this in size. None otherwise."""
        if self.judgement is None:
            return None
        c = self.judgement.primary
        if c.n < 2 or c.outcome not in ("equivalent", "not conclusive"):
            return None
        return max(abs(c.mean - c.half), abs(c.mean + c.half))

    def excluded_text(self) -> str:
        bound = self.excluded()
        if bound is None:
            return ""
        p = self.prediction
        return f"|d| > {bound:.{p.digits}f}{p.unit}"


@dataclass(frozen=True, repr=False)
class Scoreboard:
    """Every prediction of the registry with its verdict, one :class:`ScoreRow` each, in
    the registry's order by chapter. ``compact`` drops the statement and endpoint columns.
    Its ``repr`` (text/plain, what nbval sees) is :meth:`text`; in a notebook it renders as
    :meth:`html`; :meth:`markdown` is the MyST table the book's index page includes."""
    rows: tuple[ScoreRow, ...]
    compact: bool = False

    HEADER = ("Prediction", "Statement", "Primary endpoint", "Primary d̄ [95% interval]",
              "Verdict", "Data exclude")
    COMPACT = (0, 3, 4, 5)

    def _columns(self) -> tuple[int, ...]:
        return self.COMPACT if self.compact else tuple(range(len(self.HEADER)))

    def cells(self, row: ScoreRow) -> tuple[str, ...]:
        """The plain-text cells of ``row`` in the header's order."""
        p = row.prediction
        return (p.id, _shorten(p.statement, 80), _shorten(p.endpoint, 60),
                row.primary_text(), row.verdict, row.excluded_text())

    def counts(self) -> dict[str, int]:
        """How many predictions have each verdict (only verdicts that occur)."""
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.verdict] = out.get(row.verdict, 0) + 1
        return out

    def summary_text(self) -> str:
        order = [*VERDICTS, NOT_RECORDED]
        counts = self.counts()
        return (f"{_plural(len(self.rows), 'prediction')}: "
                + ", ".join(f"{counts[v]} {v}" for v in order if v in counts))

    def text(self) -> str:
        """The scoreboard as plain text: the summary line, then one block per prediction."""
        lines = [self.summary_text()]
        for row in self.rows:
            cells = self.cells(row)
            lines.append(f"{cells[0]} (chapter {row.prediction.chapter}): {cells[4]}")
            for i in self._columns()[1:]:
                if i != 4 and cells[i]:
                    lines.append(f"  {self.HEADER[i]}: {cells[i]}")
        return "\n".join(lines)

    def html(self, href: str = "") -> str:
        """An HTML table (``div.dlnft-scoreboard``, scrolled inside its own box on a narrow
        screen); each id links to ``href + NN_slug.html#act-3`` of its chapter when the
        chapters are found (:func:`chapter_docs`), verdicts as sphinx-design badges."""
        docs = chapter_docs()
        cols = self._columns()
        head = "".join(f"<th>{html.escape(self.HEADER[i])}</th>" for i in cols)
        body = []
        for row in self.rows:
            cells = [html.escape(c) for c in self.cells(row)]
            doc = docs.get(row.prediction.chapter)
            if doc:
                cells[0] = f'<a href="{html.escape(href + doc)}.html">{cells[0]}</a>'
            cells[0] = f"<code>{cells[0]}</code>"
            colour = SCORE_BADGE[row.verdict]
            cells[4] = (f'<span class="sd-badge sd-bg-{colour} sd-bg-text-{colour}">'
                        f"{cells[4]}</span>")
            body.append("<tr>" + "".join(f"<td>{cells[i]}</td>" for i in cols) + "</tr>")
        return (f'<div class="dlnft-scoreboard"><p>{html.escape(self.summary_text())}</p>'
                f'<table class="dlnft-scoreboard-table"><thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(body)}</tbody></table></div>')

    def markdown(self, doc_prefix: str = "chapters/") -> str:
        """The scoreboard as a MyST pipe table: ids as ``{doc}`` links to
        ``doc_prefix + NN_slug`` (plain code where the chapter is not found), verdicts as
        sphinx-design ``{bdg-COLOUR}`` badges."""
        docs = chapter_docs()
        cols = self._columns()

        def md(text: str) -> str:
            return re.sub(r"([\\`*_\[\]<>{}$|])", r"\\\1", text)

        lines = ["| " + " | ".join(self.HEADER[i] for i in cols) + " |",
                 "|" + "---|" * len(cols)]
        for row in self.rows:
            cells = [md(c) for c in self.cells(row)]
            pid, doc = row.prediction.id, docs.get(row.prediction.chapter)
            cells[0] = (f"{{doc}}`{pid} <{doc_prefix}{doc}>`" if doc else f"`{pid}`")
            cells[4] = f"{{bdg-{SCORE_BADGE[row.verdict]}}}`{row.verdict}`"
            lines.append("| " + " | ".join(cells[i] for i in cols) + " |")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


def scoreboard(entries=None, *, compact: bool = False, load=None) -> Scoreboard:
    """The scoreboard of ``entries`` (default: every prediction of
    :data:`dlnft.experiments.predictions.PREDICTIONS`), each judged by
    :func:`dlnft.experiments.summary.judge` on its recorded file, sorted by chapter (registry
    order within one). A prediction whose recorded file is missing or holds no run
    (:class:`dlnft.experiments.results.ResultsError`) is listed as "not recorded".
    load: the function that reads an experiment's merged results (default
    :func:`dlnft.experiments.results.load_recorded`); each file is read once.
    """
    from . import predictions
    from .results import ResultsError, load_recorded

    entries = predictions.PREDICTIONS if entries is None else tuple(entries)
    bad = [e for e in entries if not isinstance(e, Prediction)]
    if bad or not entries:
        raise ValueError(f"entries must be a non-empty sequence of Prediction objects, got "
                         f"{bad[0] if bad else entries!r}")
    if not isinstance(compact, bool):
        raise ValueError(f"compact must be True or False, got {compact!r}")
    load = load_recorded if load is None else load
    merged: dict[str, dict | ResultsError] = {}
    rows = []
    for p in sorted(entries, key=lambda e: e.chapter):
        if p.experiment not in merged:
            try:
                merged[p.experiment] = load(p.experiment)
            except ResultsError as exc:
                merged[p.experiment] = exc
        data = merged[p.experiment]
        if isinstance(data, ResultsError):
            rows.append(ScoreRow(p, None, str(data)))
        else:
            rows.append(ScoreRow(p, judge(p, data)))
    return Scoreboard(tuple(rows), compact)


SCORE_COLOUR = {
    "held": "#1a7f37", "held in part": "#0b7285", "mixed": "#b07d00", "failed": "#c62828",
    "no effect larger than δ": "#1f5fa8", "not conclusive": "#6e6e6e",
    NOT_RECORDED: "#b8b8b8",
}
"""The colour of each scoreboard verdict in :func:`scoreboard_plot` (that of its badge and
of the result box's border, ``_static/result.css``)."""


def _check_plot_args(board, width) -> None:
    """The arguments of :func:`scoreboard_plot` and :func:`headline_plot`, or ValueError."""
    if not isinstance(board, Scoreboard):
        raise ValueError(f"board must be a Scoreboard (see scoreboard), got {board!r}")
    if not (isinstance(width, (int, float)) and 2 <= width <= 10):
        raise ValueError(f"width must be between 2 and 10 inches, got {width!r}")


def scoreboard_plot(board: Scoreboard, width: float = 4.67):
    """How many predictions of ``board`` have each verdict: one horizontal bar per verdict
    that occurs, in :data:`SCORE_COLOUR`, the count written at its end, in the order of
    :data:`dlnft.experiments.summary.VERDICTS` then "not recorded". width: inches (the
    height follows from the number of bars). Returns the matplotlib Figure."""
    _check_plot_args(board, width)
    counts = board.counts()
    order = [v for v in (*VERDICTS, NOT_RECORDED) if v in counts]
    fig, ax = plt.subplots(figsize=(width, 0.55 + 0.32 * len(order)))
    ys = range(len(order))[::-1]
    ax.barh(list(ys), [counts[v] for v in order], color=[SCORE_COLOUR[v] for v in order],
            height=0.7)
    for y, v in zip(ys, order):
        ax.text(counts[v] + 0.1, y, str(counts[v]), va="center", ha="left")
    ax.set_yticks(list(ys), order)
    ax.set_xlim(0, max(counts.values()) * 1.15 + 0.5)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel(f"predictions (of {len(board.rows)})")
    fig.tight_layout()
    return fig


def headline_plot(board: Scoreboard, width: float = 4.67):
    """Every prediction of ``board`` on one axis: the book's headline figure (index page).

    One row per prediction, in the board's order (by chapter): its primary paired difference
    d̄ with its 95% interval divided by the prediction's margin δ and, for a direction claim,
    signed so that the predicted direction points right (``sign · d̄ / δ``); a direction claim
    needs its interval right of 0. An equivalence claim (chapter 1's drift slopes) is drawn
    unsigned, ``d̄ / δ``, and holds when its interval lies inside the shaded band (-1, 1).
    The marker's colour is the verdict's (:data:`SCORE_COLOUR`); a single seed has no
    interval; a prediction not recorded is named and left empty. The x axis
    is linear within (-1, 1) and logarithmic beyond (``symlog``), so that effects of 0.1 δ and
    of 15 δ both show. width: inches (the height follows from the rows). Returns the Figure.
    """
    _check_plot_args(board, width)
    rows = board.rows
    if not rows:
        raise ValueError("board must hold at least one prediction, got none")
    fig, ax = plt.subplots(figsize=(width, 1.2 + 0.27 * len(rows)))
    ax.axvspan(-1, 1, color=BAND, alpha=0.15, lw=0)
    ax.axvline(0, color="k", lw=0.6)
    ys = list(range(len(rows)))[::-1]
    seen = []
    for y, row in zip(ys, rows):
        verdict = row.verdict
        if verdict not in seen:
            seen.append(verdict)
        colour = SCORE_COLOUR[verdict]
        if row.judgement is None:
            ax.text(0.05, y, NOT_RECORDED, va="center", ha="left", fontsize=9, color=colour)
            continue
        p, c = row.prediction, row.judgement.primary
        x = (p.sign if p.claim == "direction" else 1) * c.mean / p.delta
        half = c.half / p.delta if c.n >= 2 and math.isfinite(c.half) else None
        ax.errorbar([x], [y], xerr=None if half is None else [[half], [half]], fmt="o",
                    ms=6, color=colour, ecolor=colour, capsize=2.5, lw=1.5)
    ax.set_xscale("symlog", linthresh=1, linscale=1.2)
    low, high = ax.get_xlim()
    ax.set_xlim(min(-2.0, low), max(2.0, high))
    ticks = [t for t in (-100, -10, -1, 0, 1, 10, 100)
             if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}".replace("-", "−") for t in ticks])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_yticks(ys, [r.prediction.id for r in rows])
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel("primary difference / δ (predicted direction: right)")
    ax.tick_params(axis="y", labelsize=10)
    handles = [Line2D([], [], color=SCORE_COLOUR[v], marker="o", ls="none", ms=6, label=v)
               for v in seen]
    handles.append(Patch(color=BAND, alpha=0.3, label="(−1, 1): within ±δ"))
    legend_h = 0.25 * math.ceil(len(handles) / 2) + 0.1
    height = fig.get_figheight() + legend_h
    fig.set_figheight(height)
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, legend_h / height, 1, 1))
    return fig
