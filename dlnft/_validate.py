"""Argument checks for dlnft's public functions.

Every public function checks its inputs here and raises ``ValueError`` (or ``TypeError`` for a
wrong kind of object) with a message that names the argument, the value seen and what is
allowed. Internal code trusts its inputs.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch


def _describe(value) -> str:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"an array of shape {tuple(value.shape)}"
    return repr(value)


def real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number in [low, high] (ends open where asked)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value}")
    return value


def integer(name: str, value, *, low=None, high=None) -> int:
    """An integer in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_describe(value)}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def lam_within_c(c, lam) -> None:
    """|lam| <= c entry by entry, each entry against its own c (to a relative 1e-12 of it, the
    round-off of computing lam from c), else ValueError naming the first entry that breaks it.

    c, lam: numbers or NumPy arrays, or both torch tensors (already checked: finite, c > 0),
    that broadcast together. A small-c entry may not hide behind a large c elsewhere.
    """
    if not isinstance(c, torch.Tensor):
        c = np.asarray(c)
    if not isinstance(lam, torch.Tensor):
        lam = np.asarray(lam)
    bad = abs(lam) - c > 1e-12 * c
    if not bad.any():
        return
    bad, lam, c = np.broadcast_arrays(*(x.detach().cpu().numpy() if isinstance(x, torch.Tensor)
                                        else x for x in (bad, lam, c)))
    i = np.unravel_index(int(np.argmax(bad)), bad.shape)
    where = f" at index {tuple(int(k) for k in i)}" if bad.ndim else ""
    raise ValueError(f"lam must satisfy |lam| <= c entry by entry (else the weights are "
                     f"imaginary); {int(bad.sum())} entries break it, the first{where}: "
                     f"lam = {float(lam[i]):.6g}, c = {float(c[i]):.6g}")


def _check_array(name: str, a, ndim, min_size, low, low_open, isfinite, count_bad, minimum):
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if a.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {tuple(a.shape)}")
    size = a.numel() if isinstance(a, torch.Tensor) else a.size
    if size < min_size:
        raise ValueError(f"{name} must not be empty, got shape {tuple(a.shape)}")
    if size and not isfinite(a):
        raise ValueError(f"{name} must be finite, but {count_bad(a)} entries are NaN or "
                         f"infinite")
    if low is not None and size:
        m = minimum(a)
        if m < low or (low_open and m == low):
            raise ValueError(f"{name} must be {'>' if low_open else '>='} {low} everywhere, "
                             f"got a minimum of {m}")


def _numeric(name: str, value) -> np.ndarray:
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from exc
    kind = a.dtype.kind  # b bool, i/u integers, f floats, c complex; anything else is refused
    if kind == "c":
        raise TypeError(f"{name} must be real, got dtype {a.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    return a


def array(name: str, value, *, ndim=None, min_size=1, low=None, low_open=False,
          dtype=torch.float64) -> torch.Tensor:
    """A finite float tensor (float64 by default) from anything array-like.

    ndim: an int or a tuple of allowed numbers of dimensions. low: every entry >= low
    (> low with low_open).
    """
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{name} must be real, got dtype {value.dtype}")
        t = value.detach().to(dtype)
    else:
        t = torch.as_tensor(_numeric(name, value).astype(np.float64), dtype=dtype)
    _check_array(name, t, ndim, min_size, low, low_open,
                 isfinite=lambda a: bool(torch.isfinite(a).all()),
                 count_bad=lambda a: int((~torch.isfinite(a)).sum()),
                 minimum=lambda a: float(a.min()))
    return t


def array_np(name: str, value, *, ndim=None, min_size=1, low=None,
             low_open=False) -> np.ndarray:
    """:func:`array` for NumPy code: a finite float64 ndarray, always a fresh copy.

    The same checks and messages as :func:`array`, without a round trip through torch (which
    costs tens of microseconds per argument, more than the work of a small solve).
    """
    if type(value) is float:
        a = np.array(value)
        _check_array(name, a, ndim, min_size, low, low_open,
                     isfinite=lambda x: math.isfinite(value), count_bad=lambda x: 1,
                     minimum=lambda x: value)
        return a
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{name} must be real, got dtype {value.dtype}")
        a = value.detach().to("cpu", torch.float64).numpy().copy()
    else:
        a = _numeric(name, value).astype(np.float64)
    _check_array(name, a, ndim, min_size, low, low_open,
                 isfinite=lambda x: bool(np.isfinite(x).all()),
                 count_bad=lambda x: int((~np.isfinite(x)).sum()),
                 minimum=lambda x: float(x.min()))
    return a
