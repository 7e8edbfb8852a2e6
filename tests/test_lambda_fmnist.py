"""The homogeneous-network λ experiment: the rescale keeps the function, GD keeps the balance,
batched FT equals the per-arm loop, the smoke run learns on real images, configs are checked."""
import dataclasses

import numpy as np
import pytest
import torch

from dlnft.experiments import EXPERIMENTS
from dlnft.experiments import homogeneous as H
from dlnft.experiments.homogeneous import LambdaConfig


pytestmark = pytest.mark.usefixtures("one_thread")


def _net(dims=(784, 64, 64, 64, 8), dtype=torch.float64, seed=0):
    return H.init_weights(dims, torch.Generator().manual_seed(seed), dtype)


@pytest.mark.parametrize("alpha", [0.125, 0.5, 2.0, 8.0])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_rescale_preserves_function(alpha, dtype, tol):
    weights = _net(dtype=dtype)
    x = torch.randn(50, 784, generator=torch.Generator().manual_seed(1), dtype=dtype)
    before = H.forward(weights, x)
    moved = H.rescale(weights, alpha)
    after = H.forward(moved, x)
    # float precision: relative to the logits' size, a few roundings of the three GEMMs
    assert float((after - before).abs().max() / before.abs().max()) < tol
    # ... while the balance moves as the rescale says: D_1 → α²||W_2||² − ||W_1||²/α²
    sq = [float((W.double() ** 2).sum()) for W in weights]
    assert H.balances(moved)[0] == pytest.approx(alpha**2 * sq[1] - sq[0] / alpha**2, rel=1e-5)
    assert H.lam_over_c(moved) == pytest.approx(
        (sq[0] / alpha**2 - alpha**2 * sq[1]) / (sq[0] / alpha**2 + alpha**2 * sq[1]), rel=1e-5)


def _gd_balance(eta, steps):
    """float64 full-batch GD at a fixed step on a 2-class problem: (D_l drift, the drift
    predicted step by step as η²(||G_{l+1}||² − ||G_l||²), the change of ||W_1||², loss)."""
    weights = _net(dims=(784, 64, 64, 64, 1))
    Ws = [W[None].clone() for W in weights[:-1]]
    w = weights[-1].clone()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(40, 784, generator=g, dtype=torch.float64) / 28
    t = torch.where(torch.randn(40, generator=g, dtype=torch.float64) > 0, 1.0, -1.0)
    predicted = np.zeros(3)
    for _ in range(steps):
        loss, grads, gw, _ = H._fwd_bwd(Ws, w, x, t.double())
        sq = np.array([float((G**2).sum()) for G in grads] + [float((gw**2).sum())])
        predicted += eta**2 * (sq[1:] - sq[:-1])
        for W, G in zip(Ws, grads):
            W -= eta * G
        w -= eta * gw
    after = [W[0] for W in Ws] + [w]
    drift = np.array(H.balances(after)) - np.array(H.balances(weights))
    moved = abs(float((after[0] ** 2).sum() - (weights[0] ** 2).sum()))
    return drift, predicted, moved, float(loss[0])


def test_balance_conserved_by_small_step_gd():
    """Each GD step moves D_l by exactly η²(||G_{l+1}||² − ||G_l||²) (⟨W_l, G_l⟩ is the same
    for every layer of a bias-free ReLU network), so at a fixed training time ηT the drift
    is O(η): gradient flow conserves D_l. float64, 300 steps at η = 0.2 and 600 at η = 0.1."""
    d1, p1, moved1, loss1 = _gd_balance(0.2, 300)
    d2, p2, moved2, _ = _gd_balance(0.1, 600)
    assert loss1 < 0.5 * np.log(2)                       # it learned
    # the identity, to float64 rounding: |D| ~ 1e2, 1e-16 per operation, 300 steps
    assert np.max(np.abs(d1 - p1)) < 1e-9 and np.max(np.abs(d2 - p2)) < 1e-9
    # half the step, the same time: half the drift (first order in η; 0.4–0.6 allows the
    # O(η²) correction), while ||W_1||² moves by the same amount in both
    assert 0.4 < abs(d2[0] / d1[0]) < 0.6
    assert moved2 == pytest.approx(moved1, rel=0.05)
    assert abs(d2[0]) < 0.01 * moved2                    # D_1 stays put while W_1 moves


def test_batched_ft_equals_per_arm_loop():
    weights = _net(dtype=torch.float64)
    feats = weights[:-1]
    stacks = [H.rescale(feats + [weights[-1]], a)[:-1] for a in (0.5, 1.0, 4.0)]
    Ws = [torch.stack([s[i] for s in stacks]) for i in range(3)]
    w = 0.01 * torch.randn(3, 64, generator=torch.Generator().manual_seed(5),
                           dtype=torch.float64)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(20, 784, generator=g, dtype=torch.float64)
    t = torch.tensor([1.0, -1.0] * 10, dtype=torch.float64)
    kw = dict(loss_target=0.05, max_steps=200, eta0=0.5)
    batched = H.finetune(Ws, w, x, t, **kw)
    loop = H.finetune_loop(Ws, w, x, t, **kw)
    assert batched["steps"] == loop["steps"]
    for a, b in zip(batched["Ws"] + [batched["w"]], loop["Ws"] + [loop["w"]]):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)


def test_gradient_and_curvature_bound_match_autograd():
    weights = _net(dims=(784, 32, 32, 1))
    Ws = [W[None].clone() for W in weights[:-1]]
    w = weights[-1].clone()
    g = torch.Generator().manual_seed(6)
    x = torch.randn(12, 784, generator=g, dtype=torch.float64)
    t = torch.tensor([1.0, -1.0] * 6, dtype=torch.float64)
    loss, grads, gw, B = H._fwd_bwd(Ws, w, x, t)
    params = [W[0].clone().requires_grad_() for W in Ws] + [w[0].clone().requires_grad_()]
    z = H.forward(params[:-1] + [params[-1][None]], x)[:, 0]
    ref = torch.nn.functional.softplus(-t * z).mean()
    auto = torch.autograd.grad(ref, params)
    assert float(loss[0]) == pytest.approx(ref.item(), rel=1e-12)
    for mine, theirs in zip([G[0] for G in grads] + [gw[0]], auto):
        assert torch.allclose(mine, theirs, rtol=1e-9, atol=1e-14)
    # B: the mean of max(p(1−p), FLOOR) tr K(x_i, x_i), tr K from per-example autograd
    trK = []
    for i in range(len(x)):
        zi = H.forward(params[:-1] + [params[-1][None]], x[i:i + 1])[0, 0]
        trK.append(sum(float((G**2).sum()) for G in torch.autograd.grad(zi, params)))
    p = torch.sigmoid(t * z).detach()
    expect = float(((p * (1 - p)).clamp_min(H.FLOOR) * torch.tensor(trK)).mean())
    assert float(B[0]) == pytest.approx(expect, rel=1e-7)


def test_task_pairs_counterbalanced():
    combos = [H.task_pairs(s) for s in range(20)]
    assert len(set(combos)) == 20                     # every ordered combination once
    for held, sub in combos:
        assert held != sub and held in H.PAIRS and sub in H.PAIRS
    assert sorted(c for p in H.PAIRS for c in p) == list(range(10))


def test_smoke_run_learns_on_real_images():
    config = LambdaConfig.smoke()
    m = H.run(config)
    assert m["pt"]["converged"] and m["pt"]["train_acc"] > 0.95
    n_arms = len(config.alphas) + len(config.scales) + len(config.readouts)
    assert len(m["ft"]) == 2 * len(config.ns) * n_arms
    for r in m["ft"]:
        assert np.isfinite(r["test_ce"]) and len(r["rel_change"]) == config.depth
    best = {task: max(r["test_acc"] for r in m["ft"] if r["task"] == task and r["n"] == 100)
            for task in H.TASKS}
    # chance is 0.5; the T-shirt/shirt pair (held out at seed 0) is the hardest of the five
    assert best["heldout"] > 0.7 and best["subset"] > 0.85, best
    one = {r["alpha"]: r for r in m["ft"] if r["arm"] == "alpha" and r["n"] == 10}
    # the rescale decides which layer moves: W_1 at α = 4, W_2 at α = 1/4
    assert one[4.0]["rel_change"][0] > 10 * one[0.25]["rel_change"][0]
    assert one[0.25]["rel_change"][1] > 10 * one[4.0]["rel_change"][1]
    assert EXPERIMENTS["lambda_fmnist"].configs("smoke")[0] == config


@pytest.mark.parametrize("field, value, match", [
    ("alphas", (0.5, 2.0), "alphas must hold 1"),
    ("alphas", (1.0, -2.0), "alphas"),
    ("scales", (1.0,), "must not hold 1"),
    ("ns", (11,), "even"),
    ("ns", (), "at least one"),
    ("ns", (20000,), "ns"),
    ("readouts", ("big",), "readouts"),
    ("eta0", 2.5, "eta0"),
    ("width", 0, "width"),
    ("depth", 1, "depth"),
    ("dtype", "float16", "dtype"),
    ("gamma", 0.0, "gamma"),
])
def test_config_validation(field, value, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(LambdaConfig.smoke(), **{field: value})
    with pytest.raises(TypeError):
        H.run({"seed": 0})


def test_families_from_merged_runs():
    def run(seed, slope):
        ft = [{"task": t, "n": 10, "arm": "alpha", "alpha": a, "s": 1.0,
               "test_ce": 1.0 + (slope if t == "heldout" else 0.0) * np.log2(a)}
              for t in H.TASKS for a in (0.5, 1.0, 2.0)]
        ft += [{"task": t, "n": 10, "arm": "scale", "alpha": 1.0, "s": 0.125, "test_ce": 0.7}
               for t in H.TASKS]
        return {"config": {"seed": seed}, "metrics": {"ft": ft}}
    merged = {"runs": [run(0, -0.1), run(1, -0.2)]}
    assert H.heldout_family(merged) == {"heldout n=10": pytest.approx({0: -0.1, 1: -0.2})}
    assert H.subset_family(merged) == {"subset n=10": pytest.approx({0: 0.0, 1: 0.0})}
    assert H.interaction_family(merged)["heldout - subset n=10"] == pytest.approx(
        {0: -0.1, 1: -0.2})
    assert H.control_family(merged)["heldout n=10"] == pytest.approx({0: -0.3, 1: -0.3})
