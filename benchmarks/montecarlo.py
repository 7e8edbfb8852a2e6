"""The state evolution by quadrature (dlnft.theory) against the paper's Monte-Carlo evaluation.

The paper evaluates its fixed point (R5) by Monte Carlo: 80,000 samples of the scalar channel,
a damped fixed-point iteration, continuation along the α axis forward and backward. This
script does the same, written from the equations (nothing of ``dlnft.theory`` is called on
that side):

    denoiser D(z; g, c): the root x of x − z + (g/2) asinh(x/c) = 0, found as x = c sinh(u)
        with c sinh(u) + (g/2) u = |z| by Newton's method from an upper bound of u;
    fixed point: g such that the sample mean of ∂D/∂z equals α (regula falsi in log g), then
        s² ← (1 − θ) s² + θ (σ₀² + mean((D − β*)²)) / α with damping θ = 1/2, until s² moves
        by less than 1e-6 relatively;
    samples: 80,000 coordinates, split among the four FT groups in proportion to their
        probabilities, β*_FT ~ N(0, 1/ρ_FT) on the FT support, Z ~ N(0, 1), fixed for the run.

It is run on the FT-error curve of regime I (c = 1e-3, λ = −0.999999c, γ = 1e-6, ρ_PT = 0.2,
ρ_FT = 0.1, ω = 0.5, oracle pretraining) at a few α (forward, then backward from the last
point), and compared with :func:`dlnft.theory.ft_theory` on the same α and on a 40-point curve.
Reported: max |Monte Carlo − quadrature| over the points, the Monte Carlo's own standard error
there, the seconds per point of each method, and the time of a 40-point curve (Monte Carlo:
its seconds per point × 40, the forward pass only; quadrature: measured) with their ratio.

Run alone: ``python benchmarks/montecarlo.py [--points K]`` (about 100 s a point on this CPU,
one core; see benchmarks/README.md). ``benchmarks/run.py`` relays its lines.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

SAMPLES = 80_000
DAMPING = 0.5
SETTING = dict(c=1e-3, lam=-0.999999e-3, gamma=1e-6)
TASK = dict(rho_pt=0.2, rho_ft=0.1, omega=0.5)
CURVE = np.linspace(0.0125, 0.5, 40)  # the 40-point curve, α_FT in (0, 0.5]


def ft_scale(beta_pt, c, lam, gamma):
    """R4: c_FT = (c + λ)(1 + sqrt(1 + (β_PT/c)²)) + γ²/2."""
    return (c + lam) * (1 + np.sqrt(1 + (beta_pt / c) ** 2)) + gamma**2 / 2


def channel_samples(rng, *, c, lam, gamma, rho_pt, rho_ft, omega, a_pt=1.0):
    """β*_FT, the FT scale c_FT and Z for SAMPLES coordinates of the four groups."""
    p = np.array([omega * rho_ft, (1 - omega) * rho_ft, rho_pt - omega * rho_ft,
                  1 - rho_pt - (1 - omega) * rho_ft])
    counts = np.round(p * SAMPLES).astype(int)
    counts[-1] = SAMPLES - counts[:-1].sum()
    on_ft = np.repeat([True, True, False, False], counts)
    on_pt = np.repeat([True, False, True, False], counts)
    beta_star = np.where(on_ft, rng.standard_normal(SAMPLES) / np.sqrt(rho_ft), 0.0)
    scale = ft_scale(np.where(on_pt, a_pt, 0.0), c, lam, gamma)
    return beta_star, scale, rng.standard_normal(SAMPLES)


def denoise(z, g, c, iters=100):
    """D(z; g, c) and ∂D/∂z: Newton on c sinh(u) + (g/2) u = |z| from above (convex in u)."""
    a, h = np.abs(z), g / 2
    u = np.minimum(np.arcsinh(a / c), a / (c + h))
    for _ in range(iters):
        step = (c * np.sinh(u) + h * u - a) / (c * np.cosh(u) + h)
        u = np.maximum(u - step, 0.0)
        if np.max(np.abs(step) / (1 + u)) < 1e-13:
            break
    return np.sign(z) * c * np.sinh(u), 1 / (1 + h / (c * np.cosh(u)))


def g_for_slope(z, c, alpha, g0):
    """g with mean ∂D/∂z = α over the samples (the mean slope falls with g): regula falsi
    (Illinois) in log g, from a bracket around g0 widened until it holds the root."""
    def f(log_g):
        return denoise(z, np.exp(log_g), c)[1].mean() - alpha

    lo, hi = np.log(g0) - 0.5, np.log(g0) + 0.5
    f_lo, f_hi = f(lo), f(hi)
    while f_lo < 0:
        lo, f_lo = lo - 2.0, f(lo - 2.0)
    while f_hi > 0:
        hi, f_hi = hi + 2.0, f(hi + 2.0)
    side = 0
    for _ in range(100):
        mid = (lo * f_hi - hi * f_lo) / (f_hi - f_lo)
        f_mid = f(mid)
        if abs(f_mid) < 1e-10 * alpha or hi - lo < 1e-12:
            return np.exp(mid)
        if f_mid > 0:
            lo, f_lo = mid, f_mid
            f_hi, side = (f_hi / 2, side) if side == 1 else (f_hi, 1)
        else:
            hi, f_hi = mid, f_mid
            f_lo, side = (f_lo / 2, side) if side == -1 else (f_lo, -1)
    return np.exp(mid)


def mc_fixed_point(alpha, beta_star, scale, Z, *, noise=0.0, start=None, max_iter=2000):
    """Damped iteration at one α from ``start`` = (s², g) or a cold start. Returns
    (E_g, its Monte-Carlo standard error, (s², g), iterations); raises RuntimeError if s²
    still moves by more than 1e-6 relatively after ``max_iter`` iterations."""
    s2, g = start if start is not None else ((1 - alpha) * np.mean(beta_star**2) / alpha, 1.0)
    for it in range(1, max_iter + 1):
        z = beta_star + np.sqrt(s2) * Z
        g = g_for_slope(z, scale, alpha, g)
        err = (denoise(z, g, scale)[0] - beta_star) ** 2
        new = (1 - DAMPING) * s2 + DAMPING * (noise + err.mean()) / alpha
        done, moved = abs(new - s2) <= 1e-6 * s2, abs(new - s2) / s2
        s2 = new
        if done:
            break
    else:
        raise RuntimeError(f"the Monte-Carlo fixed point at alpha = {alpha:.4g} did not "
                           f"converge in {max_iter} iterations (s^2 moved by {moved:.2g} "
                           f"relatively in the last one)")
    return err.mean(), err.std() / np.sqrt(err.size), (s2, g), it


def run(points: int = 3, seed: int = 0) -> dict:
    from dlnft import theory

    alphas = CURVE[np.linspace(3, 15, points).round().astype(int)]  # α from 0.05 to 0.2
    beta_star, scale, Z = channel_samples(np.random.default_rng(seed), **SETTING, **TASK)
    forward, backward, se, seconds = {}, {}, {}, []
    state = None
    for a in alphas:
        t0 = time.perf_counter()
        forward[a], se[a], state, _ = mc_fixed_point(a, beta_star, scale, Z, start=state)
        seconds.append(time.perf_counter() - t0)
    for a in alphas[::-1]:
        backward[a], _, state, _ = mc_fixed_point(a, beta_star, scale, Z, start=state)
    theory.ft_theory(CURVE[:2], **SETTING, **TASK)  # warm-up: imports, caches
    t0 = time.perf_counter()
    quad_curve = theory.ft_theory(CURVE, **SETTING, **TASK).error
    quad_seconds = time.perf_counter() - t0
    quad = theory.ft_theory(alphas, **SETTING, **TASK).error
    mc = np.array([forward[a] for a in alphas])
    return dict(alphas=alphas, mc=mc, quadrature=quad,
                hysteresis=max(abs(forward[a] - backward[a]) for a in alphas),
                mc_se=np.array([se[a] for a in alphas]), mc_seconds_per_point=np.mean(seconds),
                quad_seconds_curve=quad_seconds, quad_curve=quad_curve)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3, help="α points of the Monte Carlo")
    args = parser.parse_args(argv)
    if not 1 <= args.points <= 13:
        raise SystemExit(f"--points must be in 1..13, got {args.points}")
    r = run(args.points)
    gap = np.abs(r["mc"] - r["quadrature"])
    mc_curve = 40 * r["mc_seconds_per_point"]
    alphas = ", ".join(f"{a:.3f}" for a in r["alphas"])
    print(f"state evolution, regime I FT curve, Monte Carlo ({SAMPLES} samples) vs quadrature "
          f"at alpha = {alphas}: max |difference| {gap.max():.4f} (Monte-Carlo standard error "
          f"{r['mc_se'].max():.4f}; forward vs backward continuation {r['hysteresis']:.1e})")
    print(f"state evolution time per point: Monte Carlo {r['mc_seconds_per_point']:.1f} s, "
          f"quadrature {1e3 * r['quad_seconds_curve'] / 40:.1f} ms")
    print(f"state evolution 40-point curve: quadrature {1e3 * r['quad_seconds_curve']:.0f} ms "
          f"measured, Monte Carlo {mc_curve / 60:.1f} min (per point x 40): "
          f"{mc_curve / r['quad_seconds_curve']:.0f}x")


if __name__ == "__main__":
    main()
