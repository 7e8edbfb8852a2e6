"""The verdict rule (dlnft.experiments.summary) at its boundaries: every threshold met
exactly, both signs, two seeds and fewer, zero spread, the exact/Monte-Carlo switch, the
printed lines, and the tables of recorded sweeps. Each test pins values, not only kinds."""
from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dlnft.experiments import summary
from dlnft.experiments.summary import (Comparison, Judgement, compare, holm, judge,
                                       signflip_p, verdict_of)

OK, NO, EQ, NC = "as predicted", "opposite", "equivalent", "not conclusive"


def exactly(message: str) -> str:
    """A `match` pattern for the whole message, so that a changed word is noticed."""
    return "^" + re.escape(message) + "$"


# --- mean_ci -----------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [[1.0, 1.5], [0.0, 1.0, 2.0], [0.3, -0.1, 0.5, 0.2, 0.9]])
def test_mean_ci_is_the_student_t_interval(values):
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                              scale=stats.sem(values))
    mean, half = summary.mean_ci(values)
    assert mean == pytest.approx(np.mean(values), rel=1e-15)
    assert half == pytest.approx((hi - lo) / 2, rel=1e-12)
    assert summary.mean_ci(np.array(values) * 3 + 1) == pytest.approx((3 * mean + 1, 3 * half))


def test_mean_ci_reads_any_real_numbers_as_float64():
    # exact rationals (an accuracy as correct / total) have no square root of their own
    mean, half = summary.mean_ci([Fraction(1, 3), Fraction(2, 3)])
    t = 12.706204736174704                         # the 97.5% quantile of Student's t, 1 dof
    assert (mean, half) == pytest.approx((0.5, t * math.sqrt(1 / 18) / math.sqrt(2)))
    assert type(mean) is float and type(half) is float


def test_mean_ci_of_one_value_and_of_none():
    assert summary.mean_ci([2.5]) == (2.5, 0.0)
    assert summary.mean_ci([4, 4]) == (4.0, 0.0)                   # integers, zero spread
    assert summary.mean_ci([1, 3]) == pytest.approx((2.0, 12.706204736174704))
    with pytest.raises(ValueError, match=exactly("values must not be empty")):
        summary.mean_ci([])


# --- the sign-flip p-value ---------------------------------------------------------------------

def brute_force_p(d) -> float:
    d = np.asarray(d, dtype=float)
    target = abs(d.sum()) * (1 - 1e-12)
    return float(np.mean([abs(np.dot(s, d)) >= target
                          for s in itertools.product((-1, 1), repeat=d.size)]))


@pytest.mark.parametrize("d", [[2.0, -1.0], [0.5, 0.25, -0.1], [1.0, 2.0, 3.0, -6.5],
                               [0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.25, 0.0]])
def test_signflip_p_small_n_against_brute_force(d):
    assert signflip_p(d) == brute_force_p(d)


def test_signflip_p_is_exact_up_to_twenty_seeds_and_monte_carlo_above():
    # equal differences: only all-plus and all-minus reach |mean|, p = 2 / 2^n exactly
    for n in (2, 3, 16, 17, 20):
        assert signflip_p([1.0] * n) == 2 / 2**n
    # 17 seeds span two chunks of 2^16 patterns, and the hits of both count: sixteen 1s and
    # one -1 sum to 15; |s . d| >= 15 for s = +-(1, .., 1, +-1) (4 patterns) and for one of
    # the 1s flipped with the -1 flipped (16 each way): 36 of 2^17
    assert signflip_p([1.0] * 16 + [-1.0]) == 36 / 2**17
    # 21 seeds: Monte Carlo with the fixed generator, p = (1 + hits) / (1 + 2^20)
    p21 = signflip_p([1.0] * 21)
    assert p21 == 1 / (1 + summary.MC_DRAWS) and summary.MC_DRAWS == 2**20
    assert summary.EXACT_MAX == 20


def test_signflip_p_monte_carlo_is_reproducible():
    """The fixed generator makes a recorded p above 20 seeds the same on every run: 193,979 of
    the 2^20 drawn patterns reach this |mean|."""
    d = [0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.25, -0.3, 0.1, -0.2, 0.15, 0.05, -0.4, 0.35, 0.2,
         -0.1, 0.3, -0.25, 0.1, 0.05, -0.15, 0.2]
    assert signflip_p(d) == (1 + 193979) / (1 + 2**20)
    assert signflip_p(d) == pytest.approx(0.185, abs=2e-3)    # near the exact share


def test_signflip_p_does_not_depend_on_the_unit():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, -0.05, 0.25])
    p = signflip_p(d)
    assert 0 < p < 1
    for scale in (1e-12, 1e-6, 1e6, 1e12):
        assert signflip_p(d * scale) == p
    assert signflip_p(np.array([1e-200, 1e-200, 1e-200])) == 2 / 8


def test_a_pattern_exactly_at_the_tie_tolerance_counts_as_a_tie():
    """|1 − b| equals |1 + b| − 1e-9 (1 + b) to the last bit for this b: the pattern (+, −)
    is a tie and counts, p = 4/4; one ulp further it is not, p = 2/4."""
    b = 4.999999502500001e-10
    d = np.array([1.0, b])
    assert abs(1.0 - b) == abs(d.sum()) - 1e-9 * np.abs(d).sum()
    assert signflip_p(d) == 1.0
    assert signflip_p([1.0, 4.0e-9]) == 0.5
    # the same above 20 seeds (zeros add patterns, not values): every draw is a hit
    assert signflip_p(np.concatenate([d, np.zeros(19)])) == 1.0


def test_signflip_p_ties_and_degenerate_inputs():
    assert signflip_p([0.0, 0.0]) == signflip_p([0.0] * 5) == 1.0
    assert signflip_p([1.0, -1.0]) == 1.0
    assert signflip_p([0.1, 0.2, -0.3]) == 1.0                 # a sum of 0 up to rounding
    assert signflip_p([5.0]) == signflip_p({3: -2.0}) == 1.0
    assert signflip_p({0: 1.0, 1: 1.0, 2: 1.0}) == 0.25
    message = "diffs must be a non-empty list of finite numbers, got "
    for bad in ([], [1.0, math.nan], [1.0, -math.inf], [[1.0], [2.0]], {}, [1.0, None]):
        with pytest.raises(ValueError, match=exactly(message + repr(bad))):
            signflip_p(bad)


# --- Holm --------------------------------------------------------------------------------------

def test_holm_values():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], rel=1e-15)
    assert holm([0.6, 0.7]) == [1.0, 1.0]                      # capped at 1
    assert holm([0.02, 0.3, 0.02]) == pytest.approx([0.06, 0.3, 0.06], rel=1e-15)
    assert holm([0.0, 1.0]) == [0.0, 1.0]                      # both ends allowed
    assert holm([0.04, 0.001]) == pytest.approx([0.04, 0.002], rel=1e-15)
    assert holm([0, 1]) == [0.0, 1.0]
    assert holm([]) == []


@pytest.mark.parametrize("bad", [[1.5], [-0.1], [0.2, 1.0 + 1e-12], [[0.1, 0.2]], [math.nan],
                                 [0.1, None]])
def test_holm_refuses_what_is_not_a_list_of_p_values(bad):
    """A missing p-value (None) is refused by name like any other value outside [0, 1]."""
    with pytest.raises(ValueError, match=exactly(
            f"pvalues must be a list of numbers in [0, 1], got {bad!r}")):
        holm(bad)


# --- one comparison ----------------------------------------------------------------------------

def only(family, sign=1, delta=0.5) -> Comparison:
    (c,) = compare(family, sign, delta)
    return c


def test_zero_spread_of_zeros_is_neither_as_predicted_nor_opposite():
    for sign in (1, -1):
        c = only({"a": [0.0] * 12}, sign, 0.1)
        assert (c.mean, c.half, c.n, c.p, c.p_holm) == (0.0, 0.0, 12, 1.0, 1.0)
        assert (c.outcome, c.excludes) == (EQ, 0.0)


def test_a_significant_zero_mean_is_never_a_direction(monkeypatch):
    """Guard of the rule: p < 0.05 with a mean of exactly 0 has no sign to report."""
    monkeypatch.setattr(summary, "signflip_p", lambda d: 0.001)
    for sign in (1, -1):
        c = only({"a": [0.5, -0.5, 0.0]}, sign, 10.0)
        assert c.mean == 0.0 and c.p_holm == 0.001 and c.outcome == EQ
        c = only({"a": [0.5, -0.5, 0.0]}, sign, 0.1)
        assert c.outcome == NC


def test_a_holm_p_of_exactly_0_05_is_not_significant(monkeypatch):
    monkeypatch.setattr(summary, "signflip_p", lambda d: 0.025)
    rows = compare({"a": [1.0, 1.0, 1.0], "b": [2.0, 2.0, 2.0]}, 1, 0.5)
    assert [r.p_holm for r in rows] == [0.05, 0.05]
    assert [r.outcome for r in rows] == [NC, NC]
    monkeypatch.setattr(summary, "signflip_p", lambda d: 0.0249999)
    rows = compare({"a": [1.0, 1.0, 1.0], "b": [-2.0, -2.0, -2.0]}, 1, 0.5)
    assert [r.outcome for r in rows] == [OK, NO]


@pytest.mark.parametrize("sign", [1, -1])
def test_both_signs_significant_values(sign):
    d = [sign * x for x in (1.0, 1.2, 0.8, 1.1, 0.9, 1.0)]     # 6 seeds, p = 2/64
    c = only({7: d}, sign, 0.5)
    mean, half = summary.mean_ci(d)
    assert (c.label, c.n, c.outcome, c.excludes) == ("7", 6, OK, None)
    assert (c.mean, c.half, c.p, c.p_holm) == (mean, half, 2 / 64, 2 / 64)
    c = only({"a": d}, -sign, 0.5)
    assert c.outcome == NO
    assert c.excludes == pytest.approx(-abs(mean) + half) and c.excludes < 0


def test_exactly_two_seeds_give_an_interval_and_never_significance():
    c = only({"a": [1.0, 1.2]}, 1, 0.1)
    half = 12.706204736174704 * math.sqrt(0.02) / math.sqrt(2)
    assert (c.n, c.p, c.p_holm, c.outcome) == (2, 0.5, 0.5, NC)
    assert c.mean == pytest.approx(1.1) and c.half == pytest.approx(half)
    assert c.excludes == pytest.approx(1.1 + half)
    c = only({"a": [1.0, 1.2]}, -1, 0.1)
    assert c.excludes == pytest.approx(-1.1 + half)
    c = only({"a": [0.01, 0.01]}, -1, 0.1)                     # zero spread: an equivalence
    assert (c.half, c.outcome, c.excludes) == (0.0, EQ, -0.01)


def test_fewer_than_two_seeds_is_not_conclusive():
    for sign in (1, -1):
        c = only({"a": {3: 0.0}}, sign, 1.0)
        assert (c.n, c.mean, c.p, c.outcome, c.excludes) == (1, 0.0, 1.0, NC, None)
        assert math.isnan(c.half)
    rows = compare({"a": [9.0], "b": [1.0] * 8}, 1, 0.5)
    assert [r.outcome for r in rows] == [NC, OK]
    assert [r.p_holm for r in rows] == [1.0, 2 / 2**8 * 2]


def test_an_interval_touching_delta_on_either_side_is_not_inside():
    for d in ([0.3, 0.5, 0.4, 0.2], [-0.3, -0.5, -0.4, -0.2]):
        mean, half = float(np.mean(d)), summary.mean_ci(d)[1]
        far = abs(mean) + half                                 # the end further from 0
        assert only({"a": d}, 1, far).outcome == NC
        assert only({"a": d}, 1, far * (1 + 1e-12)).outcome == EQ
    # an interval reaching beyond one end but inside the other is not inside either
    assert only({"a": [5.0, 5.2]}, 1, 1.0).outcome == NC
    assert only({"a": [-5.0, -5.2]}, 1, 1.0).outcome == NC


def test_compare_refuses_bad_arguments():
    for sign in (0, 2, -2, 1.5, "1"):
        with pytest.raises(ValueError, match=exactly(f"sign must be +1 or -1, got {sign!r}")):
            compare({"a": [1.0, 2.0]}, sign, 1.0)
    for delta in (0, 0.0, -1.0, math.inf, math.nan, "0.1", None):
        with pytest.raises(ValueError, match=exactly(
                f"delta must be a finite number > 0, got {delta!r}")):
            compare({"a": [1.0, 2.0]}, 1, delta)
    assert only({"a": [1.0, 2.0]}, 1, 1).outcome == NC             # an int delta is a number
    for family in ({}, [[1.0, 2.0]], None):
        with pytest.raises(ValueError, match=exactly(
                f"family must be a non-empty dict of comparisons, got {family!r}")):
            compare(family, 1, 1.0)


# --- verdicts ----------------------------------------------------------------------------------

def rule(outcomes, claim):
    """The verdict rule as the book states it, read case by case."""
    ok = [o == OK for o in outcomes]
    no = [o == NO for o in outcomes]
    if claim == "equivalence":
        if any(ok) or any(no):
            return "failed"
        return "held" if outcomes[0] == EQ else "not conclusive"
    if any(ok) and any(no):
        return "mixed"
    if any(no):
        return "failed"
    if ok[0]:
        return "held"
    if any(ok[1:]):
        return "held in part"
    if outcomes[0] == EQ:
        return "no effect larger than δ"
    return "not conclusive"


def test_verdict_of_every_family_of_up_to_three_outcomes():
    for size in (1, 2, 3):
        for outcomes in itertools.product((OK, NO, EQ, NC), repeat=size):
            assert verdict_of(outcomes) == rule(outcomes, "direction"), outcomes
            assert verdict_of(list(outcomes), "direction") == rule(outcomes, "direction")
            assert verdict_of(iter(outcomes), "equivalence") == rule(outcomes, "equivalence")


def test_verdict_of_refuses_bad_arguments():
    listed = ("as predicted", "opposite", "equivalent", "not conclusive")
    for bad in (["held"], [], [OK, "Opposite"]):
        with pytest.raises(ValueError, match=exactly(
                f"outcomes must be a non-empty list of {listed}, got {bad!r}")):
            verdict_of(bad)
    with pytest.raises(ValueError, match=exactly(
            "claim must be one of ('direction', 'equivalence'), got 'sign'")):
        verdict_of([OK], "sign")


def prediction(family, sign=1, delta=0.5, claim="direction"):
    seen = []

    def comparisons(merged):
        seen.append(merged)
        return family
    return SimpleNamespace(id="x.y", sign=sign, delta=delta, claim=claim,
                           comparisons=comparisons, seen=seen)


def test_judge_passes_the_merged_results_and_keeps_the_order():
    merged = {"runs": []}
    p = prediction({"main": [0.1, -0.1, 0.05], "other": [1.0] * 8}, sign=-1, delta=0.4)
    j = judge(p, merged)
    assert p.seen == [merged]
    assert (j.id, j.sign, j.delta, j.claim) == ("x.y", -1, 0.4, "direction")
    assert [c.label for c in j.comparisons] == ["main", "other"]
    assert j.primary is j.comparisons[0] and j.primary.label == "main"
    assert j.comparisons == tuple(compare(p.comparisons(merged), -1, 0.4))
    assert [c.outcome for c in j.comparisons] == [EQ, NO] and j.verdict == "failed"


def test_judge_of_an_equivalence_claim():
    p = prediction({"slope": [0.01, -0.02, 0.0, 0.015], "b": [0.3, -0.2, 0.1]}, delta=0.1,
                   claim="equivalence")
    j = judge(p, {})
    assert j.claim == "equivalence" and j.primary.outcome == EQ and j.verdict == "held"
    assert judge(prediction(p.comparisons({}), delta=0.1), {}).verdict == \
        "no effect larger than δ"
    p = prediction({"slope": [0.01, -0.02, 0.0, 0.015], "b": [0.5] * 8}, delta=0.1,
                   claim="equivalence")
    assert judge(p, {}).verdict == "failed"


# --- printed lines -----------------------------------------------------------------------------

def judgement(comparisons, claim="direction", verdict="not conclusive"):
    return Judgement("x.y", 1, 0.5, claim, tuple(comparisons), verdict)


def test_lines_print_every_field():
    a = Comparison("primary", 0.12345, 0.5, 4, 0.125, 0.25, NC, 0.62345)
    b = Comparison("b", -1.0, math.nan, 1, 1.0, 1.0, NC, None)
    j = judgement([a, b])
    assert j.lines() == [
        "  primary  +0.123 ± 0.500  n 4  p 0.125  Holm 0.250  not conclusive",
        "  b        -1.000 (one seed, no interval)  n 1  p 1.000  Holm 1.000  not conclusive",
        "  verdict: not conclusive",
        "  primary: excludes an effect in the predicted direction above 0.623"]
    assert j.lines(1, " nats")[0] == \
        "  primary  +0.1 ± 0.5  n 4  p 0.125  Holm 0.250  not conclusive"
    assert j.lines(1, " nats")[-1] == \
        "  primary: excludes an effect in the predicted direction above 0.6 nats"
    two = Comparison("ab", 0.5, 0.25, 2, 0.5, 0.5, NC, 0.75)
    assert judgement([two]).lines(2)[0] == "  ab  +0.50 ± 0.25  n 2  p 0.500  Holm 0.500  " \
        "not conclusive"


def test_excluded_text_for_each_claim_and_bound():
    held = Comparison("a", 1.0, 0.1, 8, 0.01, 0.01, OK, None)
    assert judgement([held], verdict="held").excluded_text() == ""
    assert judgement([held], verdict="held").lines()[-1] == "  verdict: held"
    for bound, text in ((0.0, "excludes every effect "), (-0.25, "excludes every effect "),
                        (0.004, "excludes an effect {} above 0.004"),
                        (0.0004, "excludes an effect {} above 0.000")):
        c = Comparison("a", 0.0, 0.1, 5, 1.0, 1.0, EQ, bound)
        for claim, side in (("direction", "in the predicted direction"),
                            ("equivalence", "on the side a departure was expected")):
            want = text.format(side) if "{}" in text else text + side
            assert judgement([c], claim).excluded_text() == want
    c = Comparison("a", 0.0, 0.1, 5, 1.0, 1.0, EQ, 0.0456)
    assert judgement([c]).excluded_text(2, "%") == \
        "excludes an effect in the predicted direction above 0.05%"


# --- properties --------------------------------------------------------------------------------

diffs = st.lists(st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 3)),
                 min_size=1, max_size=8)
families = st.lists(diffs, min_size=1, max_size=4)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(families, st.sampled_from((1, -1)), st.floats(0.01, 5),
       st.sampled_from(("direction", "equivalence")))
def test_flipping_every_sign_and_the_prediction_keeps_the_judgement(fam, sign, delta, claim):
    a = compare({str(i): d for i, d in enumerate(fam)}, sign, delta)
    b = compare({str(i): [-x for x in d] for i, d in enumerate(fam)}, -sign, delta)
    for x, y in zip(a, b):
        assert (x.outcome, x.p, x.n) == (y.outcome, y.p, y.n)
        assert x.mean == -y.mean and (x.half == y.half or math.isnan(x.half))
        assert x.excludes == y.excludes or x.excludes == pytest.approx(y.excludes)
    assert verdict_of([r.outcome for r in a], claim) == verdict_of([r.outcome for r in b], claim)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(families, diffs, st.floats(0.01, 5))
def test_adding_a_comparison_never_turns_failed_into_held(fam, extra, delta):
    family = {str(i): d for i, d in enumerate(fam)}
    before = [r.outcome for r in compare(family, 1, delta)]
    after = [r.outcome for r in compare(family | {"extra": extra}, 1, delta)]
    if verdict_of(before) in ("failed", "not conclusive", "no effect larger than δ",
                              "held in part"):
        assert verdict_of(after) != "held"
    assert OK not in after[:-1] or OK in before
    assert NO not in after[:-1] or NO in before


@settings(max_examples=40, deadline=None, derandomize=True)
@given(families, st.floats(0.01, 5), st.sampled_from((1e-9, 1e-3, 7.0, 1e6)))
def test_changing_the_unit_of_differences_and_delta_changes_no_outcome(fam, delta, unit):
    a = compare({str(i): d for i, d in enumerate(fam)}, 1, delta)
    b = compare({str(i): [x * unit for x in d] for i, d in enumerate(fam)}, 1, delta * unit)
    assert [r.p for r in a] == [r.p for r in b]
    for x, y in zip(a, b):
        if x.outcome != y.outcome:                 # only an interval at delta up to rounding
            assert x.outcome in (EQ, NC) and y.outcome in (EQ, NC)
            assert abs(abs(x.mean) + x.half - delta) < 1e-9 * delta


# --- the grokking and fit rules ----------------------------------------------------------------

def curves(test_acc, train_acc=None, step=None):
    step = step or [100 * i for i in range(len(test_acc))]
    return {"curves": {"step": step, "test_acc": test_acc,
                       "train_acc": train_acc or [0.0] * len(test_acc)}}


def test_grok_step_at_the_threshold():
    pt = curves([0.1, 0.949, 0.95, 0.99])
    assert summary.grok_step(pt) == 200                         # 0.95 reaches 0.95
    assert summary.grok_step(pt, 0.99) == 300
    assert summary.grok_step(pt, 1.0, budget=7000) == 7000
    assert summary.grok_step(curves([1.0, 1.0]), 1.0) == 0
    assert summary.grok_step(curves([0.2, 0.5]), budget=0) == 0
    assert summary.grok_step(curves([0.2, 0.96], step=[10.0, 20.0])) == 20
    assert type(summary.grok_step(curves([0.2, 0.96], step=[10.0, 20.0]))) is int
    for bad in (0, 0.0, -0.5, 1.0000001, 2):
        with pytest.raises(ValueError, match=exactly(f"threshold must be in (0, 1], got {bad!r}")):
            summary.grok_step(pt, bad)


def test_fits_at_the_threshold():
    assert summary.fits(curves([0.0, 0.0], [0.5, 0.99]))          # exactly 0.99
    assert not summary.fits(curves([0.0, 0.0], [1.0, 0.989]))     # the final value counts
    assert summary.fits(curves([0.0, 0.0], [0.2, 1.0]), 1.0)
    assert summary.fits(curves([0.0, 0.0], [0.0, 0.5]), 0.5)
    assert not summary.fits(curves([0.0, 0.0], [0.0, 0.49]), 0.5)
    for bad in (0, -1.0, 1.01):
        with pytest.raises(ValueError, match=exactly(
                f"min_train must be in (0, 1], got {bad!r}")):
            summary.fits(curves([0.0]), bad)


# --- the tables of recorded sweeps -------------------------------------------------------------

def test_ft_table_groups_resnet_and_transformer_runs():
    runs = [{"config": {"alpha": a, "layers": [1, [2, 3]], "seed": s},
             "metrics": {"ft": [{"task": "heldout", "n": 10, "test_acc": a + s,
                                 "loss": {"ce": 2 * s}},
                                {"op": "+", "test_acc": 0.5 * s, "loss": {"ce": -s}}]}}
            for a in (1.0, 0.1) for s in (0, 1, 2)]
    table = summary.ft_table({"runs": runs}, ("alpha", "layers"))
    assert list(table) == [(0.1, (1, (2, 3)), "+"), (0.1, (1, (2, 3)), "heldout", 10),
                           (1.0, (1, (2, 3)), "+"), (1.0, (1, (2, 3)), "heldout", 10)]
    half = summary.mean_ci([0, 1, 2])[1]
    assert table[(1.0, (1, (2, 3)), "heldout", 10)] == (2.0, half, 3)
    assert table[(0.1, (1, (2, 3)), "+")] == (0.5, half / 2, 3)
    ce = summary.ft_table({"runs": runs}, ("alpha",), "loss.ce")
    assert ce[(0.1, "heldout", 10)] == (2.0, 2 * half, 3) and ce[(1.0, "+")] == (-1.0, half, 3)


def test_tables_sort_their_keys_by_their_printed_form_whatever_the_types():
    """A config field left None in some runs (a default) sits beside numbers: the keys are
    sorted by their text, which never compares None with a number."""
    runs = [{"config": {"gamma": g, "seed": s},
             "metrics": {"ft": [{"op": "+", "test_acc": s}],
                         "pt": {"norms_init": {"a": 1.0}, "norms_pt": {"a": 2.0},
                                "curves": {"step": [0], "test_acc": [1.0]}, "test_acc": 1.0}}}
            for g in (10.0, None, 2.0) for s in (0, 1)]
    table = summary.ft_table({"runs": runs}, ("gamma",))
    assert list(table) == [(10.0, "+"), (2.0, "+"), (None, "+")]
    assert table[(None, "+")] == (0.5, summary.mean_ci([0, 1])[1], 2)
    assert list(summary.pt_table({"runs": runs}, ("gamma",))) == [(10.0,), (2.0,), (None,)]


def test_pt_table_values():
    def pt(moved, accs):
        return {"norms_init": {"a": 1.0, "b": 2.0, "c": 4.0},
                "norms_pt": {"a": moved, "b": 4.0 * moved, "c": 4.0 * moved},
                "curves": {"step": [0, 100, 200], "test_acc": accs}, "test_acc": accs[-1]}

    runs = [{"config": {"scale": 3.0, "seed": 0}, "metrics": {"pt": pt(1.0, [0.0, 0.1, 0.2])}},
            {"config": {"scale": 0.3, "seed": 0}, "metrics": {"pt": pt(3.0, [0.0, 0.9, 0.9])}},
            {"config": {"scale": 0.3, "seed": 1}, "metrics": {"pt": pt(5.0, [0.0, 0.5, 0.96])}},
            {"config": {"scale": 0.3, "seed": 2}, "metrics": {"pt": pt(4.0, [0.0, 0.95, 1.0])}}]
    table = summary.pt_table({"runs": runs})
    assert list(table) == [(0.3,), (3.0,)]
    # the median over weights of ||W_PT|| / ||W_init||: (moved, 2 moved, moved) -> moved
    assert table[(0.3,)]["moved"] == (4.0, summary.mean_ci([3.0, 5.0, 4.0])[1], 3)
    assert table[(0.3,)]["test_acc"] == (*summary.mean_ci([0.9, 0.96, 1.0]), 3)
    assert table[(0.3,)]["grok_step"] == (150.0, summary.mean_ci([200, 100])[1], 2)
    assert table[(0.3,)]["never"] == 1
    assert table[(3.0,)] == {"moved": (1.0, 0.0, 1), "test_acc": (0.2, 0.0, 1),
                             "grok_step": None, "never": 1}
    low = summary.pt_table({"runs": runs}, ("scale", "seed"), threshold=0.9)
    assert low[(0.3, 0)]["grok_step"] == (100.0, 0.0, 1) and low[(0.3, 0)]["never"] == 0
    assert low[(0.3, 1)]["grok_step"] == (200.0, 0.0, 1)


def test_a_run_listed_twice_is_refused_whatever_the_key_order():
    run = {"config": {"alpha": 1.0, "seed": 4},
           "metrics": {"ft": [{"task": "heldout", "n": 10, "test_acc": 0.5}]}}
    other = {"config": {"seed": 5, "alpha": 1.0}, "metrics": run["metrics"]}
    same = {"config": {"seed": 4, "alpha": 1.0}, "metrics": run["metrics"]}
    message = ("runs 1 and 2 hold the same config (seed 4); read the results with "
               "dlnft.experiments.results.load, which keeps one run per config")
    with pytest.raises(ValueError, match=exactly(message)):
        summary.ft_table({"runs": [other, run, same]}, ("alpha",))
    with pytest.raises(ValueError, match=exactly(message)):
        summary.pt_table({"runs": [other, run, same]})
    assert summary.ft_table({"runs": [other, run]}, ("alpha",))[(1.0, "heldout", 10)][2] == 2
