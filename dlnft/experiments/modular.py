"""Modular arithmetic: generated data, a small decoder-only Transformer, and its PT → FT run.

Data. :func:`modular_table` lists every pair (a, b) of residues mod a prime p with the answer
a ∘ b mod p; :func:`modular_dataset` splits it into train/test and encodes the inputs as tokens or
one-hot vectors (the latter for MLPs). Nothing is downloaded.

Model. :class:`ModularTransformer` reads the four tokens ``a  op  b  =`` and predicts the answer
from the last position (Nanda et al. 2023's setting, with an operation token so that one network
can be pretrained on several operations). Only the last position is read, so the last block
computes only that position's query, attention output and MLP. No LayerNorm, so the
initialization scale of each layer is not normalized away.

Experiment. :func:`run` pretrains on a set of operations, fine-tunes on one operation on pairs
never seen in pretraining (a PT operation: "subset" of the PT features; another one: "new"
features) with a fresh unembedding at scale γ, and reports how far the features moved. The early
(embedding + attention) and late (MLP-out + unembedding) layers are scaled at initialization by
``early_scale`` and ``late_scale`` on top of an overall ``scale``: the deep analogue of the
relative scale λ (their ratio) and of the absolute scale c (the overall factor).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import _validate as V
from .._progress import bar
from ..scale import device as default_device
from .metrics import linear_cka, representation_change
from .scaling import layer_norms, relative_change, scale_init

OPS = {
    "+": lambda a, b, p: (a + b) % p,
    "-": lambda a, b, p: (a - b) % p,
    "*": lambda a, b, p: (a * b) % p,
    "/": lambda a, b, p: (a * torch.tensor([pow(int(x), p - 2, p) for x in b])) % p,
    "a2+b2": lambda a, b, p: (a * a + b * b) % p,
}
"""The operations a ∘ b mod p, by name. "/" is a · b⁻¹ (b ≠ 0 only)."""


def _prime(name: str, p) -> int:
    p = V.integer(name, p, low=2)
    if any(p % k == 0 for k in range(2, math.isqrt(p) + 1)):
        raise ValueError(f"{name} must be a prime, got {p}")
    return p


def modular_table(p: int, op: str = "+") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every pair of residues and its answer: (a, b, y), int64 tensors of shape (N,).

    p: a prime modulus. op: a key of :data:`OPS`. N = p² (p(p−1) for "/", which skips b = 0).
    Pairs are in row-major order of (a, b).
    """
    p = _prime("p", p)
    V.choice("op", op, OPS)
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    if op == "/":
        keep = b != 0
        a, b = a[keep], b[keep]
    return a, b, OPS[op](a, b, p)


def modular_dataset(p: int, op: str = "+", *, train_fraction: float = 0.5, seed: int = 0,
                    encoding: str = "onehot", dtype=torch.float32):
    """A random train/test split of the table of a ∘ b mod p, encoded for a network.

    Args:
        p: prime modulus. op: operation, a key of :data:`OPS` ("+", "-", "*", "/", "a2+b2").
        train_fraction: fraction of the N pairs in the training set, in (0, 1].
        seed: seed of the split (a ``torch.Generator``; the same seed gives the same split).
        encoding: ``"onehot"``: x of shape (n, 2p), the concatenated one-hot codes of a and b
            (dtype ``dtype``), for MLPs; ``"tokens"``: x of shape (n, 2), int64 [a, b].

    Returns:
        (x_train, y_train, x_test, y_test); y are int64 class labels in [0, p), shape (n,).
        With train_fraction = 1 the test set is empty.
    """
    train_fraction = V.real("train_fraction", train_fraction, low=0, high=1, low_open=True)
    V.integer("seed", seed)
    V.choice("encoding", encoding, {"onehot", "tokens"})
    a, b, y = modular_table(p, op)
    x = torch.stack([a, b], dim=1)
    if encoding == "onehot":
        x = torch.cat([F.one_hot(a, p), F.one_hot(b, p)], dim=1).to(dtype)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_train = max(1, round(train_fraction * len(y)))
    tr, te = order[:n_train], order[n_train:]
    return x[tr], y[tr], x[te], y[te]


TOKENS_PER_INPUT = 4
"""An input is the sequence ``a  op  b  =``; the answer is read at the last position."""


def encode(a: torch.Tensor, b: torch.Tensor, op: str, p: int) -> torch.Tensor:
    """Token sequences (N, 4) int64: residues are tokens 0..p−1, the operations p..p+len(OPS)−1
    (in the order of :data:`OPS`) and "=" is p + len(OPS)."""
    V.choice("op", op, OPS)
    op_token = p + list(OPS).index(op)
    n = len(a)
    return torch.stack([a, torch.full((n,), op_token), b, torch.full((n,), p + len(OPS))], 1)


def encode_task(a: torch.Tensor, b: torch.Tensor, ops,
                p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The pairs (a, b) under every operation of ``ops``, stacked: token sequences (N·len(ops), 4)
    as :func:`encode` writes them, and their answers a ∘ b mod p."""
    x = torch.cat([encode(a, b, op, p) for op in ops])
    y = torch.cat([OPS[op](a, b, p) for op in ops])
    return x, y


class _Block(nn.Module):
    """Causal self-attention and a ReLU MLP, each added to the residual stream; no LayerNorm."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.attn_out = nn.Linear(d_model, d_model, bias=False)
        self.mlp_in = nn.Linear(d_model, d_mlp, bias=False)
        self.mlp_out = nn.Linear(d_mlp, d_model, bias=False)

    def forward(self, h: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """h: (N, T, d_model) → (N, T, d_model), or (N, 1, d_model) with ``last_only``.

        ``last_only`` computes the output at the last position alone: its query, the keys and
        values of every position (causal attention lets the last query see them all), then
        the MLP on that one position. Same numbers as the full block's last position, at
        about 1/T of the query, attention-output and MLP FLOPs.
        """
        b, t, d = h.shape
        split = (b, -1, self.n_heads, d // self.n_heads)
        if last_only:
            w_q, w_kv = self.qkv.weight.split((d, 2 * d))
            q = F.linear(h[:, -1:], w_q).view(split)
            k, v = F.linear(h, w_kv).view(b, t, 2, self.n_heads, -1).unbind(2)
            h = h[:, -1:]
        else:
            q, k, v = self.qkv(h).view(b, t, 3, self.n_heads, d // self.n_heads).unbind(2)
        att = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2),
                                             v.transpose(1, 2), is_causal=not last_only)
        h = h + self.attn_out(att.transpose(1, 2).reshape(b, -1, d))
        return h + self.mlp_out(F.relu(self.mlp_in(h)))


class ModularTransformer(nn.Module):
    """Decoder-only Transformer on ``a op b =`` → logits over the p residues.

    Weights: ``embed`` (token embedding, N(0, 1/d_model)), ``pos`` (position embedding, same),
    per layer ``blocks.i.{qkv, attn_out, mlp_in, mlp_out}`` (PyTorch's default Linear
    initialization, bias-free) and ``unembed`` (Linear d_model → p, bias-free).

    Only the last position is read, so the last block computes that position alone
    (``_Block.forward`` with ``last_only``); earlier blocks compute every position, which
    the later blocks' keys and values need.
    """

    def __init__(self, p: int, d_model: int = 128, n_heads: int = 4, d_mlp: int = 512,
                 n_layers: int = 1):
        super().__init__()
        self.embed = nn.Embedding(p + len(OPS) + 1, d_model)
        self.pos = nn.Embedding(TOKENS_PER_INPUT, d_model)
        for e in (self.embed, self.pos):
            nn.init.normal_(e.weight, std=d_model ** -0.5)
        self.blocks = nn.ModuleList(_Block(d_model, n_heads, d_mlp) for _ in range(n_layers))
        self.unembed = nn.Linear(d_model, p, bias=False)

    def features(self, x: torch.Tensor, last_only: bool = True) -> torch.Tensor:
        """The residual stream at the last position, (N, d_model): what the unembedding reads.

        ``last_only=False`` computes every position in every block (the same numbers up to
        rounding, at more cost), to compare with the cut.
        """
        h = self.embed(x) + self.pos.weight
        last = len(self.blocks) - 1 if last_only else -1
        for i, block in enumerate(self.blocks):
            h = block(h, last_only=i == last)
        return h[:, -1]

    def forward(self, x: torch.Tensor, last_only: bool = True) -> torch.Tensor:
        """Logits over the p residues, (N, p); ``last_only`` as in :meth:`features`."""
        return self.unembed(self.features(x, last_only))


def transformer_groups(n_layers: int) -> dict[str, tuple[str, ...]]:
    """Early (embeddings, attention), middle (MLP-in) and late (MLP-out, unembedding) weights."""
    blocks = [f"blocks.{i}" for i in range(n_layers)]
    return {"early": ("embed", "pos", *(f"{b}.qkv" for b in blocks),
                      *(f"{b}.attn_out" for b in blocks)),
            "middle": tuple(f"{b}.mlp_in" for b in blocks),
            "late": (*(f"{b}.mlp_out" for b in blocks), "unembed")}


@dataclass(frozen=True)
class ModularConfig:
    """PT on several operations mod p, FT on each of ``ft_ops`` with few pairs.

    p: prime modulus. pt_ops: operations of PT (keys of OPS except "/"). ft_ops: FT tasks, each
        a "subset" task if it is a PT operation (new pairs, known operation) and "new" otherwise.
    pt_fraction: fraction of the p² pairs used in PT (for every PT operation; round(pt_fraction
        · p²) pairs); FT pairs come from the other pairs: ft_n for training, the rest (at least
        two, which the representation statistics need) for testing.
    scale: overall factor on every weight's initialization (analogue of c); early_scale,
        late_scale: extra factors on the early and late groups (their ratio ~ λ).

    gamma: the FT unembedding is re-initialized and multiplied by gamma.
    Training: full batch AdamW (lr, pt/ft weight decay), pt_steps / ft_steps steps, curves every
    record_every steps.
    """
    p: int = 59
    pt_ops: tuple = ("+",)
    ft_ops: tuple = ("+", "-", "a2+b2")
    pt_fraction: float = 0.5
    ft_n: int = 600
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    n_layers: int = 1
    scale: float = 1.0
    early_scale: float = 1.0
    late_scale: float = 1.0
    gamma: float = 1.0
    lr: float = 1e-3
    pt_weight_decay: float = 2.0
    ft_weight_decay: float = 1.0
    pt_steps: int = 3000
    ft_steps: int = 1000
    record_every: int = 100
    seed: int = 0

    def __post_init__(self):
        _prime("p", self.p)
        for field_name in ("pt_ops", "ft_ops"):
            ops = getattr(self, field_name)
            if not ops:
                raise ValueError(f"{field_name} must name at least one operation")
            for op in ops:
                V.choice(f"{field_name} entry", op, set(OPS) - {"/"})
        V.real("pt_fraction", self.pt_fraction, low=0, high=1, low_open=True, high_open=True)
        n_ft = self.p ** 2 - _n_pt(self.p, self.pt_fraction)   # the pairs PT leaves to FT
        V.integer("ft_n", self.ft_n, low=1, high=n_ft - 2)      # two or more FT test pairs
        for name in ("d_model", "n_heads", "d_mlp", "n_layers", "pt_steps", "ft_steps",
                     "record_every"):
            V.integer(name, getattr(self, name), low=1)
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model must be a multiple of n_heads, got {self.d_model} and "
                             f"{self.n_heads}")
        for name in ("scale", "early_scale", "late_scale", "gamma", "lr"):
            V.real(name, getattr(self, name), low=0, low_open=True)
        for name in ("pt_weight_decay", "ft_weight_decay"):
            V.real(name, getattr(self, name), low=0)
        V.integer("seed", self.seed, low=0)

    @classmethod
    def smoke(cls, **kw) -> "ModularConfig":
        """Seconds on one CPU thread: p = 23, d_model 32, 400 PT steps at a larger lr.

        It fits the PT pairs (train accuracy far above chance 1/23) but is not meant to grok;
        tests/test_modular.py states what it guarantees.
        """
        base = dict(p=23, ft_n=60, d_model=32, n_heads=2, d_mlp=128, pt_steps=400,
                    ft_steps=100, lr=3e-3, record_every=50)
        return cls(**{**base, **kw})

    @classmethod
    def full(cls, **kw) -> "ModularConfig":
        """The recorded protocol (the defaults): PT on a + b mod 59 from half of the pairs.

        Sized by measurement to grok at the default scales in every seed and to fit the
        registry's sweep (3 early scales × 6 seeds at ≈ 2.5 min a run, below) in about 45
        minutes on 2 quiet CPU cores. Measured (5 seeds, early_scale 1): PT test accuracy
        ≥ 0.95 first reached at step 400–2000 (0.99–1.00 at step 3000); at early_scale 3
        at 800–1500; at early_scale 0.3 in 3 of 5 seeds (the others reach 0.89 and 0.94).
        PT weight decay 2 (lr·wd = 2e-3 per step): at weight decay 1 one seed in five stayed
        at 0.39 test accuracy after 3000 steps. FT on 600 unseen pairs, the rest tested:
        "+" (subset) reaches 0.95–1.00 at early_scale 1 and 0.46–0.93 at 0.3; "-" (new)
        0.12–0.19 at early_scale 1 and 0.02–0.15 at 0.3; "a2+b2" (new) 0.13–0.23 (chance
        1/59 = 0.017); "*" (new) stayed at 0.05–0.16 even without FT weight decay.
        Cost on 2 CPU cores (float32, 2 threads, measured on a quiet machine): a PT step of the
        1,740 sequences 37 ms with the last-position cut (3.2 GFLOP; 87 ms and 8.3 GFLOP
        without it), an FT step 12 ms: one run (3000 PT steps, 3 × 1000 FT steps) ≈ 2.5 min.
        """
        return cls(**kw)


def _n_pt(p: int, pt_fraction: float) -> int:
    """How many of the p² pairs PT uses (1,740 of 3,481 at p = 59, pt_fraction 0.5)."""
    return round(pt_fraction * p * p)


def build_transformer(config: ModularConfig) -> ModularTransformer:
    """The network of ``config``, its initialization scaled (overall, then early/late)."""
    model = ModularTransformer(config.p, config.d_model, config.n_heads, config.d_mlp,
                               config.n_layers)
    groups = transformer_groups(config.n_layers)
    scale_init(model, {"all": config.scale}, {"all": sum(groups.values(), ())})
    scale_init(model, {"early": config.early_scale, "late": config.late_scale}, groups)
    return model


def _record_curves(curves: dict, model, step: int, splits) -> None:
    """Append ``step`` to ``curves["step"]`` and, for each ``(name, (x, y))`` of ``splits``,
    the model's cross-entropy and argmax accuracy on (x, y) to ``curves[name + "_loss"]`` and
    ``curves[name + "_acc"]`` (no gradients). The curves of every Transformer sweep."""
    with torch.no_grad():
        for split, (xs, ys) in splits:
            out = model(xs)
            curves[f"{split}_loss"].append(float(F.cross_entropy(out, ys)))
            curves[f"{split}_acc"].append(float((out.argmax(1) == ys).float().mean()))
    curves["step"].append(step)


def _train(model, x, y, x_test, y_test, *, steps, lr, weight_decay, record_every, desc):
    """Full-batch AdamW; returns the curves (step, train loss/acc, test loss/acc).

    Raises FloatingPointError, naming lr and the step, as soon as the training loss is not
    finite (a diverged run would otherwise record NaN losses and argmax-of-NaN accuracies).
    """
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    curves = {"step": [], "train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for step in bar(range(steps + 1), desc=desc):
        if step % record_every == 0 or step == steps:
            _record_curves(curves, model, step, (("train", (x, y)), ("test", (x_test, y_test))))
        if step == steps:
            break
        loss = F.cross_entropy(model(x), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: the training loss is {float(loss.detach())} at "
                                     f"step {step} with lr = {lr}; lower lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return curves


def run(config: ModularConfig, *, device: str | None = None) -> dict:
    """Pretrain on ``config.pt_ops``, then fine-tune a copy on each of ``config.ft_ops``.

    Returns a JSON-serializable dict:
        ``pt``: curves (step, train/test loss and accuracy; test = PT ops on the non-PT
            pairs), test_acc, norms_init / norms_pt (per-weight Frobenius norms);
        ``ft``: one entry per FT operation: op, kind ("subset" or "new"), test_acc, curves,
            weight_change (per weight ‖W_FT − W_PT‖/‖W_PT‖; the unembedding is fresh, so
            it is left out), representation (features at the last position on the FT test
            pairs before vs after FT: pr_before, pr_after, ensd, cka, change = 1 − CKA) and
            label_alignment_before / _after (linear CKA of those features with the one-hot
            answers: how well the kernel already fits the FT task).
    """
    if not isinstance(config, ModularConfig):
        raise TypeError(f"config must be a ModularConfig, got {type(config).__name__}")
    device = device or default_device()
    torch.manual_seed(config.seed)
    p = config.p
    a, b = torch.cartesian_prod(torch.arange(p), torch.arange(p)).T
    order = torch.randperm(p * p, generator=torch.Generator().manual_seed(config.seed))
    n_pt = _n_pt(p, config.pt_fraction)
    pt_idx, ft_train, ft_test = (order[:n_pt], order[n_pt:n_pt + config.ft_n],
                                 order[n_pt + config.ft_n:])

    def task(ops, idx):
        x, y = encode_task(a[idx], b[idx], ops, p)
        return x.to(device), y.to(device)

    model = build_transformer(config).to(device)
    norms_init = layer_norms(model)
    x_pt, y_pt = task(config.pt_ops, pt_idx)
    x_pt_test, y_pt_test = task(config.pt_ops, order[n_pt:])
    pt_curves = _train(model, x_pt, y_pt, x_pt_test, y_pt_test, steps=config.pt_steps,
                       lr=config.lr, weight_decay=config.pt_weight_decay,
                       record_every=config.record_every, desc="PT")
    out = {"pt": {"curves": pt_curves, "test_acc": pt_curves["test_acc"][-1],
                  "norms_init": norms_init, "norms_pt": layer_norms(model)}, "ft": []}

    for op in config.ft_ops:
        x, y = task((op,), ft_train)
        x_test, y_test = task((op,), ft_test)
        ft = copy.deepcopy(model)
        ft.unembed.reset_parameters()
        with torch.no_grad():
            ft.unembed.weight.mul_(config.gamma)
        before = {n: w.detach().clone() for n, w in ft.named_parameters() if n != "unembed.weight"}
        with torch.no_grad():
            rep_before = ft.features(x_test)
        curves = _train(ft, x, y, x_test, y_test, steps=config.ft_steps, lr=config.lr,
                        weight_decay=config.ft_weight_decay, record_every=config.record_every,
                        desc=f"FT {op}")
        with torch.no_grad():
            rep_after = ft.features(x_test)
        onehot = F.one_hot(y_test, p).double()
        out["ft"].append({
            "op": op, "kind": "subset" if op in config.pt_ops else "new",
            "test_acc": curves["test_acc"][-1], "curves": curves,
            "weight_change": relative_change(before, ft),
            "representation": representation_change(rep_before, rep_after),
            "label_alignment_before": linear_cka(rep_before, onehot),
            "label_alignment_after": linear_cka(rep_after, onehot)})
    return out
