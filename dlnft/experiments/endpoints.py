"""The families of paired differences that the book's predictions are judged on.

Each function takes a merged results dict (:func:`dlnft.experiments.results.load_recorded`)
and returns ``{comparison label: {seed: paired difference}}``, the primary comparison first,
every difference oriented so that the prediction gives it the sign of its entry in
:data:`dlnft.experiments.predictions.PREDICTIONS`. Only seeds recorded at both ends of a
comparison enter it. A family holds the primary comparison and one comparison per level the
prediction names (a task, an operation, a step of the sweep, n where the prediction speaks of
it); a factor it does not name is averaged within each seed. No run is left out for an
outcome the setting can cause: a Transformer that never groks counts at the step budget
(censored), one that does not fit its training pairs counts like any other.
"""
from __future__ import annotations

import math
from collections import defaultdict

from .summary import grok_step

RESNET_TASKS = ("heldout", "subset")
RESNET_NS = (10, 100)
MODULAR_NEW = ("-", "a2+b2")


def _diff(x: dict[int, float], y: dict[int, float]) -> dict[int, float]:
    """{seed: x[seed] - y[seed]} over the seeds recorded in both."""
    return {s: x[s] - y[s] for s in sorted(set(x) & set(y))}


def _combine(parts: list[dict[int, float]], weights: list[float]) -> dict[int, float]:
    """{seed: sum_k weights[k] * parts[k][seed]} over the seeds present in every part."""
    common = sorted(set.intersection(*(set(p) for p in parts)))
    return {s: sum(w * p[s] for w, p in zip(weights, parts)) for s in common}


def _nonempty(family: dict, name: str) -> dict:
    """``family`` with every comparison holding a seed; ValueError naming an empty one."""
    empty = [label for label, diffs in family.items() if not diffs]
    if empty:
        raise ValueError(f"{name}: no seed is recorded at both ends of {empty}")
    return family


def _resnet(merged: dict, metric) -> dict:
    """{(alpha, task, n): {seed: metric(ft entry)}} of a ResNet sweep."""
    out = defaultdict(dict)
    for run in merged["runs"]:
        for ft in run["metrics"]["ft"]:
            out[run["config"]["alpha"], ft["task"], ft["n"]][run["config"]["seed"]] = \
                float(metric(ft))
    return out


def _alphas(merged: dict) -> tuple[float, float, float]:
    alphas = sorted({run["config"]["alpha"] for run in merged["runs"]})
    if len(alphas) != 3:
        raise ValueError(f"the ResNet sweep must hold three alpha_conv1 values, got {alphas}")
    return tuple(alphas)


def balance_slope(merged: dict) -> dict:
    """Chapter 1: the fitted log-log slope of the final balance drift against eta (three
    smallest steps, equal eta T), minus the predicted 1; one value per seed."""
    return {"drift slope − 1 (three smallest η)":
            {run["config"]["seed"]: run["metrics"]["drift_slope"] - 1.0
             for run in merged["runs"]}}


def grok_scale(merged: dict) -> dict:
    """Chapter 2: grokking step (first recorded PT step with held-out accuracy >= 0.95) of
    the larger overall scale minus that of the smaller, paired by seed; a run that never
    groks (or does not fit its pairs) counts at its step budget. Primary: largest minus
    smallest scale; then each pair of neighbouring scales."""
    steps = defaultdict(dict)
    for run in merged["runs"]:
        cfg = run["config"]
        steps[cfg["scale"]][cfg["seed"]] = float(
            grok_step(run["metrics"]["pt"], 0.95, budget=cfg["pt_steps"]))
    scales = sorted(steps)
    top, bottom = scales[-1], scales[0]
    family = {f"scale {top:g} − {bottom:g}": _diff(steps[top], steps[bottom])}
    for lo, hi in zip(scales, scales[1:]):
        family.setdefault(f"scale {hi:g} − {lo:g}", _diff(steps[hi], steps[lo]))
    return _nonempty(family, "grok_scale")


def _log_change(ft: dict) -> float:
    return math.log10(max(ft["representation"]["conv1"]["change"], 1e-16))


def cka_alpha(merged: dict) -> dict:
    """Chapter 3, prediction 1: log10(1 − CKA) at the conv1 stage during FT, larger
    alpha_conv1 minus smaller, each seed's mean over the two n (a replicate the prediction does
    not name). Primary: alpha 10 − 0.1, mean over both tasks; then each task and step
    0.1 → 1 → 10 (the prediction: "from 0.1 to 1 to 10, on both FT tasks")."""
    v = _resnet(merged, _log_change)
    lo, mid, hi = _alphas(merged)

    def step(task, a, b):
        return _combine([_diff(v[b, task, n], v[a, task, n])
                         for n in RESNET_NS], [1 / len(RESNET_NS)] * len(RESNET_NS))

    family = {f"α {hi:g} − {lo:g}, mean over tasks": _combine(
        [step(t, lo, hi) for t in RESNET_TASKS], [0.5, 0.5])}
    for t in RESNET_TASKS:
        for a, b in ((lo, mid), (mid, hi)):
            family[f"{t}, α {b:g} − {a:g}"] = step(t, a, b)
    return _nonempty(family, "cka_alpha")


def cka_task(merged: dict) -> dict:
    """Chapter 3, prediction 2: log10(1 − CKA) at conv1, heldout minus subset, each seed's
    mean over the two n. Primary: the mean over the three alpha_conv1; then each alpha (the
    prediction: "at each alpha_conv1")."""
    v = _resnet(merged, _log_change)
    parts = {a: _combine([_diff(v[a, "heldout", n], v[a, "subset", n])
                          for n in RESNET_NS], [1 / len(RESNET_NS)] * len(RESNET_NS))
             for a in _alphas(merged)}
    family = {"heldout − subset, mean over α": _combine(
        list(parts.values()), [1 / len(parts)] * len(parts))}
    family.update({f"α {a:g}": d for a, d in parts.items()})
    return _nonempty(family, "cka_task")


def resnet_small_conv1(merged: dict) -> dict:
    """Chapters 4-6 and 8: the benefit of a smaller first layer, in FT test cross-entropy
    (the loss at the smaller alpha_conv1 minus the loss at alpha 10, positive when the small
    first layer helps). Primary: held-out pair, n = 100, alpha 10 against 0.1; then n = 10,
    then alpha 10 against 1; then the same four for held-out minus subset benefit (the
    subset-over-new gap narrows)."""
    v = _resnet(merged, lambda ft: ft["test_loss"])
    lo, mid, hi = _alphas(merged)
    family = {}
    for kind in ("held-out", "held-out − subset"):
        for ref in (lo, mid):
            for n in (100, 10):
                held = _diff(v[ref, "heldout", n], v[hi, "heldout", n])
                if kind == "held-out":
                    diffs = held
                else:
                    sub = _diff(v[ref, "subset", n], v[hi, "subset", n])
                    diffs = _combine([held, sub], [1.0, -1.0])
                family[f"{kind}, n {n}, α {hi:g} vs {ref:g}"] = diffs
    return _nonempty(family, "resnet_small_conv1")


def resnet_reuse(merged: dict) -> dict:
    """Chapter 6, prediction 3: FT test cross-entropy of the held-out pair minus the subset
    pair (positive: PT features make the subset task easier). Primary: the mean over the
    three alpha_conv1 and two n; then each alpha and n."""
    v = _resnet(merged, lambda ft: ft["test_loss"])
    cells = [(a, n) for a in _alphas(merged) for n in RESNET_NS]
    parts = {(a, n): _diff(v[a, "heldout", n], v[a, "subset", n])
             for a, n in cells}
    family = {"held-out − subset, mean over α and n": _combine(
        list(parts.values()), [1 / len(parts)] * len(parts))}
    family.update({f"α {a:g}, n = {n}": d for (a, n), d in parts.items()})
    return _nonempty(family, "resnet_reuse")


def _modular(merged: dict) -> tuple[dict, float, float]:
    """({(early_scale, op): {seed: FT test accuracy}}, smallest and largest early_scale)."""
    out = defaultdict(dict)
    for run in merged["runs"]:
        for ft in run["metrics"]["ft"]:
            out[run["config"]["early_scale"], ft["op"]][run["config"]["seed"]] = \
                float(ft["test_acc"])
    scales = sorted({s for s, _ in out})
    return out, scales[0], scales[-1]


def modular_narrow(merged: dict) -> dict:
    """Chapters 5, 7 and 8: the subset task's (+) accuracy advantage over a new operation at
    the largest early_scale minus at the smallest (positive: small early layers narrow it).
    Primary: against the mean of the two new operations; then each."""
    acc, lo, hi = _modular(merged)
    gap = {}
    for s in (lo, hi):
        new = _combine([acc[s, op] for op in MODULAR_NEW], [0.5, 0.5])
        gap[s, "new"] = _combine([acc[s, "+"], new], [1.0, -1.0])
        for op in MODULAR_NEW:
            gap[s, op] = _combine([acc[s, "+"], acc[s, op]], [1.0, -1.0])
    family = {f"+ − {op}, early {hi:g} minus {lo:g}": _diff(gap[hi, op], gap[lo, op])
              for op in ("new", *MODULAR_NEW)}
    return _nonempty({k.replace("+ − new", "+ − mean(new)"): d for k, d in family.items()},
                     "modular_narrow")


def modular_new(merged: dict) -> dict:
    """Chapters 7 and 8: a new operation's FT accuracy at the largest early_scale minus at
    the smallest (predicted not to rise: sign -1). Primary: the mean of the two new
    operations; then each."""
    acc, lo, hi = _modular(merged)
    new = {s: _combine([acc[s, op] for op in MODULAR_NEW], [0.5, 0.5]) for s in (lo, hi)}
    family = {f"mean(new), early {hi:g} − {lo:g}": _diff(new[hi], new[lo])}
    family.update({f"{op}, early {hi:g} − {lo:g}": _diff(acc[hi, op], acc[lo, op])
                   for op in MODULAR_NEW})
    return _nonempty(family, "modular_new")
