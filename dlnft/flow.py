"""Exact gradient flow of diagonal networks, integrated as mirror descent in n dual variables.

Gradient flow on the loss L(β) = ||Xβ − y||²/(2n) moves every coordinate's weights by

    d/dt (w₊ + v₊) = −g (w₊ + v₊),  d/dt (w₊ − v₊) = g (w₊ − v₊),   g = ∂L/∂β = Xᵀ(Xβ − y)/n,

and the opposite signs for the − branch, so with A(t) = ∫₀ᵗ g ds the weights at time t are the
initial ones times e^{±A} and, coordinate by coordinate,

    β(A) = P e^{−2A} − Q e^{2A},   P = [(w₊+v₊)² + (w₋−v₋)²]/4,  Q = [(w₊−v₊)² + (w₋+v₋)²]/4

(with λ₊ = λ₋ = λ and β(0) = 0 this is β = −c sinh 2A: d/dt asinh(β/c) = −2 ∂L/∂β, R2).
Since A = Xᵀm with m(t) = ∫₀ᵗ (Xβ − y)/n ds, the flow is the n-dimensional ODE

    dm/dt = (X β(Xᵀm) − y)/n,    m(0) = 0,    Jacobian −(2/n) X diag(P e^{−2A} + Q e^{2A}) Xᵀ,

the gradient ascent of a concave dual. Every m gives weights exactly on the flow's conserved
manifold (c, λ± unchanged), so integration error moves the point along the manifold but never off
it: the flow's limit, the implicit-bias interpolator of :func:`dlnft.implicit_bias.solve`, is
reached to the accuracy of the final loss whatever the integrator's tolerance. The ODE is stiff
(rates from c to |β|), so it runs with an implicit integrator from scipy and the exact Jacobian.

Time is in the units of gradient descent: GD with step η for k steps approximates the flow at
t = kη (:func:`dlnft.gd`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate

from . import _validate as check
from .gd import as_data
from .network import DiagonalNet

METHODS = ("LSODA", "Radau", "BDF")


class FlowError(RuntimeError):
    """The integrator failed, or the loss did not reach ``tol`` by ``t_max``."""


@dataclass
class FlowResult:
    """What :func:`flow` returns.

    net: the networks at the end of the flow (a new object).
    t: the flow time at which each network stopped, shape (M,).
    losses: each network's final loss ||Xβ − y||²/(2n), shape (M,).
    n_rhs: right-hand-side evaluations the integrator used per network, shape (M,).
    """

    net: DiagonalNet
    t: np.ndarray
    losses: np.ndarray
    n_rhs: np.ndarray


class _DualODE:
    """dm/dt = (X β(Xᵀm) − y)/n for one network with design X (n, d) and weights P, Q (d,)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, P: np.ndarray, Q: np.ndarray):
        self.X, self.y, self.P, self.Q = X, y, P, Q
        self.n = X.shape[0]

    def beta(self, m: np.ndarray) -> np.ndarray:
        A = self.X.T @ m
        return self.P * np.exp(-2.0 * A) - self.Q * np.exp(2.0 * A)

    def residual(self, m: np.ndarray) -> np.ndarray:
        return self.X @ self.beta(m) - self.y

    def loss(self, m: np.ndarray) -> float:
        r = self.residual(m)
        return float(r @ r) / (2 * self.n)

    def rhs(self, _t, m):
        return self.residual(m) / self.n

    def jac(self, _t, m):
        A = self.X.T @ m
        curvature = self.P * np.exp(-2.0 * A) + self.Q * np.exp(2.0 * A)
        return (self.X * (-2.0 / self.n * curvature)) @ self.X.T


def _loss_floor(ode: _DualODE) -> float:
    """The least loss ||Xβ − y||²/(2n) over all β that keep the coordinates whose weights are
    all zero (P = Q = 0: they never move) at 0; the flow's loss never goes below it."""
    free = (ode.P + ode.Q) > 0
    X = ode.X[:, free]
    r = ode.y - X @ np.linalg.lstsq(X, ode.y, rcond=None)[0] if free.any() else ode.y
    return float(r @ r) / (2 * ode.n)


def _flow_one(ode: _DualODE, t_end, tol, t_max, rtol, atol, method):
    """Integrate one network; returns (m at the end, end time, rhs evaluations)."""
    m0 = np.zeros(ode.n)
    if t_end is None and ode.loss(m0) <= tol:
        return m0, 0.0, 0
    floor = _loss_floor(ode) if t_end is None else None
    if floor is not None and floor > tol:  # else the flow would run on to t_max
        raise FlowError(f"the loss cannot fall below tol = {tol:.3g}: X beta = y has no "
                        f"solution on the coordinates that can move (its least-squares loss "
                        f"is {floor:.3g}), so the flow never stops; fit consistent data, or "
                        f"raise tol")
    if t_end is not None and t_end * np.linalg.norm(ode.jac(0.0, m0)) < rtol:
        # m(t) = t m'(0) + O(t² ||J|| |m'(0)|): one Euler step is exact to rtol, where the
        # integrators' step-size control may fail (LSODA loops forever at t = 1e-170)
        return t_end * ode.rhs(0.0, m0), float(t_end), 1
    events = None
    if t_end is None:
        log_tol = np.log(tol)

        def reached(_t, m):
            return np.log(max(ode.loss(m), 1e-300)) - log_tol
        reached.terminal = True
        reached.direction = -1
        events = reached
    # trial steps that overshoot may overflow e^{±2A}; the integrator then shortens its step
    with np.errstate(over="ignore", invalid="ignore"):
        sol = scipy.integrate.solve_ivp(ode.rhs, (0.0, t_max if t_end is None else t_end), m0,
                                        method=method, jac=ode.jac, rtol=rtol, atol=atol,
                                        events=events)
    if sol.status == -1:
        raise FlowError(f"the {method} integrator failed: {sol.message}")
    if t_end is None:
        if sol.status != 1:
            raise FlowError(f"the loss did not fall below tol = {tol:.3g} by t_max = "
                            f"{t_max:.3g} (it is {ode.loss(sol.y[:, -1]):.3g}); raise t_max, "
                            f"or check that X beta = y has a solution")
        return sol.y_events[0][0], float(sol.t_events[0][0]), sol.nfev
    return sol.y[:, -1], float(sol.t[-1]), sol.nfev


def flow(net: DiagonalNet, X, y, *, t: float | None = None, tol: float = 1e-8,
         t_max: float = 1e12, rtol: float = 1e-8, atol: float = 1e-12,
         method: str = "LSODA") -> FlowResult:
    """Exact gradient flow on every network of ``net``, one network after another.

    X, y: (n, d) and (n,) shared, or (M, n, d) and (M, n) one per network (as in :func:`.gd`).
    t: integrate to this flow time (> 0); left out, integrate until the loss ||Xβ − y||²/(2n)
    falls to ``tol`` (> 0), which must happen before ``t_max``.
    rtol, atol: the integrator's tolerances on the n dual variables m (they set how closely the
    trajectory is followed in time; the limit is reached to ``tol`` regardless, see above).
    method: a stiff-capable scipy integrator, "LSODA" (default), "Radau" or "BDF".
    """
    data = as_data(X, y, net)
    if t is not None:
        t = check.real("t", t, low=0.0, low_open=True)
    tol = check.real("tol", tol, low=0.0, low_open=True)
    t_max = check.real("t_max", t_max, low=0.0, low_open=True)
    rtol = check.real("rtol", rtol, low=0.0, low_open=True, high=1.0)
    atol = check.real("atol", atol, low=0.0, low_open=True)
    method = check.choice("method", method, METHODS)

    X_np = data.X.cpu().numpy()
    y_np = data.y.cpu().numpy()
    wp, wm, vp, vm = (w.detach().cpu().numpy() for w in net.weights())
    sp, tp, sm, tm = wp + vp, wp - vp, wm + vm, wm - vm
    P, Q = (sp**2 + tm**2) / 4, (tp**2 + sm**2) / 4
    A = np.empty_like(wp)
    ends, losses, n_rhs = (np.empty(net.M) for _ in range(3))
    for k in range(net.M):
        ode = _DualODE(X_np if X_np.ndim == 2 else X_np[k],
                       y_np if y_np.ndim == 1 else y_np[k], P[k], Q[k])
        m, ends[k], n_rhs[k] = _flow_one(ode, t, tol, t_max, rtol, atol, method)
        A[k] = ode.X.T @ m
        losses[k] = ode.loss(m)
    grow, shrink = np.exp(A), np.exp(-A)
    sp, tp, sm, tm = sp * shrink, tp * grow, sm * grow, tm * shrink
    out = DiagonalNet.from_weights((sp + tp) / 2, (sm + tm) / 2, (sp - tp) / 2, (sm - tm) / 2)
    return FlowResult(net=out.to(net.w_plus.device), t=ends, losses=losses,
                      n_rhs=n_rhs.astype(int))
