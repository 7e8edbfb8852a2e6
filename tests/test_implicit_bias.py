"""Tests of dlnft.implicit_bias: the potential, the solver, the layer split and both FT rules."""
import re

import mpmath
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

import dlnft
from dlnft import implicit_bias as ib

mpmath.mp.dps = 60
C_RANGE = [1e-8, 1e-5, 1e-2, 1.0, 1e2, 1e4]
BETA_RANGE = [0.0, 1e-12, 1e-7, 1e-3, 0.3, 1.0, 7.0, 1e3]


def phi_exact(beta, c):
    b, c = mpmath.mpf(beta), mpmath.mpf(c)
    return b / 2 * mpmath.asinh(b / c) - (mpmath.sqrt(b * b + c * c) - c) / 2


def bregman_exact(beta, beta0, c):
    b, b0, c = mpmath.mpf(beta), mpmath.mpf(beta0), mpmath.mpf(c)
    return phi_exact(b, c) - phi_exact(b0, c) - mpmath.asinh(b0 / c) / 2 * (b - b0)


def rel_err(value, exact):
    return 0.0 if exact == 0 and value == 0 else float(abs((mpmath.mpf(value) - exact) / exact))


# --- the potential: accuracy over the whole range ---------------------------------------------

@pytest.mark.parametrize("c", C_RANGE)
def test_phi_and_phi_prime_are_accurate_over_the_range(c):
    betas = np.array([s * b for b in BETA_RANGE for s in (1, -1)])
    values, slopes = ib.phi(betas, c), ib.phi_prime(betas, c)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    for b, v, s in zip(betas, values, slopes):
        assert rel_err(v, phi_exact(b, c)) < 1e-14
        assert rel_err(s, mpmath.asinh(mpmath.mpf(b) / c) / 2) < 1e-14


def test_phi_limits_l2_and_l1():
    c = 1.0
    assert abs(ib.phi(1e-4, c) / (1e-8 / (4 * c)) - 1) < 1e-8         # β²/(4c), lazy
    b = 1e3   # rich: ½|β| (log(2|β|/c) − 1), up to O(c²/β²)
    assert abs(ib.phi(b, 1e-8) / (0.5 * b * (np.log(2 * b / 1e-8) - 1)) - 1) < 1e-12


@pytest.mark.parametrize("c", C_RANGE)
def test_bregman_is_accurate_near_and_far(c):
    pairs = [(b, b0) for b in (1e3, -1e3, 0.5, 1e-6, 0.0)
             for b0 in (b * (1 + 1e-9), b + 1e-9, -b, 0.0, 2.0)]
    beta, beta0 = np.array(pairs).T
    values = ib.bregman(beta, beta0, c)
    for b, b0, v in zip(beta, beta0, values):
        exact = bregman_exact(b, b0, c)
        if exact == 0:
            assert v == 0
        else:
            assert rel_err(v, exact) < 1e-12, (b, b0, c)


def test_bregman_from_zero_is_phi_and_broadcasts():
    beta, c = np.linspace(-5, 5, 11), np.array([[0.1], [3.0]])
    assert ib.bregman(beta, 0.0, c).shape == (2, 11)
    np.testing.assert_allclose(ib.bregman(beta, 0.0, c), ib.phi(beta, c), rtol=1e-14)


# --- the solver ---------------------------------------------------------------------------------

def objective(beta, beta0, c):
    return float(np.sum(ib.bregman(beta, beta0, c)))


@st.composite
def problems(draw):
    d = draw(st.integers(2, 7))
    n = draw(st.integers(1, d - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.standard_normal((n, d))
    c = 10.0 ** rng.uniform(-1.5, 1, size=d)
    beta0 = rng.standard_normal(d) * draw(st.sampled_from([0.0, 1.0]))
    return X, rng.standard_normal(n), c, beta0


@settings(max_examples=30, deadline=None, derandomize=True)
@given(problems())
def test_solver_beats_a_generic_constrained_minimizer(problem):
    X, y, c, beta0 = problem
    sol = ib.solve(X, y, c, beta0)
    assert np.max(np.abs(X @ sol.beta - y)) <= 1e-10 * max(1, np.abs(y).max())
    start = np.linalg.lstsq(X, y - X @ beta0, rcond=None)[0] + beta0
    ref = scipy.optimize.minimize(
        lambda b: objective(b, beta0, c), start, method="SLSQP",
        jac=lambda b: ib.phi_prime(b, c) - ib.phi_prime(beta0, c),
        constraints=[dict(type="eq", fun=lambda b: X @ b - y, jac=lambda b: X)],
        options=dict(ftol=1e-14, maxiter=500))
    assert ref.success
    # optimal: never worse than the generic optimizer (up to round-off relative to the
    # objective: SLSQP meets the constraint to ~1e-10, which can lower its value by that much),
    # and the same point
    ours, theirs = objective(sol.beta, beta0, c), objective(ref.x, beta0, c)
    assert ours <= theirs + 1e-9 * max(1.0, abs(theirs))
    assert np.max(np.abs(sol.beta - ref.x)) < 1e-4 * max(1, np.abs(ref.x).max())
    # the dual certificate: asinh(β/c) − asinh(β0/c) = 2 Xᵀν
    lhs = np.arcsinh(sol.beta / c) - np.arcsinh(beta0 / c)
    assert np.max(np.abs(lhs - 2 * X.T @ sol.nu)) < 1e-8 * max(1, np.abs(lhs).max())


@pytest.mark.parametrize("c", [1e-8, 1e-3, 1.0, 1e4])
def test_solver_reaches_1e_10_at_d_5000(c):
    rng = np.random.default_rng(1)
    d, n = 5000, 100
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    beta_star = np.zeros(d)
    beta_star[:10] = rng.standard_normal(10) * 30
    sol = ib.solve(X, X @ beta_star, c)
    assert sol.residual <= 1e-10 * max(1, np.abs(X @ beta_star).max())
    assert np.all(np.isfinite(sol.beta))


def test_rich_and_lazy_ends():
    rng = np.random.default_rng(2)
    d, n = 60, 30
    X = rng.standard_normal((n, d))
    beta_star = np.zeros(d)
    beta_star[:3] = [1.0, -2.0, 0.5]
    y = X @ beta_star
    # c → ∞: the minimum-ℓ2-norm interpolator; c → 0: approaches the sparse one
    np.testing.assert_allclose(ib.solve(X, y, 1e4).beta, np.linalg.pinv(X) @ y, atol=1e-7)
    rich = ib.solve(X, y, 1e-12).beta
    assert np.abs(rich - beta_star).max() < 0.05


def test_warm_start_saves_iterations():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 200)) / np.sqrt(200)
    beta_star = np.zeros(200)
    beta_star[:8] = 1.0
    y = X @ beta_star
    cold = ib.solve(X, y, 1e-4)
    near = ib.solve(X, y, 1.2e-4)
    warm = ib.solve(X, y, 1.2e-4, nu0=cold.nu)
    assert warm.n_iter < near.n_iter
    np.testing.assert_allclose(warm.beta, near.beta, atol=1e-9)
    assert ib.solve(X, y, 1e-4, nu0=cold.nu).n_iter == 0


def test_redundant_rows_are_fine_and_contradictory_ones_refused():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 6))
    y = rng.standard_normal(3)
    X2, y2 = np.vstack([X, X[0] + X[1]]), np.append(y, y[0] + y[1])     # rank 3, consistent
    np.testing.assert_allclose(ib.solve(X2, y2, 0.5).beta, ib.solve(X, y, 0.5).beta, atol=1e-10)
    with pytest.raises(ValueError, match="X beta = y has no solution.*rank 3"):
        ib.solve(X2, y2 + np.array([0, 0, 0, 1e-3]), 0.5)
    with pytest.raises(ValueError, match="no solution"):              # n > d, generic y
        ib.solve(rng.standard_normal((8, 4)), rng.standard_normal(8), 1.0)


@pytest.mark.parametrize("eps", [1e-7, 3e-8])
def test_ill_conditioned_full_rank_x_is_solved(eps):
    """One row = another + eps·noise: condition number ~1e7, full rank, so X beta = y has a
    solution; solve finds the minimizer (stationarity: asinh(β/c) in X's row space)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 10)) / np.sqrt(10)
    X[4] = X[0] + eps * rng.standard_normal(10)
    y = X @ rng.standard_normal(10)
    assert np.linalg.cond(X) > 5e6
    for c in (1e-3, 1.0):
        sol = ib.solve(X, y, c)
        assert np.max(np.abs(X @ sol.beta - y)) <= 1e-10 * max(1, np.max(np.abs(y)))
        u = np.arcsinh(sol.beta / c)
        off_rows = u - X.T @ np.linalg.lstsq(X.T, u, rcond=None)[0]
        assert np.max(np.abs(off_rows)) <= 1e-8 * np.max(np.abs(u))
    X[4] = X[0]
    with pytest.raises(ValueError, match="y is not in the range of X .* numerical rank 4"):
        ib.solve(X, y, 1.0)


def test_full_rank_x_takes_the_cholesky_basis_a_repeated_row_the_svd_basis(monkeypatch):
    """Full-rank X takes the Cholesky basis (L⁻¹ X, through LAPACK's trtri), X with a repeated
    row the SVD basis: both give orthonormal rows, inverse maps between the duals, and the same
    interpolator."""
    calls = []

    def spy(name, f):
        def counted(*args, **kwargs):
            calls.append(name)
            return f(*args, **kwargs)
        return counted
    monkeypatch.setattr(ib, "_trtri", spy("cholesky", ib._trtri))
    monkeypatch.setattr(ib.np.linalg, "svd", spy("svd", ib.np.linalg.svd))
    rng = np.random.default_rng(7)
    X = rng.standard_normal((12, 30))
    y = X @ (rng.standard_normal(30) * (rng.random(30) < 0.2))
    X2, y2 = np.vstack([X, X[3]]), np.append(y, y[3])
    for design, target, basis in ((X, y, "cholesky"), (X2, y2, "svd")):
        calls.clear()
        A, b, to_nu, from_nu = ib._orthonormal_rows(design, target, 1e-10, *design.shape)
        assert calls == [basis]
        np.testing.assert_allclose(A @ A.T, np.eye(12), atol=1e-12)
        mu = rng.standard_normal(12)
        np.testing.assert_allclose(A.T @ mu, design.T @ to_nu(mu), atol=1e-12)
        np.testing.assert_allclose(from_nu(to_nu(mu)), mu, atol=1e-12)
    for c in (1e-3, 1.0, 1e3):
        calls.clear()
        full = ib.solve(X, y, c)
        assert calls == ["cholesky"]
        calls.clear()
        redundant = ib.solve(X2, y2, c)
        assert calls == ["svd"]
        np.testing.assert_allclose(redundant.beta, full.beta, atol=1e-9 * max(1, c))
        assert ib.solve(X2, y2, c, nu0=redundant.nu).n_iter == 0
        assert ib.solve(X, y, c, nu0=full.nu).n_iter == 0


def test_zero_scale_freezes_a_coordinate():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2, 5))
    y = rng.standard_normal(2)
    c = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    beta0 = np.array([0.0, 0.7, 0.0, 0.0, 0.0])
    sol = ib.solve(X, y, c, beta0)
    assert sol.beta[1] == 0.7 and sol.beta[4] == 0.0
    np.testing.assert_allclose(X @ sol.beta, y, atol=1e-10)
    with pytest.raises(ValueError, match="no solution"):
        ib.solve(X, y, np.array([1.0, 0, 0, 0, 0]))


def test_solver_error_when_out_of_iterations():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5, 20))
    with pytest.raises(ib.SolverError, match="max_iter = 1 .*condition number"):
        ib.solve(X, X @ np.r_[10.0, np.zeros(19)], 1e-6, max_iter=1)


# --- against gradient descent -------------------------------------------------------------------

@pytest.fixture(scope="module")
def pt_ft():
    return dlnft.make_tasks(d=30, alpha_pt=0.5, alpha_ft=0.3, rho_pt=0.2, rho_ft=0.1,
                            omega="subset", seed=1)


def test_gd_from_any_lam_reaches_the_solver(pt_ft):
    """λ does not enter (R2); GD's O(η) gap to gradient flow cancels in 2β(η/2) − β(η)."""
    task = pt_ft[0]
    c, d = 1.0, task.d
    lams = c * np.array([-1.0, 0.0, 0.5])
    net = dlnft.DiagonalNet.from_scales(c, np.repeat(lams, 2)[:, None], shape=(6, d))
    lr = np.tile([1.0, 0.5], 3)
    run = dlnft.gd(net, task.X, task.y, lr=lr, steps=20_000, tol=1e-16)
    beta = run.net.beta().numpy()
    target = ib.solve(task.X, task.y, c).beta
    assert np.abs(beta - target).max() < 5e-3
    assert np.abs(2 * beta[1::2] - beta[0::2] - target).max() < 2e-4
    # R3: the weights GD converged to are the layer split of the predicted β
    for m in (1, 3, 5):
        split = ib.layer_split(target, c, lams[m // 2])
        got = [t[m].numpy() for t in run.net.weights()]
        assert max(np.abs(a - b).max() for a, b in zip(got, split)) < 3e-3


@pytest.mark.parametrize("rule", ["merged", "separate"])
def test_predict_finetune_matches_gd(pt_ft, rule):
    pt, ft = pt_ft
    c, lam, gamma = 1.0, -0.8, 0.3
    net = dlnft.DiagonalNet.from_scales(c, lam, shape=(2, pt.d))
    lr = np.array([1.0, 0.5])
    run = dlnft.pretrain_finetune(net, pt, ft, gamma=gamma, lr_pt=lr, lr_ft=lr, steps_pt=20_000,
                                  steps_ft=20_000, rule=rule, tol=1e-16)
    pred = ib.predict_finetune(pt, ft, c=c, lam=lam, gamma=gamma, rule=rule)
    beta = run.ft.net.beta().numpy()
    assert np.abs(beta - pred.beta_ft).max() < 5e-3
    assert np.abs(2 * beta[1] - beta[0] - pred.beta_ft).max() < 3e-4
    np.testing.assert_allclose(ft.X @ pred.beta_ft, ft.y, atol=1e-9)


# --- layer split and fine-tuning scales -----------------------------------------------------------

@pytest.mark.parametrize("c", C_RANGE)
@pytest.mark.parametrize("lam_ratio", [-1.0, -0.999999, -0.5, 0.0, 1e-9, 0.5, 1.0])
def test_layer_split_keeps_beta_and_the_conserved_scales(c, lam_ratio):
    beta = np.array([s * b for b in BETA_RANGE for s in (1, -1)])
    lam = lam_ratio * c
    wp, wm, vp, vm = ib.layer_split(beta, c, lam)
    size = np.hypot(beta, c)   # the scale of every weight²
    assert np.abs(wp * vp - wm * vm - beta).max() <= 1e-13 * size.max()
    assert np.abs(wp * wm + vp * vm - c).max() <= 1e-13 * size.max()
    for w, v in ((wp, vp), (wm, vm)):
        assert np.all(np.abs((w - v) * (w + v) - lam) <= 1e-13 * size)
    np.testing.assert_allclose(wp + wm, ib.merged_first_layer(beta, c, lam), rtol=1e-12,
                               atol=1e-13 * np.sqrt(size.max()))


@pytest.mark.parametrize("lam", [0.4, -0.4])
def test_layer_split_is_the_papers_theta_form(lam):
    c, beta = 0.5, np.linspace(-3, 3, 13)
    theta_p, theta_m = (0.5 * (np.arccosh(c / abs(lam)) + s * np.arcsinh(beta / c)) for s in (1, -1))
    r = np.sqrt(abs(lam))
    big, small = (np.cosh, np.sinh) if lam > 0 else (np.sinh, np.cosh)
    expected = (r * big(theta_p), r * big(theta_m), r * small(theta_p), r * small(theta_m))
    for got, exp in zip(ib.layer_split(beta, c, lam), expected):
        np.testing.assert_allclose(got, exp, rtol=1e-12, atol=1e-14)


def test_ft_scale_is_the_merged_layer_and_the_merged_mirror_scale():
    beta = np.array([-1e3, -1.0, 0.0, 1e-6, 2.0, 1e3])
    c, lam, gamma = 1e-3, -0.9e-3, 0.7
    c_ft = ib.ft_scale(beta, c, lam, gamma)
    np.testing.assert_allclose(c_ft, ib.merged_first_layer(beta, c, lam) ** 2 + gamma**2 / 2,
                               rtol=1e-14)
    m = ib.merged_first_layer(beta, c, lam)
    k, beta0 = ib.mirror_scale(m, m, gamma / np.sqrt(2), gamma / np.sqrt(2))
    np.testing.assert_allclose(k, c_ft, rtol=1e-14)
    assert np.all(beta0 == 0)
    # PT features (|β| ≫ c) get ≈ (1 + λ/c)|β| + γ²/2, unused ones 2(c + λ) + γ²/2
    assert abs(c_ft[0] / ((1 + lam / c) * 1e3 + gamma**2 / 2) - 1) < 1e-5
    assert abs(c_ft[2] - (2 * (c + lam) + gamma**2 / 2)) < 1e-15


def test_mirror_scale_follows_the_closed_form_trajectory():
    rng = np.random.default_rng(7)
    wp, wm, vp, vm = rng.standard_normal((4, 50))
    k, b = ib.mirror_scale(wp, wm, vp, vm)
    K = (wp**2 + vp**2 + wm**2 + vm**2) / 2
    np.testing.assert_allclose(k, np.sqrt(K**2 - b**2), rtol=1e-10)
    for tau in (-0.7, 0.0, 0.3):   # the weights after the flow has integrated −∫g dt = τ
        Wp, Vp = wp * np.cosh(tau) + vp * np.sinh(tau), vp * np.cosh(tau) + wp * np.sinh(tau)
        Wm, Vm = wm * np.cosh(tau) - vm * np.sinh(tau), vm * np.cosh(tau) - wm * np.sinh(tau)
        beta = Wp * Vp - Wm * Vm
        np.testing.assert_allclose(np.arcsinh(beta / k) - np.arcsinh(b / k), 2 * tau, atol=1e-10)


def test_edge_case_lam_minus_c_and_gamma_zero(pt_ft):
    pt, ft = pt_ft
    beta = np.array([-2.0, 0.0, 0.5])
    # λ = −c: the first layers are ±√c sinh(asinh(β/c)/2), the merged layer is zero
    wp, wm, vp, vm = ib.layer_split(beta, 1.0, -1.0)
    np.testing.assert_allclose(wp, -wm, atol=1e-15)
    np.testing.assert_allclose(wp, np.sinh(np.arcsinh(beta) / 2), rtol=1e-14)
    assert np.all(ib.ft_scale(beta, 1.0, -1.0, 0.0) == 0)
    assert np.allclose(ib.ft_scale(beta, 1.0, -1.0, 0.4), 0.08)
    # separate rule with γ = 0: k = (sqrt(β² + c²) − c)/2 from β0 = 0
    k, b0 = ib.separate_scale(beta, 1.0, -1.0, 0.0)
    np.testing.assert_allclose(k, (np.hypot(beta, 1.0) - 1.0) / 2, atol=1e-15)
    assert np.all(b0 == 0)
    # γ = 0 alone (λ > −c) is fine: c_FT = (c + λ)(1 + sqrt(1 + (β/c)²))
    np.testing.assert_allclose(ib.ft_scale(beta, 1.0, 0.0, 0.0), 1 + np.hypot(1, beta))
    # merged rule at λ = −c, γ = 0: fine-tuning cannot move, and GD agrees
    pred = ib.predict_finetune(pt, ft, c=0.5, lam=-0.5, gamma=0.0)
    assert np.all(pred.scale == 0) and np.all(pred.beta_ft == 0)
    np.testing.assert_array_equal(pred.beta0, np.zeros(pt.d))
    np.testing.assert_allclose(pred.beta_pt, ib.solve(pt.X, pt.y, 0.5).beta, rtol=1e-12,
                               atol=1e-15)
    net = dlnft.DiagonalNet.from_scales(0.5, -0.5, shape=(1, pt.d))
    run = dlnft.pretrain_finetune(net, pt, ft, gamma=0.0, lr_pt=1.0, lr_ft=1.0, steps_pt=2000,
                                  steps_ft=500)
    assert np.abs(run.ft.net.beta().numpy()).max() < 1e-12


# --- validation ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: ib.phi(1.0, 0.0), "c must be > 0"),
    (lambda: ib.phi(np.nan, 1.0), "beta must be finite"),
    (lambda: ib.phi_prime(1.0, -1.0), "c must be > 0"),
    (lambda: ib.bregman([1.0, 2.0], [1.0, 2.0, 3.0], 1.0), "must broadcast"),
    (lambda: ib.ft_scale(1.0, 1.0, 1.5, 0.0), r"\|lam\| <= c"),
    (lambda: ib.ft_scale(1.0, 1.0, 0.0, -1.0), "gamma must be >= 0"),
    (lambda: ib.layer_split(1.0, 1.0, -2.0), r"\|lam\| <= c"),
    (lambda: ib.merged_first_layer(1.0, 0.0, 0.0), "c must be > 0"),
    (lambda: ib.separate_scale(1.0, 1.0, 0.0, -0.1), "gamma must be >= 0"),
    (lambda: ib.mirror_scale([1.0, 2.0], 1.0, 1.0, [1.0, 2.0, 3.0]), "must broadcast"),
    (lambda: ib.solve(np.ones(3), np.ones(3), 1.0), "X must have 2 dimensions"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(3), 1.0), "y has 3 targets"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), np.ones(4)), "c must be a number or have"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), -1.0), "c must be >= 0"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), 1.0, [1.0, 2.0]), "beta0 must be"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), 1.0, tol=0.0), "tol must be > 0"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), 1.0, max_iter=0), "max_iter must be >= 1"),
    (lambda: ib.solve(np.ones((2, 3)), np.ones(2), 1.0, nu0=np.ones(3)), "nu0 must have"),
    (lambda: ib.predict_finetune((np.ones((1, 2)), np.ones(1)), (np.ones((1, 2)), np.ones(1)),
                                 c=1.0, lam=0.0, gamma=0.0, rule="both"), "rule must be one of"),
    (lambda: ib.predict_finetune((np.ones((1, 2)), np.ones(1)), (np.ones((1, 3)), np.ones(1)),
                                 c=1.0, lam=0.0, gamma=0.0), "task_ft has 3 features"),
    (lambda: ib.predict_finetune((np.ones((1, 2)), np.ones(1)), (np.ones((1, 2)), np.ones(1)),
                                 c=1.0, lam=2.0, gamma=0.0), r"\|lam\| <= c"),
    (lambda: ib.predict_finetune((np.ones((2, 3)), np.ones(2)), (np.ones((2, 3)), np.ones(4)),
                                 c=1.0, lam=0.0, gamma=0.0),
     "task_ft: y has 4 targets but X has n = 2 rows"),
    (lambda: ib.predict_finetune((np.ones(3), np.ones(3)), (np.ones((2, 3)), np.ones(2)),
                                 c=1.0, lam=0.0, gamma=0.0), r"task_pt: X must have 2 dimensions"),
])
def test_validation_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="beta must be a numeric array"):
        ib.phi("x", 1.0)
    with pytest.raises(TypeError, match="task_pt must be a Task or an"):
        ib.predict_finetune(None, (np.ones((1, 2)), np.ones(1)), c=1.0, lam=0.0, gamma=0.0)


# --- every argument named in full: a message names the argument that is wrong -------------------

_NAN_CASES = [(ib.phi, dict(beta=1.0, c=1.0)), (ib.phi_prime, dict(beta=1.0, c=1.0)),
              (ib.ft_scale, dict(beta_pt=1.0, c=1.0, lam=0.0, gamma=0.5)),
              (ib.bregman, dict(beta=1.0, beta0=0.5, c=1.0)),
              (ib.layer_split, dict(beta=1.0, c=1.0, lam=0.0)),
              (ib.merged_first_layer, dict(beta=1.0, c=1.0, lam=0.0)),
              (ib.mirror_scale, dict(w_plus=1.0, w_minus=0.5, v_plus=0.5, v_minus=1.0)),
              (ib.separate_scale, dict(beta_pt=1.0, c=1.0, lam=0.0, gamma=0.5))]


@pytest.mark.parametrize("fn, args", _NAN_CASES, ids=[f.__name__ for f, _ in _NAN_CASES])
def test_a_non_finite_argument_is_named_in_full(fn, args):
    for name in args:
        bad = args | {name: np.array([0.5, np.nan, np.inf])}
        with pytest.raises(ValueError, match=f"^{name} must be finite, but 2 entries are NaN or "
                                             f"infinite$"):
            fn(**bad)


@pytest.mark.parametrize("fn, args", [case for case in _NAN_CASES if "c" in case[1]],
                         ids=[f.__name__ for f, a in _NAN_CASES if "c" in a])
def test_scales_out_of_range_are_named_in_full(fn, args):
    with pytest.raises(ValueError, match=r"^c must be > 0\.0 everywhere, got a minimum of "
                                         r"-0\.5$"):
        fn(**(args | {"c": [1.0, -0.5]}))
    if "gamma" in args:
        with pytest.raises(ValueError, match=r"^gamma must be >= 0\.0 everywhere, got a "
                                             r"minimum of -0\.1$"):
            fn(**(args | {"gamma": -0.1}))


def test_merged_first_layer_at_lam_just_below_minus_c_is_zero():
    """|λ| may exceed c by round-off (1e-12 of c): c + λ < 0 there counts as 0, not NaN."""
    out = ib.merged_first_layer([0.0, 3.0], 1.0, -1.0 - 5e-13)
    np.testing.assert_array_equal(out, [0.0, 0.0])


def test_predict_finetune_names_a_bad_scale_in_full():
    pair = (np.eye(2), np.ones(2))
    for c, minimum in ((0.0, "0.0"), ([1.0, -2.0], "-2.0")):
        with pytest.raises(ValueError, match=f"^c must be > 0\\.0 everywhere, got a minimum of "
                                             f"{minimum}$"):
            ib.predict_finetune(pair, pair, c=c, lam=0.0, gamma=0.0)
    with pytest.raises(ValueError, match=r"^gamma must be >= 0\.0, got -1\.0$"):
        ib.predict_finetune(pair, pair, c=1.0, lam=0.0, gamma=-1.0)
    with pytest.raises(ValueError, match=r"^tol must be > 0\.0, got 0\.0$"):
        ib.predict_finetune(pair, pair, c=1.0, lam=0.0, gamma=0.0, tol=0.0)
    with pytest.raises(ValueError, match=r"^lam must be a number or have d = 2 entries, got 3$"):
        ib.predict_finetune(pair, pair, c=1.0, lam=[0.0] * 3, gamma=0.0)


def test_expm1_minus_x_overflows_to_inf_without_a_warning():
    """bregman's h(δ) = e^δ − 1 − δ is inf above δ ≈ 709, silently (no RuntimeWarning that a
    caller running with warnings as errors would see)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = ib._expm1_minus_x(np.array([-800.0, 800.0]))
        assert h[0] == 799.0 and h[1] == np.inf


@pytest.mark.parametrize("c", [1e-3, 1.0, 7.0])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_layer_split_where_lam_exceeds_c_by_round_off(c, sign):
    """|λ| = c (1 + 5e-13) is accepted (round-off of computing λ from c): c² − λ² and the
    squared weight that vanishes are then slightly negative and count as 0, never NaN. β is
    kept to the square root of that round-off (sqrt(5e-13) c), as at |λ| = c."""
    beta = np.array([-3.0, -1e-3, 0.0, 1e-3, 0.5, 3.0])
    lam = sign * c * (1 + 5e-13)
    w_plus, w_minus, v_plus, v_minus = ib.layer_split(beta, c, lam)
    for x in (w_plus, w_minus, v_plus, v_minus):
        assert np.all(np.isfinite(x))
    np.testing.assert_allclose(w_plus * v_plus - w_minus * v_minus, beta, rtol=1e-9,
                               atol=1e-6 * c)
    vanishing = (v_plus, v_minus) if sign > 0 else (w_plus, w_minus)
    assert vanishing[0][2] == 0.0 and vanishing[1][2] == 0.0       # β = 0: all in one layer


def test_bregman_evaluates_both_branches_without_a_warning():
    """np.where evaluates both of bregman's forms everywhere: 0/0 at β = β0 = 0, h − β = 0 at
    β ≫ c and a division by β0 = 0 must stay silent, and the values right."""
    import warnings

    beta = np.array([0.0, 1e10, 1.0, -1.0, 0.0, 2.0])
    beta0 = np.array([0.0, 2e10, 0.0, 0.0, 3.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = ib.bregman(beta, beta0, 1e-8)
        d1 = ib.bregman(1.0, 0.0, 1.0)
    assert d[0] == 0.0 and d[5] == 0.0
    assert np.all(np.isfinite(d)) and np.all(d[1:5] > 0)
    for i in (2, 3, 4):
        assert rel_err(d[i], bregman_exact(beta[i], beta0[i], 1e-8)) < 1e-13
    assert rel_err(d1, bregman_exact(1.0, 0.0, 1.0)) < 1e-14


def _small_problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4, 12))
    return X, X @ rng.normal(size=12) * 0.05


def test_solve_names_a_bad_warm_start_in_full():
    X, y = _small_problem()
    with pytest.raises(ValueError, match=r"^nu0 must have 1 dimensions, got shape \(4, 1\)$"):
        ib.solve(X, y, 1.0, nu0=np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"^nu0 must be finite, but 1 entries are NaN or "
                                         r"infinite$"):
        ib.solve(X, y, 1.0, nu0=np.array([0.0, np.nan, 0.0, 0.0]))


def test_solve_takes_exactly_max_iter_steps_and_stops_at_tol_inclusive():
    X, y = _small_problem()
    assert np.abs(y).max() < 1                     # tol · max(1, max|y|) = tol
    ref = ib.solve(X, y, 0.01)
    k = ref.n_iter
    assert k >= 3
    assert ib.solve(X, y, 0.01, max_iter=k).n_iter == k
    with pytest.raises(ib.SolverError, match=f"in max_iter = {k - 1} steps"):
        ib.solve(X, y, 0.01, max_iter=k - 1)
    # a residual exactly at the tolerance is accepted: the same step count, the same point
    at = ib.solve(X, y, 0.01, tol=ref.residual)
    assert at.n_iter == k and at.residual == ref.residual
    np.testing.assert_array_equal(at.beta, ref.beta)


def test_solver_error_reports_the_tolerance_and_the_condition_number():
    X = np.diag([1.0, 2.0])                        # condition number 2
    for scale, tol_text in ((1e3, "0.001"), (0.5, "1e-06")):
        y = np.array([scale, -scale])
        with pytest.raises(ib.SolverError, match=(
                r"^dual Newton did not reach max \|X beta - y\| <= " + re.escape(tol_text)
                + r" in max_iter = 1 steps \(last \S+; X has condition number 2 on the "
                r"coordinates with c > 0\); raise max_iter or tol$")):
            ib.solve(X, y, 1e-3, tol=1e-6, max_iter=1)


def test_an_unreachable_target_is_refused_with_the_sizes():
    X = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"^X beta = y has no solution: y is not in the range "
                                         r"of X \(n = 2, d = 3, numerical rank 1 on the "):
        ib.solve(X, np.array([1.0, 2.0]), 1.0)
    message = ("X beta = y has no solution: y is not in the range of X (n = 2, d = 3, "
               "numerical rank 0 on the coordinates with c > 0, singular values up to 0, the "
               "round-off of the largest, counting as 0); the least-squares residual "
               "max |X beta - y| = 2 exceeds tol * max(1, max|y|) = 2e-10")
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        ib.solve(X, np.array([1.0, 2.0]), 0.0)             # no coordinate can move
    frozen = ib.solve(X, np.array([1.0, 1.0]), 0.0, beta0=[0.5, 0.5, 3.0])
    np.testing.assert_array_equal(frozen.beta, [0.5, 0.5, 3.0])


def test_newton_converges_in_few_steps_from_the_rich_to_the_lazy_end():
    """The dual Newton iteration with its line search reaches tol = 1e-10 in a handful of
    steps on a sparse-teacher problem (n = 30, d = 120) at every scale, and in at most 3
    from the dual of a nearby problem: a damped, mis-scaled or mis-searched step shows here
    as more steps long before it shows in β."""
    rng = np.random.default_rng(11)
    n, d = 30, 120
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    teacher = np.zeros(d)
    teacher[:6] = rng.normal(size=6) * 3
    y = X @ teacher
    for c, steps in ((1e-8, 15), (1e-4, 9), (1e-2, 8), (1.0, 5), (1e2, 2)):
        sol = ib.solve(X, y, c)
        assert sol.n_iter <= steps and sol.residual <= 1e-10 * max(1.0, np.abs(y).max())
        warm = ib.solve(X, 1.01 * y, c, nu0=sol.nu)
        assert warm.n_iter <= 3
        np.testing.assert_allclose(warm.beta, ib.solve(X, 1.01 * y, c).beta, rtol=1e-6,
                                   atol=1e-9)


def test_design_and_scale_shapes_are_named_in_full():
    X, y = _small_problem()
    with pytest.raises(ValueError, match=r"^y must have 1 dimensions, got shape \(4, 1\)$"):
        ib.solve(X, y[:, None], 1.0)
    with pytest.raises(ValueError, match=r"^c must have 0 or 1 dimensions, got shape "
                                         r"\(1, 12\)$"):
        ib.solve(X, y, np.ones((1, 12)))


def test_shapes_that_do_not_broadcast_are_listed_in_full():
    message = ("beta, beta0, c must broadcast together, got shapes {'beta': (2,), "
               "'beta0': (3,), 'c': ()}")
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        ib.bregman([1.0, 2.0], [1.0, 2.0, 3.0], 1.0)


# --- the damped Newton step: direction, step length, fallback, failure ------------------------

def _reference_newton_step(A, b, c, u, mu):
    """The step :func:`ib._newton_step` documents, computed independently: the Newton
    direction from the whole Hessian H = A diag(2c cosh u) Aᵀ by a pseudo-inverse (the
    minimum-norm solution when H is singular), then the trial lengths t = t0 2^-j, j < 80,
    t0 = min(1, 20 / max |2AᵀΔ|), with F and its gradient along the line in 60-digit
    arithmetic. Returns (j, the new μ, the acceptance margins of the trials up to j)."""
    mp = mpmath.mpf
    beta = c * np.sinh(u)
    g = A @ beta - b
    H = (A * (2.0 * c * np.cosh(u))) @ A.T
    direction = -np.linalg.pinv(H) @ g
    s = 2.0 * (A.T @ direction)
    t0 = min(1.0, 20.0 / float(np.abs(s).max()))
    slope = mpmath.fsum(mp(x) * mp(y) for x, y in zip(g, direction))
    b_dir = mpmath.fsum(mp(x) * mp(y) for x, y in zip(b, direction))
    f0 = mpmath.fsum(mp(ci) / 2 * mpmath.cosh(mp(ui)) for ci, ui in zip(c, u))

    def change(t):          # F(μ + tΔ) − F(μ)
        return mpmath.fsum(mp(ci) / 2 * mpmath.cosh(mp(ui) + t * mp(si))
                           for ci, ui, si in zip(c, u, s)) - f0 - t * b_dir

    def gnorm(t):           # |∇F(μ + tΔ)|
        beta_t = [mp(ci) * mpmath.sinh(mp(ui) + t * mp(si)) for ci, ui, si in zip(c, u, s)]
        rows = [mpmath.fsum(mp(a) * x for a, x in zip(row, beta_t)) - mp(bj)
                for row, bj in zip(A, b)]
        return mpmath.sqrt(mpmath.fsum(r * r for r in rows))

    g0 = gnorm(0)
    margins = []
    for j in range(80):
        t = mp(t0) / 2**j
        armijo = 1e-4 * t * slope - change(t)          # >= 0: Armijo holds
        decrease = (1 - 1e-4 * t) * g0 - gnorm(t)      # >= 0: the gradient shrank enough
        margins.append((armijo / (abs(t * slope) + 1e-300), decrease / (g0 + 1e-300)))
        if armijo >= 0 or decrease >= 0:
            return j, mu + float(t) * direction, margins
    raise AssertionError("the reference line search failed")


def _one_row(value):
    return np.array([[value]])


# (A, b, c, u, mu, the trial that is accepted): every branch of the step's documented rule
NEWTON_CASES = {
    # β = 0 to b = 1 at c = 1e-8: Δu = 1e8 at t = 1, so t0 = 2e-7 caps the change of u at 20
    "cap": (_one_row(1.0), np.array([1.0]), np.array([1e-8]), np.zeros(1), np.zeros(1), 0),
    # Δu = 10 overshoots: F rises at t = 1 and 1/2 (and so does |∇F|), t = 1/4 is accepted
    "far": (_one_row(1.0), np.array([10.0]), np.array([1.0]), np.zeros(1), np.zeros(1), 2),
    # Δu = 2.9828: F falls at t = 1 by 1.3e-4, under the 1e-4 |t ∇F·Δ| = 4.4e-4 asked for
    "small decrease": (_one_row(1.0), np.array([2.9828]), np.array([1.0]), np.zeros(1),
                       np.zeros(1), 1),
    # Δu = 2.5: Armijo accepts t = 1 although |∇F| grows from 2.5 to 3.55
    "overshoot": (_one_row(1.0), np.array([2.5]), np.array([1.0]), np.zeros(1),
                  np.zeros(1), 0),
    # from u = 3 (above the solution): Newton undershoots, the full step
    "from above": (_one_row(1.0), np.array([0.7]), np.array([0.3]), np.array([3.0]),
                   np.array([1.5]), 0),
    # two rows, three coordinates, a Hessian with off-diagonal entries
    "two rows": (np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]]), np.array([0.4, -0.3]),
                 np.array([0.5, 2.0, 1.5]), np.array([0.3, -0.2, 0.1]),
                 np.array([0.05, -0.1]), 0),
    "two rows, far": (np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]]), np.array([40.0, -3.0]),
                      np.array([0.5, 2.0, 1.5]), np.array([0.3, -0.2, 0.1]),
                      np.array([0.05, -0.1]), None),
    "two rows, capped": (np.array([[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]]), np.array([4.0, -3.0]),
                         np.array([1e-6, 1e-4, 1e-5]), np.zeros(3), np.zeros(2), None),
    # F rises at t = 1 (Armijo fails) while |∇F| falls to 0.93 of its value: the gradient
    # test accepts the full step
    "gradient shrinks": (np.array([[-0.158, 0.933, -0.325], [0.047, -0.321, -0.946]]),
                         np.array([4.895, -0.571]), np.array([0.142, 1.287, 0.263]),
                         np.array([0.45, 2.9, 0.07]), np.zeros(2), 0),
    # F rises at t = 1 and |∇F| grows to 1.3 times its value: t = 1 is refused
    "gradient grows": (np.array([[-0.155, -0.173, 0.973], [-0.704, -0.672, -0.232]]),
                       np.array([0.464, 2.559]), np.array([0.094, 0.223, 2.339]),
                       np.array([1.19, -1.99, -1.87]), np.zeros(2), None),
    # a repeated row: H = [[4, 4], [4, 4]] is singular (Cholesky stops at its 2nd pivot)
    "singular": (np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, 1.0]),
                 np.array([2.0, 1.0]), np.zeros(2), np.zeros(2), 0),
    "singular, far": (np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([20.0, 20.0]),
                      np.array([2.0, 1.0]), np.zeros(2), np.zeros(2), None),
    # a zero row: H[0, 0] = 0 (Cholesky stops at its 1st pivot)
    "zero row": (np.array([[0.0, 0.0], [0.0, 1.0]]), np.array([0.0, 3.0]),
                 np.array([1.0, 0.5]), np.zeros(2), np.zeros(2), None),
}


@pytest.mark.parametrize("case", list(NEWTON_CASES))
def test_newton_step_takes_the_documented_step_length(case):
    A, b, c, u, mu, accepted = NEWTON_CASES[case]
    j, expected, margins = _reference_newton_step(A, b, c, u, mu)
    if accepted is not None:
        assert j == accepted
    # every decision of the reference is clear of round-off, so the floats must agree
    assert all(abs(a) > 1e-6 and abs(d) > 1e-6 for a, d in margins)
    with np.errstate(over="ignore", invalid="ignore"):
        got = ib._newton_step(A, b, c, u, mu, c * np.sinh(u))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * np.abs(expected).max())


def test_newton_step_lengths_of_the_hand_worked_cases():
    """The step lengths worked out by hand for the one-coordinate dual
    F(μ) = (c/2) cosh(2μ) − bμ from μ = 0, where Δ = b / 2c and u = 2tΔ."""
    def step(b, c, u=0.0, mu=0.0):
        return ib._newton_step(_one_row(1.0), np.array([b]), np.array([c]), np.array([u]),
                               np.array([mu]), np.array([c * np.sinh(u)]))[0]
    assert step(1.0, 1e-8) == pytest.approx(10.0, rel=1e-12)   # u moves by exactly 20
    assert step(10.0, 1.0) == pytest.approx(0.25 * 5.0, rel=1e-12)
    assert step(2.9828, 1.0) == pytest.approx(0.5 * 2.9828 / 2, rel=1e-12)
    assert step(2.5, 1.0) == pytest.approx(1.25, rel=1e-12)
    assert step(2.5, 1.0, mu=-4.0) == pytest.approx(-4.0 + 1.25, rel=1e-12)
    # at the solution (g = 0) the step is 0 and μ is returned as it is
    assert step(np.sinh(0.5), 1.0, u=0.5, mu=0.25) == 0.25


def test_newton_step_failure_is_named_in_full():
    """A Newton step that overflows (c = 1e-300, a target of 1e10) leaves no finite trial
    point: the line search gives up with its message, through solve as well."""
    message = ("the line search of the dual Newton step failed; the problem is probably too "
               "badly scaled (check c and X)")
    with pytest.raises(ib.SolverError, match="^" + re.escape(message) + "$"):
        ib.solve(np.array([[1.0]]), np.array([1e10]), 1e-300)
    with np.errstate(over="ignore", invalid="ignore"), \
            pytest.raises(ib.SolverError, match="^" + re.escape(message) + "$"):
        ib._newton_step(_one_row(1.0), np.array([1e10]), np.array([1e-300]), np.zeros(1),
                        np.zeros(1), np.zeros(1))


@pytest.mark.parametrize("offset", [-300.0, -100.0, 100.0, 300.0])
@pytest.mark.parametrize("gap", [1e-6, 1e-5, 1e-4, 1e-2])
def test_newton_step_below_round_off_returns_a_point_on_the_step(gap, offset):
    """β = ±1.7e19 (u = ±45) with a residual of 100 to 300, below one ulp of β (2048): F's
    change along the step is round-off, so Armijo's test is a coin toss; the fallback accepts
    a gradient no larger than before. The step must not fail: it returns μ + tΔ with
    0 < t <= 1 and |∇F| not larger than at μ."""
    A = np.array([[1.0, 1.0]]) / np.sqrt(2.0)
    c = np.ones(2)
    u = np.array([45.0, -45.0 + gap])
    beta = c * np.sinh(u)
    b = A @ beta + offset
    g = A @ beta - b
    direction = -g / ((A * (2.0 * c * np.cosh(u))) @ A.T)[0, 0]
    mu = np.zeros(1)
    new = ib._newton_step(A, b, c, u, mu, beta)
    t = float((new - mu)[0] / direction[0])
    assert 0.0 < t <= 1.0 + 1e-12
    u_new = u + 2.0 * (A.T @ (new - mu))
    assert np.abs(A @ (c * np.sinh(u_new)) - b).max() <= np.abs(g).max()
