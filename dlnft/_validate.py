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


def array(name: str, value, *, ndim=None, min_size=1, low=None, low_open=False,
          dtype=torch.float64) -> torch.Tensor:
    """A finite float tensor (float64 by default) from anything array-like.

    ndim: an int or a tuple of allowed numbers of dimensions. low: every entry >= low
    (> low with low_open).
    """
    if isinstance(value, torch.Tensor):
        t = value.detach().to(dtype)
    else:
        try:
            a = np.asarray(value)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{name} must be array-like, got {type(value).__name__}") from exc
        if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
        t = torch.as_tensor(a.astype(np.float64), dtype=dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {tuple(t.shape)}")
    if t.numel() < min_size:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must be finite, but {bad} entries are NaN or infinite")
    if low is not None:
        m = float(t.min())
        if m < low or (low_open and m == low):
            raise ValueError(f"{name} must be {'>' if low_open else '>='} {low} everywhere, "
                             f"got a minimum of {m}")
    return t
