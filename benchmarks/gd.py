"""Batched gradient descent against a per-network NumPy loop and against the machine's GEMM rate.

The figure of issue 6: M = 1024 networks, d = 1000 coordinates, n = 200 samples shared by all
networks, 2000 full-batch GD steps in float64.

- dlnft.gd: all networks in one (M, d) tensor, two matrix products per step.
- Baseline A: the same update written as a plain Python loop over networks and steps with NumPy
  vectors. It is timed on a few networks and steps and scaled linearly (its cost is exactly
  networks × steps × one step), and checked to compute the same β as dlnft.gd.
- Baseline B: the GEMM rate of this machine, a plain float64 (M, d) @ (d, n) product (the two
  products of a step have this size), best of torch and NumPy.

Run alone: ``python benchmarks/gd.py`` (add ``--steps 200`` for a quick look).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import dlnft
from dlnft.network import DiagonalNet


def problem(M: int, d: int, n: int, seed: int = 0):
    """A shared Gaussian design X (n, d) with entries N(0, 1/d), a sparse teacher's labels, and
    M networks at scales c log-spaced in [1e-2, 1] (λ = 0)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    beta_star = np.where(rng.random(d) < 0.1, rng.normal(size=d) / np.sqrt(0.1), 0.0)
    c = np.logspace(-2, 0, M)[:, None]
    return X, X @ beta_star, DiagonalNet.from_scales(c, 0.0, shape=(M, d))


def numpy_loop(net: DiagonalNet, X: np.ndarray, y: np.ndarray, lr: float, steps: int):
    """Baseline A: GD one network at a time, one step at a time; returns β, shape (M, d)."""
    n = X.shape[0]
    out = []
    for m in range(net.M):
        wp, wm, vp, vm = (t[m].numpy().copy() for t in net.weights())
        for _ in range(steps):
            g = lr * (X.T @ (X @ (wp * vp - wm * vm) - y)) / n
            wp, vp, wm, vm = wp - vp * g, vp - wp * g, wm + vm * g, vm + wm * g
        out.append(wp * vp - wm * vm)
    return np.stack(out)


def _median_time(fn, repeat: int) -> float:
    """Median wall time of ``repeat`` calls after one warm-up (robust to a shared machine)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def gemm_rate(M: int, d: int, n: int, repeat: int = 5) -> float:
    """Baseline B: float64 FLOP/s of a plain (M, d) @ (d, n) product, the faster of torch and
    NumPy (median of ``repeat`` timings of each)."""
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(M, d)), rng.normal(size=(d, n))
    At, Bt = torch.from_numpy(A), torch.from_numpy(B)
    t_torch = _median_time(lambda: At @ Bt, repeat)
    t_numpy = _median_time(lambda: A @ B, repeat)
    return 2.0 * M * d * n / min(t_torch, t_numpy)


def run(M: int = 1024, d: int = 1000, n: int = 200, steps: int = 2000, lr: float = 5.0,
        chunks: int = 8, loop_networks: int = 4, loop_steps: int = 25,
        deadline: float = float("inf")) -> dict:
    """Time dlnft.gd and both baselines; returns seconds, FLOP/s and the ratios.

    On a shared machine the speed drifts during a run, so the 2000 steps run as ``chunks``
    consecutive calls (the same trajectory: the loss checks fall on the same steps) and each
    chunk is paired with baselines measured right before it; a ratio is the median over chunks.
    No chunk but the first starts after ``deadline`` (a time.perf_counter() value): ``steps`` in
    the result says how many were taken.
    """
    X, y, net = problem(M, d, n)
    chunk_steps = steps // chunks
    flops = 4.0 * M * d * n * chunk_steps       # two (M, d) x (d, n) products per step
    loop_scale = (M / loop_networks) * (chunk_steps / loop_steps)
    sub = net[:loop_networks]
    t_gd, t_loop, vs_loop, vs_gemm, gemm = 0.0, 0.0, [], [], []
    for _ in range(chunks):
        if gemm and time.perf_counter() > deadline:
            break
        gemm.append(gemm_rate(M, d, n))
        t0 = time.perf_counter()
        numpy_loop(sub, X, y, lr, loop_steps)
        loop = (time.perf_counter() - t0) * loop_scale
        t0 = time.perf_counter()
        net = dlnft.gd(net, X, y, lr=lr, steps=chunk_steps).net
        chunk = time.perf_counter() - t0
        t_gd, t_loop = t_gd + chunk, t_loop + loop
        vs_loop.append(loop / chunk)
        vs_gemm.append(flops / chunk / gemm[-1])

    beta_loop = numpy_loop(sub, X, y, lr, loop_steps)
    beta_gd = dlnft.gd(sub, X, y, lr=lr, steps=loop_steps).net.beta().numpy()
    deviation = float(np.max(np.abs(beta_loop - beta_gd)) / np.max(np.abs(beta_gd)))
    total = flops * len(gemm)
    return dict(M=M, d=d, n=n, steps=chunk_steps * len(gemm), seconds=t_gd, seconds_loop=t_loop,
                flops_per_s=total / t_gd, gemm_flops_per_s=float(np.median(gemm)),
                loop_flops_per_s=total / t_loop, speedup=float(np.median(vs_loop)),
                gemm_fraction=float(np.median(vs_gemm)), loop_deviation=deviation)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    r = run(steps=args.steps)
    print(f"dlnft.gd: {r['seconds']:.2f} s, {r['flops_per_s'] / 1e9:.1f} GFLOP/s; "
          f"NumPy loop (scaled): {r['seconds_loop']:.0f} s ({r['speedup']:.0f}x); "
          f"GEMM {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s ({100 * r['gemm_fraction']:.0f}%), "
          f"loop {r['loop_flops_per_s'] / 1e9:.1f} GFLOP/s; "
          f"loop vs gd rel. deviation {r['loop_deviation']:.1e}")


if __name__ == "__main__":
    main()
