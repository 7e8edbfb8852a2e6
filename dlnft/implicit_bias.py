"""The implicit bias of gradient flow in diagonal networks, in closed form (R2–R4).

Per coordinate, gradient flow is mirror descent with the potential

    Φ_c(β) = ½ [β asinh(β/c) − sqrt(β² + c²) + c],      Φ_c'(β) = ½ asinh(β/c),

so from β(0) = β0 it converges to the interpolator closest to β0 in the Bregman divergence of
Φ_c (R2). Fine-tuning with the paper's re-initialization is the same problem with the
per-coordinate scale c_FT of :func:`ft_scale` (R4).

Everything here is NumPy float64 and written to avoid overflow and cancellation for c from 1e-8
to 1e4 and |β| up to 1e3 (and well beyond).
"""
from __future__ import annotations

import numpy as np

from . import _validate as check


def _arr(name, value, **kw) -> np.ndarray:
    return check.array(name, value, ndim=None, **kw).numpy()


def _broadcast(**arrays) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError as exc:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"{', '.join(arrays)} must broadcast together, got shapes "
                         f"{shapes}") from exc


def phi(beta, c) -> np.ndarray:
    """The potential Φ_c(β) = ½ [β asinh(β/c) − sqrt(β² + c²) + c], elementwise.

    beta: any real array; c: scale > 0 broadcasting with it. Written as
    ½ [β asinh(β/c) − β² / (sqrt(β² + c²) + c)], whose two terms never cancel by more than a
    factor 2, so the relative error stays at a few ulp from the ℓ2 end (|β| ≪ c, Φ ≈ β²/(4c))
    to the ℓ1 end (|β| ≫ c, Φ ≈ ½|β| log(2|β|/c)).
    """
    beta = _arr("beta", beta)
    c = _arr("c", c, low=0.0, low_open=True)
    beta, c = _broadcast(beta=beta, c=c)
    h = np.hypot(beta, c)
    return 0.5 * (beta * np.arcsinh(beta / c) - beta * (beta / (h + c)))


def phi_prime(beta, c) -> np.ndarray:
    """The mirror map Φ_c'(β) = ½ asinh(β/c), elementwise (beta any real, c > 0)."""
    beta = _arr("beta", beta)
    c = _arr("c", c, low=0.0, low_open=True)
    beta, c = _broadcast(beta=beta, c=c)
    return 0.5 * np.arcsinh(beta / c)


def ft_scale(beta_pt, c, lam, gamma) -> np.ndarray:
    """The fine-tuning scale of the paper's re-initialization (R4), elementwise:

        c_FT = (c + λ) (1 + sqrt(1 + (β_PT / c)²)) + γ²/2.

    beta_pt: the pretrained predictor β_PT (any shape); c: PT absolute scale > 0; lam: PT relative
    scale λ with |λ| <= c; gamma: FT readout scale γ >= 0. All broadcast together. c_FT is the
    squared merged first layer (w₊ᴾᵀ + w₋ᴾᵀ)² plus γ²/2; it is 0 only where λ = −c and γ = 0
    (the coordinate then cannot move during fine-tuning).
    """
    beta_pt = _arr("beta_pt", beta_pt)
    c = _arr("c", c, low=0.0, low_open=True)
    lam = _arr("lam", lam)
    gamma = _arr("gamma", gamma, low=0.0)
    beta_pt, c, lam, gamma = _broadcast(beta_pt=beta_pt, c=c, lam=lam, gamma=gamma)
    _check_lam(c, lam)
    return (c + lam) * (1.0 + np.hypot(1.0, beta_pt / c)) + 0.5 * gamma**2


def _check_lam(c: np.ndarray, lam: np.ndarray) -> None:
    excess = float(np.max(np.abs(lam) - c)) if lam.size else 0.0
    if excess > 1e-12 * float(np.max(c)):
        raise ValueError(f"lam must satisfy |lam| <= c (else the weights are imaginary); "
                         f"|lam| exceeds c by up to {excess:.3g}")
