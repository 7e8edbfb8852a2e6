"""Training throughput of the deep-network loops of dlnft.experiments.

    python benchmarks/throughput.py [--arch torchvision|cifar] [--batch 512] [--epochs 3]
                                    [--compile] [--transformer-steps 20]

ResNet-18: runs ``dlnft.experiments.train.fit`` (the loop every ResNet experiment uses: uint8
data on the device, on-device crop + flip, bf16 autocast, channels_last) on random images, counts
the FLOPs of one training step with ``torch.utils.flop_counter`` and prints images/s, achieved
TFLOP/s and their ratio to the device's dense bf16 peak.

Transformer: times the full-batch AdamW PT steps of the modular-arithmetic experiment
(``dlnft.experiments.modular``, its full configuration: the PT pairs of a + b mod 59) and
prints tokens/s, the achieved FLOP rate as a fraction of the device's float32 GEMM rate
measured in the same run, and the speed-up over a plain PyTorch loop of the same model
without the last-position cut (float32 throughout).

Without a GPU it says so, reports the ResNet rate of the narrow smoke network and the
Transformer figures on the CPU.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from dlnft.experiments.modular import (TOKENS_PER_INPUT, ModularConfig, _train,
                                       build_transformer, encode_task)
from dlnft.experiments.resnet import ResNetConfig, build_model
from dlnft.experiments.train import autocast, fit, prepare, to_device

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 80GB HBM3": 989.0, "H100 PCIe": 756.0,
                    "H100": 756.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}
"""Dense bf16 tensor-core peaks (vendor data sheets, without sparsity), by device-name part."""


def peak_tflops(name: str) -> float | None:
    """The bf16 peak of the first table entry whose key is in the device name."""
    for key, value in PEAK_BF16_TFLOPS.items():
        if key in name:
            return value
    return None


def step_flops(model, x, y) -> float:
    """FLOPs of one forward + backward pass on the batch (x uint8, y labels)."""
    with FlopCounterMode(display=False) as counter:
        with autocast(x.device.type):
            loss = F.cross_entropy(model(prepare(x, augment=True)).float(), y)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def _uncut_logits(model, x):
    """The same model computing every position in every block (no last-position cut)."""
    return model(x, last_only=False)


def _plain_loop(model, x, y, steps, lr, weight_decay, logits):
    """The baseline: a bare PyTorch full-batch AdamW loop, no recording, no checks."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(logits(model, x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def gemm_rate(device: str, n: int = 1024, repeats: int = 20) -> float:
    """This device's float32 GEMM rate (FLOP/s): the median of ``repeats`` n × n products."""
    a, b = (torch.randn(n, n, device=device) for _ in range(2))
    times = []
    for _ in range(repeats + 2):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * n**3 / float(np.median(times[2:]))


def _timed(fn, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def transformer_throughput(device: str, steps: int) -> None:
    """Tokens/s of the modular experiment's PT steps, its share of the float32 GEMM rate and
    its speed against a plain PyTorch loop of the uncut model (same weights, same batch).

    The experiment's loop (``modular._train``: the last block computes the last position
    only, the loss is checked every step) and the baseline run alternately, ``steps`` steps
    each, three times; each ratio is the median of the three pairs.
    """
    config = ModularConfig.full()
    p = config.p
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    n_pt = round(config.pt_fraction * p * p)
    x, y = (t.to(device) for t in encode_task(a[:n_pt], b[:n_pt], config.pt_ops, p))
    torch.manual_seed(0)
    model = build_transformer(config).to(device)
    flops = {}
    for name, logits in (("cut", lambda m, x: m(x)), ("uncut", _uncut_logits)):
        with FlopCounterMode(display=False) as counter:
            F.cross_entropy(logits(model, x), y).backward()
        flops[name] = float(counter.get_total_flops())
    model.zero_grad(set_to_none=True)
    train = dict(lr=config.lr, weight_decay=config.pt_weight_decay, desc="throughput")
    ours = lambda: _train(model, x, y, x[:1], y[:1], steps=steps, record_every=steps,  # noqa
                          **train)
    plain = lambda: _plain_loop(model, x, y, steps, config.lr,  # noqa
                                config.pt_weight_decay, _uncut_logits)
    ours(), plain()  # warm-up
    pairs = [(_timed(ours, device), _timed(plain, device)) for _ in range(3)]
    wall = float(np.median([o for o, _ in pairs]))
    speedup = float(np.median([b / o for o, b in pairs]))
    gemm = gemm_rate(device)
    tokens = x.shape[0] * TOKENS_PER_INPUT * steps
    achieved = flops["cut"] * steps / wall
    print(f"{'GPU' if device == 'cuda' else 'CPU'}, modular Transformer (p = {p}, d_model "
          f"{config.d_model}, {config.n_layers} layer(s), full batch of {x.shape[0]} "
          f"sequences, float32): {wall / steps * 1e3:.1f} ms/step, {tokens / wall:,.0f} "
          f"tokens/s, {achieved / 1e9:.1f} GFLOP/s = {achieved / gemm:.2f} of the float32 "
          f"GEMM rate ({gemm / 1e9:.0f} GFLOP/s); {speedup:.2f}x a plain PyTorch loop of the "
          f"uncut model ({flops['uncut'] / flops['cut']:.1f}x the FLOPs per step)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", choices=("torchvision", "cifar"), default="torchvision")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up)")
    p.add_argument("--images", type=int, default=20480, help="images per epoch")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--transformer-steps", type=int, default=20,
                   help="timed full-batch steps of the modular Transformer")
    args = p.parse_args(argv)

    cuda = torch.cuda.is_available()
    if cuda:
        device, width, images, batch = "cuda", 64, args.images, args.batch
    else:
        print("no GPU: TFLOP/s and the ratio to a GPU peak are not measured here; "
              "CPU images/s of the narrow smoke network (width 8) follow")
        device, width, images, batch = "cpu", 8, 512, 64
    torch.manual_seed(0)
    model = build_model(ResNetConfig(arch=args.arch, width=width)).to(
        device, memory_format=torch.channels_last)
    rng = np.random.default_rng(0)
    x, y = to_device(rng.integers(0, 256, (images, 32, 32, 3), dtype=np.uint8),
                     rng.integers(0, 100, images), device)
    flops = step_flops(model, x[:batch], y[:batch]) / batch
    step = torch.compile(model) if args.compile else model
    kw = dict(lr=0.05, momentum=0.9, batch_size=batch, augment=True)
    fit(step, x, y, max_epochs=1, **kw)  # warm-up (and compilation)
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    fit(step, x, y, max_epochs=args.epochs if cuda else 1, **kw)
    if cuda:
        torch.cuda.synchronize()
    rate = images * (args.epochs if cuda else 1) / (time.perf_counter() - start)
    name = torch.cuda.get_device_name(0) if cuda else "CPU"
    print(f"{name}, resnet18 ({args.arch}, width {width}), batch {batch}, "
          f"{'compiled' if args.compile else 'eager'}: {rate:,.0f} images/s")
    if cuda:
        achieved = rate * flops / 1e12
        peak = peak_tflops(name)
        ratio = f", {achieved / peak:.1%} of the {peak:.0f} TFLOP/s bf16 peak" if peak else \
            " (peak of this device unknown)"
        print(f"{flops / 1e9:.2f} GFLOP per image (forward + backward): {achieved:.1f} TFLOP/s"
              f"{ratio}")
    transformer_throughput(device, args.transformer_steps)


if __name__ == "__main__":
    main()
