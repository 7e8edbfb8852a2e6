"""Chapter 4's check of the exact theory can fail: with a factor 2 slipped into c it fails in
every panel.

The check (:func:`dlnft.theory.checks.replica_check`) compares networks trained by gradient flow
at d = 500 with :func:`dlnft.theory.ptft.ft_theory`. Here it runs on the chapter's three
initializations and three ω at two of its three α_FT (0.1 and 0.3, where the slip shows most),
with the chapter's seed rule; then the slip c → 2c is injected into ``ft_theory`` itself and the
same check, on the same trained networks, must fail in all nine panels.
"""
import re

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


# --- fast checks of each piece against an independent computation or by hand -------------------

def _predicted_error(pt, ft, c, lam, gamma):
    """||β_FT − β*_FT||²/d of the implicit-bias prediction (R2–R4), no training."""
    from dlnft.implicit_bias import predict_finetune
    beta = predict_finetune(pt, ft, c=c, lam=lam, gamma=gamma).beta_ft
    return float(np.sum((beta - ft.beta_star) ** 2) / ft.beta_star.size)


@pytest.mark.parametrize("alpha_pt, noise", [(None, 0.01), (0.6, 0.01), (None, None)])
def test_trained_ft_error_is_the_implicit_bias_prediction(alpha_pt, noise):
    """Gradient flow at d = 16 against the solver's prediction of the same tasks: pretrained
    by flow on the PT task (alpha_pt = 0.6) or by the oracle (β_PT = β*_PT, the tasks drawn
    at α_PT = 0.5), noisy labels, ω, ρ and the seed passed on to the task draw."""
    from dlnft.tasks import make_tasks
    kw = dict(d=16, alpha_ft=0.5, omega=0.5, rho_pt=0.5, rho_ft=0.25, seed=3)
    if noise is not None:                  # else the default: noiseless labels
        kw["noise"] = noise
    c, lam, gamma = 0.05, -0.02, 0.1
    got = checks.trained_ft_error(c=c, lam=lam, gamma=gamma, alpha_pt=alpha_pt, **kw)
    pt, ft = make_tasks(alpha_pt=0.5 if alpha_pt is None else alpha_pt, **kw)
    task_pt = (np.eye(16), pt.beta_star) if alpha_pt is None else pt
    assert got == pytest.approx(_predicted_error(task_pt, ft, c, lam, gamma), rel=2e-4)


def test_pretraining_by_flow_is_cached_by_its_arguments(monkeypatch):
    calls = []
    flow = checks.flow

    def counting(*args, **kw):
        calls.append(kw)
        return flow(*args, **kw)
    monkeypatch.setattr(checks, "flow", counting)
    checks._pt_flow.cache_clear()
    args = (12, 1, 0.5, 0.05, 0.0, 0.75, 0.5, 0.25, 0.0)
    first = checks._pt_flow(*args)
    assert checks._pt_flow(*args) is first and len(calls) == 1
    assert calls[0] == dict(tol=checks.FLOW_TOL, rtol=checks.FLOW_RTOL, atol=checks.FLOW_ATOL)
    assert len(first) == 4 and all(w.shape == (1, 12) for w in first)
    checks._pt_flow(*args[:-1], 0.01)                        # another noise: another flow
    assert len(calls) == 2


def test_a_failed_loose_flow_is_retried_with_the_tight_tolerances(monkeypatch):
    calls = []

    class Done:
        net = "the end point"

    def flaky(net, X, y, **kw):
        calls.append(kw)
        if len(calls) == 1:
            raise checks.FlowError("overshoot")
        return Done()
    monkeypatch.setattr(checks, "flow", flaky)
    assert checks._flow(None, None, None) == "the end point"
    assert calls == [dict(tol=1e-12, rtol=1e-3, atol=1e-6), dict(tol=1e-12, rtol=1e-6, atol=1e-9)]
    calls.clear()
    calls.append("no failure this time")
    assert checks._flow(None, None, None) == "the end point" and len(calls) == 2


class _FakeErrors:
    """trained_ft_error replaced by a table of errors by seed; records every call."""

    def __init__(self, errors):
        self.errors, self.calls = errors, []

    def __call__(self, **kw):
        self.calls.append(kw)
        return self.errors[kw["seed"]]


DRAW_KW = dict(d=7, alpha_ft=0.3, omega=0.25, c=0.5, lam=-0.1, gamma=0.2, rho_pt=0.4,
               rho_ft=0.2)


def test_ft_error_draws_stops_once_the_standard_error_is_reached(monkeypatch):
    # batch 1: (1, 3) -> sd sqrt 2, se 1; batches 1-2: (1, 3, 2, 2) -> sd sqrt(2/3), se 0.41
    fake = _FakeErrors([1.0, 3.0, 2.0, 2.0, 9.0, 9.0])
    monkeypatch.setattr(checks, "trained_ft_error", fake)
    out = checks.ft_error_draws(se_target=0.5, batch=2, max_seeds=64, alpha_pt=0.8, noise=0.1,
                                **DRAW_KW)
    np.testing.assert_array_equal(out, [1.0, 3.0, 2.0, 2.0])
    assert [k.pop("seed") for k in fake.calls] == [0, 1, 2, 3]
    assert all(k == dict(DRAW_KW, alpha_pt=0.8, noise=0.1) for k in fake.calls)
    # a looser target stops after the first batch; a tighter one goes on
    fake.calls.clear()
    out = checks.ft_error_draws(se_target=1.01, batch=2, max_seeds=64, **DRAW_KW)
    np.testing.assert_array_equal(out, [1.0, 3.0])
    assert fake.calls[0]["alpha_pt"] is None and fake.calls[0]["noise"] == 0.0
    out = checks.ft_error_draws(se_target=0.99, batch=2, max_seeds=64, **DRAW_KW)
    np.testing.assert_array_equal(out, [1.0, 3.0, 2.0, 2.0])


def test_ft_error_draws_gives_up_when_the_target_needs_more_than_max_seeds(monkeypatch):
    # (1, 3): sd² = 2, so se_target 0.25 needs 32 seeds: more than 31, not more than 32
    fake = _FakeErrors([1.0, 3.0] * 40)
    monkeypatch.setattr(checks, "trained_ft_error", fake)
    assert checks.ft_error_draws(se_target=0.25, batch=2, max_seeds=31, **DRAW_KW).size == 2
    assert checks.ft_error_draws(se_target=0.25, batch=2, max_seeds=40, **DRAW_KW).size > 2
    # the default batch is 8 seeds and the default max_seeds 256: (1, 3, …, 1, 3) has
    # sd² = 8/7, so a target needing 256.5 seeds is given up after the first batch
    fake.errors = [1.0, 3.0] * 200
    assert checks.ft_error_draws(se_target=np.sqrt(8 / 7 / 256.5), **DRAW_KW).size == 8
    assert checks.ft_error_draws(se_target=np.sqrt(8 / 7 / 255.5), **DRAW_KW).size > 8


@pytest.mark.parametrize("kwargs, message", [
    (dict(se_target=0.0), "se_target must be > 0.0, got 0.0"),
    (dict(se_target=0.1, batch=1), "batch must be >= 2, got 1"),
    (dict(se_target=0.1, batch=4, max_seeds=3), "max_seeds must be >= 4, got 3"),
])
def test_ft_error_draws_names_a_bad_argument_in_full(kwargs, message, monkeypatch):
    monkeypatch.setattr(checks, "trained_ft_error", _FakeErrors([1.0] * 8))
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        checks.ft_error_draws(**kwargs, **DRAW_KW)
    assert checks.ft_error_draws(se_target=1.0, batch=4, max_seeds=4,   # max_seeds = batch
                                 **DRAW_KW).size == 4


def test_replica_check_panels_by_hand(monkeypatch):
    calls = []

    class Theory:
        def __init__(self, alphas):
            self.error = 1.0 + np.asarray(alphas)            # theory: 1 + α

    def fake_theory(alphas, **kw):
        calls.append((np.asarray(alphas).tolist(), kw))
        return Theory(alphas)
    monkeypatch.setattr(checks.ptft, "ft_theory", fake_theory)
    draws = {("A", 0.5): {0.3: [1.2, 1.4], 0.1: [1.0, 1.2, 1.4]},
             ("B", 1.0): {0.2: [0.0, 2.0]}}
    settings = {"A": (0.5, -0.1, 0.2), "B": (1.0, 0.0, 0.0), "C": (2.0, 0.0, 1.0)}
    out = checks.replica_check(draws, settings, rho_pt=0.4, rho_ft=0.2, delta=0.01,
                               alpha_pt=0.8, noise=0.05)
    assert list(out) == [("A", 0.5), ("B", 1.0)]
    assert calls == [([0.1, 0.3], dict(rho_pt=0.4, rho_ft=0.2, omega=0.5, c=0.5, lam=-0.1,
                                       gamma=0.2, alpha_pt=0.8, noise=0.05)),
                     ([0.2], dict(rho_pt=0.4, rho_ft=0.2, omega=1.0, c=1.0, lam=0.0,
                                  gamma=0.0, alpha_pt=0.8, noise=0.05))]
    a = out["A", 0.5]
    np.testing.assert_array_equal(a.alphas, [0.1, 0.3])
    np.testing.assert_allclose(a.theory, [1.1, 1.3])
    np.testing.assert_allclose(a.mean, [1.2, 1.3])
    np.testing.assert_allclose(a.se, [0.2 / np.sqrt(3), 0.1])       # sd 0.2 and 0.1414
    np.testing.assert_array_equal(a.seeds, [3, 2])
    np.testing.assert_allclose(a.tolerance, 3 * a.se + 0.01)
    np.testing.assert_allclose(a.deviation, [0.1, 0.0], atol=1e-15)
    assert a.ok.tolist() == [True, True] and a.passed            # 0.1 <= 0.356
    b = out["B", 1.0]                                            # mean 1, theory 1.2
    np.testing.assert_allclose([b.se[0], b.tolerance[0], b.deviation[0]], [1.0, 3.01, 0.2])
    assert b.passed
    # a deviation beyond 3 se + delta fails, one exactly at it passes
    tight = checks.replica_check({("B", 1.0): {0.25: [1.5, 1.5]}}, settings, rho_pt=0.4,
                                 rho_ft=0.2, delta=0.25)
    assert tight["B", 1.0].ok.tolist() == [True] and calls[-1][1]["alpha_pt"] is None
    assert calls[-1][1]["noise"] == 0.0
    off = checks.replica_check({("B", 1.0): {0.25: [1.5, 1.5]}}, settings, rho_pt=0.4,
                               rho_ft=0.2, delta=0.125)
    assert off["B", 1.0].ok.tolist() == [False] and not off["B", 1.0].passed


def test_replica_check_names_a_bad_panel_in_full(monkeypatch):
    monkeypatch.setattr(checks.ptft, "ft_theory",
                        lambda alphas, **kw: type("T", (), {"error": np.ones(len(alphas))}))
    kw = dict(rho_pt=0.4, rho_ft=0.2, delta=0.0)
    with pytest.raises(ValueError, match=r"^draws has a panel 'II' that settings does not "
                                         r"define$"):
        checks.replica_check({("II", 0.5): {0.1: [1.0, 2.0]}}, {"I": (1.0, 0.0, 0.0)}, **kw)
    with pytest.raises(ValueError, match=r"^panel \('I', 0\.5\) needs at least 2 draws per "
                                         r"point$"):
        checks.replica_check({("I", 0.5): {0.1: [1.0, 2.0], 0.2: [1.0]}},
                             {"I": (1.0, 0.0, 0.0)}, **kw)
    with pytest.raises(ValueError, match=r"^delta must be >= 0\.0, got -1\.0$"):
        checks.replica_check({}, {}, rho_pt=0.4, rho_ft=0.2, delta=-1.0)
    assert checks.replica_check({("I", 0.5): {0.1: [1.0, 1.0]}}, {"I": (1.0, 0.0, 0.0)},
                                **kw)["I", 0.5].passed          # delta = 0 allowed


def test_trained_ft_error_names_a_bad_argument_in_full():
    kw = dict(d=8, alpha_ft=0.5, omega=0.5, c=0.1, lam=0.0, gamma=0.0, seed=0, rho_pt=0.5,
              rho_ft=0.25)
    for change, message in [(dict(d=0), "d must be >= 1, got 0"),
                            (dict(c=0.0), "c must be > 0.0, got 0.0"),
                            (dict(lam=float("nan")), "lam must be finite, got nan"),
                            (dict(gamma=-1.0), "gamma must be >= 0.0, got -1.0")]:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            checks.trained_ft_error(**dict(kw, **change))
    with pytest.raises(ValueError, match=r"^lam must satisfy \|lam\| <= c"):
        checks.trained_ft_error(**dict(kw, lam=0.2))


def test_ft_error_draws_stops_at_exactly_the_target_and_goes_on_at_exactly_max_seeds(
        monkeypatch):
    # (-3, 1, 1, 1): sd = 2 exactly. se_target 1 needs 4 seeds, as many as drawn: stop;
    # se_target 1/2 needs 16: go on when max_seeds = 16, give up when it is 15
    fake = _FakeErrors([-3.0, 1.0, 1.0, 1.0] + [1.0] * 60)
    monkeypatch.setattr(checks, "trained_ft_error", fake)
    assert checks.ft_error_draws(se_target=1.0, batch=4, max_seeds=64, **DRAW_KW).size == 4
    assert checks.ft_error_draws(se_target=0.5, batch=4, max_seeds=16, **DRAW_KW).size > 4
    assert checks.ft_error_draws(se_target=0.5, batch=4, max_seeds=15, **DRAW_KW).size == 4


def test_trained_ft_error_checks_its_arguments_before_any_work(monkeypatch):
    def no_work(**_):
        raise AssertionError("the tasks were drawn before the arguments were checked")
    monkeypatch.setattr(checks, "make_tasks", no_work)
    kw = dict(d=8, alpha_ft=0.5, omega=0.5, c=0.1, lam=0.0, gamma=0.0, seed=0, rho_pt=0.5,
              rho_ft=0.25)
    for change, message in [(dict(d=0), "d must be >= 1, got 0"),
                            (dict(d=-3), "d must be >= 1, got -3"),
                            (dict(gamma=-1.0), "gamma must be >= 0.0, got -1.0")]:
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            checks.trained_ft_error(**dict(kw, **change))
