"""Layer balance in a bias-free ReLU network: the deep analogue of the conserved λ (chapter 1).

For f(x) = W_L σ(⋯ σ(W_1 x)) with bias-free ReLU σ, ⟨W_l, ∇_{W_l} L⟩ = ⟨f, ∇_f L⟩ for every l,
so gradient flow conserves D_l = ||W_{l+1}||²_F − ||W_l||²_F, and one GD step of size η
changes it by exactly η² (||G_{l+1}||²_F − ||G_l||²_F), G_l = ∇_{W_l} L.

:func:`run` trains such a network on modular addition with full-batch GD at several step sizes,
all for the same training time ηT, and records D_l − D_l(0) next to the accumulated prediction.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import _validate as V
from .modular import modular_dataset


@dataclass(frozen=True)
class BalanceConfig:
    """p: prime modulus; width: hidden width; depth: number of weight matrices (>= 2);
    lrs: GD step sizes η; time: training time ηT, the same for every η; records: how many
    points of each trajectory to keep; train_fraction: share of the p² pairs trained on;
    seed: seed of the split and of the initialization (the same for every η); device."""

    p: int = 23
    width: int = 128
    depth: int = 3
    lrs: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0)
    time: float = 400.0
    records: int = 40
    train_fraction: float = 0.5
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        V.integer("p", self.p, low=2)
        V.integer("width", self.width, low=1)
        V.integer("depth", self.depth, low=2)
        if len(self.lrs) < 2:
            raise ValueError(f"lrs must hold at least two step sizes, got {self.lrs}")
        for lr in self.lrs:
            V.real("lrs", lr, low=0.0, low_open=True)
        V.real("time", self.time, low=0.0, low_open=True)
        V.integer("records", self.records, low=2)
        V.real("train_fraction", self.train_fraction, low=0.0, high=1.0, low_open=True)
        V.integer("seed", self.seed, low=0)

    @classmethod
    def smoke(cls) -> "BalanceConfig":
        """p = 23, width 128: seconds on a CPU."""
        return cls()

    @classmethod
    def full(cls) -> "BalanceConfig":
        """p = 59, width 256, depth 4, four step sizes 1/4 … 2 for the same time ηT = 1000.

        7,500 float64 GD steps in all (4,000 of them at η = 1/4) on 1,740 training pairs: about
        2.5 minutes on 2 quiet CPU cores (18 ms a step, 2 threads). ηT = 1000 is what the
        network needs to fit its training pairs at the larger steps (at ηT = 250 it was still
        at chance at every step size). Width 512 costs 75 ms a step, p = 97 at width 512 about
        4× more again. float64 because the drift is compared with its η² prediction to far
        below float32's rounding. On the CPU wherever it runs: the recorded design is a CPU run,
        and a config that changed with the machine would not match its own record.
        """
        return cls(p=59, width=256, depth=4, lrs=(0.25, 0.5, 1.0, 2.0),
                   time=1000.0, records=100, device="cpu")


def _init_weights(config: BalanceConfig, generator: torch.Generator) -> list[torch.Tensor]:
    """PyTorch's default Linear initialization (uniform, bound 1/sqrt(fan_in)), bias-free."""
    dims = [2 * config.p] + [config.width] * (config.depth - 1) + [config.p]
    weights = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        bound = 1 / math.sqrt(fan_in)
        weights.append((torch.rand(fan_out, fan_in, generator=generator, dtype=torch.float64)
                        * 2 - 1) * bound)
    return weights


def _forward(weights: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = x
    for W in weights[:-1]:
        h = torch.relu(h @ W.T)
    return h @ weights[-1].T


def _train(config: BalanceConfig, lr: float, x, y) -> dict:
    generator = torch.Generator().manual_seed(config.seed)
    weights = [W.to(config.device).requires_grad_() for W in _init_weights(config, generator)]
    steps = max(1, round(config.time / lr))
    keep = set(np.linspace(0, steps, config.records).round().astype(int).tolist())

    def balance():
        sq = torch.stack([(W.detach() ** 2).sum() for W in weights])
        return sq[1:] - sq[:-1]

    D0 = balance()
    predicted = torch.zeros_like(D0)
    time, drift, predicted_drift = [], [], []
    for step in range(steps + 1):
        if step in keep:
            time.append(step * lr)
            drift.append((balance() - D0).tolist())
            predicted_drift.append(predicted.tolist())
        if step == steps:
            break
        loss = F.cross_entropy(_forward(weights, x), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"GD diverged at step {step} with lr = {lr}; lower it")
        grads = torch.autograd.grad(loss, weights)
        sq_grad = torch.stack([(G**2).sum() for G in grads])
        predicted += lr**2 * (sq_grad[1:] - sq_grad[:-1])
        with torch.no_grad():
            for W, G in zip(weights, grads):
                W -= lr * G
    with torch.no_grad():
        train_acc = (_forward(weights, x).argmax(1) == y).double().mean().item()
    return {"lr": lr, "steps": steps, "time": time, "drift": drift,
            "predicted_drift": predicted_drift, "train_acc": train_acc}


def run(config: BalanceConfig) -> dict:
    """Train at every step size of ``config``; return trajectories and summary numbers.

    Returns a JSON-serializable dict: ``runs`` (one per lr: time, drift and predicted_drift of
    shape (records, depth−1), train_acc), ``max_mismatch`` (largest |measured − predicted|
    over all runs, layers and times), ``drift_slope`` (slope of log max_l |D_l(T) − D_l(0)|
    against log η: 1 when the drift is the predicted O(η) at fixed training time).
    """
    if not isinstance(config, BalanceConfig):
        raise TypeError(f"config must be a BalanceConfig, got {type(config).__name__}")
    x, y, _, _ = modular_dataset(config.p, "+", train_fraction=config.train_fraction,
                                 seed=config.seed, dtype=torch.float64)
    x, y = x.to(config.device), y.to(config.device)
    runs = [_train(config, lr, x, y) for lr in config.lrs]
    mismatch = max(float(np.max(np.abs(np.array(r["drift"]) - np.array(r["predicted_drift"]))))
                   for r in runs)
    final = [float(np.max(np.abs(r["drift"][-1]))) for r in runs]
    small = np.argsort(config.lrs)[:3]
    slope = float(np.polyfit(np.log(np.array(config.lrs)[small]), np.log(np.array(final)[small]),
                             1)[0])
    return {"config": dataclasses.asdict(config), "runs": runs, "max_mismatch": mismatch,
            "drift_slope": slope}
