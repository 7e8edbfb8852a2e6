"""python -m dlnft.experiments NAME --scale smoke|full [--seeds ...] [--download]
[--launcher local|slurm] [--out data/results]

Runs every config of NAME's sweep (× seeds), one result file per run under
OUT/runs/NAME/<config-hash>.json (finished runs are skipped, so a sweep resumes; so are runs
already in the merged file), then merges them into OUT/NAME.json (OUT/NAME-smoke.json at smoke
scale), keeping every run recorded there before. Ctrl-C stops the sweep with exit code 130,
keeping the finished runs. ``python -m dlnft.experiments fetch`` downloads CIFAR-100 and SVHN
into data/.
"""
from __future__ import annotations

import argparse
import functools
import os
import shlex
import sys
import warnings
from collections import Counter
from pathlib import Path

import torch

from .._progress import bar
from ..gd import GDDivergedError
from ..scale import get_scale
from . import EXPERIMENTS, SEED_MAX
from .data import DATA_ROOT, MissingDataError, load_cifar100, load_svhn
from .results import (RESULTS, ResultsError, check_writable, config_hash, load_run, merge,
                      provenance, recorded, run_one, run_path)


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed must be an integer, got {text!r}") from None
    if not 0 <= seed <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"a seed must be in [0, 2**63 - 1], got {seed}")
    return seed


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
    p.add_argument("--seeds", type=_seed, nargs="+", default=None,
                   help="seeds to run, distinct, in [0, 2**63 - 1] (default: the "
                        "experiment's, e.g. 0..49 for resnet full)")
    p.add_argument("--download", action="store_true",
                   help="allow downloading missing datasets (also DLNFT_DOWNLOAD=1)")
    p.add_argument("--launcher", choices=("local", "slurm"), default="local",
                   help="run here (default) or submit one SLURM job per run through submitit")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (data/results)")
    p.add_argument("--slurm-partition", default=None, help="SLURM partition (slurm launcher)")
    p.add_argument("--slurm-timeout-min", type=int, default=240,
                   help="time limit of each SLURM job in minutes")
    return p


def pending(name: str, configs: list, out: Path, scale: str) -> tuple[list, list]:
    """(configs not yet recorded, records of those that are): a config is recorded when its
    run is valid in the merged file of ``scale`` or in its run file under ``out/runs/NAME/``
    (a run of NAME at ``scale``, as :func:`~dlnft.experiments.results.merge` takes it)."""
    in_merged = recorded(name, out, scale)
    todo, done = [], []
    for config in configs:
        record = in_merged.get(config_hash(config)) or load_run(run_path(out, name, config),
                                                                config, name, scale)
        (todo.append(config) if record is None else done.append(record))
    return todo, done


def report_older(name: str, done: list) -> None:
    """One line per commit other than the current one that recorded runs being reused."""
    current = provenance()["commit"]
    if current is None:
        return
    older = Counter(r.get("provenance", {}).get("commit") for r in done)
    older.pop(current, None)
    for commit, n in sorted(older.items(), key=lambda kv: str(kv[0])):
        print(f"{name}: {n} recorded run(s) reused from commit {commit or 'unknown'}, not the "
              f"current {current}; they are not run again", flush=True)


def launch(name: str, configs: list, out: Path, launcher: str = "local", *, scale: str,
           partition: str | None = None, timeout_min: int = 240) -> Path:
    """Run the configs not yet recorded (here or on SLURM), then merge them; returns the path
    of the merged file (see :func:`~dlnft.experiments.results.merged_path`).

    scale: ``"smoke"`` or ``"full"``, required (it decides the merged file). The results
    folder must be writable (checked before any run); a config counts as recorded when its run
    file or the merged file holds it, and recorded runs of another commit are reported.
    """
    exp = EXPERIMENTS[name]
    if scale not in ("smoke", "full"):
        raise ValueError(f"scale must be 'smoke' or 'full', got {scale!r}")
    out = Path(out)
    check_writable(out)
    check_writable(out / "runs" / name)
    todo, done = pending(name, configs, out, scale)
    print(f"{name}: {len(configs)} runs, {len(done)} already recorded, "
          f"{len(todo)} to run ({launcher})", flush=True)
    report_older(name, done)
    if launcher == "local":
        for config in bar(todo, desc=name, unit="run"):
            run_one(name, exp.run, config, out, scale=scale)
    elif todo:
        import submitit

        executor = submitit.AutoExecutor(folder=out / "runs" / name / "slurm")
        executor.update_parameters(timeout_min=timeout_min, gpus_per_node=1, nodes=1,
                                   name=f"dlnft-{name}",
                                   **({"slurm_partition": partition} if partition else {}))
        jobs = executor.map_array(functools.partial(run_one, name, exp.run, out=out,
                                                    scale=scale), todo)
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
    (ResultsError, 6, "fix or move the file or folder named above"),
)
INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, as shells report it)."""


def main(argv=None) -> int:
    """The command line; returns the exit code (0, or the code of a failure in FAILURES)."""
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        return _interrupted(args)
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
    try:
        args.scale = args.scale or get_scale()
        configs = EXPERIMENTS[args.name].configs(args.scale, args.seeds)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    path = launch(args.name, configs, args.out, args.launcher, scale=args.scale,
                  partition=args.slurm_partition,
                  timeout_min=args.slurm_timeout_min)
    print(f"wrote {path}")
    return 0


def _interrupted(args) -> int:
    """After Ctrl-C: say how many runs are kept and the command that resumes the sweep."""
    if args.name == "fetch" or args.scale is None:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
    configs = EXPERIMENTS[args.name].configs(args.scale, args.seeds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        todo, done = pending(args.name, configs, Path(args.out), args.scale)
    command = ["python", "-m", "dlnft.experiments", args.name, "--scale", args.scale]
    if args.seeds is not None:
        command += ["--seeds", *map(str, args.seeds)]
    if Path(args.out) != RESULTS:
        command += ["--out", str(args.out)]
    if args.launcher != "local":
        command += ["--launcher", args.launcher]
    if args.slurm_partition:
        command += ["--slurm-partition", args.slurm_partition]
    if args.download:
        command.append("--download")
    print(f"interrupted: {len(done)} of {len(configs)} runs of {args.name} are recorded and "
          f"kept under {args.out}; resume with: {shlex.join(command)}", file=sys.stderr)
    return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
