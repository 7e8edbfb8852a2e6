"""State evolution of the minimum-penalty interpolator with per-coordinate scales (R5).

Estimator: β̂ = argmin Σ_i Φ_{c_i}(β_i) subject to X β = y, with X_ij ~ N(0, 1/d), n = α d,
y = X β* + ε, ε ~ N(0, σ₀²). In the limit d → ∞ at fixed α, every coordinate of β̂ behaves
as the scalar channel

    β̂_i ≈ D(β*_i + s Z; g, c_i),        Z ~ N(0, 1),

with (s, g) the solution of (derivation in chapter 4)

    α s² = σ₀² + E[(D − β*)²],          α = E[∂D/∂z],

and the generalization error is E_g = E[(D − β*)²] = ||β̂ − β*||² / d. Interpolation needs
α < 1 (for α >= 1 and σ₀ = 0 the constraint alone gives β̂ = β*).

Coordinates come in groups (:class:`Group`): a probability, a teacher law (a point mass b, or a
centred Gaussian of variance v) and a law of the scale c over quadrature nodes (one node when
c is deterministic, several when c depends on an earlier stage's noise). Expectations use
Gauss–Legendre panels refined around the denoiser's bend (:func:`panel_quadrature`); for a
Gaussian teacher the pair (β*, Z) reduces to one Gaussian
z ~ N(0, v + s²) through E[β* | z] = v z / (v + s²), so every expectation is one-dimensional in z.

Everything is vectorized over P independent problems ("points"): the scales of a group have
shape (P, m) and s, g shape (P,).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .denoiser import denoise

NODES = 5  # Gauss–Legendre nodes per panel of the z-quadrature (panel_quadrature)
COLD_ITER = 20  # Newton steps from a cold start before falling back to continuation in α


class FixedPointError(RuntimeError):
    """The state-evolution equations were not solved to tolerance at some points."""


@lru_cache(maxsize=8)
def gauss_hermite(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t and weights w (summing to 1) with Σ w f(t) ≈ E[f(Z)], Z ~ N(0, 1)."""
    t, w = np.polynomial.hermite_e.hermegauss(k)
    return t, w / w.sum()


@lru_cache(maxsize=8)
def _gauss_legendre(k: int) -> tuple[np.ndarray, np.ndarray]:
    xi, wi = np.polynomial.legendre.leggauss(k)
    return (xi + 1) / 2, wi / 2


def knee(g: np.ndarray, c: np.ndarray) -> np.ndarray:
    """z at which D(z; g, c) = g/2: where the denoiser bends from shrinking (|x| ≲ g/2) to
    passing (x ≈ z − (g/2) asinh(x/c)); the bend is sharp (width ~ g/2) when c ≪ g."""
    return 0.5 * g * (1.0 + np.arcsinh(0.5 * g / c))


def panel_quadrature(centres: np.ndarray, width: np.ndarray, nodes: int, *, even: bool):
    """Nodes t and weights w (shape (..., K)) with Σ w f(t) ≈ E[f(Z)], Z ~ N(0, 1), for an f that
    is smooth except within ~width (shape (...)) of the points ``centres`` (shape (..., r)).

    A composite Gauss–Legendre rule on [−T, T], T = 8.5 (the tail beyond holds 2e-17 of the
    mass), or on [0, T] with doubled weights for an even f (``even=True``). Its panel ends are
    17 equally spaced points of [−T, T] (9 of [0, T] when even), and, for every centre m, the
    9 points m + width·(0, ±0.3, ±1, ±3, ±8), clipped to the interval: a grid refined around
    every centre, so that a near-kink (the soft-threshold-like bend of the denoiser at small c)
    costs no accuracy, where Gauss–Hermite converges only slowly. The ends are sorted (ends
    that coincide give an empty panel, whose nodes have weight 0); each panel [a, b] gets the
    ``nodes``-point Gauss–Legendre rule of [a, b], so the rule integrates polynomials of degree
    up to 2·nodes − 1 exactly on every panel, and w is its weight times the standard normal
    density at t (twice that when even). K = nodes·(16 + 9r), or nodes·(8 + 9r) when even,
    in the order of the panels.
    """
    T = 8.5
    uniform = np.linspace(0.0 if even else -T, T, 9 if even else 17)
    local = np.array([-8.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 8.0])
    near = (centres[..., None] + width[..., None, None] * local).reshape(width.shape + (-1,))
    ends = np.concatenate([np.broadcast_to(uniform, width.shape + uniform.shape), near], -1)
    ends = np.sort(np.clip(ends, uniform[0], T), axis=-1)
    left, length = ends[..., :-1, None], np.diff(ends, axis=-1)[..., None]
    xi, wi = _gauss_legendre(nodes)
    t = (left + length * xi).reshape(width.shape + (-1,))
    w = (length * wi).reshape(t.shape) * np.exp(-0.5 * t**2) / np.sqrt(2 * np.pi)
    return t, (2 * w if even else w)


@dataclass(frozen=True)
class Group:
    """One group of coordinates.

    p: fraction of coordinates in the group, in [0, 1].
    teacher: ``"point"`` (β* = b) or ``"gauss"`` (β* ~ N(0, v)).
    value: b for a point mass, v for a Gaussian.
    c: the scales, shape (P, m): m quadrature nodes of the scale's law for each of P points.
    c_weights: shape (m,), the nodes' weights (sum 1).
    """

    p: float
    teacher: str
    value: float
    c: np.ndarray
    c_weights: np.ndarray

    @property
    def second_moment(self) -> float:
        """E[β*²] within the group."""
        return self.value if self.teacher == "gauss" else self.value**2


def moments(s: np.ndarray, g: np.ndarray, groups: list[Group], nodes: int = NODES):
    """E[(D − β*)²] and E[∂D/∂z] over all groups, for every point: two arrays of shape (P,).

    s, g: shape (P,), the channel noise and the denoiser's weight; nodes: Gauss–Legendre nodes
    per panel of :func:`panel_quadrature`.
    """
    mse = np.zeros_like(s)
    slope = np.zeros_like(s)
    for grp in groups:
        if grp.p == 0:
            continue
        c = grp.c[:, :, None]
        gg = g[:, None, None]
        bend, half = knee(g[:, None], grp.c), 0.5 * g[:, None]
        if grp.teacher == "gauss":
            sd = np.sqrt(grp.value + s**2)[:, None]          # z ~ N(0, v + s²)
            t, w = panel_quadrature((bend / sd)[..., None], half / sd, nodes, even=True)
            z = sd[:, :, None] * t
            x, dx = denoise(z, gg, c)
            ex2, exz = (x**2 * w).sum(-1), (x * z * w).sum(-1)
            err = ex2 - 2 * (grp.value / sd**2) * exz + grp.value
        else:                                                # z = b + s Z
            sd = s[:, None]                                  # bends at Z = (±knee − b)/s
            centres = np.stack([(bend - grp.value) / sd, (-bend - grp.value) / sd], -1)
            t, w = panel_quadrature(centres, half / sd, nodes, even=grp.value == 0)
            z = grp.value + sd[:, :, None] * t
            x, dx = denoise(z, gg, c)
            err = ((x - grp.value) ** 2 * w).sum(-1)
        mse += grp.p * (err @ grp.c_weights)
        slope += grp.p * ((dx * w).sum(-1) @ grp.c_weights)
    return mse, slope


@dataclass
class FixedPoint:
    """Solution of the state evolution at P points (arrays of shape (P,)).

    s: effective noise of the scalar channel; g: the denoiser's weight; error: the
    generalization error E_g = ||β̂ − β*||²/d; converged: whether both equations hold to the
    tolerance, the error equation relatively or absolutely in units of E[β*²] + σ₀² (where
    False, s, g and error are the last iterate); iterations: Newton steps taken.
    """

    s: np.ndarray
    g: np.ndarray
    error: np.ndarray
    converged: np.ndarray
    iterations: int


def _residual(theta, alpha, noise, groups, nodes):
    s, g = np.exp(theta[:, 0]), np.exp(theta[:, 1])
    mse, slope = moments(s, g, groups, nodes)
    r = np.stack([np.log((noise + mse) / (alpha * s**2)), np.log(slope / alpha)], axis=1)
    return r, mse


ATOL = 1e-6  # absolute tolerance of the error equation, in units of E[β*²] + σ₀²


def _gap(theta, alpha, noise, mse, second):
    """|α s² − σ₀² − E_g| in units of E[β*²] + σ₀²."""
    return np.abs(alpha * np.exp(2 * theta[:, 0]) - noise - mse) / second


def _norm(r, theta, alpha, noise, mse, second, tol):
    """Size of the residual, converged when <= tol: the slope equation must hold relatively; the
    error equation relatively (|log ratio| <= tol) or absolutely (|α s² − σ₀² − E_g| <= ATOL in
    units of E[β*²] + σ₀²). The absolute test matters only near exact recovery (E_g → 0), where
    α s² and E_g shrink together, their ratio flattens and the root in s is ill-determined."""
    gap = _gap(theta, alpha, noise, mse, second)
    return np.maximum(np.minimum(np.abs(r[:, 0]), gap * tol / ATOL), np.abs(r[:, 1]))


def _initial_g(s, alpha, groups, nodes, iters=18):
    """g with E[∂D/∂z] ≈ α at noise s, by bisection in log g (the mean slope falls with g), to
    ~1e-3 in log g: a start for Newton. The bracket is [1e-6 c_min, 1e6 (c_max + max s + 1)]
    (c_min, c_max over the groups with p > 0), halved ``iters`` times (a midpoint whose mean
    slope is above α becomes the lower end); g is the last bracket's midpoint in log g."""
    c_min = min(float(grp.c.min()) for grp in groups if grp.p > 0)
    c_max = max(float(grp.c.max()) for grp in groups if grp.p > 0)
    lo = np.full_like(s, np.log(1e-6 * c_min))
    hi = np.full_like(s, np.log(1e6 * (c_max + s.max() + 1.0)))
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        _, slope = moments(s, np.exp(mid), groups, nodes)
        above = slope > alpha
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))


def solve(alpha, groups: list[Group], *, noise: float = 0.0, init=None, tol: float = 1e-7,
          max_iter: int = 60, nodes: int = NODES, ramp: int = 12,
          on_failure: str = "raise") -> FixedPoint:
    """Solve α s² = σ₀² + E[(D − β*)²] and α = E[∂D/∂z] for (s, g) at P points.

    alpha: sample ratio n/d in (0, 1), a number or shape (P,). groups: the coordinate groups
    (scales of shape (P, m)). noise: label-noise variance σ₀² >= 0. init: optional (s, g) to
    start from; otherwise s from the minimum-ℓ2 answer and g by bisection.
    Damped Newton on (log s, log g) with a finite-difference Jacobian and backtracking (a step
    is halved until the residual's norm falls). Points that fail from the cold start (within
    COLD_ITER steps, or max_iter if fewer) are solved
    again by continuation in α: ``ramp`` warm-started solves at α (0.25 + 0.75 j/ramp),
    j = 1 … ramp. tol: on both residuals (logarithms of the ratio of the two sides; the error
    equation may instead hold absolutely to ATOL, see ``_norm``).
    on_failure: ``"raise"`` a :class:`FixedPointError` naming the failing points, or ``"keep"``
    and report them in ``converged``.
    Internal: the public entry points (:mod:`dlnft.theory.ptft`) validate their inputs.
    """
    P = groups[0].c.shape[0]
    alpha = np.broadcast_to(np.asarray(alpha, float), (P,)).copy()
    fp, norm = _newton(alpha, groups, noise, init, tol, min(max_iter, COLD_ITER), nodes)
    bad = np.flatnonzero(~fp.converged)
    if bad.size and ramp:
        sub = [_subset(grp, bad) for grp in groups]
        start = None
        for j in range(1, ramp + 1):
            step_fp, step_norm = _newton(alpha[bad] * (0.25 + 0.75 * j / ramp), sub, noise, start,
                                         tol, max_iter, nodes)
            start = (step_fp.s, step_fp.g)
        for name in ("s", "g", "error", "converged"):
            getattr(fp, name)[bad] = getattr(step_fp, name)
        norm[bad] = step_norm
    if on_failure == "raise" and not fp.converged.all():
        bad = np.flatnonzero(~fp.converged)
        raise FixedPointError(
            f"state evolution did not converge at {bad.size} of {P} points (first: {bad[:5]}, "
            f"residual {norm[bad[0]]:.2g} > tol {tol:g}, alpha = {alpha[bad[0]]:g}), even with "
            f"continuation in alpha; raise max_iter or ramp (keywords of ft_theory and "
            f"single_task), or pass on_failure='keep' to see which points fail")
    return fp


def _newton(alpha, groups, noise, init, tol, max_iter, nodes):
    """Damped Newton from ``init`` or a cold start; returns (FixedPoint, residual norms)."""
    P = alpha.size
    second = sum(grp.p * grp.second_moment for grp in groups) + noise
    if init is None:
        s = np.sqrt(((1 - alpha) * (second - noise) + noise) / alpha + 1e-12)
        g = _initial_g(s, alpha, groups, nodes)
    else:
        s, g = (np.broadcast_to(np.asarray(a, float), (P,)).copy() for a in init)
    theta = np.stack([np.log(s), np.log(g)], axis=1)
    r, mse = _residual(theta, alpha, noise, groups, nodes)
    norm = _norm(r, theta, alpha, noise, mse, second, tol)
    h = 1e-6
    it = 0
    for it in range(1, max_iter + 1):
        todo = np.flatnonzero(norm > tol)
        if todo.size == 0:
            it -= 1
            break
        sub = [_subset(grp, todo) for grp in groups]
        th, rr, a = theta[todo], r[todo], alpha[todo]
        J = np.empty((todo.size, 2, 2))
        for j in range(2):
            shifted = th.copy()
            shifted[:, j] += h
            J[:, :, j] = (_residual(shifted, a, noise, sub, nodes)[0] - rr) / h
        det = J[:, 0, 0] * J[:, 1, 1] - J[:, 0, 1] * J[:, 1, 0]
        det = np.where(np.abs(det) < 1e-300, 1e-300, det)
        step = -np.stack([J[:, 1, 1] * rr[:, 0] - J[:, 0, 1] * rr[:, 1],
                          -J[:, 1, 0] * rr[:, 0] + J[:, 0, 0] * rr[:, 1]], axis=1) / det[:, None]
        # where the error equation already holds absolutely, move g alone onto the slope equation
        exact = np.minimum(np.abs(rr[:, 0]), _gap(th, a, noise, mse[todo], second)) <= ATOL
        step[exact] = np.stack([np.zeros(exact.sum()), -rr[exact, 1] / J[exact, 1, 1]], axis=1)
        # at most 2 in (log s, log g): a factor e² a step
        step *= np.minimum(1.0, 2.0 / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
        accepted = np.zeros(todo.size, bool)
        for _ in range(8):
            pend = np.flatnonzero(~accepted)
            if pend.size == 0:
                break
            trial = th[pend] + step[pend]
            r_new, mse_new = _residual(trial, a[pend], noise, [_subset(grp, pend) for grp in sub],
                                       nodes)
            n_new = _norm(r_new, trial, a[pend], noise, mse_new, second, tol)
            ok = n_new < norm[todo[pend]]
            idx = todo[pend[ok]]
            theta[idx], r[idx], mse[idx], norm[idx] = trial[ok], r_new[ok], mse_new[ok], n_new[ok]
            accepted[pend[ok]] = True
            step[pend[~ok]] *= 0.5
    fp = FixedPoint(s=np.exp(theta[:, 0]), g=np.exp(theta[:, 1]), error=mse,
                    converged=norm <= tol, iterations=it)
    return fp, norm


def _subset(grp: Group, idx: np.ndarray) -> Group:
    return Group(grp.p, grp.teacher, grp.value, grp.c[idx], grp.c_weights)
