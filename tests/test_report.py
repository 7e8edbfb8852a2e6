"""Result boxes and forest plots of judged predictions (dlnft.experiments.report)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from dlnft.experiments import predictions, report, results, summary  # noqa: E402
from dlnft.experiments.predictions import Prediction  # noqa: E402

PRED = Prediction(id="9.test.effect", chapter=9, experiment="modular", statement="It rises.",
                  endpoint="accuracy, high minus low", metric="test_acc", sign=1,
                  delta=0.05, family="unused:unused", unit=" acc", digits=3)
MERGED = {"runs": [{"config": {"seed": s},
                    "provenance": {"device": "cpu (x86_64)", "commit": f"{'ab' * 20}",
                                   "date": f"2026-11-2{s}T10:00:00+00:00"}}
                   for s in range(8)]}


def judged(family: dict, prediction: Prediction = PRED) -> summary.Judgement:
    rows = summary.compare(family, prediction.sign, prediction.delta)
    return summary.Judgement(prediction.id, prediction.sign, prediction.delta,
                             prediction.claim, tuple(rows),
                             summary.verdict_of([r.outcome for r in rows], prediction.claim))


HELD = {"primary": [0.11, 0.12, 0.10, 0.13, 0.09, 0.12, 0.14, 0.1],
        "other": [0.02, -0.01, 0.03, 0.0, 0.01, 0.02, -0.02, 0.01]}
NULL = {"primary": [0.01, -0.01, 0.0, 0.02, -0.02, 0.005]}


def test_box_text_holds_the_judged_numbers():
    j = judged(HELD)
    box = report.result_box(PRED, MERGED, j)
    c = j.primary
    text = box.text()
    assert repr(box) == text
    assert text.splitlines()[:2] == ["Prediction 9.test.effect", "Verdict: held"]
    assert f"{c.mean:+.3f} ± {c.half:.3f} acc (95% interval over 8 seeds)" in text
    assert f"Holm p {c.p_holm:.3f}, as predicted" in text
    assert "8 runs, 8 seeds, on cpu (x86_64), 2026-11-20 to 2026-11-27, commit abababa" in text
    assert "Prediction: It rises." in text and "δ = 0.050 acc" in text
    assert "The data:" not in text                   # nothing to exclude: as predicted
    html = box._repr_html_()
    assert "sd-badge sd-bg-success" in html and "sd-card" in html and "It rises." in html


def test_box_of_a_null_says_what_it_excludes():
    j = judged(NULL)
    box = report.result_box(PRED, MERGED, j)
    assert box.verdict == "no effect larger than δ"
    assert f"The data: {j.excluded_text(3, ' acc')}" in box.text()
    assert "sd-bg-primary" in box.html()
    one = report.result_box(PRED, MERGED, judged({"primary": [0.2]}))
    assert "(one seed: no interval, no test), not conclusive" in one.text()


def test_box_from_the_recorded_file_matches_the_rule():
    box = report.result_box("3.cka.alpha")
    j = summary.judge(predictions.get("3.cka.alpha"), results.load_recorded("resnet_fmnist"))
    assert box.judgement == j and box.verdict == j.verdict
    assert f"{j.primary.mean:+.2f} ± {j.primary.half:.2f} decades" in box.text()
    assert "data/results/resnet_fmnist.json" in box.text()


def test_box_refuses_bad_input():
    with pytest.raises(ValueError, match="no prediction"):
        report.result_box("0.nothing")
    with pytest.raises(ValueError, match="prediction must be"):
        report.result_box(3.5, MERGED)
    with pytest.raises(ValueError, match="merged must be"):
        report.result_box(PRED, {"runs": []}, judged(HELD))
    other = judged(HELD, predictions.get("7.modular.new"))
    with pytest.raises(ValueError, match="judgement must be the Judgement of '9.test"):
        report.result_box(PRED, MERGED, other)


def _rows(ax):
    """(x, y, colour) of each plotted comparison's marker."""
    return [(line.get_xdata()[0], line.get_ydata()[0], to_hex(line.get_color()))
            for line in ax.lines if line.get_marker() not in ("None", "", None)
            and len(line.get_xdata()) == 1]


def test_forest_plot_one_row_per_comparison_with_outcome_colours():
    box = report.result_box(PRED, MERGED, judged(HELD))
    null = report.result_box(PRED, MERGED, judged(NULL))
    fig = report.forest_plot(box, null)
    ax = fig.axes[0]
    rows = _rows(ax)
    comps = list(box.judgement.comparisons) + list(null.judgement.comparisons)
    assert len(rows) == len(comps) == 3
    assert [x for x, _, _ in rows] == pytest.approx([c.mean for c in comps])
    assert [y for _, y, _ in rows] == sorted((y for _, y, _ in rows), reverse=True)
    assert [col for _, _, col in rows] == [report.OUTCOME_STYLE[c.outcome][0]
                                           for c in comps]
    labels = {t.get_text() for t in ax.texts}
    assert {"primary", "other"} <= labels and "9.test.effect: held" in labels
    plt.close(fig)


def test_forest_plot_shades_the_predicted_side_and_the_band():
    for sign in (1, -1):
        pred = Prediction(**{**PRED.__dict__, "sign": sign})
        fig = report.forest_plot(report.result_box(pred, MERGED,
                                                   judged({"d": [0.3, 0.2, 0.4]}, pred)))
        ax = fig.axes[0]
        spans = [p.get_paths()[0].vertices[:, 0] for p in ax.collections]
        band, side = spans
        assert band.min() == pytest.approx(-0.05) and band.max() == pytest.approx(0.05)
        lo, hi = ax.get_xlim()
        assert (side.min(), side.max()) == pytest.approx((0, hi) if sign > 0 else (lo, 0))
        plt.close(fig)
    eq = Prediction(**{**PRED.__dict__, "claim": "equivalence"})
    fig = report.forest_plot(report.result_box(eq, MERGED, judged(NULL, eq)))
    assert len(fig.axes[0].collections) == 1                # the band only: no side
    plt.close(fig)


def test_forest_plot_refuses_bad_input():
    box = report.result_box(PRED, MERGED, judged(HELD))
    with pytest.raises(ValueError, match="at least one"):
        report.forest_plot()
    with pytest.raises(ValueError, match="ResultBox"):
        report.forest_plot(box.judgement)
    other = Prediction(**{**PRED.__dict__, "unit": " nats"})
    with pytest.raises(ValueError, match="share a unit"):
        report.forest_plot(box, report.result_box(other, MERGED, judged(HELD, other)))
    with pytest.raises(ValueError, match="width"):
        report.forest_plot(box, width=40)
    with pytest.raises(ValueError, match="per_delta"):
        report.forest_plot(box, per_delta=1)
    assert np.isfinite(box.judgement.primary.half)


def test_forest_plot_per_delta_puts_units_on_one_axis():
    """Different units share an axis in units of δ: each point and interval is divided by its
    prediction's δ, the band is (−1, 1)."""
    box = report.result_box(PRED, MERGED, judged(HELD))
    other = Prediction(**{**PRED.__dict__, "id": "9.other", "unit": " nats",
                          "delta": 4 * PRED.delta})
    box2 = report.result_box(other, MERGED, judged(HELD, other))
    fig = report.forest_plot(box, box2, per_delta=True)
    ax = fig.axes[0]
    points = [ln.get_xdata()[0] for ln in ax.lines if ln.get_marker() not in (None, "None", "")
              and len(ln.get_xdata()) == 1]
    c1, c2 = box.judgement.primary, box2.judgement.primary
    assert points[0] == pytest.approx(c1.mean / PRED.delta)
    assert points[len(box.judgement.comparisons)] == pytest.approx(c2.mean / other.delta)
    spans = [p.get_paths()[0].vertices[:, 0] for p in ax.collections]
    band1, _, band2, _ = spans                      # band and predicted side of each box
    for band in (band1, band2):
        assert (band.min(), band.max()) == pytest.approx((-1, 1))
    assert "/ δ" in ax.get_xlabel()
    plt.close(fig)
