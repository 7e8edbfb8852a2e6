"""The Transformer experiments of chapters 2, 5 and 7: the MLP rescale keeps the function, GD
keeps the MLP's balance, the Fourier observables measure what they say, the endpoints count
every run."""
import math

import numpy as np
import pytest
import torch

from dlnft.experiments import EXPERIMENTS
from dlnft.experiments import transformer_lambda as T
from dlnft.experiments.modular import ModularTransformer, encode_task


def _net(seed=0, p=13):
    torch.manual_seed(seed)
    return ModularTransformer(p, 32, 4, 128, 1)


def _batch(p=13, op="+"):
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    return encode_task(a, b, (op,), p)


@pytest.mark.parametrize("alpha", [0.25, 4.0])
def test_mlp_rescale_keeps_the_function_and_sets_lambda(alpha):
    net = _net()
    x, _ = _batch()
    moved = T.rescale_mlp(net, alpha)
    with torch.no_grad():
        assert torch.allclose(moved(x), net(x), rtol=1e-5, atol=1e-5)
    w_in = float(net.blocks[0].mlp_in.weight.detach().double().pow(2).sum())
    w_out = float(net.blocks[0].mlp_out.weight.detach().double().pow(2).sum())
    expect = (w_in / alpha**2 - alpha**2 * w_out) / (w_in / alpha**2 + alpha**2 * w_out)
    assert T.mlp_lambda(moved) == pytest.approx(expect, rel=1e-6)
    assert T.mlp_lambda(net) != pytest.approx(T.mlp_lambda(moved), abs=0.1)  # it moved
    # the original is untouched
    assert T.mlp_lambda(net) == pytest.approx((w_in - w_out) / (w_in + w_out), rel=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        T.rescale_mlp(net, 0.0)


def _gd_drift(lr, steps):
    """(drift of the MLP balance ||W_in||² − ||W_out||², change of ||W_in||²) after GD on +
    in float64."""
    net = _net(1).double()
    x, y = _batch()
    params = list(net.parameters())

    def sq():
        return (float(net.blocks[0].mlp_in.weight.detach().pow(2).sum()),
                float(net.blocks[0].mlp_out.weight.detach().pow(2).sum()))
    (i0, o0) = sq()
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(net(x), y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for q, g in zip(params, grads):
                q -= lr * g
    i1, o1 = sq()
    return (i1 - o1) - (i0 - o0), i1 - i0


def test_gd_conserves_the_mlp_balance_to_order_eta():
    # same training time ηT = 2: halving η halves the drift (O(η)), though the attention and
    # the embeddings around the MLP are not homogeneous
    (d1, moved1), (d2, _) = _gd_drift(0.1, 20), _gd_drift(0.05, 40)
    assert abs(d1) > 0
    assert d1 / d2 == pytest.approx(2.0, rel=0.1)
    # while each squared norm moves at first order, far more than their difference
    assert abs(moved1) > 20 * abs(d1)


def test_fourier_power_finds_the_frequency_of_a_cosine_embedding():
    p, k = 31, 5
    a = torch.arange(p, dtype=torch.float64)
    E = torch.stack([torch.cos(2 * math.pi * k * a / p), torch.sin(2 * math.pi * k * a / p),
                     3 * torch.cos(2 * math.pi * k * a / p + 0.3)], 1)
    E = torch.cat([E + 7.0, torch.randn(4, 3, dtype=torch.float64)])   # a mean and extra rows
    q = T.fourier_power(E, p)
    assert q.shape == ((p - 1) // 2,) and q.sum() == pytest.approx(1.0)
    assert q[k - 1] == pytest.approx(1.0, abs=1e-12)               # k and p − k added
    assert T.effective_frequencies(q) == pytest.approx(1.0)
    two = T.fourier_power(E[:p] + torch.cos(2 * math.pi * 3 * a / p)[:, None] * 2, p)
    assert 1.0 < T.effective_frequencies(two) < 2.0 + 1e-9
    flat = np.full(15, 1 / 15)
    assert T.effective_frequencies(flat) == pytest.approx(15.0)


def test_fourier_checks_its_input():
    with pytest.raises(ValueError, match="shape"):
        T.fourier_power(torch.zeros(5, 3), 7)
    with pytest.raises(ValueError, match="power outside k = 0"):
        T.fourier_power(torch.ones(7, 3), 7)
    with pytest.raises(ValueError, match="prime"):
        T.fourier_power(torch.zeros(9, 3), 9)
    with pytest.raises(ValueError, match="summing"):
        T.effective_frequencies(np.array([0.5, 0.2]))


def test_configs_check_their_input():
    with pytest.raises(ValueError, match="alphas"):
        T.LambdaTransformerConfig(alphas=(1.0,))
    with pytest.raises(ValueError, match="ft_ops"):
        T.LambdaTransformerConfig(ft_ops=("/",))
    with pytest.raises(ValueError, match="ft_subset_n"):
        T.LambdaTransformerConfig(ft_subset_n=10_000)
    with pytest.raises(ValueError, match="scale"):
        T.FourierConfig(scale=0.0)
    with pytest.raises(TypeError, match="LambdaTransformerConfig"):
        T.run_lambda(T.FourierConfig.smoke())


def test_smoke_runs_record_every_arm():
    cfg = EXPERIMENTS["modular_lambda"].configs("smoke")[0]
    out = T.run_lambda(cfg)
    arms = [(r["op"], r["alpha"]) for r in out["ft"]]
    assert arms == [(op, a) for op in cfg.ft_ops for a in cfg.alphas]
    for r in out["ft"]:
        assert r["diverged_step"] is None
        # GD keeps the λ set by the rescale (a few hundredths at this step size)
        assert abs(r["lambda_after"] - r["lambda_before"]) < 0.05
        assert r["kind"] == T.TASKS[r["op"]]
        assert set(r["weight_change"]) == set(r["norms_before"]) - {"unembed.weight"}
    lam = {a: r["lambda_before"] for r in out["ft"] for a in [r["alpha"]]}
    assert lam[0.25] > 0.9 and lam[4.0] < -0.9
    assert out["pt"]["curves"]["train_acc"][-1] > 0.5       # PT fits its pairs
    fourier = T.run_fourier(EXPERIMENTS["modular_fourier"].configs("smoke")[0])["pt"]
    curves = fourier["curves"]
    assert len(curves["n_eff"]) == len(curves["step"])
    assert curves["n_eff_change"][0] is None and curves["n_eff_change"][-1] > 1.0


def _merged_lambda(values):
    """values: {seed: {(op, alpha): (test_acc, test_ce)}} → a merged results dict."""
    runs = []
    for seed, arms in values.items():
        ft = [{"op": op, "alpha": a, "test_acc": acc, "test_ce": ce}
              for (op, a), (acc, ce) in arms.items()]
        runs.append({"config": {"seed": seed}, "metrics": {"ft": ft}})
    return {"runs": runs}


def test_lambda_endpoints_are_slopes_on_log2_alpha():
    arms = {0: {("*", 0.25): (0.5, 3.0), ("*", 1.0): (0.6, 2.0), ("*", 4.0): (0.7, 1.0),
                ("+", 0.25): (0.99, 0.04), ("+", 1.0): (0.99, 0.03), ("+", 4.0): (0.98, 0.02),
                ("-", 0.25): (0.4, 2.0), ("-", 1.0): (0.4, 2.0), ("-", 4.0): (0.4, 2.0)}}
    merged = _merged_lambda(arms)
    assert T.new_family(merged)["* test accuracy per doubling of α"][0] == pytest.approx(0.05)
    assert T.subset_family(merged)["+ test cross-entropy per doubling of α"][0] == \
        pytest.approx(-0.005)
    assert T.shared_family(merged)["- test accuracy per doubling of α"][0] == \
        pytest.approx(0.0, abs=1e-12)
    inter = T.interaction_family(merged)["* minus + test accuracy per doubling of α"][0]
    assert inter == pytest.approx(0.05 + 0.0025)


def _fourier_run(seed, scale, *, grok, interp_index, n_eff, train, test, budget=4000):
    steps = [0, 100, 200, 300]
    return {"config": {"seed": seed, "scale": scale, "pt_steps": budget},
            "metrics": {"pt": {"grok_step": grok,
                               "interpolation_step": None if interp_index is None
                               else steps[interp_index],
                               "curves": {"step": steps, "n_eff": n_eff, "n_eff_change":
                                          [None] + n_eff[1:], "train_acc": train,
                                          "test_acc": test}}}}


def test_fourier_endpoints_count_every_run():
    runs = [_fourier_run(0, 0.5, grok=200, interp_index=1, n_eff=[9, 3, 2, 2],
                         train=[0.1, 1.0, 1.0, 1.0], test=[0.1, 0.6, 1.0, 1.0]),
            _fourier_run(0, 2.0, grok=None, interp_index=None, n_eff=[14, 13, 12, 11],
                         train=[0.1, 0.5, 0.9, 0.95], test=[0.1, 0.1, 0.2, 0.3])]
    merged = {"runs": runs}
    # interpolation: record 1 for s = 1/2; never for s = 2, so its last record counts
    assert T.at_interpolation(runs[0]["metrics"]["pt"], "n_eff") == 3
    assert T.at_interpolation(runs[1]["metrics"]["pt"], "n_eff") == 11
    fam = T.fourier_family(merged)
    assert list(fam.values())[0][0] == pytest.approx((11 - 3) / 2)     # two doublings
    mem = list(T.memorization_family(merged).values())[0][0]
    assert mem == pytest.approx(((0.95 - 0.3) - (1.0 - 0.6)) / 2)
    # never generalized: censored at the 4,000-step budget, counted
    assert T.time_to_generalize(runs[1]) == (4000, False)
    assert T.time_to_generalize(runs[0]) == (200, True)
    gen = list(T.generalization_family(merged).values())[0][0]
    assert gen == pytest.approx((math.log2(4000) - math.log2(200)) / 2)
