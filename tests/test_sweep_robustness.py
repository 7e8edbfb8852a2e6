"""Robustness of the sweeps behind ``python -m dlnft.experiments``.

* A sweep killed mid-run with a real SIGTERM, then a real SIGKILL, resumes and finishes with
  every result present and correct (none corrupt, none run twice when already recorded).
* A truncated, non-JSON or hand-edited run file, or one of another experiment or scale, is
  reported with a warning and run again (never counted as done, then left out of the merge).
* Two sweeps writing the same folder at once leave every run file valid and correct, and the
  merged file holds the runs of both.
* Ctrl-C mid-sweep ends it with exit code 130, saying how many runs are kept and the command
  that resumes it.
* GD divergence, CUDA out of memory and missing data end the command with a non-zero exit code
  and the error's own message last on stderr, keeping the runs finished before.

The sweeps are those of ``tests/sweep_toy.py``: the real command line (resume, atomic run files,
merge) with runs of a fraction of a second.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlnft.experiments import EXPERIMENTS
from dlnft.experiments.__main__ import launch
from dlnft.experiments.data import cifar100_files
from dlnft.experiments.results import (checksum, config_hash, load_run, merged_path,
                                       run_path)
from sweep_toy import TOY, ToyConfig, metrics

TOY_CLI = Path(__file__).with_name("sweep_toy.py")
ROOT = TOY_CLI.parent.parent
pytestmark = pytest.mark.slow


def toy_sweep(out: Path, seeds, **popen) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), DLNFT_SCALE="smoke")
    env.update(popen.pop("env", {}))
    return subprocess.Popen([sys.executable, str(TOY_CLI), "toy", "--scale", "smoke", "--seeds",
                             *map(str, seeds), "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def configs(seeds) -> list[ToyConfig]:
    return [ToyConfig(seed=s) for s in seeds]


def run_files(out: Path) -> list[Path]:
    return sorted((out / "runs" / "toy").glob("*.json"))


def assert_all_recorded(out: Path, seeds) -> None:
    """Every run of ``seeds`` has a valid file whose metrics are what the run computes."""
    for config in configs(seeds):
        record = load_run(run_path(out, "toy", config), config, "toy", "smoke")
        assert record is not None, f"seed {config.seed}: no valid run file"
        expected = metrics(config)              # equal up to round-off between processes
        assert record["metrics"]["loss"] == pytest.approx(expected["loss"], rel=1e-9), \
            f"seed {config.seed}: wrong loss"
        assert record["metrics"]["beta"] == pytest.approx(expected["beta"], rel=1e-9,
                                                          abs=1e-12), f"seed {config.seed}"
    for path in run_files(out):                    # and no other file is corrupt
        json.loads(path.read_text())


def wait_for_files(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(run_files(out)) < n:
        assert proc.poll() is None, f"the sweep ended early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"fewer than {n} run files after {timeout} s"
        time.sleep(0.05)


def test_killed_sweep_resumes_and_finishes(tmp_path):
    seeds = range(8)
    for sig, n in ((signal.SIGTERM, 2), (signal.SIGKILL, 4)):
        proc = toy_sweep(tmp_path, seeds)
        wait_for_files(tmp_path, n, proc)
        time.sleep(0.2)                            # land inside the next run
        proc.send_signal(sig)
        code, _, _ = finish(proc)
        assert code == -sig, f"the sweep was not killed by {sig!r} (exit {code})"
        done = len(run_files(tmp_path))
        assert n <= done < len(seeds), f"{done} runs recorded after {sig!r}"
    before = {p.name: p.stat().st_mtime_ns for p in run_files(tmp_path)}
    code, stdout, err = finish(toy_sweep(tmp_path, seeds))
    assert code == 0, err
    assert f"{len(before)} already recorded, {len(seeds) - len(before)} to run" in stdout
    assert_all_recorded(tmp_path, seeds)
    assert all(p.stat().st_mtime_ns == before[p.name] for p in run_files(tmp_path)
               if p.name in before), "a recorded run was run again"
    merged = json.loads(merged_path("toy", tmp_path, "smoke").read_text())
    assert merged["n_runs"] == len(seeds) and merged["missing"] == []


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setitem(EXPERIMENTS, "toy", TOY)


def damage_truncate(path: Path) -> None:
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def damage_not_json(path: Path) -> None:
    path.write_text("this is not JSON\n")


def damage_other_config(path: Path) -> None:
    record = json.loads(path.read_text())
    record["config"]["steps"] += 1
    path.write_text(json.dumps(record))


def damage_no_metrics(path: Path) -> None:
    record = json.loads(path.read_text())
    del record["metrics"]
    path.write_text(json.dumps(record))


def damage_empty(path: Path) -> None:
    path.write_text("")


def _retag(path: Path, **fields) -> None:
    """Rewrite the run file with ``fields`` changed and a matching checksum: a run of another
    experiment or scale, valid in itself, which the merge would leave out."""
    record = {**json.loads(path.read_text()), **fields}
    record["checksum"] = checksum(record)
    path.write_text(json.dumps(record))


def damage_other_name(path: Path) -> None:
    _retag(path, name="other")


def damage_other_scale(path: Path) -> None:
    _retag(path, scale="full")


@pytest.mark.parametrize("damage", [damage_truncate, damage_not_json, damage_other_config,
                                    damage_no_metrics, damage_empty, damage_other_name,
                                    damage_other_scale],
                         ids=lambda f: f.__name__.removeprefix("damage_"))
def test_damaged_run_file_is_reported_and_run_again(tmp_path, toy_registered, damage,
                                                     monkeypatch, capsys):
    monkeypatch.setenv("DLNFT_TOY_FAIL", "")
    cs = [ToyConfig(seed=s, pause_s=0.0) for s in range(3)]
    launch("toy", cs, tmp_path, scale="smoke")
    merged_path("toy", tmp_path, "smoke").unlink()   # else the merged file holds the run
    victim = run_path(tmp_path, "toy", cs[1])
    damage(victim)
    with pytest.warns(UserWarning, match="corrupt or incomplete.*running it again"):
        launch("toy", cs, tmp_path, scale="smoke")
    assert "2 already recorded, 1 to run" in capsys.readouterr().out
    record = load_run(victim, cs[1], "toy", "smoke")
    assert record is not None
    assert record["metrics"]["loss"] == pytest.approx(metrics(cs[1])["loss"], rel=1e-9)
    assert json.loads(merged_path("toy", tmp_path, "smoke").read_text())["n_runs"] == 3


def test_hand_edited_metrics_are_detected(tmp_path, toy_registered):
    cs = [ToyConfig(seed=0, pause_s=0.0)]
    launch("toy", cs, tmp_path, scale="smoke")
    merged_path("toy", tmp_path, "smoke").unlink()
    path = run_path(tmp_path, "toy", cs[0])
    record = json.loads(path.read_text())
    record["metrics"]["loss"] *= 0.5
    path.write_text(json.dumps(record))
    with pytest.warns(UserWarning, match="corrupt or incomplete"):
        launch("toy", cs, tmp_path, scale="smoke")


def test_two_sweeps_in_one_folder_do_not_clobber(tmp_path):
    a, b = range(0, 6), range(3, 9)                 # seeds 3-5 in both
    procs = [toy_sweep(tmp_path, a), toy_sweep(tmp_path, b)]
    for proc in procs:
        code, _, err = finish(proc)
        assert code == 0, err
    assert_all_recorded(tmp_path, range(0, 9))
    assert len(run_files(tmp_path)) == 9
    merged = json.loads(merged_path("toy", tmp_path, "smoke").read_text())  # both sweeps'
    assert merged["n_runs"] == 9 and merged["missing"] == []
    assert sorted(r["config"]["seed"] for r in merged["runs"]) == list(range(9))


def _sigint_default() -> None:
    """Ctrl-C's default in the child: a shell that starts a job in the background sets SIGINT
    to ignored, the child inherits that, and Python then installs no KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_keeps_the_finished_runs_and_says_how_to_resume(tmp_path):
    seeds = range(8)
    proc = toy_sweep(tmp_path, seeds, preexec_fn=_sigint_default)
    wait_for_files(tmp_path, 2, proc)
    time.sleep(0.2)                                # land inside the next run
    proc.send_signal(signal.SIGINT)
    code, _, err = finish(proc)
    kept = len(run_files(tmp_path))
    assert code == 130, f"exit {code}:\n{err}"
    assert "Traceback" not in err, err
    assert f"interrupted: {kept} of 8 runs of toy are recorded" in err, err
    command = ("python -m dlnft.experiments toy --scale smoke --seeds 0 1 2 3 4 5 6 7 "
               f"--out {tmp_path}")
    assert f"resume with: {command}" in err, err
    code, stdout, err = finish(toy_sweep(tmp_path, seeds))
    assert code == 0 and f"{kept} already recorded, {8 - kept} to run" in stdout, err
    assert_all_recorded(tmp_path, seeds)


FAILURES = {
    "diverge": ("GDDivergedError", "lower the step size lr", 4),
    "oom": ("OutOfMemoryError", "CUDA out of memory", 5),
    "missing": ("MissingDataError", "python -m dlnft.experiments fetch --download", 3),
}


def test_failures_end_with_their_message_and_a_nonzero_exit(tmp_path):
    procs = {kind: toy_sweep(tmp_path / kind, range(4), env={"DLNFT_TOY_FAIL": kind})
             for kind in FAILURES}
    for kind, proc in procs.items():
        code, _, err = finish(proc)
        error, advice, expected_code = FAILURES[kind]
        tail = "\n".join(err.strip().splitlines()[-6:])   # the message ends stderr
        assert code == expected_code, f"{kind}: exit code {code}, not {expected_code}"
        assert "Traceback" not in err, f"{kind}: a traceback instead of one message:\n{err}"
        assert error in err and advice in err, f"{kind}: unclear message:\n{err[-2000:]}"
        assert advice in tail, f"{kind}: the message is not at the end:\n{tail}"
        recorded = {p.stem for p in run_files(tmp_path / kind)}   # the runs before are kept
        assert recorded == {config_hash(c) for c in configs(range(2))}, kind
        assert not merged_path("toy", tmp_path / kind, "smoke").exists(), f"{kind}: merged"


def test_missing_dataset_ends_the_real_command(tmp_path):
    if all(f.exists() for f in cifar100_files()):
        pytest.skip("CIFAR-100 is on disk here, so the full resnet run would start")
    env = dict(os.environ, DLNFT_DOWNLOAD="0")
    proc = subprocess.run([sys.executable, "-m", "dlnft.experiments", "resnet", "--scale",
                           "full", "--seeds", "0", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert "CIFAR-100 is not on disk" in proc.stderr
    assert "python -m dlnft.experiments fetch --download" in proc.stderr
    assert run_files(tmp_path) == [] and not merged_path("resnet", tmp_path, "full").exists()
