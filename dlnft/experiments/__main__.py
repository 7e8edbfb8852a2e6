"""python -m dlnft.experiments NAME --scale smoke|full [--seeds ...] [--download]
[--launcher local|slurm] [--out data/results]

Runs every config of NAME's sweep (× seeds), one result file per run under
OUT/runs/NAME/<config-hash>.json (finished runs are skipped, so a sweep resumes), then merges
them into OUT/NAME.json (OUT/NAME-smoke.json at smoke scale). ``python -m dlnft.experiments fetch`` downloads CIFAR-100 and SVHN
into data/.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import torch

from .._progress import bar
from ..gd import GDDivergedError
from ..scale import get_scale
from . import EXPERIMENTS
from .data import DATA_ROOT, MissingDataError, load_cifar100, load_svhn
from .results import RESULTS, load_run, merge, run_path, run_one


def parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {name:14s} {e.description}" for name, e in EXPERIMENTS.items())
    p = argparse.ArgumentParser(
        prog="python -m dlnft.experiments", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a dlnft experiment sweep and record it under data/results/.",
        epilog=f"experiments:\n{listing}\n  {'fetch':14s} download CIFAR-100 and SVHN into "
               f"data/ (then exit)")
    p.add_argument("name", choices=[*EXPERIMENTS, "fetch"], metavar="NAME",
                   help="experiment to run (see below), or 'fetch'")
    p.add_argument("--scale", choices=("smoke", "full"), default=None,
                   help="smoke (CPU, seconds) or full (GPU); default: DLNFT_SCALE, else full "
                        "if CUDA is available")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="seeds to run (default: the experiment's, e.g. 0..49 for resnet full)")
    p.add_argument("--download", action="store_true",
                   help="allow downloading missing datasets (also DLNFT_DOWNLOAD=1)")
    p.add_argument("--launcher", choices=("local", "slurm"), default="local",
                   help="run here (default) or submit one SLURM job per run through submitit")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (data/results)")
    p.add_argument("--slurm-partition", default=None, help="SLURM partition (slurm launcher)")
    p.add_argument("--slurm-timeout-min", type=int, default=240,
                   help="time limit of each SLURM job in minutes")
    return p


def launch(name: str, configs: list, out: Path, launcher: str = "local", *, scale: str = "",
           partition: str | None = None, timeout_min: int = 240) -> Path:
    """Run the configs not yet recorded (here or on SLURM), then merge them; returns the path
    of the merged file (see :func:`~dlnft.experiments.results.merged_path`)."""
    exp = EXPERIMENTS[name]
    todo = [c for c in configs if load_run(run_path(out, name, c), c) is None]
    print(f"{name}: {len(configs)} runs, {len(configs) - len(todo)} already recorded, "
          f"{len(todo)} to run ({launcher})", flush=True)
    if launcher == "local":
        for config in bar(todo, desc=name, unit="run"):
            run_one(name, exp.run, config, out)
    elif todo:
        import submitit

        executor = submitit.AutoExecutor(folder=out / "runs" / name / "slurm")
        executor.update_parameters(timeout_min=timeout_min, gpus_per_node=1, nodes=1,
                                   name=f"dlnft-{name}",
                                   **({"slurm_partition": partition} if partition else {}))
        jobs = executor.map_array(functools.partial(run_one, name, exp.run, out=out), todo)
        print(f"submitted {len(jobs)} SLURM jobs; waiting (re-run this command to resume)")
        for job in bar(jobs, desc=name, unit="job"):
            job.result()
    return merge(name, configs, out, scale=scale)


# Failures that end a sweep with one clear message instead of a traceback: the exception's
# class, its exit code, and what to do about it. Finished runs stay recorded either way.
FAILURES = (
    (MissingDataError, 3, "place the files named above, or allow the download"),
    (GDDivergedError, 4, "lower the step size in the experiment's config"),
    (FloatingPointError, 4, "lower the step size in the experiment's config"),
    (torch.cuda.OutOfMemoryError, 5, "free GPU memory or lower the batch size or width in the "
                                     "experiment's config"),
)


def main(argv=None) -> int:
    """The command line; returns the exit code (0, or the code of a failure in FAILURES)."""
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except tuple(kind for kind, _, _ in FAILURES) as exc:
        code, advice = next((c, a) for kind, c, a in FAILURES if isinstance(exc, kind))
        print(f"error: {type(exc).__name__}: {exc}\n{advice}; the runs finished so far are "
              f"kept, and running the command again resumes the sweep", file=sys.stderr)
        return code


def _run(args) -> int:
    if args.download:
        os.environ["DLNFT_DOWNLOAD"] = "1"
    if args.name == "fetch":
        load_cifar100(True, DATA_ROOT, download=True)
        load_svhn("train", DATA_ROOT, download=True)
        print(f"CIFAR-100 and SVHN are in {DATA_ROOT}")
        return 0
    scale = args.scale or get_scale()
    configs = EXPERIMENTS[args.name].configs(scale, args.seeds)
    path = launch(args.name, configs, args.out, args.launcher, scale=scale,
                  partition=args.slurm_partition,
                  timeout_min=args.slurm_timeout_min)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
