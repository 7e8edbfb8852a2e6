"""The scalar denoiser of the state evolution: the proximal map of g·Φ_c.

    D(z; g, c) = argmin_x ½ (x − z)² + g Φ_c(x),    Φ_c'(x) = ½ asinh(x / c),

so D solves the stationarity condition  x − z + (g/2) asinh(x/c) = 0  (strictly increasing in
x, one root, of the sign of z and no larger than |z|). With x = c sinh(u) it becomes

    c sinh(u) + (g/2) u = |z|,      u >= 0,

a convex increasing equation in u. Newton's method started to the right of the root never
overshoots and decreases monotonically onto it, so it is safe without a bracket; the start
u₀ = min(asinh(|z|/c), |z|/(c + g/2)) is an upper bound of the root (both terms are).
This parametrization stays finite and accurate for c from 1e-8 to 1e4 and |z| up to 1e6.
"""
from __future__ import annotations

import numpy as np

from .. import _validate as check


def _solve_u(a: np.ndarray, h: np.ndarray, c: np.ndarray, tol: float, max_iter: int):
    """u >= 0 with c sinh(u) + h u = a, elementwise (arrays of one shape, a >= 0, c > 0)."""
    with np.errstate(divide="ignore", over="ignore"):
        u = np.minimum(np.arcsinh(a / c), a / (c + h))
    active = np.arange(u.size)
    u = u.ravel().copy()
    a, h, c = a.ravel(), h.ravel(), c.ravel()
    for _ in range(max_iter):
        ua, ca, ha = u[active], c[active], h[active]
        step = (ca * np.sinh(ua) + ha * ua - a[active]) / (ca * np.cosh(ua) + ha)
        u[active] = np.maximum(ua - step, 0.0)
        active = active[np.abs(step) > tol * (1.0 + ua)]
        if active.size == 0:
            return u, True
    return u, False


def denoise(z, g, c, *, tol: float = 1e-14, max_iter: int = 200):
    """D(z; g, c) and ∂D/∂z, elementwise, for arrays that broadcast together.

    z: channel output β* + s Z (any real); g: penalty weight of the proximal map (>= 0);
    c: per-coordinate scale (> 0). Returns (x, dx_dz), float64 arrays of the broadcast shape,
    with dx_dz = 1 / (1 + (g/2) / sqrt(x² + c²)) in (0, 1].
    Trusts its inputs; see :func:`denoiser` for the checked public version.
    """
    z, g, c = np.broadcast_arrays(np.asarray(z, float), np.asarray(g, float),
                                  np.asarray(c, float))
    u, ok = _solve_u(np.abs(z), 0.5 * g, c, tol, max_iter)
    if not ok:
        raise RuntimeError(f"the denoiser's Newton iteration did not converge in {max_iter} "
                           f"steps (c in [{c.min():.3g}, {c.max():.3g}], g up to {g.max():.3g})")
    u = u.reshape(z.shape)
    x = np.sign(z) * c * np.sinh(u)
    dx = 1.0 / (1.0 + 0.5 * g / (c * np.cosh(u)))
    return x, dx


def denoiser(z, g, c):
    """Checked public form of :func:`denoise`: D(z; g, c) and ∂D/∂z.

    z: array-like of reals; g: >= 0; c: > 0 (arrays broadcasting with z). Returns two float64
    arrays (x, dx_dz) of the broadcast shape.
    """
    z = check.array_np("z", z, min_size=1)
    g = check.array_np("g", g, min_size=1, low=0.0)
    c = check.array_np("c", c, min_size=1, low=0.0, low_open=True)
    try:
        np.broadcast_shapes(z.shape, g.shape, c.shape)
    except ValueError as exc:
        raise ValueError(f"z, g and c must broadcast together, got shapes {z.shape}, "
                         f"{g.shape}, {c.shape}") from exc
    return denoise(z, g, c)
