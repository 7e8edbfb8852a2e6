"""Summaries of recorded sweeps: means and 95% confidence intervals over seeds.

A merged results file (``data/results/NAME.json``, see :mod:`dlnft.experiments.results`)
holds one record per run; :func:`ft_table` groups the fine-tuning test accuracies of the
ResNet and Transformer experiments by config fields and FT task, over seeds, and
:func:`pt_table` the Transformer's pretraining (weights moved, grokking step).
:func:`outcome` and :func:`verdict` are the book's rule for reading a prediction from
differences paired by seed.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict

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


OUTCOMES = ("as predicted", "consistent", "opposite", "not conclusive")
VERDICTS = ("held", "held in part", "mixed", "failed", "not conclusive")


def outcome(diffs, sign: int, weak: bool = False) -> tuple[str, float, float, int]:
    """(outcome, mean, 95% half-width, seeds) of differences paired by seed that a
    prediction says have the sign ``sign`` (+1 or -1).

    The outcome is "as predicted" when the 95% Student-t interval of the mean lies on the
    predicted side of zero, "opposite" when it lies on the other side, and "not conclusive"
    when it contains zero or fewer than two differences are given. ``weak=True`` is for a
    prediction that only rules out the other sign (e.g. "not positive"): its outcome is
    "opposite" or else "consistent", never "as predicted".
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign!r}")
    d = np.asarray(diffs, dtype=float)
    if d.ndim != 1 or d.size == 0 or not np.all(np.isfinite(d)):
        raise ValueError(f"diffs must be a non-empty list of finite numbers, got {diffs!r}")
    mean, half = mean_ci(d)
    if d.size < 2:
        return "not conclusive", mean, half, 1
    if abs(mean) > half and np.sign(mean) != sign:
        return "opposite", mean, half, int(d.size)
    if weak:
        return "consistent", mean, half, int(d.size)
    said = "as predicted" if abs(mean) > half else "not conclusive"
    return said, mean, half, int(d.size)


def verdict(outcomes) -> str:
    """The verdict on a prediction from the outcomes of its comparisons (see
    :func:`outcome`): "held" when every comparison came out as predicted (a weak one:
    consistent) and at least one as predicted, or all are weak and consistent; "held in part"
    when some came out as predicted and none opposite; "mixed" when some came out as
    predicted and some opposite; "failed" when none did and one came out opposite; "not
    conclusive" otherwise."""
    outcomes = list(outcomes)
    unknown = set(outcomes) - set(OUTCOMES)
    if unknown:
        raise ValueError(f"outcomes must be among {OUTCOMES}, got {sorted(unknown)}")
    if outcomes and all(o == "consistent" for o in outcomes):
        return "held"
    right, wrong = "as predicted" in outcomes, "opposite" in outcomes
    if right and all(o in ("as predicted", "consistent") for o in outcomes):
        return "held"
    if right:
        return "mixed" if wrong else "held in part"
    return "failed" if wrong else "not conclusive"


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
        steps = [next((s for s, acc in zip(pt["curves"]["step"], pt["curves"]["test_acc"])
                       if acc >= threshold), None) for pt in pts]
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
