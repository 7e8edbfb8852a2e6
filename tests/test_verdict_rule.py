"""The book's one verdict rule (dlnft.experiments.summary) and the prediction registry."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dlnft.experiments import predictions, summary
from dlnft.experiments.summary import compare, holm, signflip_p, verdict_of

OK, NO, EQ, NC = "as predicted", "opposite", "equivalent", "not conclusive"


def test_signflip_p_matches_enumeration_and_scipy():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.25])
    brute = np.mean([abs(np.dot(s, d)) >= abs(d.sum()) - 1e-12
                     for s in itertools.product((-1, 1), repeat=d.size)])
    assert signflip_p(d) == pytest.approx(brute)
    ref = stats.permutation_test((d,), np.mean, permutation_type="samples",
                                 n_resamples=np.inf, alternative="two-sided")
    assert signflip_p(d) == pytest.approx(ref.pvalue)


def test_signflip_p_edge_cases():
    assert signflip_p([0.0, 0.0, 0.0]) == 1.0                     # no effect: p = 1
    assert signflip_p([2.0, 2.0]) == 0.5                          # two seeds: at least 1/2
    assert signflip_p([1.0] * 6) == pytest.approx(2 / 64)         # zero spread: 2 / 2^n
    assert signflip_p([1.0, -1.0]) == 1.0                         # a tie counts as a hit
    assert signflip_p([3.0]) == 1.0                               # one seed: nothing tested
    mc = signflip_p(np.linspace(0.1, 2.0, 24))                    # Monte Carlo, fixed draws
    assert mc == signflip_p(np.linspace(0.1, 2.0, 24)) and mc < 1e-4
    for bad in ([], [1.0, math.inf], [[1.0, 2.0]]):
        with pytest.raises(ValueError, match="diffs"):
            signflip_p(bad)


def test_holm_step_down():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5]) == [0.5]
    assert holm([0.2, 0.9, 0.01]) == pytest.approx([0.4, 0.9, 0.03])
    with pytest.raises(ValueError, match="pvalues"):
        holm([1.5])


def test_outcomes_at_and_around_thresholds():
    # equal differences: zero spread, p = 2 / 2^n; 8 seeds give p = 0.0078 < 0.05
    (c,) = compare({"a": [1.0] * 8}, +1, 0.5)
    assert (c.outcome, c.half, c.excludes) == (OK, 0.0, None)
    (c,) = compare({"a": [1.0] * 8}, -1, 0.5)
    assert c.outcome == NO and c.excludes == -1.0
    # 5 seeds can never reach p < 0.05 with a sign-flip test (min p = 1/16)
    (c,) = compare({"a": [5.0] * 5}, +1, 0.5)
    assert c.p == 0.0625 and c.outcome == NC
    # an interval ending exactly at delta is not inside (-delta, delta)
    (c,) = compare({"a": [0.0, 0.0, 0.0]}, +1, 1e-9)
    assert c.outcome == EQ and c.excludes == 0.0
    d = np.array([0.1, -0.1, 0.1, -0.1])
    mean, half = summary.mean_ci(d)
    (c,) = compare({"a": d}, +1, half)
    assert c.outcome == NC
    (c,) = compare({"a": d}, +1, half * (1 + 1e-9))
    assert c.outcome == EQ
    # exactly two seeds: an interval, never significance
    (c,) = compare({"a": [1.0, 1.2]}, +1, 0.1)
    assert c.n == 2 and c.p == 0.5 and c.outcome == NC and c.excludes > 1
    (c,) = compare({"a": {7: 0.4}}, +1, 0.1)
    assert c.n == 1 and math.isnan(c.half) and c.outcome == NC and c.excludes is None


def test_verdicts():
    assert verdict_of([OK, NC]) == verdict_of([OK, EQ]) == "held"
    assert verdict_of([NC, OK]) == verdict_of([EQ, OK]) == "held in part"
    assert verdict_of([OK, NO]) == verdict_of([NC, OK, NO]) == "mixed"
    assert verdict_of([NC, NO]) == verdict_of([NO]) == "failed"
    assert verdict_of([EQ, NC]) == verdict_of([EQ]) == "no effect larger than δ"
    assert verdict_of([NC, EQ]) == verdict_of([NC]) == "not conclusive"
    assert verdict_of([EQ, NC], "equivalence") == "held"
    assert verdict_of([EQ, OK], "equivalence") == verdict_of([NO], "equivalence") == "failed"
    assert verdict_of([NC], "equivalence") == "not conclusive"
    with pytest.raises(ValueError, match="outcomes"):
        verdict_of(["held"])
    with pytest.raises(ValueError, match="outcomes"):
        verdict_of([])
    with pytest.raises(ValueError, match="claim"):
        verdict_of([OK], "sign")
    with pytest.raises(ValueError, match="sign"):
        compare({"a": [1.0, 2.0]}, 0, 1.0)
    with pytest.raises(ValueError, match="delta"):
        compare({"a": [1.0, 2.0]}, 1, 0.0)
    with pytest.raises(ValueError, match="family"):
        compare({}, 1, 1.0)


def test_one_p_of_0_04_among_six_is_not_held_in_part():
    """A family with one comparison at p ≈ 0.04 and five nulls: under a t interval without
    correction it would be 'held in part'; Holm over the six leaves it not conclusive."""
    hit = [0.9, 1.1, 0.8, 1.2, 1.0, 0.7, 0.3, -0.8]           # 8 seeds: p = 10/256
    nulls = [[0.5, -0.4, 0.3, -0.6, 0.2, -0.1, 0.4, -0.3]] * 5
    family = {f"null {k}": v for k, v in enumerate(nulls)} | {"hit": hit}
    rows = compare(family, +1, 0.1)
    hit_row = rows[-1]
    assert 0.03 < hit_row.p < 0.05 and hit_row.p_holm > 0.05
    assert hit_row.mean - hit_row.half > 0                     # the t interval excludes zero
    assert verdict_of([r.outcome for r in rows]) == "not conclusive"


diffs = st.lists(st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 3)),
                 min_size=2, max_size=9)
families = st.lists(diffs, min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(families, st.sampled_from((1, -1)), st.floats(0.01, 5))
def test_flipping_every_sign_and_the_prediction_keeps_the_verdict(fam, sign, delta):
    a = compare({str(i): d for i, d in enumerate(fam)}, sign, delta)
    b = compare({str(i): [-x for x in d] for i, d in enumerate(fam)}, -sign, delta)
    assert [r.outcome for r in a] == [r.outcome for r in b]
    assert [r.p for r in a] == pytest.approx([r.p for r in b])
    assert verdict_of([r.outcome for r in a]) == verdict_of([r.outcome for r in b])


@settings(max_examples=60, deadline=None)
@given(diffs, st.randoms(use_true_random=False))
def test_permuting_the_seeds_changes_nothing(d, rnd):
    shuffled = list(d)
    rnd.shuffle(shuffled)
    (a,), (b,) = compare({"a": d}, 1, 0.5), compare({"a": shuffled}, 1, 0.5)
    assert a.outcome == b.outcome and a.p == pytest.approx(b.p)
    assert a.mean == pytest.approx(b.mean) and a.half == pytest.approx(b.half)


@settings(max_examples=60, deadline=None)
@given(families, diffs)
def test_adding_a_comparison_never_makes_one_more_significant(fam, extra):
    family = {str(i): d for i, d in enumerate(fam)}
    before = compare(family, 1, 0.5)
    after = compare(family | {"extra": extra}, 1, 0.5)
    for b, a in zip(before, after):
        assert a.p == b.p and a.p_holm >= b.p_holm - 1e-12
        if b.outcome not in (OK, NO):
            assert a.outcome not in (OK, NO)


def test_grok_step_and_fits():
    pt = {"curves": {"step": [0, 100, 200], "test_acc": [0.1, 0.96, 0.99],
                     "train_acc": [0.2, 1.0, 0.985]}}
    assert summary.grok_step(pt) == 100
    assert summary.grok_step(pt, threshold=0.999, budget=5000) == 5000   # censored
    assert summary.grok_step(pt, threshold=0.999) is None
    assert not summary.fits(pt) and summary.fits(pt, 0.98)
    with pytest.raises(ValueError, match="threshold"):
        summary.grok_step(pt, threshold=0)


def test_every_prediction_is_judged_from_its_recorded_file():
    from dlnft.experiments.results import load_recorded

    ids = [p.id for p in predictions.PREDICTIONS]
    assert len(ids) == len(set(ids))
    for p in predictions.PREDICTIONS:
        if p.experiment not in ("balance", "modular_scale", "modular", "resnet_fmnist"):
            continue                                     # judged where its file is recorded
        j = summary.judge(p, load_recorded(p.experiment))
        assert j.verdict in summary.VERDICTS and j.id == p.id
        assert all(c.outcome in summary.OUTCOMES for c in j.comparisons)
    # one claim, one verdict: the ResNet's small-first-layer claim is one entry
    assert sum("small_conv1" in i for i in ids) == 1


def test_load_recorded_names_the_command(tmp_path):
    from dlnft.experiments.results import ResultsError, load_recorded

    with pytest.raises(ResultsError, match="python -m dlnft.experiments modular --scale full"):
        load_recorded("modular", out=tmp_path)
    with pytest.raises(ValueError, match="name"):
        load_recorded("nope", out=tmp_path)


def test_load_recorded_refuses_a_run_outside_the_registry(tmp_path):
    import json
    import shutil

    from dlnft.experiments import results
    from dlnft.experiments.results import ResultsError, load_recorded

    shutil.copy(results.merged_path("balance"), tmp_path / "balance.json")
    assert load_recorded("balance", out=tmp_path)["runs"]
    data = json.loads((tmp_path / "balance.json").read_text())
    run = data["runs"][0]
    run["config"]["lrs"] = [0.125, 0.25, 0.5, 1.0]           # a protocol that drifted
    run["checksum"] = results.checksum(run)
    results.write_json(tmp_path / "balance.json", data)
    with pytest.raises(ResultsError, match="not among the registry's full-scale configs"):
        load_recorded("balance", out=tmp_path)
