"""The four fine-tuning regimes (R6), read off the fine-tuning scales of R4.

After oracle PT with teacher value a_PT, a coordinate gets the FT scale (c_FT of
:func:`dlnft.implicit_bias.ft_scale`)

    κ_on  = (c + λ)(1 + sqrt(1 + (a_PT/c)²)) + γ²/2      on PT features,
    κ_off = 2 (c + λ) + γ²/2                              on unused coordinates.

Two numbers place an initialization (c, λ, γ), at a reference magnitude b of the FT weights:

* learning: ``kappa_on / b``. Φ_κ is ℓ2-like (lazy) for |β| ≪ κ and ℓ1-like (rich) for
  |β| ≫ κ; fine-tuning is *rich* on the PT features when κ_on < RICH · b.
* reuse: ``Φ_{κ_off}(b) / Φ_{κ_on}(b)``, how many times more a new feature of size b costs than
  a PT feature of the same size; fine-tuning is *PT-dependent* when it exceeds REUSE.

Regimes: I rich, PT-independent; II lazy, PT-dependent; III lazy, PT-independent;
IV rich, PT-dependent. The thresholds RICH and REUSE are conventions of the book (chapter 5);
the regimes' behaviour (which task statistics each suits) is checked there on the FT error.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check
from ..implicit_bias import ft_scale, phi

RICH = 0.1
REUSE = 2.0
NAMES = {1: "I: rich, PT-independent", 2: "II: lazy, PT-dependent",
         3: "III: lazy, PT-independent", 4: "IV: rich, PT-dependent"}


def regime_indices(c, lam, gamma, *, a_pt: float = 1.0, b: float = 1.0):
    """(learning, reuse): κ_on / b and Φ_{κ_off}(b) / Φ_{κ_on}(b), arrays of the broadcast shape.

    c > 0, lam (|lam| <= c), gamma >= 0: the PT scales and FT readout scale (broadcasting);
    a_pt: PT teacher value (non-zero); b: reference FT weight magnitude (> 0).
    """
    a_pt = check.real("a_pt", a_pt)
    b = check.real("b", b, low=0.0, low_open=True)
    kappa_on = ft_scale(a_pt, c, lam, gamma)
    kappa_off = ft_scale(0.0, c, lam, gamma)
    if kappa_off.min() <= 0:
        raise ValueError("lam = -c with gamma = 0 freezes fine-tuning (c_FT = 0); take lam > -c "
                         "or gamma > 0")
    return kappa_on / b, phi(b, kappa_off) / phi(b, kappa_on)


def regime(c, lam, gamma, *, a_pt: float = 1.0, b: float = 1.0) -> np.ndarray:
    """The regime number 1–4 (I–IV, see ``NAMES``) of each initialization (integer array)."""
    learning, reuse = regime_indices(c, lam, gamma, a_pt=a_pt, b=b)
    rich, dependent = learning < RICH, reuse > REUSE
    return np.where(rich, np.where(dependent, 4, 1), np.where(dependent, 2, 3))
