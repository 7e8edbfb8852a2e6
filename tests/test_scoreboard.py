"""The scoreboard of every prediction (dlnft.experiments.report.scoreboard)."""
from __future__ import annotations

import math
import re

import pytest

from dlnft.experiments import predictions, report, results, summary
from dlnft.experiments.predictions import Prediction


@pytest.fixture(scope="module")
def loaded():
    """Each experiment's recorded file, read once (ResultsError where it is missing)."""
    out = {}
    for p in predictions.PREDICTIONS:
        if p.experiment not in out:
            try:
                out[p.experiment] = results.load_recorded(p.experiment)
            except results.ResultsError as exc:
                out[p.experiment] = exc
    return out


def loader(loaded, gone: str | None = None):
    """load(name) over the files read once; the file of experiment ``gone`` reads as missing."""
    def load(name):
        if name == gone:
            raise results.ResultsError(f"data/results/{name}.json is missing")
        if isinstance(loaded[name], Exception):
            raise loaded[name]
        return loaded[name]
    return load


@pytest.fixture(scope="module")
def board(loaded):
    return report.scoreboard(load=loader(loaded))


def test_one_row_per_prediction_by_chapter(board):
    ids = [r.prediction.id for r in board.rows]
    assert sorted(ids) == sorted(p.id for p in predictions.PREDICTIONS)
    chapters = [r.prediction.chapter for r in board.rows]
    assert chapters == sorted(chapters)


def test_values_equal_the_rules_judgement(board, loaded):
    recorded = [r for r in board.rows if r.judgement is not None]
    assert recorded, "no prediction has a recorded file"
    for row in recorded:
        p = row.prediction
        j = summary.judge(p, loaded[p.experiment])
        assert row.verdict == j.verdict
        assert row.judgement.comparisons == j.comparisons
        c = j.primary
        text = row.primary_text()
        assert f"{c.mean:+.{p.digits}f}" in text
        if c.n >= 2:
            assert f"[{c.mean - c.half:+.{p.digits}f}, {c.mean + c.half:+.{p.digits}f}]" in text
            assert f"n = {c.n}" in text
        else:
            assert "one seed" in text


def test_nulls_give_the_largest_effect_outside_the_interval(board):
    for row in board.rows:
        if row.judgement is None:
            assert row.excluded() is None
            continue
        c = row.judgement.primary
        if c.n >= 2 and c.outcome in ("equivalent", "not conclusive"):
            bound = max(abs(c.mean - c.half), abs(c.mean + c.half))
            assert math.isclose(row.excluded(), bound)
            # every value of the interval is within the bound, its ends reach it
            assert abs(c.mean - c.half) <= bound and abs(c.mean + c.half) <= bound
            assert f"|d| > {bound:.{row.prediction.digits}f}" in row.excluded_text()
        else:
            assert row.excluded() is None and row.excluded_text() == ""


def test_missing_file_is_not_recorded_and_the_rest_still_judged(loaded):
    entries = predictions.PREDICTIONS
    gone = entries[-1].experiment

    board = report.scoreboard(load=loader(loaded, gone))
    for row in board.rows:
        if row.prediction.experiment == gone:
            assert row.verdict == "not recorded" and row.judgement is None
            assert "missing" in row.missing and row.primary_text() == "—"
    assert board.counts()["not recorded"] >= 1
    assert sum(board.counts().values()) == len(entries)
    assert "not recorded" in board.text() and "not recorded" in board.html()


def test_other_errors_are_not_swallowed():
    def load(name):
        raise KeyError(name)
    with pytest.raises(KeyError):
        report.scoreboard(load=load)


def test_html_markdown_and_compact(board):
    docs = report.chapter_docs()
    assert docs[8] == "08_conclusion"
    page = board.html()
    md = board.markdown()
    for row in board.rows:
        p = row.prediction
        assert f'href="{docs[p.chapter]}.html"' in page
        assert f"{{doc}}`{p.id} <chapters/{docs[p.chapter]}>`" in md
        colour = report.SCORE_BADGE[row.verdict]
        assert f"{{bdg-{colour}}}`{row.verdict}`" in md
    lines = md.splitlines()
    assert len(lines) == 2 + len(board.rows)
    # every row has as many cells as the header: no unescaped "|" inside a cell
    widths = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
    assert widths == {len(board.HEADER) + 2}
    compact = report.Scoreboard(board.rows, compact=True)
    assert compact.markdown().splitlines()[0].count("|") == len(board.COMPACT) + 1
    assert "Statement" not in compact.html() and "Statement" in page
    assert board.text().splitlines()[0] == board.summary_text()


def test_shorten_cuts_at_a_word():
    assert report._shorten("Short. Second sentence.", 50) == "Short"
    long = "word " * 40
    cut = report._shorten(long, 30)
    assert len(cut) <= 30 and cut.endswith("…") and " wor…" not in cut


@pytest.mark.parametrize("entries, compact, match", [
    ((), False, "entries"), (("6.lambda.heldout",), False, "entries"),
    (None, "yes", "compact")])
def test_bad_arguments(entries, compact, match):
    with pytest.raises(ValueError, match=match):
        report.scoreboard(entries, compact=compact)


def test_a_custom_entry_is_judged_by_the_rule(loaded):
    base = predictions.get("6.lambda.heldout")
    flipped = Prediction(**{**base.__dict__, "id": "9.flipped", "sign": -base.sign})
    board = report.scoreboard([flipped], load=lambda name: loaded[name])
    assert board.rows[0].verdict == summary.judge(flipped, loaded[base.experiment]).verdict


def test_the_book_builds_the_scoreboard_from_the_registry(root):
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())["sphinx"]
    assert config["local_extensions"]["scoreboard"] == "_ext"
    index = (root / "index.md").read_text()
    assert re.search(r"```\{scoreboard\}\n:compact:\n```", index)
    chapter8 = (root / "chapters" / "08_conclusion.md").read_text()
    first_heading = chapter8.index("\n## ")
    assert "report.scoreboard()" in chapter8[:first_heading], "chapter 8 does not open with it"


@pytest.fixture(scope="module")
def html(request):
    """The built book: ``DLNFT_BOOK_HTML`` when set, else the session's build."""
    import os
    from pathlib import Path

    given = os.environ.get("DLNFT_BOOK_HTML")
    return Path(given) if given else request.getfixturevalue("book_html")


@pytest.mark.slow
def test_index_and_chapter_8_show_every_prediction(html, board):
    index = (html / "index.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="[^"]*dlnft-scoreboard-table.*?</table>', index, re.S)
    assert table, "the index has no scoreboard table"
    rows = re.findall(r"<tr", table.group(0))
    assert len(rows) == 1 + len(board.rows)
    docs = report.chapter_docs()
    for row in board.rows:
        p = row.prediction
        assert re.search(rf'href="chapters/{docs[p.chapter]}.html"[^>]*>.*?{re.escape(p.id)}',
                         table.group(0), re.S), p.id
        assert f">{row.verdict}<" in table.group(0)
    chapter8 = (html / "chapters" / "08_conclusion.html").read_text(encoding="utf-8")
    assert chapter8.count('class="dlnft-scoreboard-table"') == 1
    for row in board.rows:
        assert f">{row.prediction.id}</a>" in chapter8


def test_scoreboard_plot_has_one_bar_per_verdict(board):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    fig = report.scoreboard_plot(board)
    ax = fig.axes[0]
    counts = board.counts()
    bars = ax.patches
    assert len(bars) == len(counts)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(counts)
    for label, y in zip(labels, ax.get_yticks()):
        bar = next(b for b in bars if abs(b.get_y() + b.get_height() / 2 - y) < 1e-9)
        assert bar.get_width() == counts[label]
        assert to_hex(bar.get_facecolor()) == report.SCORE_COLOUR[label]
    plt.close(fig)
    with pytest.raises(ValueError, match="board"):
        report.scoreboard_plot(board.rows)
    with pytest.raises(ValueError, match="width"):
        report.scoreboard_plot(board, width=20)


def test_headline_plot_puts_every_primary_at_its_signed_multiple_of_delta(board, loaded):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    fig = report.headline_plot(board)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [r.prediction.id for r in board.rows]
    assert ax.get_xscale() == "symlog"
    # every marker: x = sign · mean / δ for a direction claim, mean / δ for an equivalence
    points = {}
    for line in ax.get_lines():
        x, y = line.get_xdata(), line.get_ydata()
        if len(x) == 1 and line.get_marker() == "o":
            points[round(float(y[0]))] = (float(x[0]), to_hex(line.get_color()))
    ys = list(range(len(board.rows)))[::-1]
    for y, row in zip(ys, board.rows):
        p, c = row.prediction, row.judgement.primary
        sign = p.sign if p.claim == "direction" else 1
        x, colour = points[y]
        assert x == pytest.approx(sign * c.mean / p.delta), p.id
        assert colour == report.SCORE_COLOUR[row.verdict], p.id
    # the direction claims that held lie right of 0 with their whole interval; failed ones left
    for y, row in zip(ys, board.rows):
        if row.prediction.claim == "direction" and row.verdict in ("held", "failed"):
            assert (points[y][0] > 0) == (row.verdict == "held"), row.prediction.id
    # a 2x PNG that carries its tick size, as the notebooks' figures
    from dlnft.plotting import figure_png, use_book_style

    use_book_style()
    encoded, size = figure_png(report.headline_plot(board))
    assert size["width"] > 300 and encoded
    plt.close("all")
    with pytest.raises(ValueError, match="board"):
        report.headline_plot(board.rows)
    with pytest.raises(ValueError, match="width"):
        report.headline_plot(board, width=1)


def test_headline_plot_names_a_prediction_that_is_not_recorded(loaded):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gone = predictions.PREDICTIONS[-1].experiment

    fig = report.headline_plot(report.scoreboard(load=loader(loaded, gone)))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("not recorded") == sum(p.experiment == gone
                                              for p in predictions.PREDICTIONS)
    plt.close(fig)


def test_the_index_draws_the_headline_figure_at_build_time(root):
    index = (root / "index.md").read_text()
    assert re.search(r"```\{headline-figure\}\n\S", index), "the index has no headline figure"
    assert index.index("{headline-figure}") < index.index("## The setting"), "not at the top"


@pytest.mark.slow
def test_the_built_index_shows_the_headline_figure(html):
    from PIL import Image

    index = (html / "index.html").read_text(encoding="utf-8")
    src = re.search(r'<figure class="[^"]*dlnft-headline[^"]*"[^>]*><img src="([^"]+)"', index)
    assert src, "the built index has no headline figure"
    with Image.open(html / src.group(1)) as img:
        assert "dlnft:tick_pt" in img.info and img.size[0] > 600
