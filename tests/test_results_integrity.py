"""Integrity of recorded results across sweeps, sessions and machines.

* A merge keeps every valid run ever recorded for the experiment at its scale (other seeds,
  other sweeps, runs that survive only in the committed merged file), one per config, and
  leaves out, with a warning naming the file, any run whose checksum fails.
* A config already in the merged file counts as recorded: a fresh clone resumes without
  running it again; runs recorded by another commit are reported, not re-run.
* The scale is never guessed: merge and launch require it, a merged file says it, and
  ``load`` of a full-scale name never returns smoke results.
* Seeds are distinct and in int64's non-negative range.
* Bad results folders and files end the command with one line naming them.

The experiment is ``toy`` of ``tests/sweep_toy.py`` (runs of milliseconds), run in-process.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlnft.experiments import EXPERIMENTS, results
from dlnft.experiments.__main__ import launch, main
from dlnft.experiments.results import (ResultsError, checksum, config_hash, load, merge,
                                       merged_path, provenance, run_path)
from dlnft.experiments.summary import ft_table
from sweep_toy import TOY, ToyConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch):
    monkeypatch.setitem(EXPERIMENTS, "toy", TOY)
    monkeypatch.setenv("DLNFT_TOY_FAIL", "")


def quick(seeds, **kw) -> list[ToyConfig]:
    return [ToyConfig(seed=s, pause_s=0.0, **kw) for s in seeds]


def merged(out: Path, scale: str = "smoke") -> dict:
    return json.loads(merged_path("toy", out, scale).read_text())


def counting(monkeypatch) -> list:
    """Replace the toy's run by one that records the seeds it runs."""
    calls = []
    run = TOY.run

    def fn(config):
        calls.append(config.seed)
        return run(config)
    monkeypatch.setitem(EXPERIMENTS, "toy", dataclasses.replace(TOY, run=fn))
    return calls


# --- merge keeps every valid run --------------------------------------------------------------

SWEEPS = st.lists(st.tuples(st.sets(st.integers(0, 9), min_size=1, max_size=4),
                            st.sampled_from([100, 50]), st.booleans()),
                  min_size=1, max_size=4)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sweeps=SWEEPS)
def test_merge_keeps_every_valid_run(tmp_path_factory, sweeps):
    """Sweeps of other seeds and other sweep points (``steps``), some on a fresh clone where
    only the merged file survives: the merged file ends with every run, each once."""
    out = tmp_path_factory.mktemp("results")
    everything = {}
    for seeds, steps, fresh_clone in sweeps:
        if fresh_clone:                                    # runs/ is not committed
            shutil.rmtree(out / "runs", ignore_errors=True)
        configs = quick(sorted(seeds), steps=steps)
        launch("toy", configs, out, scale="smoke")
        everything.update({config_hash(c): c for c in configs})
        data = merged(out)
        hashes = [results._dict_hash(r["config"]) for r in data["runs"]]
        assert sorted(hashes) == sorted(everything), "a recorded run was dropped or added"
        assert len(set(hashes)) == len(hashes), "a run is listed twice"
        assert data["n_runs"] == len(hashes) and data["missing"] == []
        assert data["wall_s"] == pytest.approx(sum(r["wall_s"] for r in data["runs"]))
        assert hashes[:len(configs)] == [config_hash(c) for c in configs]  # this sweep first


def test_merge_reports_and_leaves_out_invalid_runs(tmp_path):
    launch("toy", quick(range(3)), tmp_path, scale="smoke")
    path = merged_path("toy", tmp_path, "smoke")
    data = json.loads(path.read_text())
    data["runs"][0]["metrics"]["loss"] = 123.0              # edited by hand in the merged file
    path.write_text(json.dumps(data))
    (tmp_path / "runs" / "toy" / f"{config_hash(quick([0])[0])}.json").unlink()
    stray = tmp_path / "runs" / "toy" / f"{config_hash(quick([7])[0])}.json"
    stray.write_text("{truncated")                          # another seed's broken run file
    with pytest.warns(UserWarning) as caught:
        merge("toy", quick(range(3)), tmp_path, scale="smoke")
    messages = " | ".join(str(w.message) for w in caught)
    assert f"{path}: run 0 is left out (its checksum does not match" in messages
    assert f"{stray} is left out of the merge" in messages
    data = merged(tmp_path)
    assert [r["config"]["seed"] for r in data["runs"]] == [1, 2]
    assert data["missing"] == [config_hash(quick([0])[0])]


def test_load_returns_the_valid_runs_once_each(tmp_path):
    """A merged file edited by hand (a run changed, a run listed twice): ``load`` gives its
    valid runs, one per config, counts only those, and warns about the one it leaves out."""
    launch("toy", quick(range(3)), tmp_path, scale="smoke")
    path = merged_path("toy", tmp_path, "smoke")
    data = json.loads(path.read_text())
    data["runs"][0]["metrics"]["loss"] = 123.0
    data["runs"].append(data["runs"][1])
    path.write_text(json.dumps(data))
    with pytest.warns(UserWarning, match=f"{path}: run 0 is left out .*checksum"):
        loaded = load("toy", tmp_path, "smoke")
    assert [r["config"]["seed"] for r in loaded["runs"]] == [1, 2]
    assert loaded["n_runs"] == 2
    assert loaded["wall_s"] == pytest.approx(sum(r["wall_s"] for r in loaded["runs"]))
    assert {k: loaded[k] for k in ("name", "scale", "provenance", "missing")} == \
        {k: data[k] for k in ("name", "scale", "provenance", "missing")}


def test_runs_of_the_other_scale_stay_out(tmp_path):
    launch("toy", quick(range(2)), tmp_path, scale="smoke")
    launch("toy", quick([5], steps=1000), tmp_path, scale="full")
    assert [r["config"]["seed"] for r in merged(tmp_path, "full")["runs"]] == [5]
    assert [r["config"]["seed"] for r in merged(tmp_path, "smoke")["runs"]] == [0, 1]
    assert [r["config"]["seed"] for r in load("toy", tmp_path, "full")["runs"]] == [5]


# --- resume from the merged file, and runs of older commits -----------------------------------

def test_fresh_clone_resumes_from_the_merged_file(tmp_path, monkeypatch, capsys):
    calls = counting(monkeypatch)
    launch("toy", quick(range(3)), tmp_path, scale="smoke")
    shutil.rmtree(tmp_path / "runs")                         # a fresh clone: no run files
    launch("toy", quick(range(4)), tmp_path, scale="smoke")
    assert calls == [0, 1, 2, 3], "a run recorded in the merged file was run again"
    assert "4 runs, 3 already recorded, 1 to run" in capsys.readouterr().out
    assert merged(tmp_path)["n_runs"] == 4


def test_runs_of_an_older_commit_are_reported_not_rerun(tmp_path, monkeypatch, capsys):
    calls = counting(monkeypatch)
    configs = quick(range(3))
    launch("toy", configs, tmp_path, scale="smoke")
    old = "0123456789abcdef0123456789abcdef01234567"
    for config in configs[:2]:
        path = run_path(tmp_path, "toy", config)
        record = json.loads(path.read_text())
        record["provenance"]["commit"] = old
        record["checksum"] = checksum(record)
        path.write_text(json.dumps(record))
    merged_path("toy", tmp_path, "smoke").unlink()
    capsys.readouterr()
    launch("toy", configs, tmp_path, scale="smoke")
    lines = [line for line in capsys.readouterr().out.splitlines() if old in line]
    assert calls == [0, 1, 2]
    assert len(lines) == 1 and "2 recorded run(s) reused from commit" in lines[0], lines


def test_provenance_without_git_reads_dlnft_commit(tmp_path):
    """A copy of the tree without .git (as sent to a GPU machine) takes DLNFT_COMMIT."""
    shutil.copytree(ROOT / "dlnft", tmp_path / "dlnft",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import json; from dlnft.experiments.results import provenance; "
            "p = provenance(); print(json.dumps([p['commit'], p['dirty']]))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path), DLNFT_COMMIT="feedc0de",
               GIT_CEILING_DIRECTORIES=str(tmp_path.parent))
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["feedc0de", None]


def test_provenance_without_git_installed(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")
    monkeypatch.setattr(results.subprocess, "run", no_git)
    monkeypatch.setenv("DLNFT_COMMIT", "abc123")
    p = provenance()
    assert (p["commit"], p["dirty"]) == ("abc123", None)
    monkeypatch.delenv("DLNFT_COMMIT")
    assert provenance()["commit"] is None


# --- the scale is never guessed ---------------------------------------------------------------

def test_merge_and_launch_need_a_scale(tmp_path):
    with pytest.raises(TypeError, match="scale"):
        merge("toy", quick([0]), tmp_path)
    with pytest.raises(TypeError, match="scale"):
        launch("toy", quick([0]), tmp_path)
    for bad in ("", "huge", None):
        with pytest.raises(ValueError, match="scale must be one of"):
            merge("toy", quick([0]), tmp_path, scale=bad)
    assert not list(tmp_path.iterdir())


def test_load_of_a_full_name_never_returns_smoke_results(tmp_path):
    launch("toy", quick([0]), tmp_path, scale="smoke")
    assert merged(tmp_path)["scale"] == "smoke"
    assert load("toy", tmp_path) is None
    shutil.copy(merged_path("toy", tmp_path, "smoke"), merged_path("toy", tmp_path, "full"))
    with pytest.raises(ResultsError, match="holds results of scale 'smoke', not 'full'"):
        load("toy", tmp_path)
    data = merged(tmp_path)
    data["scale"] = ""                               # written by a merge without a scale
    merged_path("toy", tmp_path, "full").write_text(json.dumps(data))
    with pytest.raises(ResultsError, match="scale '', not 'full'"):
        load("toy", tmp_path)
    with pytest.raises(ResultsError, match="scale '', not 'full'"):
        launch("toy", quick([0], steps=1000), tmp_path, scale="full")


# --- seeds ------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, derandomize=True)
@given(seeds=st.lists(st.integers(0, 5), min_size=1, max_size=6))
def test_seeds_are_distinct_or_refused(seeds):
    exp = EXPERIMENTS["modular"]
    if len(set(seeds)) < len(seeds):
        with pytest.raises(ValueError, match="seeds must be distinct"):
            exp.configs("smoke", seeds)
        return
    configs = exp.configs("smoke", seeds)
    assert len({config_hash(c) for c in configs}) == len(configs) == 2 * len(seeds)


@pytest.mark.parametrize("seed", [-1, 2**63, 10**30])
def test_seeds_outside_int64_are_refused(seed):
    with pytest.raises(ValueError, match=r"seeds must be in \[0, 2\*\*63 - 1\]"):
        EXPERIMENTS["modular"].configs("smoke", [seed])


def test_numpy_seeds_become_ints():
    """A NumPy integer seed is taken as the int it holds: the config hashes, its run records."""
    configs = EXPERIMENTS["modular"].configs("smoke", [np.int64(3), np.uint8(4)])
    assert [c.seed for c in configs] == [3, 4, 3, 4]
    assert all(type(c.seed) is int for c in configs)
    assert config_hash(configs[0]) == config_hash(dataclasses.replace(configs[0], seed=3))
    with pytest.raises(ValueError, match=r"seeds must be distinct, got \[3\]"):
        EXPERIMENTS["modular"].configs("smoke", [3, np.int64(3)])
    for bad in (True, 3.0, "3"):
        with pytest.raises(TypeError, match="seeds must be integers"):
            EXPERIMENTS["modular"].configs("smoke", [bad])


def test_summary_refuses_a_run_listed_twice():
    run = {"config": {"alpha": 1.0, "seed": 0},
           "metrics": {"ft": [{"task": "heldout", "n": 10, "test_acc": 0.5}]}}
    with pytest.raises(ValueError, match="hold the same config"):
        ft_table({"runs": [run, run]}, ("alpha",))


# --- the command line: one line, never a traceback -------------------------------------------

def cli(args, env=None, **kw) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "DLNFT_SCALE": "smoke",
                "DLNFT_TOY_FAIL": "", **(env or {})}
    return subprocess.run([sys.executable, str(ROOT / "tests" / "sweep_toy.py"), "toy", *args],
                          cwd=ROOT, env=full_env, capture_output=True, text=True,
                          timeout=300, **kw)


@pytest.mark.parametrize("args, env, message", [
    (["--seeds", "0", "0"], {}, "seeds must be distinct, got [0] more than once"),
    (["--seeds", "-1"], {}, "a seed must be in [0, 2**63 - 1], got -1"),
    (["--seeds", str(2**64)], {}, f"a seed must be in [0, 2**63 - 1], got {2**64}"),
    ([], {"DLNFT_SCALE": "huge"}, "DLNFT_SCALE must be one of ('smoke', 'full')"),
], ids=["repeated", "negative", "overflow", "scale"])
def test_bad_seeds_and_scales_end_with_one_line(tmp_path, args, env, message):
    proc = cli([*args, "--out", str(tmp_path)], env)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and message in proc.stderr, proc.stderr
    assert not (tmp_path / "runs").exists()


def test_an_unwritable_results_folder_is_found_before_any_run(tmp_path, monkeypatch):
    calls = counting(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ResultsError, match=f"cannot write results in {blocker}"):
        launch("toy", quick(range(2)), blocker / "out", scale="smoke")
    assert calls == []
    proc = cli(["--seeds", "0", "--out", str(blocker / "out")])
    assert proc.returncode == 6 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot write results in {blocker}" in proc.stderr


def test_a_truncated_merged_file_is_named_and_kept(tmp_path):
    assert cli(["--seeds", "0", "--out", str(tmp_path)]).returncode == 0
    path = merged_path("toy", tmp_path, "smoke")
    text = path.read_text()[:50]
    path.write_text(text)
    with pytest.raises(ResultsError, match=f"{path} cannot be read as a merged results file"):
        load("toy", tmp_path, "smoke")
    proc = cli(["--seeds", "0", "1", "--out", str(tmp_path)])
    assert proc.returncode == 6 and "Traceback" not in proc.stderr, proc.stderr
    assert str(path) in proc.stderr and path.read_text() == text  # not overwritten


def test_a_folder_in_place_of_a_run_file_is_named(tmp_path):
    run_path(tmp_path, "toy", ToyConfig(seed=1)).mkdir(parents=True)
    proc = cli(["--seeds", "0", "1", "--out", str(tmp_path)])
    assert proc.returncode == 6 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{run_path(tmp_path, 'toy', ToyConfig(seed=1))} is a folder" in proc.stderr


def test_an_unreadable_run_file_is_reported_and_run_again(tmp_path, monkeypatch):
    """(Simulated: the tests may run as root, who reads any file.)"""
    configs = quick(range(2))
    launch("toy", configs, tmp_path, scale="smoke")
    merged_path("toy", tmp_path, "smoke").unlink()
    victim = run_path(tmp_path, "toy", configs[1])
    read = Path.read_text

    def no_access(path, *args, **kwargs):
        if path == victim:
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, *args, **kwargs)
    monkeypatch.setattr(Path, "read_text", no_access)
    calls = counting(monkeypatch)
    with pytest.warns(UserWarning, match=f"{victim} is corrupt or incomplete .*Permission"):
        launch("toy", configs, tmp_path, scale="smoke")
    assert calls == [1]
