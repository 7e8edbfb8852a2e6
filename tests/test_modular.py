"""The modular-arithmetic Transformer: the last-position cut, divergence, the smoke guarantee."""
import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from dlnft.experiments import EXPERIMENTS, modular
from dlnft.experiments.modular import ModularConfig, build_transformer


@pytest.mark.parametrize("n_layers", [1, 2])
def test_last_position_cut_gives_the_uncut_logits(n_layers):
    torch.manual_seed(n_layers)
    config = ModularConfig.smoke(n_layers=n_layers, early_scale=2.0, late_scale=0.5)
    model = build_transformer(config)
    x = torch.randint(0, config.p + len(modular.OPS) + 1, (64, modular.TOKENS_PER_INPUT))
    with torch.no_grad():
        cut, uncut = model(x), model(x, last_only=False)
    assert cut.shape == (64, config.p)
    flops = []
    for last_only in (True, False):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x, last_only=last_only)
        flops.append(counter.get_total_flops())
    assert flops[1] > flops[0]  # last_only=False really computes every position
    assert torch.allclose(cut, uncut, rtol=1e-5, atol=1e-6 * float(uncut.abs().max()))


def test_divergence_raises_naming_lr_and_step():
    config = ModularConfig.smoke(scale=1e12, pt_steps=5, ft_steps=1)
    with pytest.raises(FloatingPointError, match=r"step 0 with lr = 0\.003"):
        modular.run(config, device="cpu")


def test_smoke_run_fits_its_pt_pairs():
    """What the smoke run guarantees: PT fits its pairs (chance is 1/23) and FT fits its own."""
    out = modular.run(ModularConfig.smoke(), device="cpu")
    pt = out["pt"]["curves"]
    assert pt["train_acc"][0] < 0.2 and pt["train_acc"][-1] > 0.8
    assert all(f["curves"]["train_acc"][-1] > 0.8 for f in out["ft"])


@pytest.mark.parametrize("p, pt_fraction", [(59, 0.5), (23, 0.3), (7, 0.3), (11, 0.7)])
def test_ft_n_leaves_two_ft_test_pairs(p, pt_fraction):
    """ft_n may take every pair PT leaves but two (the FT test set of the representation
    statistics), however pt_fraction · p² rounds; 1,740 PT pairs at p = 59."""
    n_pt = len(modular.modular_dataset(p, train_fraction=pt_fraction)[1])
    n_ft = p * p - n_pt
    small = dict(p=p, pt_fraction=pt_fraction, d_model=8, n_heads=2, d_mlp=8, pt_steps=1,
                 ft_steps=1, record_every=1, ft_ops=("+",))
    with pytest.raises(ValueError, match=f"ft_n must be <= {n_ft - 2}"):
        ModularConfig(**small, ft_n=n_ft - 1)
    out = modular.run(ModularConfig(**small, ft_n=n_ft - 2), device="cpu")
    assert out["ft"][0]["curves"]["step"][-1] == 1
    if (p, pt_fraction) == (59, 0.5):
        assert n_pt == 1740


def test_full_protocols_are_the_measured_ones():
    full = ModularConfig.full()
    assert (full.p, full.pt_ops, full.pt_fraction, full.d_model, full.d_mlp) == (
        59, ("+",), 0.5, 128, 512)
    configs = EXPERIMENTS["modular"].configs("full")
    assert sorted({c.early_scale for c in configs}) == [0.3, 1.0, 3.0]
    assert len(configs) == 18 and {c.ft_ops for c in configs} == {("+", "-", "a2+b2")}
    kinds = {op: "subset" if op in full.pt_ops else "new" for op in full.ft_ops}
    assert kinds == {"+": "subset", "-": "new", "a2+b2": "new"}
    scale = EXPERIMENTS["modular_scale"].configs("full")
    assert {c.pt_steps for c in scale} == {5000} and len(scale) == 15
    assert dataclasses.replace(full, seed=1) in configs
