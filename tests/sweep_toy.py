"""A fast stand-in experiment, run through dlnft's real sweep command line.

    python tests/sweep_toy.py toy --scale smoke --seeds 0 1 2 --out DIR

registers the experiment ``toy`` and calls ``dlnft.experiments.__main__.main``: the same argument
parsing, resume, atomic run files and merge as ``python -m dlnft.experiments``, with runs that
take a fraction of a second (a small GD on diagonal networks, then a pause so that a signal can
land mid-run). DLNFT_TOY_FAIL = diverge | oom | missing makes the run of seed
DLNFT_TOY_FAIL_SEED (default 2) fail the way a real one would: GD divergence (real, from
:func:`dlnft.gd`), CUDA out of memory (simulated: the error torch raises), or missing data (real,
from the CIFAR-100 loader on an empty folder).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass

import torch

from dlnft import DiagonalNet, gd, make_tasks
from dlnft.experiments import EXPERIMENTS, Experiment


@dataclass(frozen=True)
class ToyConfig:
    """GD on one diagonal network: d coordinates, ``steps`` steps of size ``lr``."""

    seed: int = 0
    d: int = 8
    steps: int = 100
    lr: float = 0.2
    pause_s: float = 0.4

    @classmethod
    def smoke(cls) -> "ToyConfig":
        return cls()

    @classmethod
    def full(cls) -> "ToyConfig":
        return cls(steps=1000, pause_s=0.0)


def metrics(config: ToyConfig, lr: float | None = None) -> dict:
    """What a run records: the final loss and β of GD on a seeded task."""
    pt, _ = make_tasks(d=config.d, alpha_pt=0.5, alpha_ft=0.5, rho_pt=0.5, rho_ft=0.5,
                       omega=0.5, seed=config.seed)
    net = DiagonalNet.from_scales(0.1, 0.0, shape=(1, config.d))
    res = gd(net, pt.X, pt.y, lr=config.lr if lr is None else lr, steps=config.steps)
    return {"loss": float(res.losses[-1, 0]), "beta": res.net.beta()[0].tolist()}


def run(config: ToyConfig) -> dict:
    if config.seed == int(os.environ.get("DLNFT_TOY_FAIL_SEED", "2")):
        fail = os.environ.get("DLNFT_TOY_FAIL")
        if fail == "diverge":
            metrics(config, lr=1e4)
        elif fail == "oom":
            raise torch.cuda.OutOfMemoryError(
                "CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 79.11 GiB total "
                "capacity; 75.02 GiB already allocated)")
        elif fail == "missing":
            from dlnft.experiments.data import load_cifar100

            load_cifar100(True, tempfile.mkdtemp(), download=False)
    out = metrics(config)
    time.sleep(config.pause_s)
    return out


TOY = Experiment("toy", ToyConfig, run, "a fast stand-in for the sweep tests",
                 seeds={"smoke": (0, 1, 2), "full": (0,)})

if __name__ == "__main__":
    from dlnft.experiments.__main__ import main

    EXPERIMENTS["toy"] = TOY
    sys.exit(main(sys.argv[1:]))
