"""Recorded results: one JSON file per run, merged into ``data/results/NAME.json``.

A sweep is a list of run configs (sweep point × seed). Each finished run is written atomically
(temporary file + ``os.replace``) to ``data/results/runs/NAME/<config-hash>.json`` with its
config, metrics and provenance (git commit, device, torch version, date, wall time) and a
checksum of all that. A run whose file is present and valid is skipped, so an interrupted sweep
resumes where it stopped; a file that is corrupt, truncated or edited by hand (its checksum no
longer matches), or holds another config, is reported with a warning and re-run.
:func:`merge` collects the run files of a sweep into ``data/results/NAME.json`` (full scale;
smoke sweeps go to ``NAME-smoke.json``) and :func:`load` reads it back.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import platform
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import torch

RESULTS = Path(__file__).resolve().parents[2] / "data" / "results"
"""The default folder of recorded results, ``data/results/`` in the repository."""


def config_dict(config) -> dict:
    """A config dataclass as a JSON-ready dict (tuples become lists), with its class name."""
    d = json.loads(json.dumps(dataclasses.asdict(config)))
    return {"class": type(config).__name__, **d}


def config_hash(config) -> str:
    """16 hex digits of the SHA-256 of the config's canonical JSON: the run's file name."""
    text = json.dumps(config_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_json(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as JSON to ``path`` atomically (a reader never sees a partial file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, allow_nan=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def provenance() -> dict:
    """Git commit (else $DLNFT_COMMIT) and whether the tree had changes, device, torch version,
    host, date."""
    root = Path(__file__).resolve().parents[2]

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    cuda = torch.cuda.is_available()
    commit = git("rev-parse", "HEAD")
    # A copy of the tree without .git (e.g. on a remote GPU machine) names its commit in
    # DLNFT_COMMIT; whether that copy had changes is then unknown (None).
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    return {"commit": commit or os.environ.get("DLNFT_COMMIT") or None, "dirty": dirty,
            "device": torch.cuda.get_device_name(0) if cuda else f"cpu ({platform.processor() or platform.machine()})",
            "torch": torch.__version__, "python": platform.python_version(),
            "host": platform.node(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def run_path(out: str | os.PathLike, name: str, config) -> Path:
    """``out/runs/NAME/<config-hash>.json``."""
    return Path(out) / "runs" / name / f"{config_hash(config)}.json"


def checksum(record: dict) -> str:
    """SHA-256 of a run record's canonical JSON without its own ``checksum`` field."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def load_run(path: Path, config) -> dict | None:
    """The recorded run at ``path`` if it is valid JSON for this config with a matching
    checksum, else None (warns if the file exists but is corrupt, truncated, edited by hand or
    for another config)."""
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        if record["config"] != config_dict(config) or not isinstance(record["metrics"], dict):
            raise ValueError("it holds another config")
        if record["checksum"] != checksum(record):
            raise ValueError("its checksum does not match its contents")
        return record
    except (ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"{path} is corrupt or incomplete ({exc}); running it again", stacklevel=2)
        return None


def run_one(name: str, fn, config, out: str | os.PathLike = RESULTS) -> dict:
    """Run ``fn(config)`` unless its file under ``out/runs/NAME/`` is valid; return the record.

    The record: name, config, metrics (what ``fn`` returned), wall_s, provenance.
    """
    path = run_path(out, name, config)
    record = load_run(path, config)
    if record is not None:
        return record
    start = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    metrics = fn(config)
    record = {"name": name, "config": config_dict(config), "metrics": metrics,
              "wall_s": time.perf_counter() - t0,
              "provenance": {**provenance(), "started": start.isoformat(timespec="seconds")}}
    record["checksum"] = checksum(record)
    write_json(path, record)
    return record


def merge(name: str, configs, out: str | os.PathLike = RESULTS, *, scale: str = "") -> Path:
    """Write ``out/NAME.json`` (``out/NAME-smoke.json`` for smoke runs, so that they never pass
    for full-scale results) from the valid run files of ``configs`` (in their order).

    The file holds: name, scale, provenance of the merge, n_runs, total wall time and the list
    of runs (config, metrics, wall_s, provenance); runs not yet recorded are listed under
    ``missing`` by config hash.
    """
    runs, missing = [], []
    for config in configs:
        record = load_run(run_path(out, name, config), config)
        (runs.append(record) if record is not None else missing.append(config_hash(config)))
    data = {"name": name, "scale": scale, "provenance": provenance(), "n_runs": len(runs),
            "wall_s": sum(r["wall_s"] for r in runs), "missing": missing, "runs": runs}
    return write_json(merged_path(name, out, scale), data)


def merged_path(name: str, out: str | os.PathLike = RESULTS, scale: str = "full") -> Path:
    """``out/NAME.json`` for full-scale sweeps, ``out/NAME-SCALE.json`` for the others."""
    return Path(out) / (f"{name}.json" if scale in ("full", "") else f"{name}-{scale}.json")


def load(name: str, out: str | os.PathLike = RESULTS, scale: str = "full") -> dict | None:
    """The merged results of NAME at ``scale`` (see :func:`merged_path`), or None when they
    have not been recorded."""
    path = merged_path(name, out, scale)
    return json.loads(path.read_text()) if path.exists() else None
