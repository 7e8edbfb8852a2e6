"""Full-batch gradient descent on many diagonal networks at once.

Loss of network m on its data (X_m, y_m) with n samples (the square loss of the paper):

    L_m(β) = ||X_m β − y_m||² / (2n),        ∂L/∂β = X_mᵀ (X_m β − y_m) / n =: g

and the chain rule through β = w₊v₊ − w₋v₋ gives one GD step with step size η:

    w₊ ← w₊ − η v₊ g,   v₊ ← v₊ − η w₊ g,   w₋ ← w₋ + η v₋ g,   v₋ ← v₋ + η w₋ g.

All M networks move together: the residuals and gradients are two matrix products per step,
(M, d) @ (d, n) and (M, n) @ (n, d) when the networks share one design matrix X of shape
(n, d), or two batched products when each network has its own X of shape (M, n, d).
When d < 2n the step instead reuses the Gram matrix G = XᵀX/n (d, d) and b = Xᵀy/n,
g = β G − b: one product of 2Md² flops instead of two of 2Mdn each (when the steps to take
pay for building G). The weights are updated
in place in preallocated buffers, so a step allocates nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import _progress
from . import _validate as check
from .network import DiagonalNet


class GDDivergedError(RuntimeError):
    """Gradient descent blew up: the message names the step size to lower."""


@dataclass
class Data:
    """Design matrix X, (n, d) shared or (M, n, d) per network, and targets y, (n,) or (M, n)."""

    X: torch.Tensor
    y: torch.Tensor

    @property
    def n(self) -> int:
        return self.X.shape[-2]

    def residual(self, beta: torch.Tensor) -> torch.Tensor:
        """X β − y for every network, shape (M, n)."""
        if self.X.ndim == 2:
            return beta @ self.X.T - self.y
        return torch.bmm(self.X, beta.unsqueeze(-1)).squeeze(-1) - self.y

    def grad_beta(self, r: torch.Tensor) -> torch.Tensor:
        """∂L/∂β = Xᵀ r / n for residuals r of shape (M, n), shape (M, d)."""
        if self.X.ndim == 2:
            return (r @ self.X) / self.n
        return torch.bmm(r.unsqueeze(1), self.X).squeeze(1) / self.n


def as_data(X, y, net: DiagonalNet) -> Data:
    """Check (X, y) against ``net`` and return them as float64 tensors on net's device."""
    if not isinstance(net, DiagonalNet):
        raise TypeError(f"net must be a DiagonalNet, got {type(net).__name__}")
    X_t = check.array("X", X, ndim=(2, 3))
    y_t = check.array("y", y, ndim=(1, 2))
    n, d = X_t.shape[-2:]
    if n == 0 or d == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape "
                         f"{tuple(X_t.shape)}")
    if d != net.d:
        raise ValueError(f"X has {d} features but the networks have d = {net.d} coordinates")
    if X_t.ndim == 3 and X_t.shape[0] != net.M:
        raise ValueError(f"X holds {X_t.shape[0]} design matrices but there are M = {net.M} "
                         f"networks")
    if y_t.shape[-1] != n:
        raise ValueError(f"y has {y_t.shape[-1]} targets but X has n = {n} samples")
    if y_t.ndim == 2 and y_t.shape[0] != net.M:
        raise ValueError(f"y holds {y_t.shape[0]} target vectors but there are M = {net.M} "
                         f"networks")
    device = net.w_plus.device
    return Data(X_t.to(device), y_t.to(device))


def loss(net: DiagonalNet, X, y) -> np.ndarray:
    """Square loss ||Xβ − y||²/(2n) of every network, shape (M,)."""
    data = as_data(X, y, net)
    r = data.residual(net.beta())
    return ((r**2).sum(-1) / (2 * data.n)).cpu().numpy()


def gradient(net: DiagonalNet, X, y) -> np.ndarray:
    """∂L/∂β = Xᵀ(Xβ − y)/n of every network, shape (M, d)."""
    data = as_data(X, y, net)
    return data.grad_beta(data.residual(net.beta())).cpu().numpy()


@dataclass
class GDResult:
    """What :func:`gd` returns.

    net: the trained networks (a new object; the input is not modified).
    steps: the step numbers at which losses were recorded, shape (K,).
    losses: the loss of every network at those steps, shape (K, M).
    n_steps: steps taken (fewer than asked when every loss fell below ``tol``).
    """

    net: DiagonalNet
    steps: np.ndarray
    losses: np.ndarray
    n_steps: int


def _lr_tensor(lr, M: int, device) -> torch.Tensor:
    scalar = isinstance(lr, (int, float, np.floating, np.integer)) or (
        isinstance(lr, (torch.Tensor, np.ndarray)) and lr.ndim == 0)
    if scalar and not isinstance(lr, bool):
        lr_t = torch.tensor([check.real("lr", lr, low=0.0, low_open=True)], dtype=torch.float64)
    else:
        lr_t = check.array("lr", lr, low=0.0, low_open=True)
        if lr_t.ndim != 1 or lr_t.shape[0] not in (1, M):
            raise ValueError(f"lr must be a number or have one entry per network (M = {M}), "
                             f"got shape {tuple(lr_t.shape)}")
    return lr_t.to(device).reshape(-1, 1)


class _Stepper:
    """The GD step on float64 buffers of shape (M, d), updated in place.

    ``a`` holds η g; ``beta`` is kept equal to w₊v₊ − w₋v₋ after every step, and (without the
    Gram matrix) ``r`` equal to X β − y.
    """

    def __init__(self, net: DiagonalNet, data: Data, lr_t: torch.Tensor, steps: int):
        self.data = data
        self.wp, self.wm, self.vp, self.vm = (t.clone() for t in net.weights())
        self.beta = self.wp * self.vp - self.wm * self.vm
        self.a = torch.empty_like(self.beta)
        self.tmp = torch.empty_like(self.beta)
        n, d = data.X.shape[-2:]
        scalar_lr = lr_t.numel() == 1
        # η and 1/n are folded into the smallest tensor they can ride on
        self.scale = lr_t / n if not scalar_lr else lr_t.item() / n
        X = data.X
        self.shared = X.ndim == 2
        # the Gram matrix saves 2Md(2n − d) flops a step and costs 2d²n (per design) to build
        M = self.beta.shape[0]
        self.gram = steps * M * (2 * n - d) > d * n * (1 if self.shared else M)
        if self.gram:
            Xt = X.transpose(-1, -2)
            G, b = Xt @ X / n, (Xt @ data.y.unsqueeze(-1)).squeeze(-1) / n
            self.row_scale = None if scalar_lr else lr_t
            if scalar_lr:
                G, b = G * lr_t.item(), b * lr_t.item()
            self.G, self.neg_b = G, -b
        else:
            self.Xt = X.T.contiguous() if self.shared else None
            self.neg_y = -data.y
            self.r = data.residual(self.beta)     # kept current: the loss checks reuse it
            self.r_scaled = torch.empty_like(self.r)

    def residual(self) -> torch.Tensor:
        """X β − y of the current weights, shape (M, n)."""
        return self.data.residual(self.beta) if self.gram else self.r

    def step(self) -> None:
        """One simultaneous GD step; the right-hand sides use the old weights."""
        a, tmp, beta = self.a, self.tmp, self.beta
        if self.gram:
            if self.shared:
                torch.addmm(self.neg_b, beta, self.G, out=a)
            else:
                torch.baddbmm(self.neg_b.unsqueeze(1), beta.unsqueeze(1), self.G,
                              out=a.unsqueeze(1))
            if self.row_scale is not None:
                a.mul_(self.row_scale)
        else:
            rs = torch.mul(self.r, self.scale, out=self.r_scaled)
            if self.shared:
                torch.mm(rs, self.data.X, out=a)
            else:
                torch.bmm(rs.unsqueeze(1), self.data.X, out=a.unsqueeze(1))
        torch.mul(a, self.vp, out=tmp)
        self.vp.addcmul_(a, self.wp, value=-1.0)
        self.wp.sub_(tmp)
        torch.mul(a, self.vm, out=tmp)
        self.vm.addcmul_(a, self.wm)
        self.wm.add_(tmp)
        torch.mul(self.wp, self.vp, out=beta)
        beta.addcmul_(self.wm, self.vm, value=-1.0)
        if not self.gram:
            if self.shared:
                torch.addmm(self.neg_y, beta, self.Xt, out=self.r)
            else:
                torch.baddbmm(self.neg_y.unsqueeze(-1), self.data.X, beta.unsqueeze(-1),
                              out=self.r.unsqueeze(-1))


def gd(net: DiagonalNet, X, y, *, lr, steps: int, tol: float | None = None,
       record_every: int = 0, blowup: float = 1e8) -> GDResult:
    """Full-batch GD on every network of ``net`` at once.

    X, y: (n, d) and (n,) shared by all networks, or (M, n, d) and (M, n) one per network.
    lr: step size η > 0, one number or one per network (shape (M,)).
    steps: the most steps to take; tol: stop once every network's loss is below it.
    record_every: record losses every this many steps (0: first and last only).
    blowup: raise :class:`GDDivergedError` when a loss is non-finite or exceeds
    ``blowup`` × max(1, initial loss); a finite number >= 1 (NaN or inf would switch the
    check off).
    """
    data = as_data(X, y, net)
    blowup = check.real("blowup", blowup, low=1.0)
    steps = check.integer("steps", steps, low=0)
    record_every = check.integer("record_every", record_every, low=0)
    if tol is not None:
        tol = check.real("tol", tol, low=0.0, low_open=True)
    lr_t = _lr_tensor(lr, net.M, net.w_plus.device)
    state = _Stepper(net, data, lr_t, steps)

    def current_loss():
        return (state.residual() ** 2).sum(-1) / (2 * data.n)

    L0 = current_loss()
    ceiling = blowup * torch.clamp(L0, min=1.0)
    rec_steps, rec_losses = [0], [L0.cpu().numpy()]
    check_every = 25
    taken = 0
    L = L0
    for step in _progress.bar(range(1, steps + 1), desc="GD"):
        state.step()
        taken = step
        last = step == steps
        if step % check_every == 0 or last or (record_every and step % record_every == 0):
            L = current_loss()
            bad = ~torch.isfinite(L) | (L > ceiling)
            if bool(bad.any()):
                idx = torch.nonzero(bad).flatten().tolist()
                worst = lr_t.flatten()[idx if lr_t.numel() > 1 else [0]].max().item()
                raise GDDivergedError(
                    f"gradient descent diverged by step {step} in network(s) {idx[:10]} "
                    f"(loss {L[idx[0]].item():.3g}); lower the step size lr (now {worst:.3g}), "
                    f"e.g. to {worst / 4:.3g}")
            if record_every and step % record_every == 0:
                rec_steps.append(step)
                rec_losses.append(L.cpu().numpy())
            if tol is not None and bool((L < tol).all()):
                break
    if rec_steps[-1] != taken:
        rec_steps.append(taken)
        rec_losses.append(L.cpu().numpy())
    return GDResult(net=DiagonalNet(state.wp, state.wm, state.vp, state.vm),
                    steps=np.asarray(rec_steps), losses=np.stack(rec_losses), n_steps=taken)
