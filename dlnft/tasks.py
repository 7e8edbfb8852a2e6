"""Teacher tasks for pretraining (PT) and fine-tuning (FT), as in the paper's theory.

Inputs have i.i.d. entries X_ij ~ N(0, 1/d); labels are y = X β* (+ noise of variance σ₀²).

* PT teacher: a support of round(ρ_PT d) coordinates, value a_PT on it, 0 elsewhere.
* FT teacher: a support of round(ρ_FT d) coordinates with entries N(0, 1/ρ_FT) (so that
  E[β*_i²] = 1), of which a fraction ω lies inside the PT support: ω = 1 reuses a subset of the
  PT features (``"subset"``), ω = 0 needs only new ones (``"new"``), in between ``"mixed"``.

Everything is seeded through ``numpy.random.default_rng(seed)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as check


@dataclass(frozen=True)
class Task:
    """One regression task: X (n, d), y (n,), the teacher beta_star (d,) and its support."""

    X: np.ndarray
    y: np.ndarray
    beta_star: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Indices of the teacher's non-zero coordinates, sorted."""
        return np.flatnonzero(self.beta_star)

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]


def _count(name: str, rho: float, d: int) -> int:
    k = int(round(rho * d))
    if rho > 0 and k == 0:
        raise ValueError(f"{name} = {rho} gives an empty support at d = {d}; raise {name} or d")
    return k


def gaussian_inputs(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """X of shape (n, d) with i.i.d. N(0, 1/d) entries."""
    return rng.standard_normal((n, d)) / np.sqrt(d)


def pt_teacher(d: int, rho_pt: float, a_pt: float, rng: np.random.Generator) -> np.ndarray:
    """β*_PT: a_PT on a uniformly random support of round(ρ_PT d) coordinates."""
    k = _count("rho_pt", rho_pt, d)
    beta = np.zeros(d)
    beta[rng.choice(d, size=k, replace=False)] = a_pt
    return beta


def ft_teacher(d: int, rho_ft: float, omega: float, pt_support: np.ndarray,
               rng: np.random.Generator) -> np.ndarray:
    """β*_FT: N(0, 1/ρ_FT) entries on round(ρ_FT d) coordinates, round(ω k) of them in the PT
    support and the rest outside it."""
    k = _count("rho_ft", rho_ft, d)
    k_in = int(round(omega * k))
    outside = np.setdiff1d(np.arange(d), pt_support)
    if k_in > len(pt_support):
        raise ValueError(f"omega = {omega} puts {k_in} FT features in a PT support of only "
                         f"{len(pt_support)}; lower omega or rho_ft, or raise rho_pt")
    if k - k_in > len(outside):
        raise ValueError(f"omega = {omega} needs {k - k_in} FT features outside the PT support "
                         f"but only {len(outside)} coordinates are left; raise omega or lower "
                         f"rho_pt or rho_ft")
    support = np.concatenate([rng.choice(pt_support, size=k_in, replace=False),
                              rng.choice(outside, size=k - k_in, replace=False)]).astype(int)
    beta = np.zeros(d)
    beta[support] = rng.standard_normal(k) / np.sqrt(rho_ft)
    return beta


FT_KINDS = {"subset": 1.0, "new": 0.0}


def make_tasks(*, d: int, alpha_pt: float, alpha_ft: float, rho_pt: float, rho_ft: float,
               omega: float | str, a_pt: float = 1.0, noise: float = 0.0,
               seed: int = 0) -> tuple[Task, Task]:
    """A PT task and an FT task with n = round(α d) samples each.

    d: input dimension (>= 1); alpha_pt, alpha_ft: sample ratios n/d (> 0); rho_pt, rho_ft:
    support densities in (0, 1]; omega: fraction of the FT support inside the PT support, in
    [0, 1], or ``"subset"`` (1) / ``"new"`` (0); a_pt: PT teacher value; noise: label-noise
    variance σ₀² >= 0; seed: integer seed of both tasks.
    """
    d = check.integer("d", d, low=1)
    alpha_pt = check.real("alpha_pt", alpha_pt, low=0.0, low_open=True)
    alpha_ft = check.real("alpha_ft", alpha_ft, low=0.0, low_open=True)
    rho_pt = check.real("rho_pt", rho_pt, low=0.0, high=1.0, low_open=True)
    rho_ft = check.real("rho_ft", rho_ft, low=0.0, high=1.0, low_open=True)
    if isinstance(omega, str):
        omega = FT_KINDS[check.choice("omega", omega, FT_KINDS)]
    omega = check.real("omega", omega, low=0.0, high=1.0)
    a_pt = check.real("a_pt", a_pt)
    if a_pt == 0:
        raise ValueError("a_pt must be non-zero (it is the PT teacher's value on its support)")
    noise = check.real("noise", noise, low=0.0)
    seed = check.integer("seed", seed, low=0)
    n_pt, n_ft = int(round(alpha_pt * d)), int(round(alpha_ft * d))
    for name, n, alpha in (("alpha_pt", n_pt, alpha_pt), ("alpha_ft", n_ft, alpha_ft)):
        if n == 0:
            raise ValueError(f"{name} = {alpha} gives no samples at d = {d}; raise {name} or d")

    rng = np.random.default_rng(seed)
    beta_pt = pt_teacher(d, rho_pt, a_pt, rng)
    beta_ft = ft_teacher(d, rho_ft, omega, np.flatnonzero(beta_pt), rng)
    tasks = []
    for n, beta in ((n_pt, beta_pt), (n_ft, beta_ft)):
        X = gaussian_inputs(n, d, rng)
        y = X @ beta + np.sqrt(noise) * rng.standard_normal(n)
        tasks.append(Task(X=X, y=y, beta_star=beta))
    return tasks[0], tasks[1]
