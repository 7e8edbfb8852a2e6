"""Representation statistics: participation ratio, ENSD and linear CKA.

All take representations as matrices of shape (n_inputs, n_features) (float tensors; flattened
per input), centre them over inputs, and work in feature space, so n_inputs can be large.
With K = X_c X_cᵀ the centred Gram matrix:

    PR(X)      = tr(K)² / tr(K²)                       participation ratio (effective dimension)
    CKA(X, Y)  = tr(K_X K_Y) / sqrt(tr(K_X²) tr(K_Y²))  linear centred kernel alignment, in [0, 1]
    ENSD(X, Y) = tr(K_X) tr(K_Y) tr(K_X K_Y) / (tr(K_X²) tr(K_Y²))
               = CKA · sqrt(PR(X) PR(Y))                effective number of shared dimensions

(ENSD(X, X) = PR(X); Giaffar et al. 2023.)
"""
from __future__ import annotations

import torch


def _centred(x: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"{name} must be a tensor of shape (n_inputs >= 2, ...), got "
                         f"{getattr(x, 'shape', type(x).__name__)}")
    x = x.detach().reshape(x.shape[0], -1).double()
    return x - x.mean(0)


def _paired(x, y) -> tuple[torch.Tensor, torch.Tensor]:
    """Two centred representations of the same inputs (the same number of rows)."""
    x, y = _centred(x, "x"), _centred(y, "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of inputs, got {x.shape[0]} and "
                         f"{y.shape[0]}")
    return x, y


def _traces(x, y):
    """tr(K_X), tr(K_Y), tr(K_X²), tr(K_Y²), tr(K_X K_Y), in sample or feature space, whichever
    is smaller."""
    if x.shape[0] <= max(x.shape[1], y.shape[1]):
        kx, ky = x @ x.T, y @ y.T
        return kx.trace(), ky.trace(), kx.square().sum(), ky.square().sum(), (kx * ky).sum()
    return ((x * x).sum(), (y * y).sum(), (x.T @ x).square().sum(), (y.T @ y).square().sum(),
            (x.T @ y).square().sum())


def participation_ratio(x: torch.Tensor) -> float:
    """PR = tr(K)² / tr(K²) of representations x, shape (n_inputs, ...)."""
    x = _centred(x, "x")
    tx, _, kxx, _, _ = _traces(x, x)
    return float(tx ** 2 / kxx.clamp_min(1e-300))


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA between two representations of the same inputs (1 = same up to
    rotation/scale)."""
    _, _, kxx, kyy, kxy = _traces(*_paired(x, y))
    return float(kxy / (kxx * kyy).sqrt().clamp_min(1e-300))


def ensd(x: torch.Tensor, y: torch.Tensor) -> float:
    """Effective number of shared dimensions between two representations of the same inputs."""
    tx, ty, kxx, kyy, kxy = _traces(*_paired(x, y))
    return float(tx * ty * kxy / (kxx * kyy).clamp_min(1e-300))


def representation_change(before: torch.Tensor, after: torch.Tensor) -> dict[str, float]:
    """PR before and after, their ENSD and CKA, and 1 − CKA (0 = no change up to
    rotation/scale)."""
    cka = linear_cka(before, after)
    return {"pr_before": participation_ratio(before), "pr_after": participation_ratio(after),
            "ensd": ensd(before, after), "cka": cka, "change": 1.0 - cka}
