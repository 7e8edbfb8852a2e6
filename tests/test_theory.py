"""Tests of dlnft.theory: the denoiser, the state-evolution solver and its known limits."""
import re
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from dlnft.implicit_bias import ft_scale, solve as interpolate
from dlnft.tasks import make_tasks
from dlnft.theory import FixedPointError, denoiser, ft_theory, single_task
from dlnft.theory.denoiser import denoise
from dlnft.theory.fixed_point import Group, panel_quadrature, solve


@pytest.mark.parametrize("c", [1e-8, 1e-3, 1.0, 1e4])
@pytest.mark.parametrize("g", [0.0, 1e-6, 0.3, 50.0])
def test_denoiser_solves_stationarity_and_is_monotone(c, g):
    z = np.linspace(-1e3, 1e3, 20001)
    x, dx = denoiser(z, g, c)
    assert np.max(np.abs(x - z + 0.5 * g * np.arcsinh(x / c))) <= 1e-12 * (1 + np.abs(z)).max()
    assert np.all(np.diff(x) >= 0) and np.all(np.abs(x) <= np.abs(z) * (1 + 1e-14))
    assert np.all((dx > 0) & (dx <= 1))


@pytest.mark.parametrize("c", [1e-3, 1.0])
def test_denoiser_slope_matches_finite_difference(c):
    z = np.linspace(-3, 3, 601)
    h = 1e-6
    fd = (denoiser(z + h, 0.4, c)[0] - denoiser(z - h, 0.4, c)[0]) / (2 * h)
    assert np.max(np.abs(fd - denoiser(z, 0.4, c)[1])) < 1e-6


def test_denoiser_rejects_bad_arguments():
    with pytest.raises(ValueError, match="c must be > 0"):
        denoiser(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="g must be >= 0"):
        denoiser(1.0, -1.0, 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        denoiser(np.ones(3), np.ones(2), 1.0)


@pytest.mark.parametrize("rho", [1.0, 0.1])
def test_l2_limit_is_one_minus_alpha(rho):
    alpha = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    fp = single_task(alpha, rho=rho, c=1e6)
    assert np.max(np.abs(fp.error - (1 - alpha))) < 1e-4


def test_l2_limit_with_noise_has_the_variance_term():
    alpha, noise = np.array([0.2, 0.5, 0.8]), 0.3
    fp = single_task(alpha, rho=0.5, c=1e6, noise=noise)
    expected = (1 - alpha) + noise * alpha / (1 - alpha)
    assert np.max(np.abs(fp.error - expected)) < 1e-4


def donoho_tanner(eps):
    """δ at which ℓ1 minimization recovers an eps-sparse signal (minimax soft threshold)."""
    def risk(t):
        return eps * (1 + t * t) + 2 * (1 - eps) * ((1 + t * t) * norm.cdf(-t) - t * norm.pdf(t))
    return minimize_scalar(risk, bounds=(0, 10), method="bounded").fun


def test_l1_limit_has_the_donoho_tanner_transition():
    rho = 0.1
    alpha = np.linspace(0.2, 0.5, 31)
    err = single_task(alpha, rho=rho, c=1e-8).error
    crossing = alpha[np.argmax(err < 1e-2)]
    delta = donoho_tanner(rho)
    assert abs(delta - 0.3288) < 1e-3
    assert abs(crossing - delta) / delta < 0.12
    assert err[alpha < 0.85 * delta].min() > 0.05
    assert err[alpha > 1.2 * delta].max() < 1e-3


def test_error_decreases_with_alpha_and_increases_with_noise():
    alpha = np.linspace(0.05, 0.6, 12)
    kw = dict(rho_pt=0.2, rho_ft=0.1, omega=0.5, c=1e-2, lam=-5e-3, gamma=0.1)
    clean = ft_theory(alpha, **kw).error
    noisy = ft_theory(alpha, noise=0.05, **kw).error
    assert np.all(np.diff(clean) < 0)
    assert np.all(noisy > clean)


def test_reuse_regime_prefers_pt_features():
    kw = dict(rho_pt=0.2, rho_ft=0.1, c=1e-3, lam=-0.99e-3, gamma=0.0)
    subset = ft_theory(0.2, omega=1.0, **kw).error
    new = ft_theory(0.2, omega=0.0, **kw).error
    assert subset < 0.2 * new


def test_imperfect_pt_tends_to_oracle_when_pt_recovers():
    kw = dict(rho_pt=0.1, rho_ft=0.05, omega=0.5, c=1e-3, lam=-5e-4, gamma=0.0)
    alpha = np.array([0.1, 0.2, 0.3])
    oracle = ft_theory(alpha, **kw)
    imperfect = ft_theory(alpha, alpha_pt=0.8, **kw)
    assert np.all(imperfect.pt_error < 1e-4) and np.all(oracle.pt_error == 0)
    # PT residuals of size ~ c off the support still shift c_FT there: close, not equal
    assert np.max(np.abs(imperfect.error - oracle.error)) < 0.05 * oracle.error.max()
    worse = ft_theory(alpha, alpha_pt=0.25, **kw)
    assert np.all(worse.pt_error > 0.05) and np.all(worse.error > imperfect.error)


def test_broadcasting_gives_the_grid_shape():
    out = ft_theory(0.3, rho_pt=0.2, rho_ft=0.1, omega=0.5, c=1e-2,
                    lam=np.linspace(-9e-3, 9e-3, 4)[:, None], gamma=np.array([0.0, 0.5, 2.0]))
    assert out.error.shape == (4, 3) and out.converged.all()


def test_non_convergence_is_reported_or_raised():
    c = np.full((2, 1), 1e-2)
    groups = [Group(0.1, "gauss", 10.0, c, np.ones(1)), Group(0.9, "point", 0.0, c, np.ones(1))]
    fp = solve(np.array([0.3, 0.5]), groups, max_iter=1, ramp=0, on_failure="keep")
    assert not fp.converged.any()
    with pytest.raises(FixedPointError, match="did not converge"):
        solve(np.array([0.3, 0.5]), groups, max_iter=1, ramp=0)
    assert solve(np.array([0.3, 0.5]), groups).converged.all()


def test_public_functions_validate_arguments():
    kw = dict(rho_pt=0.2, rho_ft=0.1, omega=0.5, c=1e-2, lam=0.0, gamma=0.0)
    with pytest.raises(ValueError, match="alpha_ft must be < 1"):
        ft_theory(1.0, **kw)
    with pytest.raises(ValueError, match="negative group probability"):
        ft_theory(0.3, **{**kw, "rho_pt": 0.05, "omega": 1.0})
    with pytest.raises(ValueError, match="freezes"):
        ft_theory(0.3, **{**kw, "lam": -1e-2})
    with pytest.raises(ValueError, match="rho must be"):
        single_task(0.3, rho=0.0, c=1.0)


def test_theory_matches_the_interpolator_at_finite_d():
    d, c, lam, gamma = 500, 1e-2, -5e-3, 0.1
    alpha = 0.3
    errors = []
    for seed in range(4):
        pt, ft = make_tasks(d=d, alpha_pt=0.5, alpha_ft=alpha, rho_pt=0.2, rho_ft=0.1,
                            omega=0.5, seed=seed)
        beta = interpolate(ft.X, ft.y, ft_scale(pt.beta_star, c, lam, gamma)).beta
        errors.append(np.sum((beta - ft.beta_star) ** 2) / d)
    theory = ft_theory(alpha, rho_pt=0.2, rho_ft=0.1, omega=0.5, c=c, lam=lam, gamma=gamma)
    assert abs(np.mean(errors) - theory.error) < 0.1 * theory.error


def _documented_panel_rule(centres, width, nodes, even):
    """panel_quadrature's rule as its docstring states it, for one problem (centres (r,))."""
    T = 8.5
    lo = 0.0 if even else -T
    panels = 8 if even else 16
    ends = [lo + k * (T - lo) / panels for k in range(panels + 1)]
    ends += [min(max(m + width * o, lo), T) for m in centres
             for o in (-8.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 8.0)]
    ends.sort()
    x, v = np.polynomial.legendre.leggauss(nodes)
    t = np.concatenate([(a + b) / 2 + (b - a) / 2 * x for a, b in zip(ends, ends[1:])])
    w = np.concatenate([(b - a) / 2 * v for a, b in zip(ends, ends[1:])])
    return ends, t, w * norm.pdf(t) * (2.0 if even else 1.0)


@pytest.mark.parametrize("even", [False, True])
@pytest.mark.parametrize("nodes", [3, 5])
def test_panel_quadrature_is_the_documented_composite_gauss_legendre_rule(even, nodes):
    # two problems, two centres each: one far inside, one near (or beyond) an end of the range
    centres = np.array([[0.7, 8.2], [-0.2, 2.5]])
    width = np.array([0.05, 0.4])
    t, w = panel_quadrature(centres, width, nodes, even=even)
    r = centres.shape[1]
    assert t.shape == w.shape == (2, nodes * ((8 if even else 16) + 9 * r))
    for p in range(2):
        ends, t_ref, w_ref = _documented_panel_rule(centres[p], width[p], nodes, even)
        np.testing.assert_allclose(t[p], t_ref, rtol=0, atol=1e-13)
        np.testing.assert_allclose(w[p], w_ref, rtol=1e-12, atol=1e-300)
        # per panel: weights / density sum to the panel's length, and the rule is exact on
        # every polynomial of degree <= 2 nodes - 1
        plain = (w[p] / norm.pdf(t[p]) / (2.0 if even else 1.0)).reshape(-1, nodes)
        tp = t[p].reshape(-1, nodes)
        a, b = np.array(ends[:-1]), np.array(ends[1:])
        for k in range(2 * nodes):
            np.testing.assert_allclose((plain * tp**k).sum(1), (b**(k + 1) - a**(k + 1)) / (k + 1),
                                       rtol=1e-11, atol=1e-11 * 8.5**k)
        assert plain.sum() == pytest.approx(8.5 if even else 17.0, rel=1e-13)
        # the refined ends around each centre, clipped to the interval
        lo = 0.0 if even else -8.5
        for m in centres[p]:
            for o in (-8.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0, 8.0):
                assert np.min(np.abs(np.array(ends) - min(max(m + width[p] * o, lo), 8.5))) == 0
        # E[1] and E[Z²] of the standard normal, to the rule's accuracy on a Gaussian
        assert w[p].sum() == pytest.approx(1.0, rel=2e-6)
        assert (w[p] * t[p] ** 2).sum() == pytest.approx(1.0, rel=2e-6)


def test_denoiser_where_z_over_c_overflows_is_exact_and_silent():
    """|z|/c overflows at z = ±1e301, c = 1e-8 (the start takes the other, finite bound
    |z|/(c + g/2) = 20): no warning, and x solves x − z + (g/2) asinh(x/c) = 0 to round-off
    of |z|."""
    z = np.array([1e301, -1e301])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x, dx = denoiser(z, 1e300, 1e-8)
    assert np.all(np.abs(x - z + 0.5e300 * np.arcsinh(x / 1e-8)) <= 4e-16 * 1e301)
    assert x[0] == -x[1] and 2 < x[0] < 3
    assert np.all((dx > 0) & (dx <= 1))


def test_denoiser_broadcasts_elementwise():
    z = np.linspace(-4.0, 4.0, 12).reshape(3, 4)
    g = np.array([0.0, 0.5, 1.0, 2.0])
    c = np.array([[1e-3], [1.0], [10.0]])
    x, dx = denoiser(z, g, c)
    assert x.shape == dx.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            xi, dxi = denoiser(z[i, j], g[j], c[i, 0])
            assert x[i, j] == xi and dx[i, j] == dxi


def test_denoise_reports_a_newton_iteration_cut_short():
    message = ("the denoiser's Newton iteration did not converge in 1 steps (c in [1e-08, "
               "0.5], g up to 2)")
    with pytest.raises(RuntimeError, match="^" + re.escape(message) + "$"):
        denoise(np.array([1e3, 2.0]), np.array([1.0, 2.0]), np.array([1e-8, 0.5]), max_iter=1)
    x, _ = denoise(np.array([1e3, 2.0]), np.array([1.0, 2.0]), np.array([1e-8, 0.5]))
    np.testing.assert_allclose(x, denoiser(np.array([1e3, 2.0]), np.array([1.0, 2.0]),
                                           np.array([1e-8, 0.5]))[0], rtol=0, atol=0)


def test_panel_quadrature_of_a_grid_of_problems_is_the_rule_of_each():
    """width of shape (P, m) and centres (P, m, r), as moments passes them: each problem
    gets the rule of its own centres and width."""
    centres = np.array([[[0.7, -2.0], [1.5, 8.0]], [[-0.2, 0.1], [3.0, -5.0]]])
    width = np.array([[0.05, 0.4], [1.0, 0.02]])
    for even in (False, True):
        t, w = panel_quadrature(centres, width, 4, even=even)
        assert t.shape == w.shape == (2, 2, 4 * ((8 if even else 16) + 18))
        for p in range(2):
            for m in range(2):
                _, t_ref, w_ref = _documented_panel_rule(centres[p, m], width[p, m], 4, even)
                np.testing.assert_allclose(t[p, m], t_ref, rtol=0, atol=1e-13)
                np.testing.assert_allclose(w[p, m], w_ref, rtol=1e-12, atol=1e-300)


def test_denoiser_names_a_bad_argument_in_full():
    with pytest.raises(ValueError, match=r"^z must be finite, but 1 entries are NaN or "
                                         r"infinite$"):
        denoiser([1.0, np.nan], 1.0, 1.0)
    # each pair that does not broadcast, the third argument broadcasting with both
    for z, g, c in [(np.ones(3), np.ones(2), 1.0), (np.ones(3), 1.0, np.ones(2)),
                    (1.0, np.ones(3), np.ones(2))]:
        shapes = ", ".join(str(np.shape(a)) for a in (z, g, c))
        with pytest.raises(ValueError, match="^" + re.escape(
                f"z, g and c must broadcast together, got shapes {shapes}") + "$"):
            denoiser(z, g, c)


def test_gap_and_norm_of_the_state_evolution_by_hand():
    from dlnft.theory.fixed_point import ATOL, _gap, _norm
    theta = np.log([[2.0, 1.0], [0.5, 1.0]])              # s = 2 and 1/2
    alpha, noise = np.array([0.5, 0.25]), 0.25
    mse, second = np.array([1.0, 0.0]), 4.0
    # |α s² − σ₀² − E_g| / (E[β*²] + σ₀²): |2 − 0.25 − 1| / 4 and |0.0625 − 0.25| / 4
    np.testing.assert_allclose(_gap(theta, alpha, noise, mse, second), [0.1875, 0.046875])
    # the error equation holds relatively (|r0| <= tol) or absolutely (gap <= ATOL); the slope
    # equation relatively; the norm is scaled so that "converged" is norm <= tol
    tol = 1e-7
    r = np.array([[0.3, 1e-8], [0.3, 2e-7]])
    gap_theta = np.log([[np.sqrt((0.25 + 1.0 + 4 * ATOL / 2) / 0.5), 1.0],
                        [np.sqrt((0.25 + 0.0 + 4 * ATOL * 3) / 0.25), 1.0]])
    np.testing.assert_allclose(_gap(gap_theta, alpha, noise, mse, second), [ATOL / 2, 3 * ATOL],
                               rtol=1e-6)
    np.testing.assert_allclose(_norm(r, gap_theta, alpha, noise, mse, second, tol),
                               [tol / 2, 3 * tol], rtol=1e-6)
    r_small = np.array([[5e-8, 1e-8], [-5e-8, -2e-7]])
    np.testing.assert_allclose(_norm(r_small, gap_theta, alpha, noise, mse, second, tol),
                               [5e-8, 2e-7], rtol=1e-12)


def test_state_evolution_solves_the_equations_of_its_own_quadrature():
    """solve(nodes=2) returns (s, g) at which the moments of the 2-node rule meet both
    equations to tol (the default 5-node rule's moments differ by more)."""
    from dlnft.theory.fixed_point import moments
    groups = [Group(0.2, "point", 1.0, np.full((1, 1), 1e-2), np.ones(1)),
              Group(0.8, "point", 0.0, np.full((1, 1), 1e-2), np.ones(1))]
    fp = solve(np.array([0.5]), groups, noise=0.01, nodes=2)
    mse, slope = moments(fp.s, fp.g, groups, 2)
    assert abs(np.log((0.01 + mse[0]) / (0.5 * fp.s[0] ** 2))) <= 1e-7
    assert abs(np.log(slope[0] / 0.5)) <= 1e-7
    mse5, slope5 = moments(fp.s, fp.g, groups, 5)
    off = max(abs(np.log(slope5[0] / 0.5)),
              abs(np.log((0.01 + mse5[0]) / (0.5 * fp.s[0] ** 2))))
    assert off > 1e-6


def test_initial_g_is_the_documented_bisection():
    """_initial_g against a bisection written from its docstring: the bracket
    [1e-6 c_min, 1e6 (c_max + max s + 1)] over the groups with p > 0, 18 halvings in log g,
    with the quadrature it is given (1 node per panel, far from the default 5)."""
    from dlnft.theory.fixed_point import _initial_g, moments
    groups = [Group(0.3, "gauss", 1.0, np.array([[1e-3, 0.2], [0.5, 2.0]]),
                    np.array([0.4, 0.6])),
              Group(0.7, "point", 0.0, np.array([[0.01, 0.01], [3.0, 3.0]]), np.full(2, 0.5)),
              Group(0.0, "point", 1.0, np.array([[1e-12, 1e3], [1e-12, 1e3]]),
                    np.full(2, 0.5))]                                   # p = 0: ignored
    s, alpha = np.array([0.8, 1.5]), np.array([0.3, 0.6])
    got = _initial_g(s, alpha, groups, 1)
    lo = np.log(np.full(2, 1e-6 * 1e-3))
    hi = np.log(np.full(2, 1e6 * (3.0 + 1.5 + 1.0)))
    for _ in range(18):
        mid = (lo + hi) / 2
        above = moments(s, np.exp(mid), groups, 1)[1] > alpha
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    np.testing.assert_allclose(got, np.exp((lo + hi) / 2), rtol=1e-12)
    # and it is a start near the root of the mean slope (within the last bracket)
    assert np.all(moments(s, np.exp(lo), groups, 1)[1] > alpha)
    assert np.all(moments(s, np.exp(hi), groups, 1)[1] <= alpha)


@pytest.mark.parametrize("c", [1e-8, 1e-3, 1.0, 50.0])
def test_knee_is_where_the_denoiser_reaches_half_its_weight(c):
    from dlnft.theory.fixed_point import knee
    g = np.array([1e-4, 0.3, 2.0, 40.0])
    x, _ = denoiser(knee(g, np.full(4, c)), g, c)
    np.testing.assert_allclose(x, g / 2, rtol=1e-12)


def _two_groups(P):
    c = np.full((P, 1), 1e-2)
    return [Group(0.1, "gauss", 10.0, c, np.ones(1)), Group(0.9, "point", 0.0, c, np.ones(1))]


def test_non_convergence_after_the_continuation_is_named_in_full():
    alpha = np.linspace(0.3, 0.6, 7)
    with pytest.raises(FixedPointError) as info:
        solve(alpha, _two_groups(7), max_iter=1, ramp=1)
    message = str(info.value)
    pattern = (r"^state evolution did not converge at 7 of 7 points \(first: \[0 1 2 3 4\], "
               r"residual (\S+) > tol 1e-07, alpha = 0\.3\), even with continuation in alpha; "
               r"raise max_iter or ramp \(keywords of ft_theory and single_task\), or pass "
               r"on_failure='keep' to see which points fail$")
    residual = float(re.match(pattern, message).group(1))
    assert np.isfinite(residual) and residual > 1e-7


def test_cold_start_is_the_l2_answer_and_the_bisection_a_warm_start_at_the_root_takes_no_step():
    from dlnft.theory.fixed_point import _initial_g
    c = np.full((2, 1), 1e-2)
    groups = [Group(0.1, "gauss", 25.0, c, np.ones(1)), Group(0.9, "point", 0.0, c, np.ones(1))]
    alpha, noise, second = np.array([0.3, 0.5]), 0.1, 2.5          # E[β*²] = 0.1 · 25
    start = solve(alpha, groups, noise=noise, max_iter=0, ramp=0, on_failure="keep")
    s = np.sqrt(((1 - alpha) * second + noise) / alpha)   # the minimum-ℓ2 interpolator's
    np.testing.assert_allclose(start.s, s, rtol=1e-9)
    np.testing.assert_allclose(start.g, _initial_g(start.s, alpha, groups, 5), rtol=1e-12)
    assert start.iterations == 0 and not start.converged.any()
    fp = solve(alpha, groups, noise=noise)
    warm = solve(alpha, groups, noise=noise, init=(fp.s, fp.g))
    assert warm.iterations == 0 and warm.converged.all()
    np.testing.assert_array_equal(warm.s, fp.s)


def test_state_evolution_of_a_single_group():
    # one Gaussian group at a large c is the ℓ2 interpolator: without noise it keeps the
    # teacher's projection on the row space, E_g = (1 − α) v
    fp = solve(np.array([0.25, 0.5]), [Group(1.0, "gauss", 2.0, np.full((2, 1), 1e4),
                                             np.ones(1))])
    np.testing.assert_allclose(fp.error, [(1 - 0.25) * 2.0, (1 - 0.5) * 2.0], rtol=1e-6)


def test_state_evolution_newton_caps_its_step_and_halves_it_until_the_residual_falls():
    """One Newton step on (log s, log g) from a start e and 1/e away from the root: the step
    is capped at 2 in each coordinate (≤ e²), the capped step raises the residual's norm and
    is refused, the half step lowers it and is taken."""
    from dlnft.theory.fixed_point import _norm, _residual
    groups = _two_groups(1)
    alpha, tol = np.array([0.4]), 1e-7
    root = solve(alpha, groups)
    start = (root.s * np.e, root.g / np.e)
    one = solve(alpha, groups, init=start, max_iter=1, ramp=0, on_failure="keep")
    theta0 = np.log([[start[0][0], start[1][0]]])
    theta1 = np.log([[one.s[0], one.g[0]]])
    move = theta1 - theta0
    assert np.abs(move).max() == pytest.approx(1.0, rel=1e-12)     # half of the cap of 2

    def norm(theta):
        r, mse = _residual(theta, alpha, 0.0, groups, 5)
        return _norm(r, theta, alpha, 0.0, mse, 1.0, tol)[0]     # E[β*²] + σ₀² = 1
    assert norm(theta0 + 2 * move) >= norm(theta0) > norm(theta1) > tol
    assert one.iterations == 1 and not one.converged[0]


def _adaptive(f, breaks):
    """∫ f(t) φ(t) dt over [−12, 12] by QUADPACK, split at the given points."""
    from scipy.integrate import quad
    ends = [-12.0] + sorted(breaks) + [12.0]
    return sum(quad(lambda t: f(t) * norm.pdf(t), a, b, epsabs=0, epsrel=1e-13, limit=200)[0]
               for a, b in zip(ends, ends[1:]))


def test_moments_resolve_a_sharp_bend():
    """At c = 1e-8 ≪ g the denoiser bends within ~g/2 of ±knee: the refined panels must sit at
    the bends (z = ±knee, i.e. Z = (±knee − b)/s for a point teacher b, t = ±knee/sd for a
    Gaussian one) for the panel rule to match an adaptive quadrature to 2e-7 (refined panels
    centred at (knee + b)/s, or mirrored, miss by 7e-7 to 5e-4 here). A group of p = 0 listed
    first is skipped, not the end of the list."""
    from dlnft.theory.fixed_point import knee, moments
    c = 1e-8
    empty = Group(0.0, "point", 3.0, np.full((1, 1), c), np.ones(1))
    for b, s, g in [(1.0, 0.5, 0.1), (0.5, 0.3, 0.2)]:
        k = float(knee(np.array(g), np.array(c)))
        x = lambda t: denoiser(b + s * t, g, c)                    # noqa: E731
        err = _adaptive(lambda t: (x(t)[0] - b) ** 2, [(k - b) / s, (-k - b) / s])
        slope = _adaptive(lambda t: x(t)[1], [(k - b) / s, (-k - b) / s])
        m, d = moments(np.array([s]), np.array([g]),
                       [empty, Group(1.0, "point", b, np.full((1, 1), c), np.ones(1))])
        np.testing.assert_allclose([m[0], d[0]], [err, slope], rtol=2e-7)
    v, s, g = 0.2, 0.3, 0.2
    sd = np.sqrt(v + s * s)
    k = float(knee(np.array(g), np.array(c)))
    x = lambda t: denoiser(sd * t, g, c)                           # noqa: E731
    # E[(D − β*)²] with E[β* | z] = v z / sd²: E[D²] − 2 (v / sd²) E[D z] + v
    err = _adaptive(lambda t: x(t)[0] ** 2 - 2 * v / sd**2 * x(t)[0] * sd * t,
                    [-k / sd, k / sd]) + v
    slope = _adaptive(lambda t: x(t)[1], [-k / sd, k / sd])
    m, d = moments(np.array([s]), np.array([g]),
                   [empty, Group(1.0, "gauss", v, np.full((1, 1), c), np.ones(1))])
    np.testing.assert_allclose([m[0], d[0]], [err, slope], rtol=1e-7)
