"""The exact theory (R5) against trained networks at finite d: the check of chapter 4.

A network is trained by the exact gradient flow of :func:`dlnft.flow.flow` (gradient descent
in the limit of a small step) and its FT error ||β_FT − β*_FT||²/d is compared with
:func:`dlnft.theory.ptft.ft_theory` at the same (c, λ, γ, ω, α_FT).

* :func:`trained_ft_error` — one network: pretraining, the merged re-initialization
  (:func:`dlnft.pipeline.finetune_init`), fine-tuning by gradient flow.
* :func:`ft_error_draws` — one point (α_FT, ω, c, λ, γ): seeds 0, 1, … in batches until the
  standard error of the mean is small enough (more seeds where the error fluctuates more).
* :func:`replica_check` — panels of points, each compared with the theory within
  3 standard errors + ``delta`` (a finite-d allowance); the theory is computed here, through
  :func:`dlnft.theory.ptft.ft_theory`, so that a wrong theory fails the check.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import _validate as check
from ..flow import FlowError, flow
from ..implicit_bias import layer_split
from ..network import DiagonalNet
from ..pipeline import finetune_init
from ..tasks import make_tasks
from . import ptft

FLOW_TOL = 1e-12  # training loss ||Xβ − y||²/(2n) at which a flow stops
FLOW_RTOL, FLOW_ATOL = 1e-3, 1e-6  # the integrator's tolerances: loose, since every point it
# visits lies on the flow's conserved manifold and the limit is reached to FLOW_TOL regardless
RETRY_RTOL, RETRY_ATOL = 1e-6, 1e-9  # ... unless a loose step overshoots to a non-finite loss
# (seen in regime I at d = 1000, c_FT ~ 1e-9): then the flow is integrated again, tighter


def _flow(net, X, y):
    """The gradient flow's end point: loose tolerances first, tighter ones if that fails."""
    try:
        return flow(net, X, y, tol=FLOW_TOL, rtol=FLOW_RTOL, atol=FLOW_ATOL).net
    except FlowError:
        return flow(net, X, y, tol=FLOW_TOL, rtol=RETRY_RTOL, atol=RETRY_ATOL).net


@lru_cache(maxsize=64)
def _pt_flow(d, seed, omega, c, lam, alpha_pt, rho_pt, rho_ft, noise):
    """The weights after gradient flow on the PT task of make_tasks (cached: the PT task of a
    seed does not depend on α_FT)."""
    pt, _ = make_tasks(d=d, alpha_pt=alpha_pt, alpha_ft=alpha_pt, omega=omega, rho_pt=rho_pt,
                       rho_ft=rho_ft, noise=noise, seed=seed)
    net = DiagonalNet.from_scales(c, lam, shape=(1, d))
    out = _flow(net, pt.X, pt.y)
    return tuple(w.numpy().copy() for w in out.weights())


def trained_ft_error(*, d: int, alpha_ft: float, omega: float, c: float, lam: float,
                     gamma: float, seed: int, rho_pt: float, rho_ft: float,
                     alpha_pt: float | None = None, noise: float = 0.0) -> float:
    """||β_FT − β*_FT||²/d of one network pretrained, re-initialized and fine-tuned.

    Tasks from :func:`dlnft.tasks.make_tasks` (d, α_FT, ρ_PT, ρ_FT, ω, label-noise variance
    σ₀² = ``noise``, ``seed``). Pretraining: with ``alpha_pt=None`` oracle (the network where
    pretraining converges when the data pin β_PT = β*_PT; the tasks are then drawn as with
    α_PT = 0.5, whose PT samples fix the random stream of the FT task and are not used);
    otherwise gradient flow on the PT task with n_PT = α_PT d samples (α_PT > 0) from the
    initialization (c, λ). Fine-tuning: gradient flow from the merged re-initialization with
    readout scale γ until the loss is below 1e-12.
    """
    d = check.integer("d", d, low=1)
    c = check.real("c", c, low=0.0, low_open=True)
    lam = check.real("lam", lam)
    check.lam_within_c(c, lam)
    gamma = check.real("gamma", gamma, low=0.0)
    pt, ft = make_tasks(d=d, alpha_pt=0.5 if alpha_pt is None else alpha_pt,
                        alpha_ft=alpha_ft, omega=omega, rho_pt=rho_pt, rho_ft=rho_ft,
                        noise=noise, seed=seed)
    if alpha_pt is None:
        # α_PT >= 1 pins β_PT = β*_PT, and the conserved c, λ then fix the weights (R3)
        weights = layer_split(pt.beta_star, c, lam)
    else:
        weights = _pt_flow(d, seed, omega, c, lam, alpha_pt, rho_pt, rho_ft, noise)
    net = finetune_init(DiagonalNet.from_weights(*weights), gamma)
    beta = _flow(net, ft.X, ft.y).beta().numpy()[0]
    return float(np.sum((beta - ft.beta_star) ** 2) / d)


def ft_error_draws(*, d: int, alpha_ft: float, omega: float, c: float, lam: float, gamma: float,
                   rho_pt: float, rho_ft: float, se_target: float, batch: int = 8,
                   max_seeds: int = 256, alpha_pt: float | None = None,
                   noise: float = 0.0) -> np.ndarray:
    """FT errors of networks trained with seeds 0, 1, 2, …: shape (k,), k a multiple of batch.

    Seeds come in batches of ``batch`` (>= 2) until the standard error of their mean is at most
    ``se_target`` (> 0), or until the spread seen so far says that reaching it would take more
    than ``max_seeds``: a point whose error fluctuates too much for the target is left at the
    seeds drawn. Other arguments: :func:`trained_ft_error`.
    """
    se_target = check.real("se_target", se_target, low=0.0, low_open=True)
    batch = check.integer("batch", batch, low=2)
    max_seeds = check.integer("max_seeds", max_seeds, low=batch)
    draws: list[float] = []
    while True:
        draws += [trained_ft_error(d=d, alpha_ft=alpha_ft, omega=omega, c=c, lam=lam,
                                   gamma=gamma, seed=seed, rho_pt=rho_pt, rho_ft=rho_ft,
                                   alpha_pt=alpha_pt, noise=noise)
                  for seed in range(len(draws), len(draws) + batch)]
        needed = (np.std(draws, ddof=1) / se_target) ** 2
        if needed <= len(draws) or needed > max_seeds:
            return np.array(draws)


@dataclass
class PanelCheck:
    """Theory against trained networks at the points of one panel (arrays of shape (K,)).

    alphas: the α_FT; theory: the predicted error; mean, se: mean over seeds and its standard
    error; seeds: seeds per point; tolerance: 3 se + delta; ok: |mean − theory| <= tolerance.
    """

    alphas: np.ndarray
    theory: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    seeds: np.ndarray
    tolerance: np.ndarray
    ok: np.ndarray

    @property
    def passed(self) -> bool:
        """Whether every point of the panel agrees with the theory."""
        return bool(self.ok.all())

    @property
    def deviation(self) -> np.ndarray:
        """|mean − theory| at every point."""
        return np.abs(self.mean - self.theory)


def replica_check(draws: dict, settings: dict, *, rho_pt: float, rho_ft: float,
                  delta: float, alpha_pt: float | None = None,
                  noise: float = 0.0) -> dict:
    """Compare trained networks with the theory, panel by panel.

    draws: {(name, ω): {α_FT: array of FT errors over seeds}} (from :func:`ft_error_draws`);
    settings: {name: (c, λ, γ)}; delta: finite-d allowance (>= 0) added to 3 standard errors.
    The theory is :func:`dlnft.theory.ptft.ft_theory` at the same points (ρ_PT, ρ_FT, α_PT,
    σ₀² = ``noise``). Returns {(name, ω): :class:`PanelCheck`}.
    """
    delta = check.real("delta", delta, low=0.0)
    out = {}
    for (name, omega), per_alpha in draws.items():
        if name not in settings:
            raise ValueError(f"draws has a panel {name!r} that settings does not define")
        c, lam, gamma = settings[name]
        alphas = np.array(sorted(per_alpha))
        theory = ptft.ft_theory(alphas, rho_pt=rho_pt, rho_ft=rho_ft, omega=omega, c=c,
                                lam=lam, gamma=gamma, alpha_pt=alpha_pt, noise=noise).error
        samples = [np.asarray(per_alpha[a], float) for a in alphas]
        if min(len(s) for s in samples) < 2:
            raise ValueError(f"panel {(name, omega)} needs at least 2 draws per point")
        mean = np.array([s.mean() for s in samples])
        se = np.array([s.std(ddof=1) / np.sqrt(len(s)) for s in samples])
        tolerance = 3 * se + delta
        out[name, omega] = PanelCheck(alphas=alphas, theory=theory, mean=mean, se=se,
                                      seeds=np.array([len(s) for s in samples]),
                                      tolerance=tolerance,
                                      ok=np.abs(mean - theory) <= tolerance)
    return out


__all__ = ["FLOW_TOL", "PanelCheck", "ft_error_draws", "replica_check", "trained_ft_error"]
