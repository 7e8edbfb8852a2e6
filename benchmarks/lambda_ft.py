"""Batched fine-tuning of the lambda_fmnist arms against a per-arm loop, and against the GEMM rate.

    python benchmarks/lambda_ft.py [--steps 40] [--threads N]

The network and arms of ``LambdaConfig.full()`` (784–256–256–256, one logit, 11 arms: seven
rescales α, two feature scales s, two readouts), on n ∈ {10, 30, 100, 300} training rows of the
standardized size of Fashion-MNIST inputs. Each FT runs ``--steps`` full-batch GD steps with the
curvature-bounded step of :func:`dlnft.experiments.homogeneous.finetune` (its stopping rule off,
so both sides do the same work):

- batched: every arm in one computation over stacked weights (``finetune``);
- loop: the same steps one arm at a time (``finetune_loop``, a Python loop of one-arm calls);
- GEMM: this machine's float32 rate of a 1024 × 1024 × 1024 product (median of 5).

FLOPs per step are counted by ``torch.utils.flop_counter.FlopCounterMode``. Times are the
process's CPU time (one thread by default, so it is what a quiet core would take: the machine
this was written on is shared, and wall time there measures the other processes). The two sides
alternate (batched, loop, batched, loop) and each time is the median of its two. Prints, per n
and summed over n, the batched time, the ratio to the loop, and the batched GFLOP/s as a
fraction of the GEMM rate.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dlnft.experiments import homogeneous as H  # noqa: E402
from resnet_throughput import gemm_rate  # noqa: E402  (the same float32 GEMM baseline)

NS = (10, 30, 100, 300)


def arms_stack(config, g):
    """Stacked feature layers and heads of the full config's 11 arms, from one random net."""
    dims = (784,) + (config.width,) * config.depth + (8,)
    W = H.init_weights(dims, g)
    head = torch.randn(config.width, generator=g) / config.width ** 0.5
    stacks, heads = [], []
    for a in config.alphas:
        stacks.append(H.rescale(W, a)[:-1])
        heads.append(config.gamma * head)
    for s in config.scales:
        stacks.append([F * s for F in W[:-1]])
        heads.append(config.gamma * head)
    for _ in config.readouts:
        stacks.append(list(W[:-1]))
        heads.append(head)
    Ws = [torch.stack([s[i] for s in stacks]) for i in range(config.depth)]
    return Ws, torch.stack(heads)


def timed(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def run(steps: int = 40) -> dict:
    config = H.LambdaConfig.full()
    g = torch.Generator().manual_seed(0)
    Ws, w = arms_stack(config, g)
    kw = dict(loss_target=0.0 + 1e-30, max_steps=steps, eta0=config.eta0)
    gemm = gemm_rate(clock=time.process_time)
    out = {"arms": int(w.shape[0]), "steps": steps, "gemm_flops_per_s": gemm, "per_n": {}}
    for n in NS:
        x = torch.randn(n, 784, generator=g)
        t = torch.tensor([1.0, -1.0] * (n // 2))
        with FlopCounterMode(display=False) as counter:
            H._fwd_bwd(Ws, w, x, t)
        flops = counter.get_total_flops()
        H.finetune(Ws, w, x, t, **{**kw, "max_steps": 2})           # warm-up
        batched, loop = [], []
        for _ in range(2):
            batched.append(timed(lambda: H.finetune(Ws, w, x, t, **kw)))
            loop.append(timed(lambda: H.finetune_loop(Ws, w, x, t, **kw)))
        tb, tl = float(np.median(batched)), float(np.median(loop))
        out["per_n"][n] = {"batched_s": tb, "loop_s": tl, "ratio": tl / tb,
                           "flops_per_step": flops,
                           "gemm_fraction": flops * steps / tb / gemm}
    return out


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    r = run(args.steps)
    print(f"lambda FT: {r['arms']} arms, {r['steps']} GD steps, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.2f}; GEMM {r['gemm_flops_per_s'] / 1e9:.1f} "
          f"GFLOP/s")
    for n, q in r["per_n"].items():
        print(f"lambda FT n={n}: batched {q['batched_s']:.3f} s vs loop {q['loop_s']:.3f} s "
              f"({q['ratio']:.1f}x); {q['flops_per_step'] * r['steps'] / q['batched_s'] / 1e9:.1f}"
              f" GFLOP/s = {q['gemm_fraction']:.2f} of GEMM")
    tb = sum(q["batched_s"] for q in r["per_n"].values())
    tl = sum(q["loop_s"] for q in r["per_n"].values())
    fl = sum(q["flops_per_step"] * r["steps"] for q in r["per_n"].values())
    print(f"lambda FT all n: batched vs loop {tl / tb:.1f}x (target >= 5x: "
          f"{'met' if tl / tb >= 5 else 'MISSED'}); {fl / tb / r['gemm_flops_per_s']:.2f} of the "
          f"float32 GEMM rate")


if __name__ == "__main__":
    main()
