"""Recorded results: one JSON file per run, merged into ``data/results/NAME.json``.

A sweep is a list of run configs (sweep point × seed). Each finished run is written atomically
(temporary file + ``os.replace``) to ``data/results/runs/NAME/<config-hash>.json`` with its
config, metrics, scale and provenance (git commit, device, torch version, date, wall time) and
a checksum of all that. A run whose file is present and valid is skipped, so an interrupted
sweep resumes where it stopped; a file that is corrupt, truncated or edited by hand (its
checksum no longer matches), or holds another config, experiment or scale, is reported with a
warning and re-run. A sweep and a merge judge a run file by the same test.

:func:`merge` collects runs into ``data/results/NAME.json`` (full scale; smoke sweeps go to
``NAME-smoke.json``), and :func:`load` reads it back, its valid runs only. The per-run files
are not committed, so the merged file is the durable store: a merge keeps every valid run
already in it and adds every valid run file of the experiment at that scale (other seeds and
sweep points included), one per config; a run already in the merged file counts as recorded
when a sweep resumes, also on a fresh clone.
"""
from __future__ import annotations

import contextlib
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

SCALES = ("smoke", "full")


class ResultsError(RuntimeError):
    """A results file or folder that cannot be used as it is (the message names it)."""


def config_dict(config) -> dict:
    """A config dataclass as a JSON-ready dict (tuples become lists), with its class name."""
    d = json.loads(json.dumps(dataclasses.asdict(config)))
    return {"class": type(config).__name__, **d}


def _dict_hash(d: dict) -> str:
    text = json.dumps(d, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_hash(config) -> str:
    """16 hex digits of the SHA-256 of the config's canonical JSON: the run's file name."""
    return _dict_hash(config_dict(config))


def _check_scale(scale) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    return scale


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


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that files can be written in it; ResultsError
    (naming the folder) when they cannot. Called before any run computes."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".write-test.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise ResultsError(f"cannot write results in {folder} ({exc.strerror or exc}); "
                           f"choose a writable folder with --out") from exc
    return folder


def provenance() -> dict:
    """Git commit (and whether the tree had changes), device, torch version, host, date.

    Where git is missing or the package is not in a git checkout (a copy of the tree sent to
    another machine), the commit is read from the environment variable ``DLNFT_COMMIT`` (None
    when unset) and ``dirty`` is None: unknown.
    """
    root = Path(__file__).resolve().parents[2]

    def git(*args):
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    if commit is None:
        commit = os.environ.get("DLNFT_COMMIT", "").strip() or None
    cpu = f"cpu ({platform.processor() or platform.machine()})"
    return {"commit": commit, "dirty": None if status is None else bool(status),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else cpu,
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


def _valid_record(record, name: str) -> dict:
    """``record`` if it is a complete run record of experiment ``name`` with a matching
    checksum, else ValueError saying what is wrong."""
    if not isinstance(record, dict):
        raise ValueError("it is not a run record")
    if record.get("name") != name:
        raise ValueError(f"it is a run of {record.get('name')!r}, not {name!r}")
    if not isinstance(record.get("config"), dict) or not isinstance(record.get("metrics"), dict):
        raise ValueError("its config or metrics are missing")
    if record.get("checksum") != checksum(record):
        raise ValueError("its checksum does not match its contents")
    return record


def _read_json(path: Path):
    """The JSON in ``path``: ValueError when it is not valid JSON, OSError when unreadable."""
    return json.loads(path.read_text())


def _check_run_file(path: Path, record, name: str, scale: str | None, wanted: bool) -> bool:
    """Whether the run file ``path`` holding ``record`` is a run of NAME at ``scale``: the one
    test of a run file, for resuming a sweep (:func:`load_run`) and for :func:`merge`.

    ValueError, saying what is wrong, when it is no valid run of NAME (see
    :func:`_valid_record`) or the file's name is not the hash of its config. Else True when it
    says its scale is ``scale``, or says none and is ``wanted`` (one of the sweep's configs);
    False when it is a run of another scale.
    """
    _valid_record(record, name)
    if path.stem != _dict_hash(record["config"]):
        raise ValueError("its name is not the hash of its config")
    return record.get("scale", scale if wanted else None) == scale


def load_run(path: Path, config, name: str, scale: str | None) -> dict | None:
    """The recorded run at ``path`` if it is a valid run of experiment ``name`` at ``scale``
    for this config (see ``_check_run_file``; ``scale`` None: a run recorded without one),
    else None (warns if the file exists but is corrupt, truncated, unreadable, edited by hand,
    for another config, experiment or scale). A folder in the file's place is a ResultsError."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{path} is a folder, not a run file; remove it and run again")
    if not path.exists():
        return None
    try:
        record = _read_json(path)
        if not isinstance(record, dict) or record.get("config") != config_dict(config):
            raise ValueError("it holds another config")
        if not _check_run_file(path, record, name, scale, wanted=True):
            raise ValueError(f"it is a run of scale {record['scale']!r}, not {scale!r}")
        return record
    except (ValueError, OSError) as exc:
        warnings.warn(f"{path} is corrupt or incomplete ({exc}); running it again", stacklevel=2)
        return None


def run_one(name: str, fn, config, out: str | os.PathLike = RESULTS, *,
            scale: str | None = None) -> dict:
    """Run ``fn(config)`` unless its file under ``out/runs/NAME/`` is valid; return the record.

    The record: name, config, metrics (what ``fn`` returned), wall_s, provenance, and the
    ``scale`` of the sweep (``"smoke"`` or ``"full"``) when given, which lets :func:`merge`
    gather runs of other sweeps of the same experiment.
    """
    if scale is not None:
        _check_scale(scale)
    path = run_path(out, name, config)
    record = load_run(path, config, name, scale)
    if record is not None:
        return record
    start = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    metrics = fn(config)
    record = {"name": name, "config": config_dict(config), "metrics": metrics,
              "wall_s": time.perf_counter() - t0,
              "provenance": {**provenance(), "started": start.isoformat(timespec="seconds")}}
    if scale is not None:
        record["scale"] = scale
    record["checksum"] = checksum(record)
    write_json(path, record)
    return record


def merged_path(name: str, out: str | os.PathLike = RESULTS, scale: str = "full") -> Path:
    """``out/NAME.json`` for full-scale sweeps, ``out/NAME-smoke.json`` for smoke ones."""
    _check_scale(scale)
    return Path(out) / (f"{name}.json" if scale == "full" else f"{name}-{scale}.json")


def _read_merged(path: Path, scale: str) -> dict | None:
    """The merged file at ``path`` (None when absent); ResultsError when it is not valid JSON,
    not a merged file, or holds another scale."""
    if not path.exists():
        return None
    try:
        data = _read_json(path)
    except (ValueError, OSError) as exc:
        raise ResultsError(f"{path} cannot be read as a merged results file ({exc}); restore "
                           f"it (e.g. git checkout {path.name}) or move it away") from exc
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise ResultsError(f"{path} is not a merged results file (no list of runs); restore "
                           f"it or move it away")
    if data.get("scale") != scale:
        raise ResultsError(f"{path} holds results of scale {data.get('scale')!r}, not "
                           f"{scale!r}; move it away (a merged file must say its scale)")
    return data


def _valid_runs(data: dict | None, path: Path, name: str, scale: str) -> dict:
    """The valid runs of the merged file ``data`` (read from ``path``), by config hash, the
    first of each config; a run that is invalid or of another scale is reported with a warning
    naming the file and left out."""
    found = {}
    for i, record in enumerate(data["runs"] if data else []):
        try:
            _valid_record(record, name)
            if record.get("scale", scale) != scale:
                raise ValueError(f"it is a run of scale {record['scale']!r}")
        except ValueError as exc:
            warnings.warn(f"{path}: run {i} is left out ({exc})", stacklevel=3)
            continue
        found.setdefault(_dict_hash(record["config"]), record)
    return found


def recorded(name: str, out: str | os.PathLike = RESULTS, scale: str = "full") -> dict:
    """The valid runs of the merged file ``merged_path(name, out, scale)``, by config hash
    ({} when there is none), one per config. A run whose checksum fails is reported with a
    warning naming the file and left out."""
    path = merged_path(name, out, scale)
    return _valid_runs(_read_merged(path, scale), path, name, scale)


def _run_files(name: str, out, scale: str, wanted: set) -> dict:
    """Valid run files of ``name`` at ``scale`` by config hash: those that say their scale,
    and those that do not but are one of the ``wanted`` configs. An invalid file is reported
    with a warning naming it and left out."""
    found = {}
    for path in sorted((Path(out) / "runs" / name).glob("*.json")):
        try:
            record = _read_json(path)
            if not _check_run_file(path, record, name, scale, wanted=path.stem in wanted):
                continue                               # a run of the other scale
        except (ValueError, OSError) as exc:
            warnings.warn(f"{path} is left out of the merge ({exc})", stacklevel=3)
            continue
        found[path.stem] = record
    return found


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive lock on ``path`` (POSIX ``flock``; no lock where it is unavailable), so
    that two sweeps merging into one file at once each see the other's runs."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def merge(name: str, configs, out: str | os.PathLike = RESULTS, *, scale: str) -> Path:
    """Write ``out/NAME.json`` (``out/NAME-smoke.json`` for smoke runs, so that they never pass
    for full-scale results) from every valid run of NAME at ``scale`` (``"smoke"`` or
    ``"full"``, required): the runs already in that file, then every valid run file under
    ``out/runs/NAME/`` of that scale, one run per config (the merged file's when both hold it).

    No valid run is ever dropped; an invalid one (corrupt, edited by hand) is reported with a
    warning naming its file and left out. The file holds: name, scale, provenance of the merge,
    n_runs, total wall time and the list of runs (the runs of ``configs`` first, in their
    order, then the others); ``missing`` lists the configs of ``configs`` not yet recorded, by
    config hash.
    """
    _check_scale(scale)
    path = merged_path(name, out, scale)
    hashes = [config_hash(c) for c in configs]
    with _lock(Path(out) / "runs" / name / ".merge.lock"):
        found = recorded(name, out, scale)
        for key, record in _run_files(name, out, scale, set(hashes)).items():
            found.setdefault(key, record)
        first = [h for h in dict.fromkeys(hashes) if h in found]
        rest = sorted(set(found) - set(first),
                      key=lambda h: json.dumps(found[h]["config"], sort_keys=True))
        ordered = [found[h] for h in first + rest]
        data = {"name": name, "scale": scale, "provenance": provenance(),
                "n_runs": len(ordered), "wall_s": sum(r["wall_s"] for r in ordered),
                "missing": [h for h in dict.fromkeys(hashes) if h not in found],
                "runs": ordered}
        return write_json(path, data)


def load(name: str, out: str | os.PathLike = RESULTS, scale: str = "full") -> dict | None:
    """The merged results of NAME at ``scale`` (see :func:`merged_path`), or None when they
    have not been recorded. ResultsError when the file is not valid JSON or holds another
    scale (a smoke sweep never passes for full-scale results).

    ``runs`` holds the valid runs only, one per config (as :func:`recorded` finds them: a run
    that is invalid, e.g. edited by hand, is reported with a warning and left out), and
    ``n_runs`` and ``wall_s`` count those runs.
    """
    path = merged_path(name, out, scale)
    data = _read_merged(path, scale)
    if data is None:
        return None
    runs = list(_valid_runs(data, path, name, scale).values())
    return {**data, "n_runs": len(runs), "wall_s": sum(r["wall_s"] for r in runs), "runs": runs}


def load_recorded(name: str, out: str | os.PathLike = RESULTS) -> dict:
    """The merged full-scale results of experiment ``name`` that a chapter judges.

    ResultsError naming the command that records them when the file is missing or holds no
    run, and when a recorded run is not one of the registry's full-scale configs
    (``EXPERIMENTS[name].configs("full")``): a protocol that drifted is refused, not read.
    """
    from . import EXPERIMENTS          # the registry imports this module

    if name not in EXPERIMENTS:
        raise ValueError(f"name must be one of {sorted(EXPERIMENTS)}, got {name!r}")
    command = f"python -m dlnft.experiments {name} --scale full"
    merged = load(name, out, "full")
    if merged is None or not merged["runs"]:
        raise ResultsError(f"{merged_path(name, out)} is missing or holds no run; record it "
                           f"with: {command}")
    allowed = {_dict_hash(config_dict(c)) for c in EXPERIMENTS[name].configs("full")}
    stray = [r["config"].get("seed") for r in merged["runs"]
             if _dict_hash(r["config"]) not in allowed]
    if stray:
        raise ResultsError(f"{merged_path(name, out)}: {len(stray)} run(s) (seeds {stray}) "
                           f"are not among the registry's full-scale configs of {name!r}; "
                           f"the protocol changed: re-record with {command}")
    return merged
