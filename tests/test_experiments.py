"""Tests of dlnft.experiments: data fixtures, scaling, metrics, results, configs, CLI, smoke runs."""
import dataclasses
import json
import pickle

import numpy as np
import pytest
import scipy.io
import torch
from torchvision.models import resnet18

from dlnft.experiments import EXPERIMENTS
from dlnft.experiments import data as D
from dlnft.experiments.metrics import ensd, linear_cka, participation_ratio
from dlnft.experiments.modular import (ModularConfig, build_transformer, encode, modular_dataset,
                                       modular_table, transformer_groups)
from dlnft.experiments import modular, resnet, results
from dlnft.experiments.resnet import ResNetConfig, build_model
from dlnft.experiments.results import config_hash, load_run, merge, run_one, run_path
from dlnft.experiments.scaling import RESNET_EARLY_LATE, group_members, layer_norms, scale_init
from dlnft.experiments.train import prepare


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def fixtures(tmp_path, monkeypatch):
    """Smoke runs write their fixtures here instead of the shared cache."""
    monkeypatch.setenv("DLNFT_FIXTURES", str(tmp_path / "fixtures"))
    return tmp_path / "fixtures"


# --- data ---------------------------------------------------------------------------------

def test_cifar100_fixture_round_trip(tmp_path):
    D.write_cifar100_fixture(tmp_path, train_per_class=2, test_per_class=1, seed=3)
    with open(tmp_path / "cifar-100-python" / "train", "rb") as f:
        raw = pickle.load(f, encoding="latin1")
    x, y = D.load_cifar100(True, tmp_path)
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(y, raw["fine_labels"]) and np.bincount(y).tolist() == [2] * 100
    # torchvision reads rows of channel-major pixels into (N, H, W, C)
    assert np.array_equal(x[7, 5, 9], raw["data"][7].reshape(3, 32, 32)[:, 5, 9])
    xt, yt = D.load_cifar100(False, tmp_path)
    assert xt.shape == (100, 32, 32, 3) and sorted(yt.tolist()) == list(range(100))
    ds = D._CIFAR100Files(str(tmp_path), train=False)  # torchvision's class machinery
    assert ds.classes[:2] == ["class_00", "class_01"] and len(ds) == 100


def test_svhn_fixture_round_trip(tmp_path):
    D.write_svhn_fixture(tmp_path, train_per_class=3, test_per_class=2, seed=1)
    mat = scipy.io.loadmat(tmp_path / "train_32x32.mat")
    assert mat["X"].shape == (32, 32, 3, 30) and set(mat["y"].ravel()) == set(range(1, 11))
    x, y = D.load_svhn("train", tmp_path)
    assert x.shape == (30, 32, 32, 3) and x.dtype == np.uint8
    assert np.array_equal(x[4], mat["X"][..., 4])
    assert np.array_equal(y, np.where(mat["y"].ravel() == 10, 0, mat["y"].ravel()))
    assert D.load_svhn("test", tmp_path)[0].shape == (20, 32, 32, 3)


def test_missing_data_error(tmp_path, monkeypatch):
    monkeypatch.delenv("DLNFT_DOWNLOAD", raising=False)
    with pytest.raises(D.MissingDataError) as err:
        D.load_cifar100(True, tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path / "cifar-100-python" / "train") in msg and "meta" in msg
    assert "python -m dlnft.experiments fetch --download" in msg and "DLNFT_DOWNLOAD=1" in msg
    assert isinstance(err.value, FileNotFoundError)
    monkeypatch.setenv("DLNFT_DOWNLOAD", "0")
    with pytest.raises(D.MissingDataError, match="train_32x32.mat"):
        D.load_svhn("train", tmp_path)
    assert not D.download_allowed() and D.download_allowed(True)
    monkeypatch.setenv("DLNFT_DOWNLOAD", "1")
    assert D.download_allowed() and not D.download_allowed(False)


def test_modular_dataset():
    a, b, y = modular_table(7, "/")
    assert len(y) == 42 and bool(((y * b) % 7 == a).all())
    xtr, ytr, xte, yte = modular_dataset(11, "-", train_fraction=0.3, seed=2)
    assert xtr.shape == (36, 22) and xte.shape == (85, 22)
    assert torch.equal((xtr[:, :11].argmax(1) - xtr[:, 11:].argmax(1)) % 11, ytr)
    assert torch.equal(modular_dataset(11, "-", train_fraction=0.3, seed=2)[1], ytr)
    tok = modular_dataset(5, "*", train_fraction=1.0, encoding="tokens")
    assert tok[0].shape == (25, 2) and len(tok[2]) == 0
    assert encode(torch.tensor([2]), torch.tensor([3]), "*", 5).tolist() == [[2, 7, 3, 10]]
    with pytest.raises(ValueError, match="p must be a prime"):
        modular_table(9)
    with pytest.raises(ValueError, match="op"):
        modular_table(7, "^")


# --- scaling and metrics ------------------------------------------------------------------

def test_scaling_hits_exactly_the_chosen_layers():
    torch.manual_seed(0)
    model = resnet18(num_classes=100)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    applied = scale_init(model, {"early": 0.5, "head": 3.0}, RESNET_EARLY_LATE)
    early = [n for n in before if n.split(".")[0] in ("conv1", "layer1", "layer2")
             and before[n].ndim >= 2]
    assert sorted(applied) == sorted(early + ["fc.weight"])
    for n, p in model.named_parameters():
        factor = applied.get(n, 1.0)
        assert torch.equal(p, before[n] * factor), n
    assert "layer3.0.conv1.weight" not in applied and "bn1.weight" not in applied
    norms = layer_norms(model)
    assert norms["fc.weight"] == pytest.approx(3 * float(before["fc.weight"].norm()), rel=1e-6)
    with pytest.raises(ValueError, match="matches no weight"):
        group_members(model, {"x": ("layer9",)})
    with pytest.raises(ValueError, match="two groups"):
        group_members(model, {"a": ("layer1",), "b": ("layer1.0",)})
    with pytest.raises(ValueError, match="factors"):
        scale_init(model, {"early": 0.0}, RESNET_EARLY_LATE)


def test_resnet_alpha_and_transformer_groups():
    torch.manual_seed(1)
    ref = build_model(ResNetConfig(alpha=1.0)).conv1.weight
    torch.manual_seed(1)
    assert torch.allclose(build_model(ResNetConfig(alpha=4.0)).conv1.weight, ref / 4)
    config = ModularConfig.smoke(n_layers=2, early_scale=2.0, late_scale=0.5, scale=3.0)
    torch.manual_seed(2)
    base = dict(build_transformer(dataclasses.replace(config, early_scale=1.0, late_scale=1.0,
                                                      scale=1.0)).named_parameters())
    torch.manual_seed(2)
    scaled = dict(build_transformer(config).named_parameters())
    groups = group_members(build_transformer(config), transformer_groups(2))
    for g, factor in (("early", 6.0), ("middle", 3.0), ("late", 1.5)):
        for n in groups[g]:
            assert torch.allclose(scaled[n], base[n] * factor), n
    assert set(sum(groups.values(), [])) == set(scaled)


def test_representation_metrics():
    torch.manual_seed(0)
    x = torch.randn(500, 6) * torch.tensor([1.0, 1, 1, 0, 0, 0])
    assert participation_ratio(x) == pytest.approx(3, rel=0.1)
    assert ensd(x, x) == pytest.approx(participation_ratio(x))
    q = torch.linalg.qr(torch.randn(6, 6))[0]
    assert linear_cka(x, 2 * x @ q) == pytest.approx(1.0)
    assert linear_cka(x, torch.randn(500, 6)) < 0.1
    wide = torch.randn(20, 300)  # fewer inputs than features: the sample-space route
    assert ensd(wide, wide) == pytest.approx(participation_ratio(wide))


def test_prepare_normalizes_and_augments():
    x = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    plain = prepare(x)
    assert torch.allclose(plain, (x.float() / 255 - 0.5) / 0.5)
    assert plain.is_contiguous(memory_format=torch.channels_last)
    aug = prepare(x, augment=True, generator=torch.Generator().manual_seed(0))
    assert aug.shape == plain.shape and aug.min() >= -1 and aug.max() <= 1
    assert not torch.equal(aug, plain)


# --- configs ------------------------------------------------------------------------------

@pytest.mark.parametrize("kw, match", [
    (dict(alpha=0.0), "alpha"), (dict(arch="vgg"), "arch"), (dict(ft_tasks=("cifar10",)),
                                                             "ft_tasks"),
    (dict(ft_ns=(1,)), "ft_ns"), (dict(group_scales=(("middle", 2.0),)), "group_scales"),
    (dict(gamma=-1.0), "gamma"), (dict(ft_momentum=1.0), "ft_momentum"),
])
def test_resnet_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        ResNetConfig(**kw)


@pytest.mark.parametrize("kw, match", [
    (dict(p=21), "prime"), (dict(pt_ops=("/",)), "pt_ops"), (dict(ft_ops=()), "ft_ops"),
    (dict(d_model=30, n_heads=4), "multiple"), (dict(early_scale=0.0), "early_scale"),
    (dict(ft_n=10**6), "ft_n"), (dict(pt_fraction=1.0), "pt_fraction"),
])
def test_modular_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        ModularConfig(**kw)


def test_registry_configs():
    assert {"balance", "resnet", "resnet_groups", "modular"} <= set(EXPERIMENTS)
    full = EXPERIMENTS["resnet"].configs("full")
    assert len(full) == 6 * 50 and {c.alpha for c in full} == {0.01, 0.1, 0.5, 1.0, 2.0, 5.0}
    c = full[0]
    assert (c.arch, c.ft_lr, c.ft_momentum, c.ft_max_batch, c.ft_target_loss,
            c.ft_max_epochs, c.augment) == ("torchvision", 1e-3, 0.9, 128, 0.01, 1000, False)
    assert c.ft_ns == (10, 20, 50, 100, 200, 500, 1000)
    assert len({config_hash(c) for c in full}) == len(full)
    smoke = EXPERIMENTS["modular"].configs("smoke", seeds=(3, 4))
    assert [c.seed for c in smoke] == [3, 4, 3, 4]
    for exp in EXPERIMENTS.values():
        assert exp.configs("smoke") and isinstance(exp.config.full(), exp.config)
    with pytest.raises(ValueError, match="scale"):
        EXPERIMENTS["modular"].configs("huge")


# --- results ------------------------------------------------------------------------------

def test_resume_skips_finished_runs_and_reruns_corrupt_ones(tmp_path):
    calls = []

    def fn(config):
        calls.append(config.seed)
        return {"seed": config.seed, "acc": 0.5}

    configs = [ModularConfig.smoke(seed=s) for s in range(3)]
    for c in configs[:2]:
        run_one("toy", fn, c, tmp_path)
    assert calls == [0, 1]
    for c in configs:
        run_one("toy", fn, c, tmp_path)
    assert calls == [0, 1, 2]
    path = run_path(tmp_path, "toy", configs[1])
    record = json.loads(path.read_text())
    assert record["metrics"] == {"seed": 1, "acc": 0.5} and record["wall_s"] >= 0
    assert {"commit", "device", "torch", "date"} <= set(record["provenance"])
    path.write_text(path.read_text()[:40])  # truncated
    with pytest.warns(UserWarning, match="corrupt"):
        run_one("toy", fn, configs[1], tmp_path)
    assert calls == [0, 1, 2, 1] and load_run(path, configs[1], "toy", None) is not None
    merged = json.loads(merge("toy", configs + [ModularConfig.smoke(seed=9)], tmp_path,
                              scale="smoke").read_text())
    assert merged["n_runs"] == 3 and len(merged["missing"]) == 1
    assert [r["metrics"]["seed"] for r in merged["runs"]] == [0, 1, 2]
    assert not list(tmp_path.glob("runs/toy/*.tmp"))


# --- end-to-end smoke runs ----------------------------------------------------------------

def test_modular_smoke_pt_ft():
    out = modular.run(ModularConfig.smoke(pt_steps=120, ft_steps=40, ft_ops=("+", "a2+b2")),
                      device="cpu")
    json.dumps(out)
    assert out["pt"]["curves"]["train_acc"][-1] > out["pt"]["curves"]["train_acc"][0]
    assert [f["kind"] for f in out["ft"]] == ["subset", "new"]
    for f in out["ft"]:
        assert 0 <= f["test_acc"] <= 1 and f["curves"]["step"][-1] == 40
        assert "unembed.weight" not in f["weight_change"]
        assert all(v > 0 for v in f["weight_change"].values())
        assert 0 < f["representation"]["cka"] <= 1 + 1e-9


def test_resnet_smoke_pt_ft(fixtures):
    config = ResNetConfig.smoke(ft_ns=(10,), gamma=0.5, group_scales=(("late", 2.0),))
    out = resnet.run(config, device="cpu")
    json.dumps(out)
    assert (fixtures / "cifar-100-python" / "meta").exists()
    assert out["pt"]["train_loss"][-1] < out["pt"]["train_loss"][0]
    assert [(f["task"], f["n"]) for f in out["ft"]] == [("heldout", 10), ("subset", 10),
                                                      ("svhn", 10)]
    for f in out["ft"]:
        assert 0 <= f["test_acc"] <= 1 and f["epochs"] >= 1
        assert set(f["representation"]) == set(resnet.STAGES)
        assert f["weight_change"]["layer1.0.conv1.weight"] > 0


def test_torchvision_resnet18_path(fixtures):
    """The authors' network itself (64 channels, 7×7 stem) through PT and FT, briefly."""
    config = ResNetConfig.smoke(width=64, alpha=2.0, ft_tasks=("heldout",), ft_ns=(10,),
                                pt_per_class=1, pt_max_epochs=1, ft_max_epochs=2, rep_images=6)
    out = resnet.run(config, device="cpu")
    assert len(out["pt"]["norms_init"]) == len(dict(resnet18().named_parameters())) - 21 - 20
    assert out["ft"][0]["n"] == 10 and out["ft"][0]["epochs"] == 2


def test_cli_help_and_smoke_run(tmp_path, fixtures, capsys):
    from dlnft.experiments.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    help_text = capsys.readouterr().out
    assert done.value.code == 0 and "--launcher {local,slurm}" in help_text
    for name in EXPERIMENTS:
        assert f"\n  {name} " in help_text
    args = ["modular", "--scale", "smoke", "--seeds", "0", "--out", str(tmp_path)]
    assert main(args) == 0
    merged = json.loads((tmp_path / "modular-smoke.json").read_text())
    assert merged["n_runs"] == 2 and merged["scale"] == "smoke" and not merged["missing"]
    assert results.load("modular", tmp_path) is None  # smoke runs never pass for full ones
    assert results.load("modular", tmp_path, scale="smoke") == merged
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs" / "modular").glob("*.json")}
    assert main(args) == 0  # resumed: nothing re-run
    assert stamp == {p: p.stat().st_mtime_ns for p in stamp}


def test_summary_tables():
    from dlnft.experiments.summary import ft_table, mean_ci

    assert mean_ci([1.0]) == (1.0, 0.0)
    m, h = mean_ci([0.0, 1.0, 2.0])
    assert m == 1.0 and h == pytest.approx(4.303 / 3 ** 0.5, rel=1e-3)
    merged = {"runs": [{"config": {"alpha": a, "seed": s},
                        "metrics": {"ft": [{"task": "heldout", "n": 10, "test_acc": a + s,
                                            "representation": {"layer4": {"change": s}}}]}}
                       for a in (0.1, 1.0) for s in (0, 1)]}
    table = ft_table(merged, ("alpha",))
    assert table[(0.1, "heldout", 10)][0] == pytest.approx(0.6) and table[(0.1, "heldout", 10)][2] == 2
    assert table[(1.0, "heldout", 10)][0] == 1.5
    assert ft_table(merged, ("alpha",), "representation.layer4.change")[(1.0, "heldout", 10)][0] == 0.5
    with pytest.raises(ValueError):
        mean_ci([])


def test_pt_table_and_the_overall_scale_sweep():
    from dlnft.experiments.summary import pt_table

    def pt(moved, accs):
        return {"norms_init": {"a": 1.0, "b": 2.0, "c": 4.0},
                "norms_pt": {"a": moved, "b": 2.0 * moved, "c": 40.0},
                "curves": {"step": [0, 100, 200], "test_acc": accs}, "test_acc": accs[-1]}

    merged = {"runs": [
        {"config": {"scale": 0.3, "seed": 0}, "metrics": {"pt": pt(3.0, [0.0, 0.96, 1.0])}},
        {"config": {"scale": 0.3, "seed": 1}, "metrics": {"pt": pt(5.0, [0.0, 0.5, 0.97])}},
        {"config": {"scale": 3.0, "seed": 0}, "metrics": {"pt": pt(1.0, [0.0, 0.1, 0.2])}}]}
    table = pt_table(merged)
    assert table[(0.3,)]["moved"][:1] == (4.0,) and table[(0.3,)]["moved"][2] == 2
    assert table[(0.3,)]["grok_step"][0] == 150.0 and table[(0.3,)]["never"] == 0
    assert table[(3.0,)]["grok_step"] is None and table[(3.0,)]["never"] == 1
    assert table[(3.0,)]["test_acc"] == (0.2, 0.0, 1)
    # the registry's sweep is the chapter's: PT at three overall scales, FT cut to one step
    for scale in ("smoke", "full"):
        configs = EXPERIMENTS["modular_scale"].configs(scale)
        assert sorted({c.scale for c in configs}) == [0.3, 1.0, 3.0]
        assert all(c.ft_ops == ("+",) and c.ft_steps == 1 for c in configs)
    assert len(EXPERIMENTS["modular_scale"].configs("full")) == 15


def test_cifar_style_resnet_groups_smoke(fixtures):
    """The resnet_groups sweep's network: 3×3 stem, no max-pool, early scale, fresh head."""
    config = dataclasses.replace(EXPERIMENTS["resnet_groups"].configs("smoke")[0],
                                 ft_tasks=("subset",), ft_ns=(10,), pt_per_class=1,
                                 pt_max_epochs=1, ft_max_epochs=2, rep_images=6)
    assert config.arch == "cifar" and config.gamma == 1.0
    model = build_model(config)
    assert model.conv1.kernel_size == (3, 3) and isinstance(model.maxpool, torch.nn.Identity)
    out = resnet.run(config, device="cpu")
    assert out["ft"][0]["task"] == "subset" and "fc.weight" in out["ft"][0]["weight_change"]


def test_slurm_launcher_through_submitit(tmp_path, monkeypatch):
    """--launcher slurm, on submitit's in-process "debug" cluster instead of a real SLURM."""
    import functools

    import submitit

    from dlnft.experiments.__main__ import main

    monkeypatch.setattr(submitit, "AutoExecutor",
                        functools.partial(submitit.AutoExecutor, cluster="debug"))
    args = ["modular", "--scale", "smoke", "--seeds", "1", "--out", str(tmp_path),
            "--launcher", "slurm"]
    assert main(args) == 0
    merged = json.loads((tmp_path / "modular-smoke.json").read_text())
    assert merged["n_runs"] == 2 and {r["config"]["seed"] for r in merged["runs"]} == {1}
