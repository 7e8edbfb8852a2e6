"""Summaries of recorded sweeps: means and 95% confidence intervals over seeds.

A merged results file (``data/results/NAME.json``, see :mod:`dlnft.experiments.results`)
holds one record per run; :func:`ft_table` groups the fine-tuning test accuracies of the
ResNet and Transformer experiments by config fields and FT task, over seeds.
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
    Transformer. Returns {(*field values, *task): (mean, ci95, n_seeds)}, keys sorted.
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


def _hashable(x):
    return tuple(_hashable(i) for i in x) if isinstance(x, list) else x
