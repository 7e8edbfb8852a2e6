"""Summaries of recorded sweeps: means and 95% confidence intervals over seeds.

A merged results file (``data/results/NAME.json``, see :mod:`dlnft.experiments.results`)
holds one record per run; :func:`ft_table` groups the fine-tuning test accuracies of the
ResNet and Transformer experiments by config fields and FT task, over seeds, and
:func:`pt_table` the Transformer's pretraining (weights moved, grokking step).
:func:`judge` is the book's one rule for reading a prediction from differences paired by
seed: per comparison the mean with its 95% Student-t interval and a two-sided sign-flip
p-value, Holm's correction across the prediction's family, an outcome per comparison and one
verdict per prediction. :func:`grok_step` and :func:`fits` are the grokking and fit rules of
the Transformer's pretraining.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy import stats


def mean_ci(values) -> tuple[float, float]:
    """(mean, half-width of the 95% Student-t interval); half-width 0 for a single value."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("values must not be empty")
    if v.size == 1:
        return float(v[0]), 0.0
    half = stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size)
    return float(v.mean()), float(half)


ALPHA = 0.05
"""The level of every test of the rule (two-sided, after Holm's correction)."""
EXACT_MAX = 20
"""Up to this many seeds the sign-flip p-value enumerates all 2^n sign patterns."""
MC_DRAWS = 2**20
"""Monte Carlo draws of sign patterns above :data:`EXACT_MAX` seeds (fixed generator)."""
CLAIMS = ("direction", "equivalence")
"""The two kinds of claim a prediction makes, a sign of its differences or their absence
(within delta)."""
OUTCOMES = ("as predicted", "opposite", "equivalent", "not conclusive")
"""The outcome of one comparison of a family (see :func:`compare`)."""
VERDICTS = ("held", "held in part", "mixed", "failed", "no effect larger than δ",
            "not conclusive")
"""The verdict on a prediction (see :func:`judge`)."""


def signflip_p(diffs) -> float:
    """Two-sided sign-flip p-value of the mean of paired differences d_1..d_n.

    Under the null each d_i is as likely to be -d_i; p is the share of sign patterns
    s in {-1, +1}^n with |mean(s d)| >= |mean(d)|. All 2^n patterns are enumerated up to
    n = :data:`EXACT_MAX`; above, :data:`MC_DRAWS` patterns are drawn with a fixed generator
    and p = (1 + hits) / (1 + draws). A tie counts as a hit (a relative tolerance of 1e-9
    absorbs rounding), so all-zero differences give p = 1 and n equal nonzero ones give
    p = 2 / 2^n. Fewer than 2 differences: p = 1 (nothing is tested).
    """
    d = _diffs(diffs)
    n = d.size
    if n < 2:
        return 1.0
    observed = abs(d.sum())
    tol = 1e-9 * max(np.abs(d).sum(), 1e-300)
    if n <= EXACT_MAX:
        hits = 0
        chunk = 1 << min(n, 16)
        bits = np.arange(n)
        for start in range(0, 1 << n, chunk):
            codes = np.arange(start, start + chunk, dtype=np.int64)[:, None]
            signs = 1.0 - 2.0 * ((codes >> bits) & 1)
            hits += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
        return hits / float(1 << n)
    rng = np.random.default_rng(20260220)
    hits = 0
    for _ in range(MC_DRAWS // 2**16):
        signs = rng.choice((-1.0, 1.0), size=(2**16, n))
        hits += int(np.count_nonzero(np.abs(signs @ d) >= observed - tol))
    return (1 + hits) / (1 + MC_DRAWS)


def holm(pvalues) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest of m
    p-values, p(i), becomes the largest over j <= i of min(1, (m - j + 1) p(j))."""
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"pvalues must be a list of numbers in [0, 1], got {pvalues!r}")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


@dataclass(frozen=True)
class Comparison:
    """One comparison of a prediction's family, judged.

    label: what is compared. mean: the mean paired difference over n seeds, half: the
    half-width of its 95% Student-t interval (nan below 2 seeds), p: the two-sided sign-flip
    p-value (:func:`signflip_p`), p_holm: p after Holm's correction over the family,
    outcome: one of :data:`OUTCOMES`. excludes: for a comparison not as predicted, the
    largest effect on the predicted side that its interval leaves open, sign × mean + half
    (the data exclude an effect larger than this; <= 0 means every effect on the predicted
    side is excluded); None when as predicted or below 2 seeds.
    """
    label: str
    mean: float
    half: float
    n: int
    p: float
    p_holm: float
    outcome: str
    excludes: float | None


@dataclass(frozen=True)
class Judgement:
    """A prediction judged by the rule: its id, sign, delta, claim, the comparisons of its
    family (primary first, see :class:`Comparison`) and the verdict (one of
    :data:`VERDICTS`)."""
    id: str
    sign: int
    delta: float
    claim: str
    comparisons: tuple[Comparison, ...]
    verdict: str

    @property
    def primary(self) -> Comparison:
        return self.comparisons[0]

    def lines(self, digits: int = 3, unit: str = "") -> list[str]:
        """One printed line per comparison (mean ± 95% half-width, n seeds, sign-flip p, Holm
        p, outcome) and the verdict, with what the data exclude when the primary comparison is
        a null (:meth:`excluded_text`)."""
        width = max(len(c.label) for c in self.comparisons)
        out = []
        for c in self.comparisons:
            spread = (f"± {c.half:.{digits}f}" if c.n >= 2 else "(one seed, no interval)")
            out.append(f"  {c.label:{width}s}  {c.mean:+.{digits}f} {spread}  n {c.n}  "
                       f"p {c.p:.3f}  Holm {c.p_holm:.3f}  {c.outcome}")
        out.append(f"  verdict: {self.verdict}")
        text = self.excluded_text(digits, unit)
        if text:
            out.append(f"  primary: {text}")
        return out

    def excluded_text(self, digits: int = 3, unit: str = "") -> str:
        """"excludes an effect in the predicted direction above X": what the 95% interval of
        a primary comparison that is not as predicted rules out (empty otherwise)."""
        c = self.primary
        if c.excludes is None:
            return ""
        side = "in the predicted direction" if self.claim == "direction" else \
            "on the side a departure was expected"
        if c.excludes <= 0:
            return f"excludes every effect {side}"
        return f"excludes an effect {side} above {c.excludes:.{digits}f}{unit}"


def _diffs(diffs) -> np.ndarray:
    d = np.asarray(list(diffs.values()) if isinstance(diffs, dict) else diffs, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError(f"diffs must be a non-empty list of finite numbers, got {diffs!r}")
    return d


def compare(family: dict, sign: int, delta: float) -> list[Comparison]:
    """Judge each comparison of ``family`` ({label: {seed: paired difference}} or
    {label: [differences]}), predicted to have sign ``sign`` (+1 or -1), with equivalence
    margin ``delta`` > 0; Holm's correction runs over the whole family.

    A comparison is "as predicted" when its Holm-adjusted p < :data:`ALPHA` and its mean has
    the sign ``sign``, "opposite" when adjusted p < ALPHA and the other sign, "equivalent"
    when its 95% interval lies inside (-delta, delta), else "not conclusive" (always so below
    2 seeds).
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    if not (isinstance(delta, (int, float)) and math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a finite number > 0, got {delta!r}")
    if not isinstance(family, dict) or not family:
        raise ValueError(f"family must be a non-empty dict of comparisons, got {family!r}")
    rows = []
    for label, diffs in family.items():
        d = _diffs(diffs)
        mean = float(d.mean())
        half = mean_ci(d)[1] if d.size >= 2 else math.nan
        rows.append((str(label), d, mean, half, signflip_p(d)))
    adjusted = holm([r[4] for r in rows])
    out = []
    for (label, d, mean, half, p), p_adj in zip(rows, adjusted):
        if d.size < 2:
            said = "not conclusive"
        elif p_adj < ALPHA and mean != 0:
            said = "as predicted" if np.sign(mean) == sign else "opposite"
        elif -delta < mean - half and mean + half < delta:
            said = "equivalent"
        else:
            said = "not conclusive"
        excludes = (None if said == "as predicted" or d.size < 2
                    else float(sign * mean + half))
        out.append(Comparison(label, mean, float(half), int(d.size), float(p),
                              float(p_adj), said, excludes))
    return out


def verdict_of(outcomes, claim: str = "direction") -> str:
    """The verdict from the outcomes of a family's comparisons, primary first.

    claim "direction" (a predicted sign): "held" when the primary is as predicted and none
    is opposite; "held in part" when the primary is not but another is, none opposite;
    "mixed" when some are as predicted and some opposite; "failed" when some are opposite and
    none as predicted; "no effect larger than δ" when the primary is equivalent and none is
    as predicted or opposite; "not conclusive" otherwise.
    claim "equivalence" (a predicted absence of departure, e.g. a slope equal to 1 within
    delta): "held" when the primary is equivalent and no comparison departs significantly
    either way; "failed" when one does; "not conclusive" otherwise.
    """
    outcomes = list(outcomes)
    unknown = set(outcomes) - set(OUTCOMES)
    if unknown or not outcomes:
        raise ValueError(f"outcomes must be a non-empty list of {OUTCOMES}, got {outcomes!r}")
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, got {claim!r}")
    right, wrong = "as predicted" in outcomes, "opposite" in outcomes
    if claim == "equivalence":
        if right or wrong:
            return "failed"
        return "held" if outcomes[0] == "equivalent" else "not conclusive"
    if right and wrong:
        return "mixed"
    if wrong:
        return "failed"
    if outcomes[0] == "as predicted":
        return "held"
    if right:
        return "held in part"
    if outcomes[0] == "equivalent":
        return "no effect larger than δ"
    return "not conclusive"


def judge(prediction, merged: dict) -> Judgement:
    """The verdict on ``prediction`` (a :class:`dlnft.experiments.predictions.Prediction`)
    from the merged results ``merged``: its family of paired differences
    (``prediction.comparisons(merged)``, primary first), judged by :func:`compare` and
    :func:`verdict_of`."""
    family = prediction.comparisons(merged)
    claim = prediction.claim
    rows = compare(family, prediction.sign, prediction.delta)
    return Judgement(prediction.id, prediction.sign, prediction.delta, claim, tuple(rows),
                     verdict_of([r.outcome for r in rows], claim))


def grok_step(pt: dict, threshold: float = 0.95, budget: int | None = None) -> int | None:
    """The first recorded PT step at which the held-out PT accuracy reaches ``threshold``.

    A run that never reaches it is censored at the step budget: ``budget`` is returned (None
    when no budget is given). Never an exclusion: a run that does not fit or does not grok
    is counted at the budget, a bound on its step.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    curve = pt["curves"]
    hit = next((s for s, a in zip(curve["step"], curve["test_acc"]) if a >= threshold), None)
    return budget if hit is None else int(hit)


def fits(pt: dict, min_train: float = 0.99) -> bool:
    """Whether a PT run fits its training pairs: final train accuracy >= ``min_train``.
    Reported, never used to leave a run out (see :func:`grok_step`)."""
    if not 0 < min_train <= 1:
        raise ValueError(f"min_train must be in (0, 1], got {min_train!r}")
    return pt["curves"]["train_acc"][-1] >= min_train


def ft_table(merged: dict, by: tuple[str, ...], value: str = "test_acc") -> dict:
    """FT ``value`` by (config fields in ``by``, FT task) over seeds.

    merged: a merged results dict. by: config field names (e.g. ("alpha",) or
    ("early_scale",)). The FT task is ``(task, n)`` for ResNet runs and ``op`` for the
    Transformer. Returns ``{(*field values, *task): (mean, ci95, n_seeds)}``, keys sorted.
    """
    groups = defaultdict(list)
    for run in _distinct(merged["runs"]):
        fields = tuple(_hashable(run["config"][k]) for k in by)
        for ft in run["metrics"]["ft"]:
            task = (ft["task"], ft["n"]) if "task" in ft else (ft["op"],)
            entry = ft
            for key in value.split("."):
                entry = entry[key]
            groups[fields + task].append(entry)
    return {k: (*mean_ci(v), len(v)) for k, v in sorted(groups.items(), key=lambda kv: str(kv[0]))}


def pt_table(merged: dict, by: tuple[str, ...] = ("scale",), threshold: float = 0.95) -> dict:
    """Pretraining of the Transformer runs by config fields over seeds.

    For each value of the fields in ``by``: ``moved``, the median over weights of
    ‖W_PT‖/‖W_init‖ (mean, ci95, n_seeds); ``test_acc``, the final PT test accuracy (same form);
    ``grok_step``, the first recorded PT step with test accuracy >= ``threshold``, over the
    seeds that reach it (None when none does); ``never``, how many seeds never reach it.
    """
    groups = defaultdict(list)
    for run in _distinct(merged["runs"]):
        groups[tuple(_hashable(run["config"][k]) for k in by)].append(run["metrics"]["pt"])
    table = {}
    for key, pts in sorted(groups.items(), key=lambda kv: str(kv[0])):
        moved = [float(np.median([pt["norms_pt"][w] / pt["norms_init"][w]
                                  for w in pt["norms_init"]])) for pt in pts]
        steps = [grok_step(pt, threshold) for pt in pts]
        reached = [s for s in steps if s is not None]
        table[key] = {"moved": (*mean_ci(moved), len(moved)),
                      "test_acc": (*mean_ci([pt["test_acc"] for pt in pts]), len(pts)),
                      "grok_step": (*mean_ci(reached), len(reached)) if reached else None,
                      "never": len(steps) - len(reached)}
    return table


def _distinct(runs: list) -> list:
    """``runs``, refused (ValueError) when two hold one config: one seed counted twice would
    give a confidence interval too narrow (zero-width for a run listed twice).
    :func:`dlnft.experiments.results.load` keeps one run per config; this guards a merged
    dict made any other way."""
    seen = {}
    for i, run in enumerate(runs):
        key = json.dumps(run["config"], sort_keys=True)
        if key in seen:
            raise ValueError(f"runs {seen[key]} and {i} hold the same config "
                             f"(seed {run['config'].get('seed')}); read the results with "
                             f"dlnft.experiments.results.load, which keeps one run per "
                             f"config")
        seen[key] = i
    return runs


def _hashable(x):
    return tuple(_hashable(i) for i in x) if isinstance(x, list) else x
