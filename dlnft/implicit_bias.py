"""The implicit bias of gradient flow in diagonal networks, in closed form (R2–R4).

Per coordinate, gradient flow is mirror descent with the potential

    Φ_c(β) = ½ [β asinh(β/c) − sqrt(β² + c²) + c],      Φ_c'(β) = ½ asinh(β/c),

so from β(0) = β0 it converges to the interpolator closest to β0 in the Bregman divergence of
Φ_c (R2). Fine-tuning with the paper's re-initialization is the same problem with the
per-coordinate scale c_FT of :func:`ft_scale` (R4).

Contents: :func:`phi`, :func:`phi_prime`, :func:`bregman` (the potential); :func:`solve` (the
minimum-divergence interpolator, R2); :func:`layer_split` and :func:`merged_first_layer` (where
pretraining stores β, R3); :func:`ft_scale`, :func:`mirror_scale` and :func:`separate_scale` (the
fine-tuning potential of each re-initialization rule, R4); :func:`predict_finetune` (the
fine-tuned predictor without training).

Everything here is NumPy float64 and written to avoid overflow and cancellation for c from 1e-8
to 1e4 and |β| up to 1e3 (and well beyond).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from . import _validate as check
from .pipeline import RULES, _named, _xy


def _arr(name, value, **kw) -> np.ndarray:
    return check.array_np(name, value, ndim=None, **kw)


def _broadcast(**arrays) -> list[np.ndarray]:
    values = list(arrays.values())
    shape = values[0].shape
    if all(v.shape == shape for v in values):
        return values
    try:
        shape = np.broadcast_shapes(*(v.shape for v in values))
    except ValueError as exc:
        shapes = {k: v.shape for k, v in arrays.items()}
        raise ValueError(f"{', '.join(arrays)} must broadcast together, got shapes "
                         f"{shapes}") from exc
    return [v if v.shape == shape else np.broadcast_to(v, shape) for v in values]


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
    check.lam_within_c(c, lam)
    return (c + lam) * (1.0 + np.hypot(1.0, beta_pt / c)) + 0.5 * gamma**2


def _expm1_minus_x(x: np.ndarray) -> np.ndarray:
    """e^x − 1 − x without cancellation: Taylor series for |x| < 0.1 (error < 1e-16 relative)."""
    small = np.abs(x) < 0.1
    xs = np.where(small, x, 0.0)
    series = np.zeros_like(xs)
    for k in range(11, 1, -1):  # x²/2! + x³/3! + … + x¹¹/11!, by Horner
        series = (series + 1.0) * xs / k
    with np.errstate(over="ignore"):
        return np.where(small, series * xs, np.expm1(x) - x)


def bregman(beta, beta0, c) -> np.ndarray:
    """The Bregman divergence D_Φc(β, β0) = Φ_c(β) − Φ_c(β0) − Φ_c'(β0)(β − β0), elementwise.

    beta, beta0: real arrays; c > 0; all broadcast together. With u = asinh(β/c), δ = u − u0:

        D = ¼ [c eᵘ h(−δ) + c e⁻ᵘ h(δ)],    h(x) = eˣ − 1 − x >= 0,

    a sum of two non-negative terms; δ, c e^{±u} and h are each computed without cancellation,
    so D keeps full relative accuracy even when β0 is close to β.
    """
    beta = _arr("beta", beta)
    beta0 = _arr("beta0", beta0)
    c = _arr("c", c, low=0.0, low_open=True)
    beta, beta0, c = _broadcast(beta=beta, beta0=beta0, c=c)
    h, h0 = np.hypot(beta, c), np.hypot(beta0, c)
    same = beta * beta0 > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where evaluates both branches
        # asinh a − asinh b = asinh((a² − b²) / (a sqrt(1 + b²) + b sqrt(1 + a²))), a b > 0
        near = np.arcsinh((beta - beta0) * (beta + beta0) / (beta * h0 + beta0 * h))
        pos = beta >= 0
        ce_plus = np.where(pos, beta + h, c * (c / (h - beta)))    # c eᵘ
        ce_minus = np.where(pos, c * (c / (h + beta)), h - beta)   # c e⁻ᵘ
    delta = np.where(same, near, np.arcsinh(beta / c) - np.arcsinh(beta0 / c))
    return 0.25 * (ce_plus * _expm1_minus_x(-delta) + ce_minus * _expm1_minus_x(delta))


class SolverError(RuntimeError):
    """The dual Newton iteration of :func:`solve` did not reach the asked tolerance."""


MAX_ITER = 200
"""The most Newton steps :func:`solve` takes by default."""


@dataclass
class Solution:
    """What :func:`solve` returns.

    beta: the minimizer, shape (d,). nu: a dual variable, shape (n,), with
    asinh(β/c) = asinh(β0/c) + 2 Xᵀν on every coordinate with c > 0 (pass it as ``nu0`` to warm
    start a nearby problem). n_iter: Newton steps taken. residual: max |Xβ − y|.
    """

    beta: np.ndarray
    nu: np.ndarray
    n_iter: int
    residual: float


def solve(X, y, c, beta0=0.0, *, tol: float = 1e-10, max_iter: int = MAX_ITER,
          nu0=None) -> Solution:
    """argmin_β Σ_i D_{Φ_{c_i}}(β_i, β0_i)  subject to  X β = y   (gradient flow's limit, R2).

    X: (n, d) design; y: (n,) targets; c: scales >= 0, a number or shape (d,); beta0: the
    starting point β0, a number or shape (d,) (0: training from β = 0). A coordinate with
    c_i = 0 cannot move (its weights are all zero) and stays at β0_i.
    tol: stop once max |Xβ − y| <= tol · max(1, max |y|); max_iter: most Newton steps;
    nu0: warm start, a dual variable of shape (n,) (e.g. ``Solution.nu`` of a nearby problem).

    Method: stationarity gives ½ asinh(β/c) − ½ asinh(β0/c) = Xᵀν, i.e. the primal point
    β(ν) = c sinh(asinh(β0/c) + 2Xᵀν). ν minimizes the smooth convex dual
    F(ν) = Σ_i (c_i/2) cosh(asinh(β0_i/c_i) + 2(Xᵀν)_i) − yᵀν, whose gradient is Xβ(ν) − y and
    Hessian X diag(2 sqrt(β² + c²)) Xᵀ. Newton steps with a backtracking (Armijo) line search,
    after X is reduced to orthonormal rows: through the Cholesky factor of X Xᵀ when it is well
    conditioned, else through the singular value decomposition of X (which finds redundant
    rows, those with singular values at the round-off of the largest, max(n, d) ε σ_max, and
    tells whether Xβ = y can be met at all: ValueError when it cannot; an ill-conditioned X
    with full rank, condition number up to ~1e13, is solved).
    """
    X, y = _design(X, y)
    n, d = X.shape
    c = _vector("c", c, d, low=0.0)
    beta0 = _vector("beta0", beta0, d)
    tol = check.real("tol", tol, low=0.0, low_open=True)
    max_iter = check.integer("max_iter", max_iter, low=1)
    if nu0 is not None:
        nu0 = check.array_np("nu0", nu0, ndim=1)
        if nu0.shape[0] != n:
            raise ValueError(f"nu0 must have n = {n} entries, got {nu0.shape[0]}")
    return _solve(X, y, c, beta0, tol, max_iter, nu0)


def _solve(X, y, c, beta0, tol, max_iter, nu0) -> Solution:
    """:func:`solve` on checked arguments: float64 X (n, d), y (n,), c and beta0 (d,)."""
    n, d = X.shape
    act = c > 0
    if act.all():  # the usual case: no copies of X
        target, Xa, ca = y, X, c
    else:
        target = y - X[:, ~act] @ beta0[~act]
        Xa, ca = X[:, act], c[act]
    scale = tol * max(1.0, float(np.abs(y).max()))  # y is never empty
    A, b, to_nu, from_nu = _orthonormal_rows(Xa, target, scale, n, d)
    u0 = np.arcsinh(beta0[act] / ca) if beta0.any() else np.zeros(ca.shape[0])
    mu = np.zeros(A.shape[0]) if nu0 is None else from_nu(nu0)

    beta = beta0.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing trial step is halved
        for it in range(max_iter + 1):
            u = u0 + 2.0 * (A.T @ mu)
            beta_a = ca * np.sinh(u)
            residual = float(np.abs(Xa @ beta_a - target).max())
            if residual <= scale:
                if Xa is X:
                    beta = beta_a
                else:
                    beta[act] = beta_a
                return Solution(beta=beta, nu=to_nu(mu), n_iter=it, residual=residual)
            if it == max_iter:
                break
            mu = _newton_step(A, b, ca, u, mu, beta_a)
    cond = float(np.linalg.cond(Xa)) if Xa.size else 1.0
    raise SolverError(f"dual Newton did not reach max |X beta - y| <= {scale:.3g} in "
                      f"max_iter = {max_iter} steps (last {residual:.3g}; X has condition "
                      f"number {cond:.3g} on the coordinates with c > 0); raise max_iter or tol")


_potrf, _potrs, _pocon, _trtri = scipy.linalg.lapack.get_lapack_funcs(
    ("potrf", "potrs", "pocon", "trtri"), (np.zeros(1),))
_syrk = scipy.linalg.blas.get_blas_funcs("syrk", (np.zeros(1),))


def _orthonormal_rows(Xa, target, scale, n, d):
    """Orthonormal rows A (A Aᵀ = I) spanning Xa's row space, and b: Aβ = b ⟺ Xaβ = target.

    Returns (A, b, to_nu, from_nu): the last two map the dual variable μ of the rows A to the ν
    of X's rows and back. The Gram matrix G = Xa Xaᵀ = L Lᵀ gives A = L⁻¹ Xa when LAPACK's
    estimate of G's reciprocal condition number (1-norm) is above 1e-8, so that its smallest
    eigenvalue is above 1e-8 / n ≥ 1e-12 of the largest for n up to 10⁴ (full row rank, every
    target reachable). Cholesky costs a few times less than an SVD. Otherwise the SVD
    Xa = U S Vᵀ (of Xa itself: G would square its condition number) gives A = Vᵀ on the
    directions with S above max(n, d) ε S_max, the round-off of the largest (the others are
    redundant rows), and tells whether Xaβ = target can be met at all: ValueError when it
    cannot.
    """
    G = Xa @ Xa.T
    if Xa.size:
        L, info = _potrf(G, lower=True, clean=True)
        if info == 0:
            rcond, info = _pocon(L, float(np.abs(G).sum(axis=0).max()), uplo="L")
        if info == 0 and rcond > 1e-8:
            L_inv, info = _trtri(L, lower=True)
            if info == 0:
                return (L_inv @ Xa, L_inv @ target, lambda mu: L_inv.T @ mu,
                        lambda nu: L.T @ nu)
    if Xa.size:
        U, S, Vt = np.linalg.svd(Xa, full_matrices=False)
        cutoff = max(Xa.shape) * np.finfo(float).eps * float(S[0])
        keep = S > cutoff
    else:
        U, S, Vt, cutoff = np.eye(n), np.zeros(n), np.zeros((n, 0)), 0.0
        keep = np.zeros(n, bool)
    U, S, Vt = U[:, keep], S[keep], Vt[keep]
    Ut_target = U.T @ target
    off_range = float(np.max(np.abs(target - U @ Ut_target)))
    if off_range > scale:
        raise ValueError(f"X beta = y has no solution: y is not in the range of X (n = {n}, "
                         f"d = {d}, numerical rank {U.shape[1]} on the coordinates with c > 0, "
                         f"singular values up to {cutoff:.3g}, the round-off of the largest, "
                         f"counting as 0); the least-squares residual max |X beta - y| = "
                         f"{off_range:.3g} exceeds tol * max(1, max|y|) = {scale:.3g}")
    return Vt, Ut_target / S, lambda mu: U @ (mu / S), lambda nu: S * (U.T @ nu)


def _newton_step(A, b, c, u, mu, beta):
    """One damped Newton step on the dual F(μ) = Σ (c/2) cosh(u0 + 2Aᵀμ) − bᵀμ, at β = c sinh u.

    The Hessian A diag(2c cosh u) Aᵀ is formed by BLAS's symmetric rank-k update (half the
    work of a general product) and factored by LAPACK's Cholesky, called directly: scipy's
    cho_factor/cho_solve wrappers cost more than the factorization itself at n of a few tens.
    When Cholesky fails (H singular to working precision) the direction is the least-squares
    (minimum-norm) solution of H Δ = −∇F instead. The step length is the first of
    t = t0, t0/2, …, t0/2⁷⁹ with t0 = min(1, 20 / max |2AᵀΔ|) (u moves by at most 20 a step)
    that meets Armijo's F(μ + tΔ) − F(μ) <= 1e-4 t ∇F·Δ or, where that change is round-off
    near the optimum, shrinks the gradient: |∇F(μ + tΔ)| <= (1 − 1e-4 t) |∇F(μ)|;
    SolverError when none does.
    """
    g = A @ beta - b
    H = _syrk(1.0, A * np.sqrt(2.0 * c * np.cosh(u)))     # the upper triangle of H
    factor, info = _potrf(H, lower=False, clean=False)
    if info == 0:
        step, info = _potrs(factor, g, lower=False)
        step = -step
    if info != 0:
        H = np.triu(H) + np.triu(H, 1).T
        step = -np.linalg.lstsq(H, g, rcond=None)[0]
    s = 2.0 * (A.T @ step)                  # change of u per unit step length
    slope = float(g @ step)                 # dF/dt at t = 0, < 0
    bstep = float(b @ step)
    gnorm = math.sqrt(float(g @ g))
    t = min(1.0, 20.0 / max(float(np.abs(s).max()), 1e-300)) if s.size else 1.0
    for _ in range(80):
        # F(μ + t Δ) − F(μ) with cosh a − cosh b = 2 sinh((a+b)/2) sinh((a−b)/2): no
        # cancellation against the size of F itself
        half = (0.5 * t) * s
        dF = float((c * np.sinh(u + half) * np.sinh(half)).sum()) - t * bstep
        if math.isfinite(dF) and dF <= 1e-4 * t * slope:
            return mu + t * step
        if math.isfinite(dF):  # near the optimum dF is round-off: accept a smaller gradient
            g_new = A @ (c * np.sinh(u + t * s)) - b
            if math.sqrt(float(g_new @ g_new)) <= (1.0 - 1e-4 * t) * gnorm:
                return mu + t * step
        t *= 0.5
    raise SolverError("the line search of the dual Newton step failed; the problem is "
                      "probably too badly scaled (check c and X)")


def _design(X, y) -> tuple[np.ndarray, np.ndarray]:
    """A checked (X, y) pair for :func:`solve`: X of shape (n, d), y of shape (n,)."""
    X = check.array_np("X", X, ndim=2)
    y = check.array_np("y", y, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} targets but X has n = {X.shape[0]} rows")
    return X, y


def _vector(name, value, d, **kw) -> np.ndarray:
    """A number or an array of shape (d,), as a float64 array of shape (d,)."""
    a = check.array_np(name, value, ndim=(0, 1), **kw)
    if a.ndim == 0:
        return np.full(d, float(a))
    if a.shape[0] != d:
        raise ValueError(f"{name} must be a number or have d = {d} entries, got {a.shape[0]}")
    return a


def layer_split(beta, c, lam) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where a converged network stores β (R3): the weights (w₊, w₋, v₊, v₋), elementwise.

    beta: the predictor β; c > 0 and lam (|λ| <= c) the conserved scales; all broadcast. The
    paper's form, θ± = ½ [acosh(c/|λ|) ± asinh(β/c)] with (λ > 0) w± = √λ cosh θ±,
    v± = √λ sinh θ± or (λ < 0) w± = √|λ| sinh θ±, v± = √|λ| cosh θ±, is evaluated as

        w±² = ½ [λ + sqrt(β² + c²) ± β sqrt(c² − λ²)/c],   v±² = w±² − λ,

    (the same for both signs of λ, finite at λ = 0), with the ± branch that would cancel
    rationalized, and the sign of θ± (negative when |λ| sqrt(β² + c²) > c² on the branch opposite
    to β) put on v± (λ > 0) or w± (λ < 0).
    """
    beta = _arr("beta", beta)
    c = _arr("c", c, low=0.0, low_open=True)
    lam = _arr("lam", lam)
    beta, c, lam = _broadcast(beta=beta, c=c, lam=lam)
    check.lam_within_c(c, lam)
    h, mag, lam_abs = np.hypot(beta, c), np.abs(beta), np.abs(lam)
    gap = (c - lam_abs) * (c + lam_abs)                             # c² − λ² >= 0
    root = np.sqrt(np.clip(gap, 0.0, None)) / c
    h_minus = (beta * beta + gap) / (h + lam_abs)                   # h − |λ|, no cancellation
    # the branch on β's side: X = h + |β| root; the other: X = h − |β| root, rationalized
    big = h + mag * root
    small = (c * (c / big)) + (beta * lam / c) * ((beta * lam / c) / big)
    # X ± |λ| for both branches; small − |λ| vanishes where θ does, written two ways of which
    # the one with the smaller operands cancels less
    big_plus, big_minus = big + lam_abs, h_minus + mag * root
    small_plus = small + lam_abs
    small_minus = np.where(np.maximum(small, lam_abs) <= np.maximum(h_minus, mag * root),
                           small - lam_abs, h_minus - mag * root)
    pos = beta >= 0
    # θ on the branch opposite to β is negative where |λ| h > c², i.e. (βλ/c)² > c² − λ²
    flip = (beta * lam / c) ** 2 > gap
    first = lam < 0                       # the sign sits on w (λ < 0) or on v (λ >= 0)
    out = []
    for side in (pos, ~pos):              # the + branch, then the − branch
        x_plus = np.where(side, big_plus, small_plus)
        x_minus = np.where(side, big_minus, small_minus)
        sign = np.where(flip & ~side, -1.0, 1.0)
        w = np.sqrt(np.clip(0.5 * np.where(first, x_minus, x_plus), 0.0, None))
        v = np.sqrt(np.clip(0.5 * np.where(first, x_plus, x_minus), 0.0, None))
        out.append((np.where(first, sign * w, w), np.where(first, v, sign * v)))
    (w_plus, v_plus), (w_minus, v_minus) = out
    return w_plus, w_minus, v_plus, v_minus


def merged_first_layer(beta, c, lam) -> np.ndarray:
    """The merged first layer w₊ + w₋ of a converged network (R3), elementwise:

        (w₊ + w₋)² = (c + λ)(1 + sqrt(1 + (β/c)²)),   w₊ + w₋ >= 0.
    """
    beta = _arr("beta", beta)
    c = _arr("c", c, low=0.0, low_open=True)
    lam = _arr("lam", lam)
    beta, c, lam = _broadcast(beta=beta, c=c, lam=lam)
    check.lam_within_c(c, lam)
    return np.sqrt(np.clip(c + lam, 0.0, None) * (1.0 + np.hypot(1.0, beta / c)))


def mirror_scale(w_plus, w_minus, v_plus, v_minus) -> tuple[np.ndarray, np.ndarray]:
    """The potential gradient flow follows from any weights: (k, β0), elementwise.

    Along the flow, β = K sinh 2τ + B cosh 2τ with K = ½(w₊² + v₊² + w₋² + v₋²) and
    B = w₊v₊ − w₋v₋ at the start, so asinh(β/k) moves like 2τ: mirror descent with Φ_k started
    at β0 = B, where k = sqrt(K² − B²), computed as
    ½ sqrt([(w₊ − v₊)² + (w₋ + v₋)²] [(w₊ + v₊)² + (w₋ − v₋)²]) (no cancellation).
    """
    wp, wm, vp, vm = _broadcast(w_plus=_arr("w_plus", w_plus), w_minus=_arr("w_minus", w_minus),
                                v_plus=_arr("v_plus", v_plus), v_minus=_arr("v_minus", v_minus))
    k = 0.5 * np.sqrt(((wp - vp) ** 2 + (wm + vm) ** 2) * ((wp + vp) ** 2 + (wm - vm) ** 2))
    return k, wp * vp - wm * vm


def separate_scale(beta_pt, c, lam, gamma) -> tuple[np.ndarray, np.ndarray]:
    """(k, β0) of the separate-branch fine-tuning rule (first layers w± kept, readouts v± = γ).

    K = ½(w₊² + w₋²) + γ², B = γ(w₊ − w₋) with w± the pretrained first layers of
    :func:`layer_split`; fine-tuning then converges to argmin D_{Φ_k}(β, B) with
    k = sqrt(K² − B²) (see :func:`mirror_scale`). Arguments as in :func:`ft_scale`.
    """
    beta_pt, c, lam, gamma = _broadcast(beta_pt=_arr("beta_pt", beta_pt), c=_arr("c", c),
                                        lam=_arr("lam", lam),
                                        gamma=_arr("gamma", gamma, low=0.0))
    w_plus, w_minus, _, _ = layer_split(beta_pt, c, lam)
    return mirror_scale(w_plus, w_minus, gamma, gamma)


@dataclass
class FTPrediction:
    """What :func:`predict_finetune` returns, all of shape (d,).

    beta_pt: the pretrained predictor; scale: the fine-tuning potential's scale per coordinate
    (c_FT for ``"merged"``, k for ``"separate"``); beta0: where fine-tuning starts (0 for
    ``"merged"``, B for ``"separate"``); beta_ft: the fine-tuned predictor.
    """

    beta_pt: np.ndarray
    scale: np.ndarray
    beta0: np.ndarray
    beta_ft: np.ndarray


def predict_finetune(task_pt, task_ft, *, c, lam, gamma, rule: str = "merged",
                     tol: float = 1e-10) -> FTPrediction:
    """The fine-tuned predictor of a diagonal network, without training it.

    PT prediction (:func:`solve` from β = 0 with scale c) → the pretrained weights (R3) → the
    fine-tuning potential of ``rule`` (R4: :func:`ft_scale` for ``"merged"``,
    :func:`separate_scale` for ``"separate"``, as in :func:`dlnft.pipeline.finetune_init`) →
    FT prediction (:func:`solve` on task_ft).

    task_pt, task_ft: Tasks or (X, y) pairs with one shared d; c > 0, lam (|λ| <= c): PT scales,
    numbers or shape (d,); gamma >= 0: FT readout scale; tol: constraint tolerance of both solves.
    Where the FT scale is 0 (λ = −c with γ = 0) a coordinate cannot move; when no coordinate can,
    gradient flow stays at β0 and so does the prediction. A ValueError from :func:`solve` means
    the coordinates that can move cannot fit task_ft.
    """
    (X_pt, y_pt), (X_ft, y_ft) = (_named(name, _design, *_xy(name, task))
                                  for name, task in (("task_pt", task_pt), ("task_ft", task_ft)))
    check.choice("rule", rule, RULES)
    d = X_pt.shape[1]
    c = _vector("c", c, d, low=0.0, low_open=True)
    lam = _vector("lam", lam, d)
    gamma = check.real("gamma", gamma, low=0.0)
    tol = check.real("tol", tol, low=0.0, low_open=True)
    check.lam_within_c(c, lam)
    if X_ft.shape[1] != d:
        raise ValueError(f"task_ft has {X_ft.shape[1]} features but task_pt has d = {d}")
    beta_pt = _solve(X_pt, y_pt, c, np.zeros(d), tol, MAX_ITER, None).beta
    if rule == "merged":
        scale, beta0 = ft_scale(beta_pt, c, lam, gamma), np.zeros(d)
    else:
        scale, beta0 = separate_scale(beta_pt, c, lam, gamma)
    if np.all(scale == 0):  # λ = −c and γ = 0: all weights of the FT network are zero
        return FTPrediction(beta_pt=beta_pt, scale=scale, beta0=beta0, beta_ft=beta0.copy())
    beta_ft = _solve(X_ft, y_ft, scale, beta0, tol, MAX_ITER, None).beta
    return FTPrediction(beta_pt=beta_pt, scale=scale, beta0=beta0, beta_ft=beta_ft)
