"""Tests of dlnft.theory.regimes: the learning and reuse contrasts of the FT error."""
import re

import numpy as np
import pytest

from dlnft.theory import classify, contrasts, design_errors, regime, regime_indices
from dlnft.theory import regimes

C = 1e-3


def test_a_lazy_learner_has_no_learning_contrast():
    # γ²/2 = 5000 swamps every weight: Φ is quadratic, the error cannot see the sparsity
    learning, reuse = regime_indices(C, 0.0, 100.0)
    assert abs(float(learning)) < 1e-4 and abs(float(reuse)) < 1e-4


def test_a_learner_blind_to_pt_has_no_reuse_contrast():
    # a PT teacher of value 1e-9 leaves c_FT,on = c_FT,off: subset and new tasks look alike
    learning, reuse = regime_indices(C, -0.99 * C, 0.0, a_pt=1e-9)
    assert abs(float(reuse)) < 1e-6 and float(learning) > regimes.MARGIN


def test_the_authors_settings_measured():
    lam = np.array([-0.999999 * C, 0.0, 0.0, -0.99 * C])
    gamma = np.array([1e-6, 0.0, 10.0, 0.0])
    learning, reuse = regime_indices(C, lam, gamma)
    assert learning[0] > learning[3] > learning[1] > learning[2]
    assert reuse[1] > reuse[3] > reuse[0] > 3 * regimes.MARGIN > reuse[2]
    # I is PT-dependent at the default margin: it lands with IV, not in "rich, PT-independent"
    assert regime(C, lam, gamma).tolist() == [4, 4, 3, 4]


def test_a_readout_scale_in_the_derived_band_makes_fine_tuning_rich_and_blind():
    # (c + λ) a/c = 1e-6 ≪ γ²/2 = 1.25e-3 ≪ 1
    assert int(regime(C, -0.999999 * C, 0.05)) == 1
    assert int(regime(C, -0.999999 * C, 30.0)) == 3


def test_contrasts_are_the_design_means():
    errors = {(0.05, 0.0): np.array(0.8), (0.05, 1.0): np.array(0.3),
              (0.2, 0.0): np.array(1.1), (0.2, 1.0): np.array(0.7)}
    learning, reuse = contrasts(errors)
    assert learning == pytest.approx(((1.1 - 0.8) + (0.7 - 0.3)) / 2)
    assert reuse == pytest.approx(((0.8 - 0.3) + (1.1 - 0.7)) / 2)


def test_classify_moves_with_the_margin():
    learning = np.array([0.06, 0.06, 0.3, 0.3])
    reuse = np.array([0.06, 0.3, 0.06, 0.3])
    assert classify(learning, reuse).tolist() == [3, 2, 1, 4]
    assert classify(learning, reuse, margin=0.05).tolist() == [4, 4, 4, 4]
    assert classify(learning, reuse, margin=0.5).tolist() == [3, 3, 3, 3]


def test_design_errors_shape_and_keys():
    errors = design_errors(C, np.array([0.0, -0.5 * C])[:, None], np.array([0.0, 1.0]))
    assert sorted(errors) == [(0.05, 0.0), (0.05, 1.0), (0.2, 0.0), (0.2, 1.0)]
    assert all(e.shape == (2, 2) for e in errors.values())


@pytest.mark.parametrize("kwargs, name", [
    (dict(alpha_ft=1.0), "alpha_ft"), (dict(rho_pt=0.0), "rho_pt"),
    (dict(rho_dense=0.3), "rho_dense"), (dict(rho_sparse=0.2), "rho_sparse"),
    (dict(a_pt=float("nan")), "a_pt"), (dict(margin=0.0), "margin")])
def test_regime_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        regime(C, 0.0, 1.0, **kwargs)


def test_regime_refuses_a_bad_margin_before_any_solve(monkeypatch):
    def solve(*_, **__):
        raise AssertionError("ft_theory ran before the margin was checked")
    monkeypatch.setattr(regimes, "ft_theory", solve)
    with pytest.raises(ValueError, match="margin"):
        regime(C, 0.0, 1.0, margin=-1.0)


def test_contrasts_and_classify_refuse_bad_inputs():
    with pytest.raises(ValueError, match="2 x 2 design"):
        contrasts({(0.05, 0.0): 1.0, (0.05, 1.0): 1.0})
    with pytest.raises(ValueError, match="one shape"):
        classify(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="lam"):
        regime(C, 2 * C, 0.0)


def test_conv1_mapping_is_the_layer_ratio_of_the_initialization():
    from dlnft.theory import conv1_lambda_ratio
    r = conv1_lambda_ratio([0.1, 1.0, 10.0])
    assert np.allclose(r, [99 / 101, 0.0, -99 / 101])
    # w±² = (c + λ)/2, v±² = (c − λ)/2: a balanced pair with w divided by α has w²/v² = 1/α²
    alpha = np.geomspace(0.01, 100, 9)
    r = conv1_lambda_ratio(alpha)
    assert np.allclose((1 + r) / (1 - r), 1 / alpha**2)
    assert np.allclose(r, -np.tanh(np.log(alpha)))
    for bad in (0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="alpha_conv1"):
            conv1_lambda_ratio(bad)


def _log_derivative(f, x, h=1e-5):
    return (np.log(f(x * np.exp(h))) - np.log(f(x * np.exp(-h)))) / (2 * h)


def test_penalty_order_and_pt_dependence_are_log_derivatives_of_the_ft_penalty():
    from dlnft.implicit_bias import ft_scale, phi
    from dlnft.theory import penalty_order, pt_dependence
    for b, beta_pt, lam, gamma in [(1.0, 1.0, -0.99 * C, 0.0), (0.3, 2.0, 0.0, 0.0),
                                   (1.0, 1.0, 0.0, 10.0), (2.0, 0.5, -0.5 * C, 0.1),
                                   (1.0, 1.0, -0.999999 * C, 1e-6),
                                   # beta_pt of the order of c, where sqrt(1 + (beta_pt/c)²)
                                   # is not |beta_pt|/c
                                   (0.01, 0.5 * C, 0.0, 0.0), (1e-3, 2 * C, -0.5 * C, 1e-3)]:
        q_b = lambda x: phi(x, ft_scale(beta_pt, C, lam, gamma))          # noqa: E731
        q_pt = lambda x: phi(b, ft_scale(x, C, lam, gamma))               # noqa: E731
        assert np.isclose(penalty_order(b, beta_pt, C, lam, gamma), _log_derivative(q_b, b),
                          rtol=1e-6)
        assert np.isclose(pt_dependence(b, beta_pt, C, lam, gamma),
                          _log_derivative(q_pt, beta_pt), rtol=1e-5, atol=1e-9)


def test_penalty_measures_reach_their_limits():
    from dlnft.theory import penalty_order, pt_dependence
    # lazy and PT-made scale (b ≪ c_FT ≈ |β_PT|): ℓ → 2, PD → −1
    assert np.isclose(penalty_order(1e-4, 1.0, C, 0.0, 0.0), 2.0, atol=1e-6)
    assert np.isclose(pt_dependence(1e-4, 1.0, C, 0.0, 0.0), -1.0, atol=2e-3)
    # rich (b ≫ c_FT): ℓ → 1 and PD → 0, both like 1/log(2b/c_FT)
    k_ratio = np.array([1e-4, 1e-8, 1e-12])
    lam = (k_ratio / 2 - 1) * C
    ell = penalty_order(1.0, 1.0, C, lam, 0.0)
    pd = pt_dependence(1.0, 1.0, C, lam, 0.0)
    assert np.all(np.diff(ell) < 0) and ell[-1] < 1.05 and np.all(ell > 1)
    assert np.all(np.diff(pd) > 0) and -0.05 < pd[-1] < 0
    # a large γ makes the scale PT-independent: PD → 0 while the penalty is quadratic (ℓ ≈ 2)
    assert abs(pt_dependence(1.0, 1.0, C, 0.0, 1e3)) < 1e-5
    assert pt_dependence(1.0, 0.0, C, 0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="c_FT = 0"):
        penalty_order(1.0, 1.0, C, -C, 0.0)
    with pytest.raises(ValueError, match="beta_ft"):
        pt_dependence(0.0, 1.0, C, 0.0, 0.0)


def _full(message):
    return "^" + re.escape(message) + "$"


@pytest.mark.parametrize("kwargs, message", [
    (dict(alpha_ft=0.0), "alpha_ft must be > 0.0, got 0.0"),
    (dict(alpha_ft=1.0), "alpha_ft must be < 1.0, got 1.0"),
    (dict(alpha_ft=1.5), "alpha_ft must be < 1.0, got 1.5"),
    (dict(alpha_ft=-0.5), "alpha_ft must be > 0.0, got -0.5"),
    (dict(rho_pt=0.0), "rho_pt must be > 0.0, got 0.0"),
    (dict(rho_pt=1.0), "rho_pt must be < 1.0, got 1.0"),
    (dict(rho_pt=1.5), "rho_pt must be < 1.0, got 1.5"),
    (dict(rho_dense=0.0), "rho_dense must be > 0.0, got 0.0"),
    (dict(rho_dense=-0.1), "rho_dense must be > 0.0, got -0.1"),
    # rho_dense <= min(rho_pt, 1 - rho_pt), the bound itself allowed
    (dict(rho_pt=0.3, rho_dense=0.31), "rho_dense must be <= 0.3, got 0.31"),
    (dict(rho_pt=0.75, rho_dense=0.3), "rho_dense must be <= 0.25, got 0.3"),
    (dict(rho_sparse=0.0), "rho_sparse must be > 0.0, got 0.0"),
    (dict(rho_sparse=-0.1), "rho_sparse must be > 0.0, got -0.1"),
    (dict(rho_sparse=0.2), "rho_sparse must be < 0.2, got 0.2"),
])
def test_design_errors_names_a_bad_design_in_full(kwargs, message):
    with pytest.raises(ValueError, match=_full(message)):
        design_errors(C, 0.0, 1.0, **kwargs)


def test_design_errors_accepts_the_bounds_of_rho_dense(monkeypatch):
    class Theory:
        error = np.array(0.5)
    calls = []
    monkeypatch.setattr(regimes, "ft_theory", lambda *a, **k: calls.append(k) or Theory())
    design_errors(C, 0.0, 1.0, rho_pt=0.3, rho_dense=0.3)
    design_errors(C, 0.0, 1.0, rho_pt=0.75, rho_dense=0.25, rho_sparse=0.1)
    assert len(calls) == 8 and calls[-1]["rho_ft"] == 0.25 and calls[-1]["rho_pt"] == 0.75


@pytest.mark.parametrize("margin, message", [
    (0.0, "margin must be > 0.0, got 0.0"), (-1.0, "margin must be > 0.0, got -1.0")])
def test_classify_and_regime_name_a_bad_margin_in_full(margin, message):
    with pytest.raises(ValueError, match=_full(message)):
        classify(0.5, 0.5, margin=margin)
    with pytest.raises(ValueError, match=_full(message)):
        regime(C, 0.0, 1.0, margin=margin)


def test_classify_names_a_bad_contrast_in_full():
    for name in ("learning", "reuse"):
        args = {"learning": [0.5, 0.1], "reuse": [0.5, 0.1], name: [0.5, float("nan")]}
        with pytest.raises(ValueError, match=_full(f"{name} must be finite, but 1 entries are "
                                                   f"NaN or infinite")):
            classify(**args)


def test_a_contrast_exactly_at_the_margin_is_not_above_it():
    learning = np.array([0.1, 0.1, 0.3, np.nextafter(0.1, 1)])
    reuse = np.array([0.1, 0.3, 0.1, np.nextafter(0.1, 1)])
    assert classify(learning, reuse, margin=0.1).tolist() == [3, 2, 1, 4]


def test_regime_uses_the_margin_it_is_given():
    # rich and PT-independent at the default margin 0.1 (test above); lazy at a margin of 5
    assert int(regime(C, -0.999999 * C, 0.05, margin=5.0)) == 3


def test_penalty_measures_name_bad_arguments_in_full():
    from dlnft.theory import conv1_lambda_ratio, penalty_order, pt_dependence
    for fn in (penalty_order, pt_dependence):
        with pytest.raises(ValueError, match=_full(
                "beta_ft must be non-zero (log|beta_ft| is taken), got a zero entry")):
            fn([1.0, 0.0], 1.0, C, 0.0, 0.0)
        with pytest.raises(ValueError, match=_full(
                "beta_ft must be finite, but 1 entries are NaN or infinite")):
            fn([1.0, np.inf], 1.0, C, 0.0, 0.0)
        with pytest.raises(ValueError, match=_full(
                "beta_pt must be finite, but 1 entries are NaN or infinite")):
            fn(1.0, [1.0, np.nan], C, 0.0, 0.0)
        with pytest.raises(ValueError, match=_full(
                "lam = -c with gamma = 0 gives c_FT = 0 (a coordinate that cannot move): "
                "choose lam > -c or gamma > 0")):
            fn(1.0, 1.0, C, -C, 0.0)
    with pytest.raises(ValueError, match=_full(
            "alpha_conv1 must be > 0.0 everywhere, got a minimum of 0.0")):
        conv1_lambda_ratio([1.0, 0.0])
