"""Modular arithmetic: generated data, a small decoder-only Transformer, and its PT → FT run.

Data. :func:`modular_table` lists every pair (a, b) of residues mod a prime p with the answer
a ∘ b mod p; :func:`modular_dataset` splits it into train/test and encodes the inputs as tokens or
one-hot vectors (the latter for MLPs). Nothing is downloaded.

Model. :class:`ModularTransformer` reads the four tokens ``a  op  b  =`` and predicts the answer
from the last position (Nanda et al. 2023's setting, with an operation token so that one network
can be pretrained on several operations). No LayerNorm, so the initialization scale of each layer
is not normalized away.

Experiment. :func:`run` pretrains on a set of operations, fine-tunes on one operation on pairs
never seen in pretraining (a PT operation: "subset" of the PT features; another one: "new"
features) with a fresh unembedding at scale γ, and reports how far the features moved. The early
(embedding + attention) and late (MLP-out + unembedding) layers are scaled at initialization by
``early_scale`` and ``late_scale`` on top of an overall ``scale``: the deep analogue of the
relative scale λ (their ratio) and of the absolute scale c (the overall factor).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .. import _validate as V

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
