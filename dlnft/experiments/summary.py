"""Summaries of recorded sweeps: means and 95% confidence intervals over seeds.

A merged results file (``data/results/NAME.json``, see :mod:`dlnft.experiments.results`)
holds one record per run; :func:`ft_table` groups the fine-tuning test accuracies of the
ResNet and Transformer experiments by config fields and FT task, over seeds, and
:func:`pt_table` the Transformer's pretraining (weights moved, grokking step).
"""
from __future__ import annotations

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
    return float(v.mean()), float(stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


def ft_table(merged: dict, by: tuple[str, ...], value: str = "test_acc") -> dict:
    """FT ``value`` by (config fields in ``by``, FT task) over seeds.

    merged: a merged results dict. by: config field names (e.g. ("alpha",) or
    ("early_scale",)). The FT task is ``(task, n)`` for ResNet runs and ``op`` for the
    Transformer. Returns ``{(*field values, *task): (mean, ci95, n_seeds)}``, keys sorted.
    """
    groups = defaultdict(list)
    for run in merged["runs"]:
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
    for run in merged["runs"]:
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


def _hashable(x):
    return tuple(_hashable(i) for i in x) if isinstance(x, list) else x
