"""The implicit-bias solver (dlnft.implicit_bias.solve) against scipy's generic constrained
minimizer on the same problems.

Problem: argmin_β Σ_i Φ_c(β_i) s.t. Xβ = y (gradient flow's limit from β = 0, R2), with a sparse
teacher on Gaussian inputs (the pretraining task of dlnft.make_tasks, n = d/2) at three scales c
(rich 1e-2, middle 0.3, lazy 10) and four sizes d. Baseline: ``scipy.optimize.minimize`` with
method SLSQP, given the exact gradient Φ_c'(β) = ½ asinh(β/c) and the constraint Jacobian X,
started from β = 0, ftol 1e-12. Each line reports the solver's time (best of 3), the ratio
scipy / solver, how far apart the two answers are and each one's constraint violation; the last
line is the geometric mean of the ratios.

Run alone: ``python benchmarks/solver.py`` (about a minute on 2 busy cores).
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize

import dlnft
from dlnft import implicit_bias

SIZES = (20, 50, 100, 150)
SCALES = (1e-2, 0.3, 10.0)


def problem(d: int, seed: int = 0):
    task, _ = dlnft.make_tasks(d=d, alpha_pt=0.5, alpha_ft=0.5, rho_pt=0.1, rho_ft=0.1,
                               omega="subset", seed=seed)
    return task.X, task.y


def best_of(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def scipy_solve(X, y, c):
    d = X.shape[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scipy.optimize.minimize(
            lambda b: float(np.sum(implicit_bias.phi(b, c))), np.zeros(d),
            jac=lambda b: implicit_bias.phi_prime(b, c), method="SLSQP",
            constraints=[dict(type="eq", fun=lambda b: X @ b - y, jac=lambda b: X)],
            options=dict(ftol=1e-12, maxiter=1000))
    return res.x


def main() -> None:
    ratios = []
    for d in SIZES:
        X, y = problem(d)
        for c in SCALES:
            t_ours, sol = best_of(lambda: implicit_bias.solve(X, y, c), 3)
            t_ref, ref = best_of(lambda: scipy_solve(X, y, c), 1 if d >= 100 else 2)
            ratio = t_ref / t_ours
            ratios.append(ratio)
            gap = np.max(np.abs(sol.beta - ref))
            viol_ours = np.max(np.abs(X @ sol.beta - y))
            viol_ref = np.max(np.abs(X @ ref - y))
            print(f"solve d={d} n={X.shape[0]} c={c:g}: {1e3 * t_ours:.2f} ms "
                  f"({ratio:.0f}x faster than scipy SLSQP, {1e3 * t_ref:.0f} ms); "
                  f"max|beta - beta_scipy| {gap:.1e}; max|X beta - y| {viol_ours:.0e} "
                  f"vs scipy {viol_ref:.0e}", flush=True)
    print(f"solver overall: {np.exp(np.mean(np.log(ratios))):.0f}x faster than scipy SLSQP "
          f"(geometric mean of {len(ratios)} problems; target >= 20x)")


if __name__ == "__main__":
    main()
