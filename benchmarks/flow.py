"""Exact gradient flow (dlnft.flow) against plain small-step GD, at equal accuracy.

Both methods run until the loss ||Xβ − y||²/(2n) is below 1e-8 (the interpolating solution),
on the same three networks (c = 0.01, 0.1, 1: rich to lazy; λ = 0, β(0) = 0), one network at a
time, each stopping at its own loss. Accuracy is the largest distance max_i |β_i − β∞_i| to the
flow's limit β∞, the implicit-bias interpolator of :func:`dlnft.implicit_bias.solve`. The flow
lands on β∞ up to what the final loss allows; GD lands off it by O(η) more, so GD's step is
halved from a tenth of its stability limit until its accuracy is within ``slack`` = 1.5 times
the flow's. That last GD run is the one timed (the search is not).

Run alone: ``python benchmarks/flow.py``.
"""
from __future__ import annotations

import time

import numpy as np

import dlnft
from dlnft import implicit_bias
from dlnft.flow import flow
from dlnft.network import DiagonalNet

C = (1e-2, 1e-1, 1.0)


def problem(d: int = 400, alpha: float = 0.25, rho: float = 0.1, seed: int = 0):
    """A sparse teacher on Gaussian inputs (the pretraining task of dlnft.make_tasks)."""
    task, _ = dlnft.make_tasks(d=d, alpha_pt=alpha, alpha_ft=alpha, rho_pt=rho, rho_ft=rho,
                               omega="subset", seed=seed)
    return task.X, task.y


def run(tol: float = 1e-8, slack: float = 1.5, max_halvings: int = 10) -> dict:
    """Per scale c: time the flow and the GD run of equal accuracy; returns totals over c."""
    X, y = problem()
    lam_max = np.linalg.eigvalsh(X.T @ X / X.shape[0])[-1]
    totals = dict(seconds_flow=0.0, seconds_gd=0.0, gd_steps=0, flow_rhs=0, equal=True)
    per_c = []
    for c in C:
        net = DiagonalNet.from_scales(c, 0.0, shape=(1, X.shape[1]))
        limit = implicit_bias.solve(X, y, c, tol=1e-13).beta

        def accuracy(result_net):
            return float(np.max(np.abs(result_net.beta().numpy()[0] - limit)))

        t0 = time.perf_counter()
        res = flow(net, X, y, tol=tol, rtol=1e-6)
        t_flow = time.perf_counter() - t0
        acc_flow = accuracy(res.net)
        # a tenth of GD's linear stability limit at the solution, 2 / (λ_max · max 2 sqrt(β² + c²))
        eta = 0.1 / (lam_max * np.max(np.sqrt(limit**2 + c**2)))
        for _ in range(max_halvings + 1):
            t0 = time.perf_counter()
            gd_res = dlnft.gd(net, X, y, lr=eta, steps=10**7, tol=tol)
            t_gd = time.perf_counter() - t0
            acc_gd = accuracy(gd_res.net)
            if acc_gd <= slack * acc_flow:
                break
            eta /= 2
        totals["seconds_flow"] += t_flow
        totals["seconds_gd"] += t_gd
        totals["gd_steps"] += gd_res.n_steps
        totals["flow_rhs"] += int(res.n_rhs.sum())
        totals["equal"] &= acc_gd <= slack * acc_flow
        per_c.append(dict(c=c, accuracy_flow=acc_flow, accuracy_gd=acc_gd, eta=eta))
    totals["accuracy_flow"] = max(p["accuracy_flow"] for p in per_c)
    totals["accuracy_gd"] = max(p["accuracy_gd"] for p in per_c)
    totals["speedup"] = totals["seconds_gd"] / totals["seconds_flow"]
    totals["per_c"] = per_c
    return totals


def main():
    r = run()
    print(f"flow: {r['seconds_flow']:.3f} s (accuracy {r['accuracy_flow']:.1e}, "
          f"{r['flow_rhs']} rhs evaluations); GD: {r['seconds_gd']:.2f} s (accuracy "
          f"{r['accuracy_gd']:.1e}, {r['gd_steps']} steps); "
          f"{r['speedup']:.0f}x")


if __name__ == "__main__":
    main()
