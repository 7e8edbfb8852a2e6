"""Every performance figure of the book in one run: ``python benchmarks/run.py``.

Prints one line per figure as ``name: value (ratio to baseline; target)``, every ratio measured
in this same run on this same machine, then the total wall time. Figures:

    batched GD        dlnft.gd vs a per-network NumPy loop (A) and vs the GEMM rate (B)
    exact flow        dlnft.flow vs small-step GD at equal accuracy
    implicit bias     dlnft.implicit_bias.solve vs scipy's generic constrained minimizer
    state evolution   one (c, λ, γ) point and a 64 x 64 phase diagram
    Monte Carlo       the state evolution by quadrature vs the paper's 80k-sample Monte Carlo
    ResNet-18 CPU     dlnft's training loop on Fashion-MNIST vs the GEMM rate and a plain loop
    lambda FT         the lambda_fmnist arms fine-tuned as one batched computation vs a per-arm
                      loop (target >= 5x) and vs the GEMM rate
    GPU               ResNet-18 images/s and TFLOP/s, Transformer tokens/s (CUDA only)

Threads: ``--threads N``; by default the cores not already busy (os.getloadavg), at least one,
because OpenMP/BLAS threads that share a core with another process wait on each other.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pick_threads(requested: int) -> int:
    cores = os.cpu_count() or 1
    if requested > 0:
        return requested
    return max(1, min(cores, cores - round(os.getloadavg()[0])))


def set_threads(n: int) -> None:
    """Before NumPy/torch are imported: every BLAS/OpenMP pool gets n threads."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)


def load(name: str):
    """benchmarks/<name>.py as a module."""
    import importlib.util

    path = HERE / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def verdict(ratio: float, target: float, unit: str = "x") -> str:
    return f"target >= {target:g}{unit}: {'met' if ratio >= target else 'MISSED'}"


def batched_gd(opts) -> list[str]:
    r = load("gd").run(steps=opts.gd_steps, deadline=opts.start + opts.budget / 2)
    cut = "" if r["steps"] == opts.gd_steps else f" of {opts.gd_steps}, cut at half the budget"
    head = f"(M={r['M']}, d={r['d']}, n={r['n']}, {r['steps']} steps{cut}, float64)"
    return [
        f"batched GD {head} vs NumPy loop: {r['seconds']:.1f} s "
        f"({r['speedup']:.1f}x baseline A, {r['seconds_loop']:.0f} s; "
        f"{verdict(r['speedup'], 50)}; the loop already runs at "
        f"{r['loop_flops_per_s'] / 1e9:.1f} GFLOP/s, so even at the full GEMM rate the most "
        f"is {r['gemm_flops_per_s'] / r['loop_flops_per_s']:.1f}x; loop agrees to "
        f"{r['loop_deviation']:.0e})",
        f"batched GD {head} FLOP rate: {r['flops_per_s'] / 1e9:.1f} GFLOP/s "
        f"({r['gemm_fraction']:.2f}x baseline B, GEMM {r['gemm_flops_per_s'] / 1e9:.1f} GFLOP/s;"
        f" {verdict(r['gemm_fraction'], 0.5, '')})",
    ]


def exact_flow(opts) -> list[str]:
    r = load("flow").run()
    return [
        f"exact gradient flow to loss 1e-8 (3 networks, d=400, n=100): {r['seconds_flow']:.2f} s "
        f"({r['speedup']:.0f}x fewer than small-step GD, {r['seconds_gd']:.1f} s, accuracy "
        f"{r['accuracy_flow']:.1e} vs GD {r['accuracy_gd']:.1e}; {verdict(r['speedup'], 10)}"
        + ("" if r["equal"] else "; GD never got within 1.5x of the flow's accuracy, so the "
           "ratio is a lower bound") + ")"
    ]


def relay(figure: str, script: str, issue: str, deadline: float,
          reserve: float = 0.0) -> list[str]:
    """Run benchmarks/<script>.py (owned by the <issue> work) and pass on its figure lines.

    It may run until ``deadline`` (a perf_counter time) less ``reserve`` seconds kept for the
    figures after it."""
    import subprocess

    path = HERE / f"{script}.py"
    if not path.exists():
        return [f"{figure}: not available yet (benchmarks/{script}.py of the {issue} work is "
                f"not in the repository), no number measured"]
    timeout = max(10.0, deadline - time.perf_counter() - reserve)
    try:
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return [f"{figure}: not measured, benchmarks/{script}.py ran past the {timeout:.0f} s "
                f"left of this run's time budget (--budget)"]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [f"{figure}: not measured, benchmarks/{script}.py failed ({last})"]
    return [f"{figure} | {line}" for line in lines]


def implicit_bias_solver(opts) -> list[str]:
    lines = relay("implicit-bias solver vs scipy", "solver", "implicit-bias", opts.deadline,
                  reserve=120.0)
    text = "\n".join(lines)
    found = re.search(r"solver overall: ([0-9.]+)x", text)
    large = re.search(r"solver at d >= 100: ([0-9.]+)x", text)
    if found:
        ratio = float(found.group(1))
        lines.append(f"implicit-bias solver vs scipy SLSQP: {ratio:.0f}x (geometric mean over "
                     f"the problems above; {verdict(ratio, 20)}"
                     + (f"; {float(large.group(1)):.0f}x over those with d >= 100" if large
                        else "") + ")")
    return lines


def state_evolution(opts) -> list[str]:
    lines = relay("state evolution", "phase_diagram", "generalization", opts.deadline)
    found = re.search(r"phase diagram 64x64 \[s\]: ([0-9.]+)", "\n".join(lines))
    if found:
        seconds = float(found.group(1))
        lines.append(f"state evolution 64x64 diagram vs 60 s target: {seconds:.1f} s "
                     f"({seconds / 60:.2f} of the target; "
                     f"{'met' if seconds < 60 else 'MISSED'})")
    return lines


def monte_carlo(opts) -> list[str]:
    lines = relay("state evolution vs Monte Carlo", "montecarlo", "generalization",
                  opts.deadline, reserve=10.0)
    found = re.search(r"40-point curve: quadrature ([0-9.]+) ms measured, Monte Carlo "
                      r"([0-9.]+) min \(per point x 40\): ([0-9]+)x", "\n".join(lines))
    if found:
        lines.append(f"state evolution by quadrature vs Monte Carlo, 40-point curve: "
                     f"{found.group(1)} ms vs {found.group(2)} min ({found.group(3)}x)")
    return lines


def resnet_cpu(opts) -> list[str]:
    return relay("ResNet-18 CPU training", "resnet_throughput", "Fashion-MNIST", opts.deadline)


def lambda_ft(opts) -> list[str]:
    return relay("lambda FT batched vs loop", "lambda_ft", "lambda_fmnist", opts.deadline)


def transformer_ft(opts) -> list[str]:
    return relay("Transformer FT batched vs loop", "transformer_ft", "modular_lambda",
                 opts.deadline)


def gpu(opts) -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return ["GPU (ResNet-18 images/s, TFLOP/s vs bf16 peak, Transformer tokens/s): not "
                "measured, no CUDA device on this machine"]
    return relay("GPU", "throughput", "GPU throughput", opts.deadline)


FIGURES = (batched_gd, exact_flow, implicit_bias_solver, state_evolution, monte_carlo,
           resnet_cpu, lambda_ft, transformer_ft, gpu)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=0,
                        help="BLAS/OpenMP threads (0: the cores not already busy)")
    parser.add_argument("--gd-steps", type=int, default=2000,
                        help="steps of the batched GD figure (the figure is defined at 2000)")
    parser.add_argument("--budget", type=float, default=570.0,
                        help="seconds the whole run may take: the GD figure stops taking steps "
                             "after half of it, a relayed figure is cut off at the end")
    args = parser.parse_args(argv)
    threads = pick_threads(args.threads)
    set_threads(threads)
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    sys.path.insert(0, str(HERE.parent))
    info = Path("/proc/cpuinfo")
    cpu = next((line.split(":", 1)[1].strip() for line in
                (info.read_text().splitlines() if info.exists() else [])
                if line.startswith("model name")), "unknown CPU")
    print(f"machine: {os.cpu_count()} cores ({cpu}), {threads} thread(s), load average "
          f"{os.getloadavg()[0]:.2f}; torch {torch.__version__}, numpy {np.__version__}",
          flush=True)
    start = time.perf_counter()
    args.start, args.deadline = start, start + args.budget
    for figure in FIGURES:
        for line in figure(args):
            print(line, flush=True)
    print(f"total: {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
