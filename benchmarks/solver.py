"""The implicit-bias solver (dlnft.implicit_bias.solve) against scipy's generic constrained
minimizer on the same problems.

Problem: argmin_β Σ_i Φ_c(β_i) s.t. Xβ = y (gradient flow's limit from β = 0, R2), with a sparse
teacher on Gaussian inputs (the pretraining task of dlnft.make_tasks, n = d/2) at three scales c
(rich 1e-2, middle 0.3, lazy 10) and six sizes d from 20 to 1000: the book solves d = 30 and 40
in chapters 2 and 3 and d = 500 to 2000 in chapters 4 and 5.

Baseline: ``scipy.optimize.minimize`` with method SLSQP (the fastest of scipy's generic methods
on equality constraints), started from β = 0 with ftol 1e-12, given Φ_c and its exact gradient
½ asinh(β/c) as plain NumPy expressions and the constraint Jacobian X. (The baseline must not
call dlnft's own phi/phi_prime: their argument checks would be counted against scipy.)

Each method is warmed up once, then timed as the best of 3 runs, or of 1 when one run takes
more than a second. Each line reports both times, the ratio scipy / solver, how far apart the
two answers are and each one's constraint violation; then the geometric mean of the ratios at
each size, over the sizes d >= 100, and over all problems (the headline figure).

Run alone: ``python benchmarks/solver.py`` (about a minute; SLSQP at d = 1000 takes most of it).
"""
from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.optimize

import dlnft
from dlnft import implicit_bias

SIZES = (20, 40, 100, 300, 500, 1000)
SCALES = (1e-2, 0.3, 10.0)


def problem(d: int, seed: int = 0):
    task, _ = dlnft.make_tasks(d=d, alpha_pt=0.5, alpha_ft=0.5, rho_pt=0.1, rho_ft=0.1,
                               omega="subset", seed=seed)
    return task.X, task.y


def timed(fn):
    """(best seconds, result) of fn: best of 3 runs, or 1 run when one takes over a second."""
    t0 = time.perf_counter()
    out = fn()
    best = time.perf_counter() - t0
    if best < 1.0:
        for _ in range(2):
            t0 = time.perf_counter()
            out = fn()
            best = min(best, time.perf_counter() - t0)
    return best, out


def scipy_solve(X, y, c):
    d = X.shape[1]

    def phi(b):
        h = np.hypot(b, c)
        return float(np.sum(0.5 * (b * np.arcsinh(b / c) - b * (b / (h + c)))))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = scipy.optimize.minimize(
            phi, np.zeros(d), jac=lambda b: 0.5 * np.arcsinh(b / c), method="SLSQP",
            constraints=[dict(type="eq", fun=lambda b: X @ b - y, jac=lambda b: X)],
            options=dict(ftol=1e-12, maxiter=1000))
    return res.x


def geo_mean(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def main() -> None:
    X, y = problem(10)
    implicit_bias.solve(X, y, 1.0), scipy_solve(X, y, 1.0)  # warm-up: imports, BLAS pools
    ratios = {}
    for d in SIZES:
        X, y = problem(d)
        for c in SCALES:
            t_ours, sol = timed(lambda: implicit_bias.solve(X, y, c))
            t_ref, ref = timed(lambda: scipy_solve(X, y, c))
            ratio = t_ref / t_ours
            ratios[d, c] = ratio
            gap = np.max(np.abs(sol.beta - ref))
            viol_ours = np.max(np.abs(X @ sol.beta - y))
            viol_ref = np.max(np.abs(X @ ref - y))
            print(f"solve d={d} n={X.shape[0]} c={c:g}: {1e3 * t_ours:.2f} ms "
                  f"({ratio:.0f}x faster than scipy SLSQP, {1e3 * t_ref:.1f} ms); "
                  f"max|beta - beta_scipy| {gap:.1e}; max|X beta - y| {viol_ours:.0e} "
                  f"vs scipy {viol_ref:.0e}", flush=True)
        print(f"solver at d={d}: {geo_mean([ratios[d, c] for c in SCALES]):.1f}x "
              f"(geometric mean over c)", flush=True)
    large = [r for (d, _), r in ratios.items() if d >= 100]
    print(f"solver at d >= 100: {geo_mean(large):.0f}x faster than scipy SLSQP "
          f"(geometric mean of {len(large)} problems)")
    print(f"solver overall: {geo_mean(list(ratios.values())):.0f}x faster than scipy SLSQP "
          f"(geometric mean of {len(ratios)} problems; target >= 20x)")


if __name__ == "__main__":
    main()
