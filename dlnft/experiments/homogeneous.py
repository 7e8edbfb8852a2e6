"""The theory's λ set exactly in a deep network: a function-preserving rescale of a bias-free
ReLU MLP on Fashion-MNIST, then fine-tuning (FT) of every arm from the same pretrained (PT)
weights.

The network f(x) = wᵀ σ(W_L ⋯ σ(W_1 x)) has no bias and no normalization, so it is positively
homogeneous in each layer: W_1 ← W_1/α, W_2 ← α W_2 leaves f unchanged, and gradient flow
conserves every balance D_l = ||W_{l+1}||²_F − ||W_l||²_F (chapter 1). After PT the rescale
sets D_1 at will without changing what PT learned; FT then starts from the same function in
every arm. The diagonal theory's relative scale maps onto it as

    λ/c = (||W_1||² − ||W_2||²) / (||W_1||² + ||W_2||²)     (−1 ≤ λ/c ≤ 1),

the first layer against its readout (w against v in R4): a larger α makes the first layer
smaller, λ/c → −1, the factor 1 + λ/c that favours PT features → 0 (rich, PT-independent FT);
a smaller α makes it larger, λ/c → +1 (lazy reuse). With He initialization ||W_1||² ≈ ||W_2||²
at the start, D_1 ≈ 0 is carried through PT, and λ/c ≈ (1 − α⁴)/(1 + α⁴).

Protocol of one run (one seed, all arms):

- Classes: the ten Fashion-MNIST classes in five fixed pairs (:data:`PAIRS`). Seed k holds out
  pair k mod 5 (the FT task ``"heldout"``: new classes) and PT on the other eight classes; the
  FT task ``"subset"`` is the pair (k mod 5 + 1 + ⌊k/5⌋ mod 4) mod 5, two of the PT classes.
  Over 20 consecutive seeds every ordered (held-out, subset) combination occurs once.
- PT: minibatch SGD (no momentum, no weight decay) on ``pt_per_class`` images of each of the 8
  classes, until the mean training cross-entropy is below ``pt_loss`` (checked after each
  epoch; ``pt_max_epochs`` caps it and the run records whether it reached the threshold).
- Arms, all from the PT weights, with a fresh binary head w = γ g (the same draw g ~ N(0, I/h)
  in every arm): (a) ``alpha``: W_1/α, α W_2 for α in ``alphas``; (b) ``scale``: every feature
  layer × s for s in ``scales`` (the positive control; s = 1 is α = 1); (c) ``readout`` at
  α = 1: a fresh head at γ = 1 (``"unit"``) and the PT head's difference of the subset pair's
  rows (``"pt"``); (a′) ``init``: W_1/a, a W_2 at initialization, carried through a PT of its
  own, for a in ``init_alphas``.
- FT: n ∈ ``ns`` images per class pair (n/2 per class, nested, drawn from training images
  outside the PT set; the same images in every arm), full-batch GD on the logistic loss of
  one logit until the training loss is below ``ft_loss`` or ``ft_max_steps`` steps (censored,
  recorded). The step of arm a at step t is η0 / B_a(t), B = (1/n) Σ_i max(p_i(1 − p_i), 1/100)
  tr K(x_i, x_i): an upper bound of the Gauss-Newton curvature from the per-example tangent
  kernel (computed exactly from the backward pass). Rescaling by α multiplies the curvature by
  up to α² and the speed of the flow by the same factor, so this step follows the same
  gradient-flow path in every arm with a similar number of steps.
- Metrics per arm: test cross-entropy (primary) and accuracy on all 2,000 test images of the
  pair; D_l at initialization, after PT, after the rescale and after FT; each layer's relative
  change ||W_l − W_l(0)||/||W_l(0)|| in FT; linear CKA per layer between the PT and the FT
  network's features on ``cka_images`` test images of the pair; steps, censoring.

All arms of one (task, n) are trained as one batched computation over stacked weights.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from .. import _validate as V
from .data import load_fashion_mnist
from .metrics import linear_cka

PAIRS = ((0, 6), (1, 3), (2, 4), (5, 7), (8, 9))
"""The five Fashion-MNIST class pairs (T-shirt/shirt, trouser/dress, pullover/coat,
sandal/sneaker, bag/ankle boot), similar garments together, so that a pair is a hard task."""

MEAN, STD = 0.2860, 0.3530
"""Fashion-MNIST's pixel mean and standard deviation (training set, pixels in [0, 1])."""

TASKS = ("heldout", "subset")
FLOOR = 0.01
"""Lower bound on p(1 − p) in the step-size bound, so the step stays finite as the loss → 0."""


@dataclass(frozen=True)
class LambdaConfig:
    """width: hidden width h; depth: feature layers L (≥ 2); pt_per_class: PT images per class
    (8 classes); pt_lr, pt_batch: SGD step and batch; pt_loss: PT stops below this mean train
    cross-entropy; pt_max_epochs: cap; alphas: the rescale α of W_1/α, αW_2 (1 included);
    scales: the positive control's s (all feature layers × s; s = 1 is the α = 1 arm); gamma:
    scale γ of the fresh head w = γ g, g ~ N(0, I/h); readouts: extra arms at α = 1, "unit"
    (fresh head at γ = 1) and/or "pt" (the PT head's subset-pair rows, differenced);
    init_alphas: a of the arms rescaled at initialization (a′), each with its own PT; ns: FT
    images per class pair (even); ft_loss: FT stops below this train loss; ft_max_steps: cap
    (censored); eta0: fraction of the curvature bound taken as the FT step; cka_images: test
    images for CKA; seed: the class pairs (see the module), the PT/FT images and the
    initialization; dtype: "float32" or "float64"."""

    width: int = 256
    depth: int = 3
    pt_per_class: int = 500
    pt_lr: float = 0.05
    pt_batch: int = 100
    pt_loss: float = 1e-3
    pt_max_epochs: int = 300
    alphas: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    scales: tuple[float, ...] = (0.125, 2.0)
    gamma: float = 0.01
    readouts: tuple[str, ...] = ("unit", "pt")
    init_alphas: tuple[float, ...] = ()
    ns: tuple[int, ...] = (10, 30, 100)
    ft_loss: float = 1e-2
    ft_max_steps: int = 1500
    eta0: float = 1.0
    cka_images: int = 500
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        V.integer("width", self.width, low=1)
        V.integer("depth", self.depth, low=2)
        V.integer("pt_per_class", self.pt_per_class, low=1, high=5000)
        V.real("pt_lr", self.pt_lr, low=0.0, low_open=True)
        V.integer("pt_batch", self.pt_batch, low=1)
        V.real("pt_loss", self.pt_loss, low=0.0, low_open=True)
        V.integer("pt_max_epochs", self.pt_max_epochs, low=1)
        for name in ("alphas", "scales", "init_alphas"):
            for v in getattr(self, name):
                V.real(name, v, low=0.0, low_open=True)
        if 1.0 not in self.alphas or len(self.alphas) < 2:
            raise ValueError(f"alphas must hold 1 and at least one other value, got "
                             f"{self.alphas}")
        if len(set(self.alphas)) != len(self.alphas):
            raise ValueError(f"alphas must be distinct, got {self.alphas}")
        if 1.0 in self.scales or 1.0 in self.init_alphas:
            raise ValueError("scales and init_alphas must not hold 1 (that is the alpha = 1 "
                             f"arm), got scales={self.scales}, init_alphas={self.init_alphas}")
        V.real("gamma", self.gamma, low=0.0, low_open=True)
        for r in self.readouts:
            V.choice("readouts", r, {"unit", "pt"})
        if not self.ns:
            raise ValueError("ns must hold at least one FT size")
        for n in self.ns:
            V.integer("ns", n, low=2, high=2 * 5000 - 2 * self.pt_per_class)
            if n % 2:
                raise ValueError(f"ns must be even (n/2 images per class), got {n}")
        V.real("ft_loss", self.ft_loss, low=0.0, low_open=True)
        V.integer("ft_max_steps", self.ft_max_steps, low=1)
        V.real("eta0", self.eta0, low=0.0, high=2.0, low_open=True, high_open=True)
        V.integer("cka_images", self.cka_images, low=2, high=2000)
        V.integer("seed", self.seed, low=0)
        V.choice("dtype", self.dtype, {"float32", "float64"})

    @classmethod
    def smoke(cls) -> "LambdaConfig":
        """Width 64, 100 PT images per class, α ∈ {1/4, 1, 4}, n ∈ {10, 100}: seconds."""
        return cls(width=64, pt_per_class=100, pt_loss=0.05, alphas=(0.25, 1.0, 4.0),
                   scales=(0.125,), readouts=("unit",), ns=(10, 100), ft_max_steps=500,
                   cka_images=200)

    @classmethod
    def full(cls) -> "LambdaConfig":
        """784–256–256–256 MLP, PT on 4,000 images to loss 1e-3, 11 arms × 2 tasks × 3 n.

        n = 300 is left out for time: on the hardest pair (T-shirt/shirt) its FT to loss 0.01
        takes more than 2,000 batched steps of 90 ms on one core (about 3 minutes a task), four
        times the rest of a seed together; n = 100 needs 550–1,000 steps."""
        return cls()


# ---------------------------------------------------------------------------------- data

def task_pairs(seed: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(held-out pair, subset pair) of ``seed`` (see the module): counterbalanced over seeds."""
    seed = V.integer("seed", seed, low=0)
    held = seed % 5
    sub = (held + 1 + (seed // 5) % 4) % 5
    return PAIRS[held], PAIRS[sub]


def _flat(x: np.ndarray, dtype) -> torch.Tensor:
    """uint8 images (N, 28, 28, 1) → standardized rows (N, 784)."""
    x = torch.from_numpy(x.reshape(len(x), -1)).to(dtype) / 255
    return (x - MEAN) / STD


def _data(config: LambdaConfig, root=None):
    """PT set (x, y in 0..7), the PT classes, and per task: (FT pool x, t = ±1 labels, nested
    so that the first n rows are n/2 per class), (test x, t)."""
    dtype = getattr(torch, config.dtype)
    kw = {} if root is None else {"root": root}
    xtr, ytr = load_fashion_mnist(True, **kw)
    xte, yte = load_fashion_mnist(False, **kw)
    held, sub = task_pairs(config.seed)
    pt_classes = [c for c in range(10) if c not in held]
    rng = np.random.default_rng([config.seed, 22])
    pt_idx, used = [], set()
    for c in pt_classes:
        pick = rng.choice(np.flatnonzero(ytr == c), config.pt_per_class, replace=False)
        pt_idx.append(pick)
        used.update(pick.tolist())
    pt_idx = np.concatenate(pt_idx)
    relabel = np.full(10, -1)
    relabel[pt_classes] = np.arange(8)
    pt = (_flat(xtr[pt_idx], dtype), torch.from_numpy(relabel[ytr[pt_idx]]))
    half = max(config.ns) // 2
    tasks = {}
    for task, pair in zip(TASKS, (held, sub)):
        per = [rng.permutation([i for i in np.flatnonzero(ytr == c) if i not in used])[:half]
               for c in pair]
        order = np.stack(per, 1).reshape(-1)            # alternate classes: nested, balanced
        t = torch.from_numpy(np.where(ytr[order] == pair[0], 1.0, -1.0)).to(dtype)
        te = np.flatnonzero(np.isin(yte, pair))
        te = te[np.argsort(yte[te] != pair[0], kind="stable")]   # class pair[0] first
        tte = torch.from_numpy(np.where(yte[te] == pair[0], 1.0, -1.0)).to(dtype)
        tasks[task] = (_flat(xtr[order], dtype), t, _flat(xte[te], dtype), tte, pair)
    return pt, pt_classes, tasks


# ------------------------------------------------------------------------------ network

def init_weights(dims, generator, dtype=torch.float32) -> list[torch.Tensor]:
    """He-normal feature layers (std sqrt(2/fan_in)) and a readout of std 1/sqrt(fan_in):
    dims = (d_in, h, …, h, k). With this scale ||W_l||² ≈ 2 fan_out for every feature layer,
    so D_l ≈ 0 between equal-width layers and between W_1 and W_2."""
    out = []
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:])):
        std = math.sqrt((1 if i == len(dims) - 2 else 2) / fan_in)
        out.append(torch.randn(fan_out, fan_in, generator=generator, dtype=dtype) * std)
    return out


def forward(weights, x: torch.Tensor) -> torch.Tensor:
    """f(x) = W_L+1 σ(W_L ⋯ σ(W_1 x)): x (N, d) → logits (N, k); weights as in init."""
    h = x
    for W in weights[:-1]:
        h = torch.relu(h @ W.T)
    return h @ weights[-1].T


def rescale(weights, alpha: float, layer: int = 0) -> list[torch.Tensor]:
    """W_l/α, α W_{l+1} (l = ``layer``, 0-based): the same function, D_l moved.

    For a bias-free ReLU network σ(z/α) = σ(z)/α for α > 0, so the product is unchanged."""
    alpha = V.real("alpha", alpha, low=0.0, low_open=True)
    layer = V.integer("layer", layer, low=0, high=len(weights) - 2)
    out = [W.clone() for W in weights]
    out[layer] = out[layer] / alpha
    out[layer + 1] = out[layer + 1] * alpha
    return out


def balances(weights) -> list[float]:
    """D_l = ||W_{l+1}||²_F − ||W_l||²_F for l = 1 … L (the last against the readout)."""
    sq = [float((W.double() ** 2).sum()) for W in weights]
    return [b - a for a, b in zip(sq[:-1], sq[1:])]


def lam_over_c(weights) -> float:
    """λ/c = (||W_1||² − ||W_2||²)/(||W_1||² + ||W_2||²): the first layer against the next."""
    a, b = (float((W.double() ** 2).sum()) for W in weights[:2])
    return (a - b) / (a + b)


def pretrain(config: LambdaConfig, x, y, init_alpha: float = 1.0) -> dict:
    """SGD on the 8-class PT set until the mean train cross-entropy < pt_loss (or the cap)."""
    dtype = getattr(torch, config.dtype)
    g = torch.Generator().manual_seed(config.seed)
    dims = (x.shape[1],) + (config.width,) * config.depth + (8,)
    weights = init_weights(dims, g, dtype)
    if init_alpha != 1.0:
        weights = rescale(weights, init_alpha)
    D_init = balances(weights)
    weights = [W.requires_grad_() for W in weights]
    order = torch.Generator().manual_seed(config.seed + 1)
    loss, epoch = float("inf"), 0
    for epoch in range(1, config.pt_max_epochs + 1):
        perm = torch.randperm(len(x), generator=order)
        for i in range(0, len(x), config.pt_batch):
            b = perm[i:i + config.pt_batch]
            step_loss = torch.nn.functional.cross_entropy(forward(weights, x[b]), y[b])
            grads = torch.autograd.grad(step_loss, weights)
            with torch.no_grad():
                for W, G in zip(weights, grads):
                    W -= config.pt_lr * G
        with torch.no_grad():
            logits = forward(weights, x)
            loss = float(torch.nn.functional.cross_entropy(logits, y))
            acc = float((logits.argmax(1) == y).to(dtype).mean())
        if not math.isfinite(loss):
            raise FloatingPointError(f"PT diverged in epoch {epoch}; lower pt_lr "
                                     f"({config.pt_lr})")
        if loss < config.pt_loss:
            break
    weights = [W.detach() for W in weights]
    return {"weights": weights, "epochs": epoch, "loss": loss, "train_acc": acc,
            "converged": loss < config.pt_loss, "D_init": D_init, "D_pt": balances(weights)}


# --------------------------------------------------------------------------- batched FT

def _fwd_bwd(Ws, w, x, t, need_grad=True):
    """All arms at once. Ws: feature layers, each (A, h_out, h_in); w: heads (A, h); x (n, d)
    shared; t (n,) labels ±1. Returns per-arm loss (A,), and if need_grad the gradients (the
    same list layout) and B (A,), the curvature bound of the module."""
    A, n = w.shape[0], x.shape[0]
    hs, masks = [x], []
    h = (x @ Ws[0].reshape(-1, x.shape[1]).T).reshape(n, A, -1).transpose(0, 1)
    for i, W in enumerate(Ws):
        if i:
            h = torch.bmm(hs[-1], W.transpose(1, 2))
        masks.append(h > 0)
        h = h.clamp_min(0)
        hs.append(h)
    z = (hs[-1] * w[:, None, :]).sum(-1)                      # (A, n)
    tz = t * z
    loss = torch.nn.functional.softplus(-tz).mean(1)
    if not need_grad:
        return loss, z
    p = torch.sigmoid(tz)
    r = -t * torch.sigmoid(-tz) / n                           # dℓ/dz / n, (A, n)
    gw = torch.einsum("an,anh->ah", r, hs[-1])
    trK = (hs[-1] ** 2).sum(-1)
    delta = w[:, None, :] * masks[-1]                          # ∂z/∂pre_L, (A, n, h)
    grads = [None] * len(Ws)
    for i in range(len(Ws) - 1, -1, -1):
        inp = hs[i]
        rd = (r[..., None] * delta).transpose(1, 2)            # (A, h_out, n)
        if i == 0:
            grads[0] = (rd.reshape(-1, n) @ x).reshape(Ws[0].shape)
            trK = trK + (delta ** 2).sum(-1) * (x ** 2).sum(-1)
        else:
            grads[i] = torch.bmm(rd, inp)
            trK = trK + (delta ** 2).sum(-1) * (inp ** 2).sum(-1)
            delta = torch.bmm(delta, Ws[i]) * masks[i - 1]
    B = ((p * (1 - p)).clamp_min(FLOOR) * trK).mean(1)
    return loss, grads, gw, B


def finetune(Ws, w, x, t, *, loss_target: float, max_steps: int, eta0: float = 1.0,
             fixed_step: float | None = None) -> dict:
    """Full-batch GD of every arm until its train loss < loss_target (then it is frozen) or
    max_steps. Step η0/B_a(t) per arm (see the module), or ``fixed_step`` for every arm.

    Returns the trained Ws, w (new tensors), steps (A,), final train loss (A,), censored (A,)
    bool: arms that did not reach loss_target, and the largest step size used per arm."""
    Ws = [W.clone() for W in Ws]
    w = w.clone()
    A = w.shape[0]
    steps = torch.zeros(A, dtype=torch.long)
    active = torch.ones(A, dtype=torch.bool)
    eta_max = torch.zeros(A, dtype=w.dtype)
    loss = None
    for _ in range(max_steps + 1):
        loss, grads, gw, B = _fwd_bwd(Ws, w, x, t)
        if not torch.all(torch.isfinite(loss)):
            raise FloatingPointError("FT diverged; lower eta0 (or the fixed step)")
        active &= loss >= loss_target
        if not active.any() or int(steps.max()) >= max_steps:
            break
        eta = (eta0 / B) if fixed_step is None else torch.full_like(B, fixed_step)
        eta = eta * active
        eta_max = torch.maximum(eta_max, eta)
        for W, G in zip(Ws, grads):
            W -= eta[:, None, None] * G
        w -= eta[:, None] * gw
        steps += active
    return {"Ws": Ws, "w": w, "steps": steps.tolist(), "loss": loss.tolist(),
            "censored": (loss >= loss_target).tolist(), "eta_max": eta_max.tolist()}


def finetune_loop(Ws, w, x, t, **kw) -> dict:
    """The same FT one arm at a time (a Python loop over arms): the benchmark's baseline."""
    outs = [finetune([W[a:a + 1] for W in Ws], w[a:a + 1], x, t, **kw)
            for a in range(w.shape[0])]
    return {"Ws": [torch.cat([o["Ws"][i] for o in outs]) for i in range(len(Ws))],
            "w": torch.cat([o["w"] for o in outs]),
            "steps": [s for o in outs for s in o["steps"]]}


def _features(Ws, x):
    """Per-layer features of every arm on x: list of (A, N, h)."""
    out, h = [], x.expand(Ws[0].shape[0], *x.shape)
    for W in Ws:
        h = torch.bmm(h, W.transpose(1, 2)).clamp_min(0)
        out.append(h)
    return out


# ------------------------------------------------------------------------------- arms

def arms(config: LambdaConfig, pt: dict, pair_rows, g: torch.Tensor, init_pts=()):
    """The arms of one run: list of (description dict, feature layers, head)."""
    W = pt["weights"]
    feats, head = W[:-1], W[-1]
    out = []
    for a in config.alphas:
        out.append(({"arm": "alpha", "alpha": a, "s": 1.0, "head": "fresh",
                     "gamma": config.gamma}, rescale(feats + [head], a)[:-1],
                    config.gamma * g))
    for s in config.scales:
        out.append(({"arm": "scale", "alpha": 1.0, "s": s, "head": "fresh",
                     "gamma": config.gamma}, [F * s for F in feats], config.gamma * g))
    for r in config.readouts:
        w = g if r == "unit" else head[pair_rows[0]] - head[pair_rows[1]]
        out.append(({"arm": "readout", "alpha": 1.0, "s": 1.0, "head": r,
                     "gamma": 1.0 if r == "unit" else float(w.norm())}, list(feats), w))
    for a, ipt in zip(config.init_alphas, init_pts):
        out.append(({"arm": "init", "alpha": 1.0, "init_alpha": a, "s": 1.0, "head": "fresh",
                     "gamma": config.gamma}, list(ipt["weights"][:-1]), config.gamma * g))
    return out


def run(config: LambdaConfig, *, root=None) -> dict:
    """One seed: PT, every arm on both FT tasks at every n. JSON-serializable dict:
    ``pairs`` (held-out, subset), ``pt`` (epochs, loss, train_acc, converged, D_init, D_pt,
    λ/c), ``init_pt`` (the same per init_alpha), ``ft``: one record per (task, n, arm) with
    test_ce, test_acc, steps, censored, train_loss, D (after rescale, after FT), lam_over_c,
    rel_change per layer (head: its norm before and after), cka per layer; ``seconds``."""
    if not isinstance(config, LambdaConfig):
        raise TypeError(f"config must be a LambdaConfig, got {type(config).__name__}")
    t0, c0 = time.perf_counter(), time.process_time()
    (xpt, ypt), pt_classes, tasks = _data(config, root)
    pt = pretrain(config, xpt, ypt)
    init_pts = [pretrain(config, xpt, ypt, a) for a in config.init_alphas]
    t_pt = time.perf_counter() - t0
    sub = tasks["subset"][4]
    pair_rows = (pt_classes.index(sub[0]), pt_classes.index(sub[1]))
    g = torch.randn(config.width, generator=torch.Generator().manual_seed(config.seed + 2),
                    dtype=pt["weights"][0].dtype) / math.sqrt(config.width)
    arm_list = arms(config, pt, pair_rows, g, init_pts)
    descr = [d for d, _, _ in arm_list]
    Ws0 = [torch.stack([F[i] for _, F, _ in arm_list]) for i in range(config.depth)]
    w0 = torch.stack([w for _, _, w in arm_list])
    D0 = [balances([Ws0[i][a] for i in range(config.depth)] + [w0[a][None]])
          for a in range(len(descr))]
    lc0 = [lam_over_c([Ws0[0][a], Ws0[1][a]]) for a in range(len(descr))]
    records = []
    for task in TASKS:
        x, t, xte, tte, pair = tasks[task]
        cka_x = torch.cat([xte[:config.cka_images // 2], xte[-(config.cka_images // 2):]])
        ref = _features([W[None] for W in pt["weights"][:-1]], cka_x)
        for n in config.ns:
            ft = finetune(Ws0, w0, x[:n], t[:n], loss_target=config.ft_loss,
                          max_steps=config.ft_max_steps, eta0=config.eta0)
            with torch.no_grad():
                ce, z = _fwd_bwd(ft["Ws"], ft["w"], xte, tte, need_grad=False)
                acc = ((tte * z) > 0).to(z.dtype).mean(1)
                cka = [[linear_cka(r[0], f[a]) for a in range(len(descr))]
                       for r, f in zip(ref, _features(ft["Ws"], cka_x))]
            for a, d in enumerate(descr):
                Wa = [W[a] for W in ft["Ws"]]
                rel = [float((Wa[i] - Ws0[i][a]).norm() / Ws0[i][a].norm())
                       for i in range(config.depth)]
                records.append({
                    "task": task, "n": n, **d, "test_ce": float(ce[a]),
                    "test_acc": float(acc[a]), "train_loss": ft["loss"][a],
                    "steps": ft["steps"][a], "censored": ft["censored"][a],
                    "eta_max": ft["eta_max"][a], "lam_over_c": lc0[a], "D_start": D0[a],
                    "D_ft": balances(Wa + [ft["w"][a][None]]), "rel_change": rel,
                    "head_norm": [float(w0[a].norm()), float(ft["w"][a].norm())],
                    "cka": [c[a] for c in cka]})

    def pt_summary(p):
        return {k: p[k] for k in ("epochs", "loss", "train_acc", "converged", "D_init",
                                  "D_pt")} | {"lam_over_c": lam_over_c(p["weights"])}

    return {"pairs": {"heldout": list(tasks["heldout"][4]), "subset": list(sub)},
            "pt": pt_summary(pt),
            "init_pt": [{"init_alpha": a, **pt_summary(p)}
                        for a, p in zip(config.init_alphas, init_pts)],
            "ft": records, "seconds": {"pt": t_pt, "total": time.perf_counter() - t0,
                                       "cpu": time.process_time() - c0}}


# ------------------------------------------------------------------------------ analysis

def _records(merged: dict):
    """(seed, FT record) of every run in a merged results file."""
    for run in merged["runs"]:
        for r in run["metrics"]["ft"]:
            yield int(run["config"]["seed"]), r


def slopes(merged: dict, metric: str = "test_ce") -> dict[tuple[str, int], dict[int, float]]:
    """Per seed, the least-squares slope of ``metric`` on log2 α over the ``alpha`` arms (fresh
    head at γ), for each (task, n): {(task, n): {seed: slope per doubling of α}}."""
    points: dict = {}
    for seed, r in _records(merged):
        if r["arm"] == "alpha":
            points.setdefault((r["task"], r["n"]), {}).setdefault(seed, []).append(
                (math.log2(r["alpha"]), r[metric]))
    out = {}
    for key in sorted(points, key=lambda k: (TASKS.index(k[0]), k[1])):
        out[key] = {s: float(np.polyfit(*np.array(sorted(v)).T, 1)[0])
                    for s, v in sorted(points[key].items()) if len(v) >= 2}
    return out


def _ns(merged: dict) -> list[int]:
    return sorted({r["n"] for _, r in _records(merged)})


def heldout_family(merged: dict) -> dict[str, dict[int, float]]:
    """Slope of held-out test CE on log2 α per seed; n = 10 first (primary), then larger n."""
    s = slopes(merged)
    return {f"heldout n={n}": s[("heldout", n)] for n in _ns(merged)}


def subset_family(merged: dict) -> dict[str, dict[int, float]]:
    """Slope of subset (PT-pair) test CE on log2 α per seed; n = 10 first (primary)."""
    s = slopes(merged)
    return {f"subset n={n}": s[("subset", n)] for n in _ns(merged)}


def interaction_family(merged: dict) -> dict[str, dict[int, float]]:
    """Held-out slope − subset slope per seed (same seed, same n); n = 10 first (primary)."""
    s = slopes(merged)
    out = {}
    for n in _ns(merged):
        h, b = s[("heldout", n)], s[("subset", n)]
        out[f"heldout - subset n={n}"] = {k: h[k] - b[k] for k in h if k in b}
    return out


def control_differences(merged: dict, s_value: float, metric: str = "test_ce"):
    """{(task, n): {seed: metric(s = s_value) − metric(α = 1)}}: the positive control."""
    base, arm = {}, {}
    for seed, r in _records(merged):
        key = (r["task"], r["n"])
        if r["arm"] == "alpha" and r["alpha"] == 1.0:
            base.setdefault(key, {})[seed] = r[metric]
        elif r["arm"] == "scale" and r["s"] == s_value:
            arm.setdefault(key, {})[seed] = r[metric]
    return {k: {s: arm[k][s] - base[k][s] for s in sorted(arm[k]) if s in base.get(k, {})}
            for k in sorted(arm, key=lambda k: (TASKS.index(k[0]), k[1]))}


def control_family(merged: dict) -> dict[str, dict[int, float]]:
    """Test CE at s = 1/8 minus at s = 1 per seed, held-out then subset, n ascending
    (held-out n = 10 first: the primary comparison)."""
    d = control_differences(merged, 0.125)
    return {f"{task} n={n}": v for (task, n), v in d.items()}
