"""Chapter 4's check of the exact theory can fail: with a factor 2 slipped into c it fails in
every panel.

The check (:func:`dlnft.theory.checks.replica_check`) compares networks trained by gradient flow
at d = 500 with :func:`dlnft.theory.ptft.ft_theory`. Here it runs on the chapter's three
initializations and three ω at two of its three α_FT (0.1 and 0.3, where the slip shows most),
with the chapter's seed rule; then the slip c → 2c is injected into ``ft_theory`` itself and the
same check, on the same trained networks, must fail in all nine panels.
"""
import numpy as np
import pytest

from dlnft.theory import checks, ptft

TASK = dict(rho_pt=0.2, rho_ft=0.1)
SETTINGS = {"I": (1e-3, -0.999999e-3, 1e-6), "IV": (1e-3, -0.99e-3, 0.0),
            "c = 0.1, λ = −0.9c": (0.1, -0.09, 0.0)}
OMEGAS = (0.0, 0.5, 1.0)
ALPHAS = np.array([0.1, 0.3])
D, DELTA, MAX_SEEDS = 500, 0.005, 320


@pytest.fixture(scope="module")
def draws():
    """FT errors of trained networks, seeds drawn by the chapter's rule."""
    out = {}
    for name, (c, lam, gamma) in SETTINGS.items():
        for om in OMEGAS:
            kw = dict(omega=om, lam=lam, gamma=gamma, **TASK)
            shift = np.abs(ptft.ft_theory(ALPHAS, c=2 * c, **kw).error
                           - ptft.ft_theory(ALPHAS, c=c, **kw).error)
            out[name, om] = {
                a: checks.ft_error_draws(d=D, alpha_ft=a, omega=om, c=c, lam=lam, gamma=gamma,
                                         se_target=max((sh - DELTA) / 5, DELTA),
                                         max_seeds=MAX_SEEDS, **TASK)
                for a, sh in zip(ALPHAS, shift)}
    return out


@pytest.mark.slow
def test_check_passes_with_the_theory(draws):
    result = checks.replica_check(draws, SETTINGS, delta=DELTA, **TASK)
    failed = {k: np.round(r.deviation / r.tolerance, 2) for k, r in result.items()
              if not r.passed}
    assert not failed, f"panels off the theory (|mean − theory| / tolerance): {failed}"


@pytest.mark.slow
def test_check_fails_in_every_panel_when_c_is_doubled(draws, monkeypatch):
    original = ptft.ft_theory

    def slipped(alpha_ft, *, c, **kw):
        return original(alpha_ft, c=2 * np.asarray(c), **kw)

    monkeypatch.setattr(ptft, "ft_theory", slipped)
    result = checks.replica_check(draws, SETTINGS, delta=DELTA, **TASK)
    passed = [k for k, r in result.items() if r.passed]
    assert not passed, f"the check missed c → 2c in panels {passed}"


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="se_target"):
        checks.ft_error_draws(d=D, alpha_ft=0.1, omega=0.5, c=0.1, lam=0.0, gamma=0.0,
                              se_target=0.0, **TASK)
    with pytest.raises(ValueError, match="lam"):
        checks.trained_ft_error(d=D, alpha_ft=0.1, omega=0.5, c=0.1, lam=0.2, gamma=0.0,
                                seed=0, **TASK)
    with pytest.raises(ValueError, match="settings"):
        checks.replica_check({("II", 0.5): {0.1: np.ones(3)}}, SETTINGS, delta=DELTA, **TASK)
    with pytest.raises(ValueError, match="delta"):
        checks.replica_check({}, SETTINGS, delta=-1.0, **TASK)


def test_alpha_pt_none_is_oracle_and_zero_is_refused(monkeypatch):
    """alpha_pt=None draws the tasks at α_PT = 0.5 and pretrains by the oracle; alpha_pt=0 is
    refused by the task draw, not read as None."""
    drawn, make_tasks = [], checks.make_tasks

    def record(**kw):
        drawn.append(kw["alpha_pt"])
        return make_tasks(**kw)

    def no_pt_flow(*_):
        raise AssertionError("pretraining ran by gradient flow")
    monkeypatch.setattr(checks, "make_tasks", record)
    monkeypatch.setattr(checks, "_pt_flow", no_pt_flow)
    kw = dict(d=8, alpha_ft=0.5, omega=0.5, c=0.1, lam=0.0, gamma=0.0, seed=0, rho_pt=0.5,
              rho_ft=0.25)
    assert np.isfinite(checks.trained_ft_error(**kw))
    with pytest.raises(ValueError, match="alpha_pt must be > 0"):
        checks.trained_ft_error(alpha_pt=0, **kw)
    assert drawn == [0.5, 0]


def test_a_flow_that_overshoots_at_loose_tolerances_is_integrated_again():
    # regime I at d = 1000: the loose integrator reaches a non-finite loss on this seed
    err = checks.trained_ft_error(d=1000, alpha_ft=0.05, omega=0.0, c=1e-3,
                                  lam=-0.999999e-3, gamma=1e-6, seed=2, rho_pt=0.1,
                                  rho_ft=0.1)
    assert np.isfinite(err) and 0.5 < err < 3.0
