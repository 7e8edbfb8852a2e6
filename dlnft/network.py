"""The ± diagonal linear network in the paper's notation, batched over many networks.

One network with d coordinates computes f(x) = <β, x> with

    β_i = w₊,i v₊,i − w₋,i v₋,i ,

w± the first layer (kept at fine-tuning) and v± the readout (reset at fine-tuning). A
:class:`DiagonalNet` holds M such networks at once as four float64 tensors of shape (M, d), so
that gradient descent on all of them is a few matrix products.

Per coordinate, gradient flow conserves (chapter 1)

    c   = w₊ w₋ + v₊ v₋          (absolute scale)
    λ₊  = w₊² − v₊²,  λ₋ = w₋² − v₋²   (relative scales; λ < 0: first layer smaller)

and the paper's initialization w±(0) = sqrt((c+λ)/2), v±(0) = sqrt((c−λ)/2) sets λ₊ = λ₋ = λ
and β(0) = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import _validate as check


@dataclass
class DiagonalNet:
    """M diagonal networks with d coordinates: w_plus, w_minus, v_plus, v_minus of shape (M, d).

    Build one with :meth:`from_scales` (the paper's initialization from c and λ) or
    :meth:`from_weights` (explicit weights). Tensors are float64 on the CPU unless moved with
    ``to``.
    """

    w_plus: torch.Tensor
    w_minus: torch.Tensor
    v_plus: torch.Tensor
    v_minus: torch.Tensor

    def __post_init__(self):
        """Check the four weights: real tensors of one shape (M, d), made float64 if not."""
        names = ("w_plus", "w_minus", "v_plus", "v_minus")
        for name in names:
            t = getattr(self, name)
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch tensor (DiagonalNet.from_weights "
                                f"takes arrays), got {type(t).__name__}")
            if t.is_complex() or t.dtype == torch.bool:
                raise TypeError(f"{name} must be real, got dtype {t.dtype}")
            if t.dtype != torch.float64:   # float32 and the like: the float64 of the contract
                setattr(self, name, t.to(torch.float64))
        shapes = {name: tuple(getattr(self, name).shape) for name in names}
        if len(set(shapes.values())) != 1 or len(shapes["w_plus"]) != 2:
            raise ValueError(f"w_plus, w_minus, v_plus, v_minus must have one shape (M, d), "
                             f"got {shapes}")

    @classmethod
    def from_weights(cls, w_plus, w_minus, v_plus, v_minus) -> "DiagonalNet":
        """Networks with the given weights: each array-like of shape (d,) or (M, d), all equal."""
        ts = {name: check.array(name, val, ndim=(1, 2)) for name, val in
              dict(w_plus=w_plus, w_minus=w_minus, v_plus=v_plus, v_minus=v_minus).items()}
        shapes = {name: tuple(t.shape) for name, t in ts.items()}
        if len(set(shapes.values())) != 1:
            raise ValueError(f"w_plus, w_minus, v_plus, v_minus must have one shape, got {shapes}")
        return cls(**{name: t.reshape(-1, t.shape[-1]).clone() for name, t in ts.items()})

    @classmethod
    def from_scales(cls, c, lam, *, shape=None) -> "DiagonalNet":
        """The paper's initialization: w±(0) = sqrt((c+λ)/2), v±(0) = sqrt((c−λ)/2), β(0) = 0.

        c: absolute scale, > 0; lam: relative scale with |lam| <= c. Both scalars or arrays that
        broadcast to ``shape`` = (M, d) (or (d,)); ``shape`` may be left out when c or lam already
        has the full shape.
        """
        c_t = check.array("c", c, ndim=(0, 1, 2), low=0.0, low_open=True)
        lam_t = check.array("lam", lam, ndim=(0, 1, 2))
        if shape is not None:
            if not isinstance(shape, (tuple, list)):
                raise TypeError(f"shape must be a tuple (M, d) or (d,), got {shape!r}")
            shape = tuple(check.integer("shape entries", s, low=1) for s in shape)
        try:
            full = torch.broadcast_shapes(c_t.shape, lam_t.shape, tuple(shape or ()))
        except RuntimeError as exc:
            raise ValueError(f"c {tuple(c_t.shape)}, lam {tuple(lam_t.shape)} and shape "
                             f"{shape} do not broadcast together") from exc
        if len(full) == 0:
            raise ValueError("give shape=(M, d) or (d,) when c and lam are scalars")
        if len(full) > 2:
            raise ValueError(f"networks are (M, d) at most, got shape {tuple(full)}")
        c_t, lam_t = c_t.expand(full), lam_t.expand(full)
        check.lam_within_c(c_t, lam_t)
        w = torch.sqrt(torch.clamp((c_t + lam_t) / 2, min=0.0))
        v = torch.sqrt(torch.clamp((c_t - lam_t) / 2, min=0.0))
        w, v = w.reshape(-1, full[-1]), v.reshape(-1, full[-1])
        return cls(w.clone(), w.clone(), v.clone(), v.clone())

    @property
    def M(self) -> int:
        """Number of networks in the batch."""
        return self.w_plus.shape[0]

    @property
    def d(self) -> int:
        """Number of coordinates (input dimension)."""
        return self.w_plus.shape[1]

    def beta(self) -> torch.Tensor:
        """The end-to-end linear predictors β = w₊v₊ − w₋v₋, shape (M, d)."""
        return self.w_plus * self.v_plus - self.w_minus * self.v_minus

    def to(self, device) -> "DiagonalNet":
        return DiagonalNet(*(t.to(device) for t in self.weights()))

    def weights(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(w_plus, w_minus, v_plus, v_minus)."""
        return self.w_plus, self.w_minus, self.v_plus, self.v_minus

    def __getitem__(self, index) -> "DiagonalNet":
        """The sub-batch of networks ``index`` (an int keeps the batch dimension); IndexError
        when it selects no network."""
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            if not -self.M <= index < self.M:
                raise IndexError(f"network index {index} is out of range for M = {self.M} "
                                 f"networks")
            index = slice(int(index) % self.M, int(index) % self.M + 1)
        out = DiagonalNet(*(t[index] for t in self.weights()))
        if out.M == 0:
            raise IndexError(f"index {index!r} selects none of the M = {self.M} networks")
        return out


@dataclass(frozen=True)
class Conserved:
    """The quantities gradient flow conserves, per network and coordinate, shape (M, d)."""

    c: np.ndarray
    lam_plus: np.ndarray
    lam_minus: np.ndarray


def conserved(net: DiagonalNet) -> Conserved:
    """c = w₊w₋ + v₊v₋, λ₊ = w₊² − v₊², λ₋ = w₋² − v₋² of every network and coordinate."""
    if not isinstance(net, DiagonalNet):
        raise TypeError(f"net must be a DiagonalNet, got {type(net).__name__}")
    wp, wm, vp, vm = (t.detach().cpu().numpy() for t in net.weights())
    return Conserved(c=wp * wm + vp * vm, lam_plus=wp**2 - vp**2, lam_minus=wm**2 - vm**2)
