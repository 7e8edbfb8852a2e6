"""The modular-arithmetic Transformer with its scales set where the theory says they act.

Two recorded experiments (chapters 2, 5 and 7), one network:
:class:`~dlnft.experiments.modular.ModularTransformer` (one block, no LayerNorm, bias-free) on
a ∘ b mod p.

**The relative scale after pretraining** (``modular_lambda``, :func:`run_lambda`). PT once per
seed on a + b mod p (full-batch AdamW at lr 3e-3 and weight decay 1, which generalizes at the
pilot seed by step 1,700). Weight decay pulls the layers toward one equilibrium during PT and
so erases a relative scale set at initialization; here the scale is set after PT, which PT's
weight decay cannot reach. After PT the MLP is rescaled, W_in/α and α W_out: ReLU is
positively homogeneous, so the network computes the same function in every arm. The MLP is
the two-layer piece of the network whose output enters the residual stream linearly, so
⟨W_in, ∇_{W_in} L⟩ = ⟨W_out, ∇_{W_out} L⟩ for any loss and gradient flow conserves its
balance ||W_out||² − ||W_in||² (chapter 1's identity, which needs only this local
homogeneity); the diagonal theory's
relative scale maps onto it as

    λ/c = (||W_in||² − ||W_out||²) / (||W_in||² + ||W_out||²)      (−1 ≤ λ/c ≤ 1),

the first layer (w in R4) against the second (v): α > 1 makes the first layer smaller,
λ/c → −1 (rich FT, the factor 1 + λ/c that favours PT features → 0); α < 1 makes it larger,
λ/c → +1. FT: every arm from the same PT weights, with a fresh unembedding (the same draw at
every α, scaled by γ), by full-batch gradient descent without momentum or weight decay, its
step capped in length (``_ft_gd``): the theory's optimizer, under which the balance changes
only by O(η²) per step, so the λ set after PT is the λ of FT (measured in every arm: λ/c before
and after FT, and every layer's norm). Adam without weight decay keeps the order of the arms
but not the balance (pilot, α = 1: λ/c from −0.23 to −0.03 in 2,000 steps; GD: −0.23 to −0.24).
FT tasks: ``+`` on pairs PT never saw (``"subset"``: PT's features and readout task), ``-``
(``"shared"``: the same Fourier features of a and b, combined differently: cos k(a − b) =
cos ka cos kb + sin ka sin kb) and ``*`` (``"new"``: multiplication mod p is addition of
discrete logarithms, whose Fourier features are not those of a + b). The new operations are
trained on ``ft_fraction`` of all p² pairs and tested on the rest (their token sequences
differ from PT's in the operation token).

**The implicit bias of the overall scale** (``modular_fourier``, :func:`run_fourier`). PT alone
at an overall initialization scale s (every weight × s, the analogue of c), recording at every
record step the train and test accuracy and the Fourier spectrum of the residue embeddings.
R2 says which interpolator GD reaches: ℓ₂-like at large scale (lazy, the weights stay near a
dense random initialization), ℓ₁-like at small scale (rich: few features). For modular
addition the natural basis is Fourier's, so the observable is how concentrated the
embeddings' power is on few frequencies (:func:`fourier_power`, :func:`effective_frequencies`),
together with the memorization gap (train − test accuracy) and the time to generalization,
which is censored at the step budget for runs that never generalize (never dropped).
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import _validate as V
from .modular import (ModularTransformer, _prime, _record_curves, encode_task,
                      transformer_groups)
from .scaling import layer_norms, relative_change, scale_init

TASKS = {"+": "subset", "-": "shared", "*": "new"}
"""The FT operations of ``modular_lambda`` and what they share with PT (a + b mod p)."""


# ---------------------------------------------------------------------------------- shared

def _check_common(cfg) -> None:
    _prime("p", cfg.p)
    for name in ("d_model", "n_heads", "d_mlp", "pt_steps", "record_every"):
        V.integer(name, getattr(cfg, name), low=1)
    if cfg.d_model % cfg.n_heads:
        raise ValueError(f"d_model must be a multiple of n_heads, got {cfg.d_model} and "
                         f"{cfg.n_heads}")
    V.real("pt_fraction", cfg.pt_fraction, low=0, high=1, low_open=True, high_open=True)
    V.real("pt_lr", cfg.pt_lr, low=0, low_open=True)
    V.real("pt_weight_decay", cfg.pt_weight_decay, low=0)
    V.integer("seed", cfg.seed, low=0)


def _pairs(p: int):
    """Every pair (a, b) of residues, row-major: two int64 tensors of shape (p²,)."""
    return torch.cartesian_prod(torch.arange(p), torch.arange(p)).T


def _split(p: int, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random split of the p² pair indices: the first round(fraction p²), the rest."""
    order = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    n = round(fraction * p * p)
    return order[:n], order[n:]


@torch.no_grad()
def fourier_power(embedding: torch.Tensor, p: int) -> np.ndarray:
    """Power of the residue embeddings at each frequency k = 1 … (p − 1)/2, normalized to sum 1.

    embedding: (≥ p, d) whose first p rows embed the residues 0 … p − 1. The discrete Fourier
    transform over the residue axis, |Σ_a E[a, :] e^{−2πi k a/p}|² summed over the d
    coordinates; k and p − k (the same cos/sin pair) are added; k = 0 (the mean embedding,
    which carries no residue) is left out.
    """
    p = _prime("p", p)
    if p < 3:
        raise ValueError(f"p must be an odd prime (at least one frequency pair), got {p}")
    if embedding.ndim != 2 or embedding.shape[0] < p:
        raise ValueError(f"embedding must have shape (>= p, d) with p = {p}, got "
                         f"{tuple(embedding.shape)}")
    E = embedding[:p].detach().double().cpu().numpy()
    P = (np.abs(np.fft.fft(E, axis=0)) ** 2).sum(1)
    half = P[1:(p - 1) // 2 + 1] + P[p - 1:(p - 1) // 2:-1]
    total = half.sum()
    if not total > 1e-12 * P.sum():          # rounding only: every residue embedded alike
        raise ValueError("embedding has no power outside k = 0 (all residues embedded alike)")
    return half / total


def effective_frequencies(power: np.ndarray) -> float:
    """1/Σ_k q_k² of a normalized spectrum q: 1 when one frequency holds all the power, (p−1)/2
    when all hold the same (the participation ratio; lower = sparser in Fourier)."""
    q = np.asarray(power, dtype=float)
    if q.ndim != 1 or q.size == 0 or np.any(q < 0) or not math.isclose(q.sum(), 1, rel_tol=1e-9):
        raise ValueError("power must be a non-empty 1-D array of non-negative values summing "
                         "to 1")
    return float(1 / np.sum(q ** 2))


def _pretrain(model, x, y, x_test, y_test, *, steps, lr, weight_decay, record_every,
              on_record=None) -> dict:
    """Full-batch AdamW; curves of train/test accuracy and loss every ``record_every`` steps
    (and at the last); ``on_record()`` returns extra values recorded at the same steps. A run
    whose training loss stops being finite ends there, with ``"diverged_step"``."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    curves = {"step": [], "train_acc": [], "train_loss": [], "test_acc": [], "test_loss": []}
    extra = {}
    for step in range(steps + 1):
        if step % record_every == 0 or step == steps:
            _record_curves(curves, model, step, (("train", (x, y)), ("test", (x_test, y_test))))
            if on_record is not None:
                for k, v in on_record().items():
                    extra.setdefault(k, []).append(v)
        if step == steps:
            break
        loss = F.cross_entropy(model(x), y)
        if not torch.isfinite(loss):
            return {**curves, **extra, "diverged_step": step}
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {**curves, **extra}


def first_step(curves: dict, key: str, threshold: float) -> int | None:
    """The first recorded step at which ``curves[key]`` reaches ``threshold`` (None: never)."""
    return next((s for s, v in zip(curves["step"], curves[key]) if v >= threshold), None)


# ------------------------------------------------------------------------- modular_lambda

def mlp_lambda(model: ModularTransformer) -> float:
    """λ/c of the MLP, (||W_in||² − ||W_out||²)/(||W_in||² + ||W_out||²) (one block)."""
    w_in = float(model.blocks[0].mlp_in.weight.detach().double().pow(2).sum())
    w_out = float(model.blocks[0].mlp_out.weight.detach().double().pow(2).sum())
    return (w_in - w_out) / (w_in + w_out)


@torch.no_grad()
def rescale_mlp(model: ModularTransformer, alpha: float) -> ModularTransformer:
    """A copy of ``model`` with every block's MLP rescaled W_in/α, α W_out (the same function:
    ReLU is positively homogeneous)."""
    alpha = V.real("alpha", alpha, low=0, low_open=True)
    out = copy.deepcopy(model)
    for block in out.blocks:
        block.mlp_in.weight.div_(alpha)
        block.mlp_out.weight.mul_(alpha)
    return out


@dataclass(frozen=True)
class LambdaTransformerConfig:
    """PT on a + b mod p, then the MLP rescale W_in/α, α W_out and FT by GD on each task.

    p: prime modulus. d_model, n_heads, d_mlp: the one-block Transformer's sizes.
    pt_fraction: share of the p² pairs PT trains on (its test: the other pairs).
    pt_lr, pt_weight_decay, pt_steps: full-batch AdamW of PT. alphas: the rescale factors α.
    ft_ops: FT operations (keys of :data:`TASKS`). ft_subset_n: "+" trains on this many of the
    pairs PT never saw and tests on the others; ft_fraction: the other operations train on
    this share of all p² pairs (a split of its own) and test on the rest. ft_lr, ft_steps:
    full-batch GD of FT; ft_max_step: the cap on the length of one FT step (see
    ``_ft_gd``). gamma: the fresh unembedding's default initialization × γ.
    record_every: curve resolution. seed: split, initialization and the FT head's draw.
    """
    p: int = 31
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    pt_fraction: float = 0.6
    pt_lr: float = 3e-3
    pt_weight_decay: float = 1.0
    pt_steps: int = 2500
    alphas: tuple[float, ...] = (0.25, 1.0, 4.0)
    ft_ops: tuple[str, ...] = ("+", "-", "*")
    ft_subset_n: int = 256
    ft_fraction: float = 0.6
    ft_lr: float = 0.1
    ft_max_step: float = 0.5
    ft_steps: int = 1500
    gamma: float = 1.0
    record_every: int = 100
    seed: int = 0

    def __post_init__(self):
        _check_common(self)
        if len(self.alphas) < 2 or len(set(self.alphas)) != len(self.alphas):
            raise ValueError(f"alphas must hold at least two distinct values, got "
                             f"{self.alphas}")
        for a in self.alphas:
            V.real("alphas", a, low=0, low_open=True)
        if not self.ft_ops:
            raise ValueError("ft_ops must name at least one operation")
        for op in self.ft_ops:
            V.choice("ft_ops entry", op, TASKS)
        left = self.p ** 2 - round(self.pt_fraction * self.p ** 2)
        V.integer("ft_subset_n", self.ft_subset_n, low=1, high=left - 2)
        V.real("ft_fraction", self.ft_fraction, low=0, high=1, low_open=True, high_open=True)
        V.real("ft_lr", self.ft_lr, low=0, low_open=True)
        V.real("ft_max_step", self.ft_max_step, low=0, low_open=True)
        V.integer("ft_steps", self.ft_steps, low=1)
        V.real("gamma", self.gamma, low=0, low_open=True)

    @classmethod
    def smoke(cls) -> "LambdaTransformerConfig":
        """p = 13, d_model 32: seconds on one CPU thread (it fits but is not meant to grok)."""
        return cls(p=13, d_model=32, d_mlp=128, pt_steps=300, ft_subset_n=40, ft_steps=100,
                   ft_lr=0.02, record_every=50)

    @classmethod
    def full(cls) -> "LambdaTransformerConfig":
        """p = 31, d_model 64, PT 2,500 AdamW steps on 577 pairs, 3 tasks × 3 α of 1,500 GD
        steps.

        Sized by a pilot seed outside the sweep: PT at lr 3e-3, weight decay 1 generalizes
        (test accuracy 0.95 at step 1,700, 1.00 from 2,000); FT by GD at lr 0.1 learns the new
        operation * from 577 pairs (test accuracy 0.56 at 2,000 steps, train 0.99; at lr 0.03
        train 0.65 and test 0.19) while the MLP's λ/c moves by 0.01; lr 0.3 diverges. About 3
        minutes a seed on one core. The step's length is capped at 0.5 (5 × lr: the pilot's
        gradient norms reached 17 within 300 steps) because at lr 0.1 without a cap the first
        recorded seed diverged on - at α = 1/4 (step 359) and α = 4 (step 100), where the
        rescale multiplies the curvature along one layer by up to α²; that run was discarded
        and the protocol changed before any other seed, the predictions unchanged.
        """
        return cls()


def _ft_gd(model, x, y, x_test, y_test, *, steps, lr, max_step, record_every) -> dict:
    """Full-batch GD (no momentum, no weight decay) whose step is capped in length: θ ←
    θ − η_t ∇L with η_t = lr · min(1, max_step / (lr ||∇L||)), so ||Δθ|| <= max_step.

    A varying step size moves along the same gradient-flow path (only its speed changes), and
    each step still changes the MLP balance by η_t² (||G_out||² − ||G_in||²) only. Curves as
    :func:`_pretrain`'s, with ``curves["capped"]``: how many steps were capped. A run whose
    training loss stops being finite ends there, with ``curves["diverged_step"]``."""
    curves = {"step": [], "train_acc": [], "train_loss": [], "test_acc": [], "test_loss": [],
              "capped": 0}
    params = [q for q in model.parameters()]
    for step in range(steps + 1):
        if step % record_every == 0 or step == steps:
            _record_curves(curves, model, step, (("train", (x, y)), ("test", (x_test, y_test))))
        if step == steps:
            break
        loss = F.cross_entropy(model(x), y)
        if not torch.isfinite(loss):
            curves["diverged_step"] = step
            return curves
        grads = torch.autograd.grad(loss, params)
        norm = float(torch.sqrt(sum((g.double() ** 2).sum() for g in grads)))
        eta = lr if lr * norm <= max_step else max_step / norm
        curves["capped"] += eta < lr
        with torch.no_grad():
            for q, g in zip(params, grads):
                q.sub_(eta * g)
    return curves


def run_lambda(config: LambdaTransformerConfig) -> dict:
    """PT once, then every (task, α) arm of ``config`` from the PT weights.

    Returns a JSON-serializable dict: ``pt`` (curves, test_acc, grok_step: first recorded step
    with test accuracy ≥ 0.95 or None, norms_init, norms_pt, lambda_pt: the MLP's λ/c) and
    ``ft``: one record per (op, α) with op, kind (:data:`TASKS`), alpha, lambda_before /
    lambda_after (the MLP's λ/c after the rescale and after FT), norms_before / norms_after
    (every weight's Frobenius norm; the unembedding is the fresh head), weight_change
    (||W_FT − W_before||/||W_before|| per weight, the fresh head left out), test_acc,
    test_ce, train_acc, train_ce (at the end) and curves. An arm whose FT loss stops being
    finite records ``diverged_step`` (None otherwise) and is scored as a uniform guess
    (accuracy 1/p, cross-entropy ln p), its after-FT norms and λ/c None: counted, never
    dropped.
    """
    if not isinstance(config, LambdaTransformerConfig):
        raise TypeError(f"config must be a LambdaTransformerConfig, got "
                        f"{type(config).__name__}")
    c = config
    torch.manual_seed(c.seed)
    a, b = _pairs(c.p)
    pt_idx, rest = _split(c.p, c.pt_fraction, c.seed)
    model = ModularTransformer(c.p, c.d_model, c.n_heads, c.d_mlp, 1)
    norms_init = layer_norms(model)
    x, y = encode_task(a[pt_idx], b[pt_idx], ("+",), c.p)
    xt, yt = encode_task(a[rest], b[rest], ("+",), c.p)
    curves = _pretrain(model, x, y, xt, yt, steps=c.pt_steps, lr=c.pt_lr,
                       weight_decay=c.pt_weight_decay, record_every=c.record_every)
    if "diverged_step" in curves:        # PT is the same in every arm: not an outcome of α
        raise FloatingPointError(f"PT diverged at step {curves['diverged_step']} with pt_lr "
                                 f"= {c.pt_lr}; lower pt_lr")
    out = {"pt": {"curves": curves, "test_acc": curves["test_acc"][-1],
                  "grok_step": first_step(curves, "test_acc", 0.95),
                  "norms_init": norms_init, "norms_pt": layer_norms(model),
                  "lambda_pt": mlp_lambda(model)}, "ft": []}
    new_tr, new_te = _split(c.p, c.ft_fraction, c.seed + 1)
    for k, op in enumerate(c.ft_ops):
        if TASKS[op] == "subset":
            tr, te = rest[:c.ft_subset_n], rest[c.ft_subset_n:]
        else:
            tr, te = new_tr, new_te
        x, y = encode_task(a[tr], b[tr], (op,), c.p)
        xt, yt = encode_task(a[te], b[te], (op,), c.p)
        head = torch.Generator().manual_seed(c.seed * 1000 + k)
        bound = 1 / math.sqrt(c.d_model)          # nn.Linear's default, drawn once per task
        w_head = (torch.rand(c.p, c.d_model, generator=head) * 2 - 1) * bound * c.gamma
        for alpha in c.alphas:
            ft = rescale_mlp(model, alpha)
            with torch.no_grad():
                ft.unembed.weight.copy_(w_head)
            before = {n: q.detach().clone() for n, q in ft.named_parameters()
                      if n != "unembed.weight"}
            norms_before, lam_before = layer_norms(ft), mlp_lambda(ft)
            fc = _ft_gd(ft, x, y, xt, yt, steps=c.ft_steps, lr=c.ft_lr,
                        max_step=c.ft_max_step, record_every=c.record_every)
            record = {"op": op, "kind": TASKS[op], "alpha": alpha,
                      "lambda_before": lam_before, "diverged_step": fc.pop("diverged_step", None),
                      "norms_before": norms_before, "curves": fc}
            if record["diverged_step"] is None:
                record.update({
                    "lambda_after": mlp_lambda(ft), "norms_after": layer_norms(ft),
                    "weight_change": relative_change(before, ft),
                    "test_acc": fc["test_acc"][-1], "test_ce": fc["test_loss"][-1],
                    "train_acc": fc["train_acc"][-1], "train_ce": fc["train_loss"][-1]})
            else:                    # scored as a uniform guess, never dropped
                chance = {"test_acc": 1 / c.p, "test_ce": math.log(c.p)}
                record.update({"lambda_after": None, "norms_after": None,
                               "weight_change": None, **chance,
                               "train_acc": chance["test_acc"], "train_ce": chance["test_ce"]})
            out["ft"].append(record)
    return out


# ------------------------------------------------------------------------ modular_fourier

@dataclass(frozen=True)
class FourierConfig:
    """PT alone on a + b mod p at an overall initialization scale, with the embeddings'
    Fourier spectrum recorded along the way.

    p, d_model, n_heads, d_mlp, pt_fraction, pt_lr, pt_weight_decay, pt_steps, record_every,
    seed: as :class:`LambdaTransformerConfig` (here a low weight decay, so that what PT reaches
    is the implicit bias's and not the decay's equilibrium). scale: every weight's default
    initialization × s (the analogue of c)."""
    p: int = 31
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    pt_fraction: float = 0.6
    pt_lr: float = 1e-3
    pt_weight_decay: float = 0.1
    pt_steps: int = 3000
    scale: float = 1.0
    record_every: int = 50
    seed: int = 0

    def __post_init__(self):
        _check_common(self)
        V.real("scale", self.scale, low=0, low_open=True)

    @classmethod
    def smoke(cls) -> "FourierConfig":
        """p = 13, d_model 32, 300 steps: seconds."""
        return cls(p=13, d_model=32, d_mlp=128, pt_lr=3e-3, pt_steps=300, record_every=25)

    @classmethod
    def full(cls) -> "FourierConfig":
        """p = 31, d_model 64, 3,000 AdamW steps at lr 1e-3 and weight decay 0.1, recorded
        every 50 steps: about 20 s a run on one quiet core.

        Sized by a pilot seed outside the sweep (1000). The PT of ``modular_lambda`` (lr 3e-3,
        weight decay 1) erases the scale: weight decay shrinks every weight by e^{-3} in 1,000
        steps, and at s = 4 the embeddings reached 1.9 effective frequencies, at s = 1/4 1.7,
        with train accuracy swinging (0.98 to 0.85 and back). At lr 1e-3 and weight decay 0.1
        (or 0) the two ends differ as R2 says they may: s = 1/4 fits its pairs at step 1,200
        and generalizes; s = 4 fits them by step 2,250 and does not generalize within 4,000.
        """
        return cls()


def run_fourier(config: FourierConfig) -> dict:
    """PT at ``config.scale``; curves with, at every record step, the embeddings' normalized
    Fourier power (``power``), its effective number of frequencies (``n_eff``) and the same
    two for the change since initialization (``power_change``, ``n_eff_change``).

    Returns ``{"pt": {"curves", "test_acc", "diverged_step" (the step at which the training
    loss stopped being finite, which ends the run; None), "interpolation_step" (first record
    with train accuracy ≥ 0.99, or None), "grok_step" (first with test accuracy ≥ 0.95, or
    None), "norms_init", "norms_pt"}}``. A diverged run never interpolates or generalizes
    after its divergence: the endpoints count it as censored at the budget.
    """
    if not isinstance(config, FourierConfig):
        raise TypeError(f"config must be a FourierConfig, got {type(config).__name__}")
    c = config
    torch.manual_seed(c.seed)
    a, b = _pairs(c.p)
    pt_idx, rest = _split(c.p, c.pt_fraction, c.seed)
    model = ModularTransformer(c.p, c.d_model, c.n_heads, c.d_mlp, 1)
    scale_init(model, {"all": c.scale}, {"all": sum(transformer_groups(1).values(), ())})
    norms_init = layer_norms(model)
    e0 = model.embed.weight.detach().clone()

    def spectrum():
        e = model.embed.weight.detach()
        q, q0 = fourier_power(e, c.p), fourier_power(e - e0, c.p) if (e - e0).abs().max() > 0 \
            else None
        return {"power": q.tolist(), "n_eff": effective_frequencies(q),
                "power_change": None if q0 is None else q0.tolist(),
                "n_eff_change": None if q0 is None else effective_frequencies(q0)}

    x, y = encode_task(a[pt_idx], b[pt_idx], ("+",), c.p)
    xt, yt = encode_task(a[rest], b[rest], ("+",), c.p)
    curves = _pretrain(model, x, y, xt, yt, steps=c.pt_steps, lr=c.pt_lr,
                       weight_decay=c.pt_weight_decay, record_every=c.record_every,
                       on_record=spectrum)
    diverged = curves.pop("diverged_step", None)   # an outcome of s: recorded, never dropped
    return {"pt": {"curves": curves, "test_acc": curves["test_acc"][-1],
                   "diverged_step": diverged,
                   "interpolation_step": first_step(curves, "train_acc", 0.99),
                   "grok_step": first_step(curves, "test_acc", 0.95),
                   "norms_init": norms_init, "norms_pt": layer_norms(model)}}


# ------------------------------------------------------------------------------- endpoints

def _slope(points) -> float:
    """Least-squares slope of y on x over the (x, y) points."""
    x, y = np.array(sorted(points), dtype=float).T
    return float(np.polyfit(x, y, 1)[0])


def lambda_slopes(merged: dict, op: str, metric: str = "test_acc") -> dict[int, float]:
    """Per seed, the slope of ``metric`` of the FT task ``op`` on log2 α (per doubling)."""
    points: dict[int, list] = {}
    for run in merged["runs"]:
        for r in run["metrics"]["ft"]:
            if r["op"] == op:
                points.setdefault(int(run["config"]["seed"]), []).append(
                    (math.log2(r["alpha"]), r[metric]))
    return {s: _slope(v) for s, v in sorted(points.items()) if len(v) >= 2}


def new_family(merged: dict) -> dict[str, dict[int, float]]:
    """The new operation ``*``: slope of its FT test accuracy on log2 α, per seed."""
    return {"* test accuracy per doubling of α": lambda_slopes(merged, "*")}


def shared_family(merged: dict) -> dict[str, dict[int, float]]:
    """The shared-feature operation ``-``: slope of its FT test accuracy on log2 α, per
    seed."""
    return {"- test accuracy per doubling of α": lambda_slopes(merged, "-")}


def subset_family(merged: dict) -> dict[str, dict[int, float]]:
    """The subset task ``+`` (PT's operation, unseen pairs): slope of its FT test cross-entropy
    on log2 α, per seed (cross-entropy: its accuracy sits at the ceiling)."""
    return {"+ test cross-entropy per doubling of α": lambda_slopes(merged, "+", "test_ce")}


def interaction_family(merged: dict) -> dict[str, dict[int, float]]:
    """Slope of test accuracy on log2 α, new operation * minus subset +, paired by seed."""
    new, sub = lambda_slopes(merged, "*"), lambda_slopes(merged, "+")
    return {"* minus + test accuracy per doubling of α":
            {s: new[s] - sub[s] for s in new if s in sub}}


def at_interpolation(pt: dict, key: str):
    """``pt["curves"][key]`` at the first record with train accuracy ≥ 0.99 (the interpolator
    GD reached), or at the last record when the run never interpolates (counted, not dropped)."""
    curves = pt["curves"]
    step = pt.get("interpolation_step")
    i = curves["step"].index(step) if step is not None else len(curves["step"]) - 1
    return curves[key][i]


def time_to_generalize(run: dict) -> tuple[int, bool]:
    """(step, observed): the first recorded step with PT test accuracy ≥ 0.95, observed; a
    run that never reaches it is censored at its step budget (observed False)."""
    step = run["metrics"]["pt"]["grok_step"]
    if step is None:
        return int(run["config"]["pt_steps"]), False
    return int(step), True


def _scale_slopes(merged: dict, value) -> dict[int, float]:
    points: dict[int, list] = {}
    for run in merged["runs"]:
        points.setdefault(int(run["config"]["seed"]), []).append(
            (math.log2(run["config"]["scale"]), float(value(run))))
    return {s: _slope(v) for s, v in sorted(points.items()) if len(v) >= 2}


def fourier_family(merged: dict) -> dict[str, dict[int, float]]:
    """Effective number of embedding frequencies at interpolation: slope on log2 s per seed,
    then the same for the embeddings' change since initialization."""
    return {"n_eff of the embeddings at interpolation per doubling of s": _scale_slopes(
                merged, lambda r: at_interpolation(r["metrics"]["pt"], "n_eff")),
            "n_eff of their change since initialization per doubling of s": _scale_slopes(
                merged, lambda r: at_interpolation(r["metrics"]["pt"], "n_eff_change"))}


def memorization_family(merged: dict) -> dict[str, dict[int, float]]:
    """Memorization gap (train − test accuracy) at interpolation: slope on log2 s per seed."""
    def gap(r):
        pt = r["metrics"]["pt"]
        return at_interpolation(pt, "train_acc") - at_interpolation(pt, "test_acc")
    return {"train − test accuracy at interpolation per doubling of s": _scale_slopes(merged,
                                                                                       gap)}


def generalization_family(merged: dict) -> dict[str, dict[int, float]]:
    """log2 of the time to generalize (censored at the budget: a lower bound) on log2 s, per
    seed."""
    return {"log2 steps to test accuracy 0.95 per doubling of s": _scale_slopes(
        merged, lambda r: math.log2(max(time_to_generalize(r)[0], 1)))}
