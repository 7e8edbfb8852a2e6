"""The four fine-tuning regimes (R6), measured on the exact FT error.

A regime answers two questions about fine-tuning from an initialization (c, λ, γ): does it
*learn features* (select a sparse solution, rich) or not (lazy), and does it *reuse* the PT
features (PT-dependent) or not. Both are read off the exact FT error of
:func:`~dlnft.theory.ptft.ft_theory` on a 2 × 2 design of reference FT tasks at one sample
ratio α_FT and PT density ρ_PT: an FT teacher that is sparse (density ρ_sparse) or dense
(ρ_dense), with its support inside the PT support (ω = 1, "subset") or outside it (ω = 0,
"new"); E(ρ, ω) is the FT error.

* learning = mean over ω of E(ρ_dense, ω) − E(ρ_sparse, ω): how much lower the error is on
  the sparser teacher. A lazy (ℓ2, linear) learner scores exactly 0: its error depends on the
  teacher only through the teacher's energy on each class of coordinates that share a scale,
  and both teachers put all their energy (E[β*²] = 1) on the same class.
* reuse = mean over ρ of E(ρ, 0) − E(ρ, 1): how much lower the error is when the FT features are
  PT features. A learner blind to PT (the same scale on every coordinate) scores exactly 0.

An initialization is *rich* when learning > margin and *PT-dependent* when reuse > margin; the
margin is in units of the teacher's energy (default ``MARGIN``, a tenth of it). Regimes:
I rich, PT-independent; II lazy, PT-dependent; III lazy, PT-independent; IV rich, PT-dependent.
Both contrasts, hence the regime of a setting, depend on the design (α_FT, densities): the
defaults are those of chapter 5, which also shows how the map moves with the margin.

Two measures read off the FT penalty q(β_FT; β_PT) = Φ_{c_FT(β_PT)}(β_FT) itself rather than
the error (chapter 5 derives both with SymPy): its order :func:`penalty_order`,
ℓ = ∂ log q/∂ log|β_FT| ∈ (1, 2] (2 lazy, 1 rich), and its pretraining dependence
:func:`pt_dependence`, PD = ∂ log q/∂ log|β_PT| ∈ (−1, 0]. And the book's mapping of the
ResNet's first-layer divisor to the relative scale, :func:`conv1_lambda_ratio`.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..implicit_bias import ft_scale, phi
from .ptft import ft_theory

ALPHA_FT = 0.1
RHO_PT = 0.2
RHO_SPARSE = 0.05
RHO_DENSE = 0.2
MARGIN = 0.1
NAMES = {1: "I: rich, PT-independent", 2: "II: lazy, PT-dependent",
         3: "III: lazy, PT-independent", 4: "IV: rich, PT-dependent"}


def design_errors(c, lam, gamma, *, alpha_ft: float = ALPHA_FT, rho_pt: float = RHO_PT,
                  rho_sparse: float = RHO_SPARSE, rho_dense: float = RHO_DENSE,
                  a_pt: float = 1.0) -> dict[tuple[float, float], np.ndarray]:
    """The FT errors E(ρ_FT, ω) of the reference design, keyed by (ρ_FT, ω).

    c > 0, lam (|lam| <= c), gamma >= 0: PT scales and FT readout scale (they broadcast; each
    value of the dict has the broadcast shape). alpha_ft in (0, 1): FT sample ratio; rho_pt in
    (0, 1): PT density; 0 < rho_sparse < rho_dense <= rho_pt and rho_pt + rho_dense <= 1 (so
    that a subset task of either density fits inside the PT support and a new one outside it);
    a_pt: PT teacher value (non-zero). Oracle PT, noiseless labels
    (:func:`~dlnft.theory.ptft.ft_theory`).
    """
    alpha_ft = check.real("alpha_ft", alpha_ft, low=0.0, high=1.0, low_open=True,
                          high_open=True)
    rho_pt = check.real("rho_pt", rho_pt, low=0.0, high=1.0, low_open=True, high_open=True)
    rho_dense = check.real("rho_dense", rho_dense, low=0.0, high=min(rho_pt, 1.0 - rho_pt),
                           low_open=True)
    rho_sparse = check.real("rho_sparse", rho_sparse, low=0.0, high=rho_dense, low_open=True,
                            high_open=True)
    return {(rho, omega): ft_theory(alpha_ft, rho_pt=rho_pt, rho_ft=rho, omega=omega, c=c,
                                    lam=lam, gamma=gamma, a_pt=a_pt).error
            for rho in (rho_sparse, rho_dense) for omega in (0.0, 1.0)}


def contrasts(errors: dict[tuple[float, float], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(learning, reuse) of a design's errors (the dict of :func:`design_errors`).

    learning = mean over ω of E(ρ_dense, ω) − E(ρ_sparse, ω); reuse = mean over ρ of
    E(ρ, 0) − E(ρ, 1). ``errors`` must hold exactly two densities × ω ∈ {0, 1}.
    """
    rhos = sorted({rho for rho, _ in errors})
    if len(rhos) != 2 or set(errors) != {(r, o) for r in rhos for o in (0.0, 1.0)}:
        raise ValueError(f"errors must be keyed by (rho_ft, omega) for two densities and omega "
                         f"in {{0, 1}} (a 2 x 2 design), got keys {sorted(errors)}")
    sparse, dense = rhos
    learning = sum(errors[dense, o] - errors[sparse, o] for o in (0.0, 1.0)) / 2
    reuse = sum(errors[r, 0.0] - errors[r, 1.0] for r in rhos) / 2
    return learning, reuse


def classify(learning, reuse, *, margin: float = MARGIN) -> np.ndarray:
    """The regime number 1–4 (I–IV, see ``NAMES``) from the two contrasts (integer array).

    learning, reuse: arrays of one shape (:func:`contrasts`); margin > 0: the contrast, in units
    of the teacher's energy, above which fine-tuning counts as rich / PT-dependent.
    """
    margin = check.real("margin", margin, low=0.0, low_open=True)
    learning = check.array_np("learning", learning)
    reuse = check.array_np("reuse", reuse)
    if learning.shape != reuse.shape:
        raise ValueError(f"learning and reuse must have one shape, got {learning.shape} and "
                         f"{reuse.shape}")
    rich, dependent = learning > margin, reuse > margin
    return np.where(rich, np.where(dependent, 4, 1), np.where(dependent, 2, 3))


def regime_indices(c, lam, gamma, **design) -> tuple[np.ndarray, np.ndarray]:
    """(learning, reuse) of each initialization: :func:`contrasts` of :func:`design_errors`.

    c, lam, gamma and the keyword arguments as in :func:`design_errors`.
    """
    return contrasts(design_errors(c, lam, gamma, **design))


def regime(c, lam, gamma, *, margin: float = MARGIN, **design) -> np.ndarray:
    """The regime number 1–4 of each initialization (c, lam, gamma), an integer array.

    margin as in :func:`classify`; the other keyword arguments as in :func:`design_errors`.
    """
    margin = check.real("margin", margin, low=0.0, low_open=True)  # before the solves
    return classify(*regime_indices(c, lam, gamma, **design), margin=margin)


def conv1_lambda_ratio(alpha_conv1) -> np.ndarray:
    """λ/c of a balanced layer pair whose first layer is divided by α_conv1 at initialization.

    The book's one mapping from the ResNet's divisor α_conv1 (``conv1.weight / α_conv1``, a
    design of this book, chapters 4–6) to the diagonal network's relative scale. At
    initialization (PAPER.md, model) w±² = (c + λ)/2 and v±² = (c − λ)/2, so the layer ratio
    fixes λ/c: w²/v² = (c + λ)/(c − λ). A balanced pair (w = v, λ = 0) whose first layer is
    divided by α_conv1 has w²/v² = 1/α_conv1², hence

        λ/c = (1 − α_conv1²)/(1 + α_conv1²) = −tanh(log α_conv1),

    odd in log α_conv1: α_conv1 = 0.1, 1, 10 give λ/c = +0.980, 0, −0.980. Only λ/c is set
    this way; c (the product of the layers' scales) and the FT readout scale γ are not. The
    ResNet's FT reads the trained PT head, not a fresh readout of scale γ, so the book computes
    its predictions at γ = 0 (no PT-independent offset) and checks their direction at a
    small γ (chapter 6). alpha_conv1: a divisor > 0 or an array of them.
    """
    alpha_conv1 = check.array_np("alpha_conv1", alpha_conv1, low=0.0, low_open=True)
    a2 = alpha_conv1 * alpha_conv1
    return (1.0 - a2) / (1.0 + a2)


def _ft_penalty_args(beta_ft, beta_pt, c, lam, gamma):
    b = np.abs(check.array_np("beta_ft", beta_ft))
    if np.any(b == 0):
        raise ValueError("beta_ft must be non-zero (log|beta_ft| is taken), got a zero entry")
    k = ft_scale(np.abs(check.array_np("beta_pt", beta_pt)), c, lam, gamma)   # validates
    if np.any(k <= 0):
        raise ValueError("lam = -c with gamma = 0 gives c_FT = 0 (a coordinate that cannot "
                         "move): choose lam > -c or gamma > 0")
    b, k, beta_pt, c, lam = np.broadcast_arrays(b, k, np.abs(beta_pt), c, lam)
    return b, beta_pt / c, c, lam, k, np.hypot(b, k), phi(b, k)


def penalty_order(beta_ft, beta_pt, c, lam, gamma) -> np.ndarray:
    """ℓ = ∂ log q / ∂ log|β_FT| of the FT penalty q(β_FT; β_PT) = Φ_{c_FT(β_PT)}(β_FT) (R4).

    c_FT(β_PT) = (c + λ)(1 + sqrt(1 + (β_PT/c)²)) + γ²/2 (:func:`dlnft.implicit_bias.ft_scale`)
    and, with k = c_FT, b = |β_FT|, ℓ = b Φ_k'(b)/Φ_k(b) = ½ b asinh(b/k)/Φ_k(b) ∈ (1, 2]: 2
    for b ≪ k (ℓ2, lazy), → 1 for b ≫ k (ℓ1, rich; slowly, like 1 + 1/log(2b/k)). Chapter 5
    derives it with SymPy. beta_ft (non-zero), beta_pt, c > 0, lam (|λ| <= c), gamma >= 0
    broadcast together; c_FT must be > 0 (not λ = −c with γ = 0).
    """
    b, _, _, _, k, _, phi = _ft_penalty_args(beta_ft, beta_pt, c, lam, gamma)
    return 0.5 * b * np.arcsinh(b / k) / phi


def pt_dependence(beta_ft, beta_pt, c, lam, gamma) -> np.ndarray:
    """PD = ∂ log q / ∂ log|β_PT| of the FT penalty q(β_FT; β_PT) = Φ_{c_FT(β_PT)}(β_FT) (R4).

    The chain rule through k = c_FT(β_PT): PD = (∂ log Φ_k/∂ log k)(∂ log k/∂ log|β_PT|) with

        ∂ log Φ_k(b)/∂ log k = −½ (sqrt(b² + k²) − k)/Φ_k(b) ∈ [−1, 0)
        ∂ log k/∂ log|β_PT| = (c + λ) (β_PT/c)² / sqrt(1 + (β_PT/c)²) / k ∈ [0, 1),

    so PD ∈ (−1, 0]: → −1 when the penalty is quadratic (b ≪ k) and k is all PT
    (γ = 0, |β_PT| ≫ c); → 0 when k does not depend on β_PT (γ²/2 ≫ (c + λ)|β_PT|/c, or
    β_PT = 0) or the penalty is ℓ1-like (b ≫ k, like −1/log(2b/k)). Arguments as in
    :func:`penalty_order`; beta_pt may be 0 (PD = 0 there).
    """
    b, r, c, lam, k, h, phi = _ft_penalty_args(beta_ft, beta_pt, c, lam, gamma)
    dlog_phi = -0.5 * (b * b / (h + k)) / phi
    dlog_k = (c + lam) * r * r / np.sqrt(1.0 + r * r) / k
    return dlog_phi * dlog_k
