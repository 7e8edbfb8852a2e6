"""CPU training throughput of the Fashion-MNIST ResNet-18 through dlnft's training loop.

    python benchmarks/resnet_throughput.py [--images 2048] [--rounds 2] [--batch 128]
                                           [--threads N]

The network of the recorded ``resnet_fmnist`` experiment, ``FashionResNetConfig.full()``
(torchvision's ResNet-18 with a one-channel 7×7 stem and 10 logits, width 16; the printed
header says the width), on the first ``--images`` real Fashion-MNIST training images, batch 128,
SGD with momentum. Three rates, measured in this same run:

- engine: images/s of ``dlnft.experiments.train.fit`` (uint8 images, per-batch normalization,
  channels_last, per-epoch loss check), one epoch per call;
- plain loop: the same model and batches in a textbook PyTorch loop (images normalized to
  float once beforehand, ``zero_grad`` / ``backward`` / ``step``, no engine);
- GEMM: this machine's float32 rate of a 1024 × 1024 × 1024 product (median of 5).

FLOPs per image are counted by ``torch.utils.flop_counter.FlopCounterMode`` over one forward and
backward pass of a batch. The engine and the plain loop alternate epoch by epoch (``--rounds``
timed epochs each, after one warm-up epoch each), so that a change of load during the run hits
both alike; each rate is the median over its epochs. Prints the engine's images/s and GFLOP/s,
its fraction of the GEMM rate, and its ratio to the plain loop.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlnft.experiments.data import load_fashion_mnist  # noqa: E402
from dlnft.experiments.resnet import FashionResNetConfig, build_model  # noqa: E402
from dlnft.experiments.train import fit, prepare, to_device  # noqa: E402

LR, MOMENTUM = 0.05, 0.9


def gemm_rate(size: int = 1024, repeat: int = 5, clock=time.perf_counter) -> float:
    """float32 FLOP/s of a plain (size, size) @ (size, size) torch product, median timing by
    ``clock`` (wall time; ``time.process_time`` for CPU time on a shared machine)."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(repeat):
        t0 = clock()
        a @ b
        times.append(clock() - t0)
    return 2.0 * size ** 3 / float(np.median(times))


def flops_per_image(model, x, y) -> float:
    """FLOPs of one forward + backward pass on the uint8 batch x, per image."""
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(prepare(x)), y).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops()) / len(y)


def plain_epoch(model, opt, xf, y, batch: int, gen: torch.Generator) -> float:
    """One epoch of a textbook loop over pre-normalized float images; returns its seconds."""
    model.train()
    start = time.perf_counter()
    order = torch.randperm(len(y), generator=gen)
    for i in range(0, len(y), batch):
        idx = order[i:i + batch]
        loss = F.cross_entropy(model(xf[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def run(images: int = 2048, rounds: int = 2, batch: int = 128) -> dict:
    x_all, y_all = load_fashion_mnist(True)
    x, y = to_device(x_all[:images], y_all[:images], "cpu")
    cfg = FashionResNetConfig.full()
    torch.manual_seed(0)
    engine = build_model(cfg).to(memory_format=torch.channels_last)
    flops = flops_per_image(engine, x[:batch], y[:batch])
    torch.manual_seed(0)
    plain = build_model(cfg).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(plain.parameters(), lr=LR, momentum=MOMENTUM)
    xf = prepare(x)  # normalized once: the plain loop does no per-batch work of its own
    gen = torch.Generator().manual_seed(0)
    kw = dict(lr=LR, momentum=MOMENTUM, batch_size=batch, max_epochs=1, desc="engine")
    t_engine, t_plain, gemm = [], [], []
    for r in range(rounds + 1):  # round 0 warms both up and is not counted
        gemm.append(gemm_rate())
        t0 = time.perf_counter()
        fit(engine, x, y, seed=r, **kw)
        t_engine.append(time.perf_counter() - t0)
        t_plain.append(plain_epoch(plain, opt, xf, y, batch, gen))
    engine_rate = images / float(np.median(t_engine[1:]))
    plain_rate = images / float(np.median(t_plain[1:]))
    gemm_flops = float(np.median(gemm))
    return dict(width=cfg.width, images=images, batch=batch, rounds=rounds,
                flops_per_image=flops, engine_images_per_s=engine_rate,
                plain_images_per_s=plain_rate,
                engine_flops_per_s=engine_rate * flops, plain_flops_per_s=plain_rate * flops,
                gemm_flops_per_s=gemm_flops, threads=torch.get_num_threads())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=2048, help="training images per epoch")
    p.add_argument("--rounds", type=int, default=2,
                   help="timed epochs of each loop (after one warm-up epoch each)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=0,
                   help="torch threads (0: torch's default, i.e. OMP_NUM_THREADS if set)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    r = run(args.images, args.rounds, args.batch)
    gemm = r["gemm_flops_per_s"]
    head = (f"Fashion-MNIST ResNet-18 CPU training (width {r['width']}, 28x28x1, "
            f"batch {r['batch']}, {r['images']} images, {r['threads']} thread(s), "
            f"load {os.getloadavg()[0]:.1f})")
    print(f"{head}: engine {r['engine_images_per_s']:.0f} images/s, "
          f"{r['engine_flops_per_s'] / 1e9:.1f} GFLOP/s at {r['flops_per_image'] / 1e6:.0f} "
          f"MFLOP per image (forward + backward)")
    print(f"ResNet-18 engine vs float32 GEMM: {r['engine_flops_per_s'] / gemm:.2f} of the GEMM "
          f"rate ({gemm / 1e9:.1f} GFLOP/s); plain loop {r['plain_flops_per_s'] / gemm:.2f}")
    print(f"ResNet-18 engine vs plain PyTorch loop: "
          f"{r['engine_images_per_s'] / r['plain_images_per_s']:.2f}x "
          f"(plain {r['plain_images_per_s']:.0f} images/s; {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
