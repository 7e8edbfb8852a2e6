"""Time a 64 × 64 phase diagram of the exact FT error (chapter 5) against a scalar loop.

    python benchmarks/phase_diagram.py [--size 64] [--baseline-points 32]

The map: FT error on (λ/c, γ) at c = 1e-3, α_FT = 0.3, ρ_PT = 0.2, ρ_FT = 0.1, ω = 0.5, oracle PT
— one vectorized call of :func:`dlnft.theory.ft_theory` for all points. Baseline: the same
solver called once per point (a plain Python loop), timed on a random subset of the points.
Prints ``name: value (ratio to baseline)`` lines. Run it on 2 cores, e.g. with
OMP_NUM_THREADS=2.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from dlnft.theory import ft_theory

TASK = dict(rho_pt=0.2, rho_ft=0.1, omega=0.5)
C, ALPHA = 1e-3, 0.3


def grid(size: int):
    """λ/c in [−0.999, 1] and γ in [1e-3, 10] (log), as two (size, size) arrays."""
    lam_ratio = np.linspace(-0.999, 1.0, size)[:, None]
    gamma = np.logspace(-3, 1, size)[None, :]
    return np.broadcast_arrays(lam_ratio * C, gamma)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--baseline-points", type=int, default=32)
    args = parser.parse_args()
    lam, gamma = grid(args.size)

    t0 = time.perf_counter()
    out = ft_theory(ALPHA, c=C, lam=lam, gamma=gamma, **TASK)
    vectorized = time.perf_counter() - t0
    points = lam.size
    assert out.converged.all()

    pick = np.random.default_rng(0).choice(points, size=args.baseline_points, replace=False)
    t0 = time.perf_counter()
    loop = [ft_theory(ALPHA, c=C, lam=lam.flat[i], gamma=gamma.flat[i], **TASK).error
            for i in pick]
    per_point_loop = (time.perf_counter() - t0) / len(pick)
    assert np.allclose(np.ravel(loop), out.error.flat[pick], rtol=1e-6, atol=1e-9)

    per_point = vectorized / points
    print(f"phase diagram {args.size}x{args.size} [s]: {vectorized:.2f} "
          f"({vectorized / (per_point_loop * points):.3f} of the scalar loop's "
          f"{per_point_loop * points:.1f} s)")
    print(f"per point [ms]: {1e3 * per_point:.2f} ({per_point / per_point_loop:.3f})")
    print(f"scalar loop per point [ms]: {1e3 * per_point_loop:.2f} (1.000)")


if __name__ == "__main__":
    main()
