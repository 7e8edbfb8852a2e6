"""Exact (d → ∞) errors of single-task training, pretraining and fine-tuning (R4, R5).

* :func:`single_task` — the minimum-Φ_c interpolator on one teacher: a fraction ρ of
  coordinates carries the teacher (a point mass a, or N(0, 1/ρ) so that E[β*²] = 1), the rest 0.
* :func:`ft_theory` — the PT → FT pipeline. Pretraining on the PT teacher (ρ_PT, value a_PT)
  gives β_PT, the merged re-initialization gives every coordinate the FT scale
  c_FT = (c + λ)(1 + sqrt(1 + (β_PT/c)²)) + γ²/2 (:func:`dlnft.implicit_bias.ft_scale`), and
  fine-tuning is the minimum-Φ_{c_FT} interpolator on the FT teacher. Coordinates fall in four
  groups (PT and FT / FT only / PT only / neither, probabilities ωρ_FT, (1−ω)ρ_FT,
  ρ_PT − ωρ_FT, 1 − ρ_PT − (1−ω)ρ_FT). With oracle PT (``alpha_pt=None``) β_PT = β*_PT; with
  imperfect PT, β_PT is the PT channel's output D(β*_PT + s_PT Z'; g_PT, c), whose law enters
  c_FT through Gauss–Hermite nodes in Z' (nested quadrature).

Parameters c, λ (``lam``), γ (``gamma``) and α_FT may be arrays; they broadcast together and
every combination is an independent point of one vectorized solve.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as check
from ..implicit_bias import ft_scale
from .denoiser import denoise
from .fixed_point import NODES, FixedPoint, Group, gauss_hermite, solve

PT_NODES = 24  # Gauss–Hermite nodes in the PT noise Z' (imperfect PT)


@dataclass
class FTTheory:
    """What :func:`ft_theory` returns; arrays have the broadcast shape of the inputs.

    error: FT generalization error ||β̂_FT − β*_FT||²/d. pt_error: the PT error ||β_PT −
    β*_PT||²/d (0 for oracle PT). s, g: the FT fixed point. converged: where both stages solved.
    """

    error: np.ndarray
    pt_error: np.ndarray
    s: np.ndarray
    g: np.ndarray
    converged: np.ndarray


def _alpha(name, value):
    a = check.array_np(name, value, ndim=None, low=0.0, low_open=True)
    if a.max() >= 1:
        raise ValueError(f"{name} must be < 1 (interpolation with n < d), got a maximum of "
                         f"{a.max():g}; for alpha >= 1 and no noise the data fix β exactly")
    return a


def _teacher_groups(rho, teacher, a, c):
    """Groups of a single teacher with per-point scales c of shape (P, m) (m = 1 here)."""
    on = Group(rho, "gauss", 1.0 / rho, c, np.ones(1)) if teacher == "gauss" else \
        Group(rho, "point", a, c, np.ones(1))
    return [on, Group(1.0 - rho, "point", 0.0, c, np.ones(1))]


def single_task(alpha, *, rho: float, c, teacher: str = "gauss", a: float = 1.0,
                noise: float = 0.0, on_failure: str = "raise", max_iter: int = 60,
                ramp: int = 12) -> FixedPoint:
    """State evolution of the minimum-Σ Φ_c interpolator trained from β = 0 on one teacher.

    alpha: n/d in (0, 1); c: scale > 0 (alpha and c broadcast; arrays give many points).
    rho: teacher density in (0, 1]; teacher: ``"gauss"`` (N(0, 1/ρ) on the support, E[β*²] = 1)
    or ``"point"`` (value a on the support); noise: label-noise variance σ₀² >= 0.
    on_failure, max_iter, ramp: as in :func:`ft_theory`.
    Returns a :class:`.FixedPoint` whose arrays have the broadcast shape of alpha and c.
    """
    alpha = _alpha("alpha", alpha)
    c = check.array_np("c", c, ndim=None, low=0.0, low_open=True)
    rho = check.real("rho", rho, low=0.0, high=1.0, low_open=True)
    check.choice("teacher", teacher, ("gauss", "point"))
    a = check.real("a", a)
    noise = check.real("noise", noise, low=0.0)
    check.choice("on_failure", on_failure, ("raise", "keep"))
    max_iter, ramp = _effort(max_iter, ramp)
    alpha, c = np.broadcast_arrays(alpha, c)
    fp = solve(alpha.ravel(), _teacher_groups(rho, teacher, a, c.reshape(-1, 1)), noise=noise,
               on_failure=on_failure, max_iter=max_iter, ramp=ramp)
    return FixedPoint(*(x.reshape(alpha.shape) for x in (fp.s, fp.g, fp.error, fp.converged)),
                      iterations=fp.iterations)


def _effort(max_iter, ramp) -> tuple[int, int]:
    return (check.integer("max_iter", max_iter, low=1), check.integer("ramp", ramp, low=0))


def _pt_outputs(alpha_pt, rho_pt, a_pt, c, noise, on_failure, max_iter, ramp):
    """Law of β_PT on and off the PT support: two (P, m) arrays, weights (m,), PT fixed point."""
    fp = solve(alpha_pt, _teacher_groups(rho_pt, "point", a_pt, c[:, None]), noise=noise,
               on_failure=on_failure, max_iter=max_iter, ramp=ramp)
    t, w = gauss_hermite(PT_NODES)
    s, g = fp.s[:, None], fp.g[:, None]
    beta_on = denoise(a_pt + s * t, g, c[:, None])[0]
    beta_off = denoise(s * t, g, c[:, None])[0]
    return beta_on, beta_off, w, fp


def ft_theory(alpha_ft, *, rho_pt: float, rho_ft: float, omega: float, c, lam, gamma,
              a_pt: float = 1.0, noise: float = 0.0, alpha_pt=None,
              on_failure: str = "raise", max_iter: int = 60, ramp: int = 12) -> FTTheory:
    """The exact FT generalization error after PT, in the proportional limit.

    alpha_ft: FT sample ratio in (0, 1); c: PT absolute scale > 0; lam: PT relative scale,
    |lam| <= c; gamma: FT readout scale >= 0 (these four broadcast together). rho_pt, rho_ft:
    teacher densities in (0, 1]; omega: fraction of the FT support inside the PT support, in
    [0, 1]; a_pt: PT teacher value (non-zero); noise: label-noise variance σ₀² of both tasks;
    alpha_pt: PT sample ratio in (0, 1) (broadcasting too), or None for oracle PT (β_PT = β*_PT).
    on_failure: ``"raise"`` a FixedPointError, or ``"keep"`` and report in ``converged``.
    max_iter: most Newton steps of the state-evolution solver (>= 1); ramp: how many warm-started
    solves of its continuation in α, for points that fail from a cold start (>= 0).
    """
    rho_pt = check.real("rho_pt", rho_pt, low=0.0, high=1.0, low_open=True)
    rho_ft = check.real("rho_ft", rho_ft, low=0.0, high=1.0, low_open=True)
    omega = check.real("omega", omega, low=0.0, high=1.0)
    a_pt = check.real("a_pt", a_pt)
    if a_pt == 0:
        raise ValueError("a_pt must be non-zero (the PT teacher's value on its support)")
    noise = check.real("noise", noise, low=0.0)
    check.choice("on_failure", on_failure, ("raise", "keep"))
    max_iter, ramp = _effort(max_iter, ramp)
    p = np.array([omega * rho_ft, (1 - omega) * rho_ft, rho_pt - omega * rho_ft,
                  1 - rho_pt - (1 - omega) * rho_ft])
    if p.min() < -1e-12:
        raise ValueError(f"rho_pt = {rho_pt}, rho_ft = {rho_ft}, omega = {omega} give a negative "
                         f"group probability {p.min():.3g}: need omega*rho_ft <= rho_pt and "
                         f"rho_pt + (1-omega)*rho_ft <= 1")
    p = np.clip(p, 0.0, 1.0)
    alpha_ft = _alpha("alpha_ft", alpha_ft)
    c = check.array_np("c", c, ndim=None, low=0.0, low_open=True)
    lam = check.array_np("lam", lam, ndim=None)
    gamma = check.array_np("gamma", gamma, ndim=None, low=0.0)
    arrays = [alpha_ft, c, lam, gamma]
    if alpha_pt is not None:
        arrays.append(_alpha("alpha_pt", alpha_pt))
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError as exc:
        raise ValueError(f"alpha_ft, c, lam, gamma (and alpha_pt) must broadcast together, got "
                         f"shapes {[a.shape for a in arrays]}") from exc
    shape = arrays[0].shape
    alpha_ft, c, lam, gamma = (a.ravel() for a in arrays[:4])
    check.lam_within_c(c, lam)  # before any solve

    if alpha_pt is None:
        beta_on = np.full((c.size, 1), a_pt)
        beta_off = np.zeros((c.size, 1))
        w = np.ones(1)
        pt_error = np.zeros(c.size)
        pt_ok = np.ones(c.size, bool)
    else:
        beta_on, beta_off, w, pt = _pt_outputs(arrays[4].ravel(), rho_pt, a_pt, c, noise,
                                               on_failure, max_iter, ramp)
        pt_error, pt_ok = pt.error, pt.converged
    c_on = ft_scale(beta_on, c[:, None], lam[:, None], gamma[:, None])
    c_off = ft_scale(beta_off, c[:, None], lam[:, None], gamma[:, None])
    used = [(c_on, p[0] + p[2]), (c_off, p[1] + p[3])]
    if any(cc.min() <= 0 and prob > 0 for cc, prob in used):
        raise ValueError("lam = -c with gamma = 0 freezes the first layer (c_FT = 0): fine-tuning "
                         "cannot move; take lam > -c or gamma > 0")
    v = 1.0 / rho_ft
    groups = [Group(p[0], "gauss", v, c_on, w), Group(p[1], "gauss", v, c_off, w),
              Group(p[2], "point", 0.0, c_on, w), Group(p[3], "point", 0.0, c_off, w)]
    groups = [grp for grp in groups if grp.p > 0]
    fp = solve(alpha_ft, groups, noise=noise, on_failure=on_failure, max_iter=max_iter,
               ramp=ramp)
    return FTTheory(error=fp.error.reshape(shape), pt_error=pt_error.reshape(shape),
                    s=fp.s.reshape(shape), g=fp.g.reshape(shape),
                    converged=(fp.converged & pt_ok).reshape(shape))


__all__ = ["FTTheory", "NODES", "PT_NODES", "ft_theory", "single_task"]
