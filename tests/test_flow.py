"""Exact gradient flow (dlnft.flow) against small-step GD and against the implicit-bias solver."""
import numpy as np
import pytest

import dlnft
from dlnft import implicit_bias
from dlnft.flow import FlowError, flow
from dlnft.network import DiagonalNet


@pytest.fixture(scope="module")
def task():
    pt, _ = dlnft.make_tasks(d=60, alpha_pt=0.5, alpha_ft=0.3, rho_pt=0.2, rho_ft=0.1,
                             omega="subset", seed=3)
    return pt


def _nets(d):
    c = np.array([0.05, 0.5])[:, None]
    lam = np.array([-0.04, 0.2])[:, None]
    return DiagonalNet.from_scales(c, lam, shape=(2, d))


def test_flow_is_the_limit_of_small_step_gd(task):
    net = _nets(task.d)
    exact = flow(net, task.X, task.y, t=4.0, rtol=1e-10).net.beta().numpy()
    errors = []
    for eta in (2e-2, 1e-2):
        gd_beta = dlnft.gd(net, task.X, task.y, lr=eta, steps=round(4.0 / eta)).net.beta()
        errors.append(np.max(np.abs(gd_beta.numpy() - exact)))
    assert errors[0] < 1e-3 * np.max(np.abs(exact))
    assert errors[1] == pytest.approx(errors[0] / 2, rel=0.05)  # GD's error is O(η)


def test_flow_from_any_weights_matches_gd(task):
    """Unequal λ₊ ≠ λ₋ and β(0) ≠ 0: the e^{±A} solution holds for every initialization."""
    rng = np.random.default_rng(1)
    net = DiagonalNet.from_weights(*(rng.uniform(0.05, 0.6, size=(3, task.d)) for _ in range(4)))
    assert np.max(np.abs(net.beta().numpy())) > 0.1
    exact = flow(net, task.X, task.y, t=1.0, rtol=1e-10).net
    coarse, fine = (dlnft.gd(net, task.X, task.y, lr=1.0 / k, steps=k).net for k in (250, 500))
    # Richardson: GD's O(η) error cancels in 2·GD(η/2) − GD(η), leaving O(η²)
    for w_exact, w_c, w_f in zip(exact.weights(), coarse.weights(), fine.weights()):
        np.testing.assert_allclose(w_exact.numpy(), 2 * w_f.numpy() - w_c.numpy(), atol=1e-9)
        assert np.max(np.abs(w_exact.numpy() - w_f.numpy())) > 1e-7  # GD alone is further off


def test_flow_conserves_c_and_lambda_exactly(task):
    rng = np.random.default_rng(2)
    net = DiagonalNet.from_weights(*(rng.normal(size=task.d) for _ in range(4)))
    before = dlnft.conserved(net)
    after = dlnft.conserved(flow(net, task.X, task.y, t=1.0, rtol=1e-3).net)
    for name in ("c", "lam_plus", "lam_minus"):
        np.testing.assert_allclose(getattr(after, name), getattr(before, name), rtol=1e-12,
                                   atol=1e-12)


def test_flow_reaches_tol_and_the_implicit_bias_solution(task):
    net = _nets(task.d)
    res = flow(net, task.X, task.y, tol=1e-20, rtol=1e-4)
    assert np.all(res.losses <= 1.001e-20) and np.all(res.losses > 0)
    assert np.all(res.t > 0) and np.all(res.n_rhs > 0)
    np.testing.assert_allclose(res.losses, dlnft.loss(res.net, task.X, task.y), rtol=1e-6)
    for m, c in enumerate((0.05, 0.5)):
        target = implicit_bias.solve(task.X, task.y, c, tol=1e-13).beta
        np.testing.assert_allclose(res.net[m].beta().numpy()[0], target, atol=1e-8)


def test_flow_with_one_design_matrix_per_network():
    tasks = [dlnft.make_tasks(d=30, alpha_pt=0.5, alpha_ft=0.5, rho_pt=0.2, rho_ft=0.2,
                              omega="new", seed=s)[0] for s in range(2)]
    X, y = np.stack([t.X for t in tasks]), np.stack([t.y for t in tasks])
    net = DiagonalNet.from_scales(0.5, 0.0, shape=(2, 30))
    batched = flow(net, X, y, t=3.0, rtol=1e-10)
    for m, t in enumerate(tasks):
        single = flow(net[m], t.X, t.y, t=3.0, rtol=1e-10)
        np.testing.assert_allclose(batched.net[m].beta().numpy(), single.net.beta().numpy(),
                                   atol=1e-12)
    assert batched.t.tolist() == [3.0, 3.0]


def test_flow_already_below_tol_does_not_move(task):
    net = DiagonalNet.from_scales(0.5, 0.0, shape=(1, task.d))
    res = flow(net, task.X, np.zeros(task.n), tol=1e-8)
    assert res.t.tolist() == [0.0] and res.n_rhs.tolist() == [0]
    np.testing.assert_array_equal(res.net.beta().numpy(), 0.0)


@pytest.mark.parametrize("method", ["Radau", "BDF"])
def test_other_integrators_agree(task, method):
    net = _nets(task.d)
    ref = flow(net, task.X, task.y, t=4.0, rtol=1e-10).net.beta().numpy()
    other = flow(net, task.X, task.y, t=4.0, rtol=1e-10, method=method).net.beta().numpy()
    np.testing.assert_allclose(other, ref, atol=1e-7)


@pytest.mark.parametrize("kwargs, match", [
    (dict(t=0.0), "t must be > 0"),
    (dict(tol=-1.0), "tol must be > 0"),
    (dict(rtol=2.0), "rtol must be <= 1"),
    (dict(atol=0.0), "atol must be > 0"),
    (dict(method="RK45"), "method must be one of"),
    (dict(t_max=float("inf")), "t_max must be finite"),
])
def test_flow_validates_its_arguments(task, kwargs, match):
    with pytest.raises(ValueError, match=match):
        flow(_nets(task.d), task.X, task.y, **kwargs)


def test_flow_checks_shapes_and_the_network(task):
    with pytest.raises(ValueError, match="features"):
        flow(_nets(task.d + 1), task.X, task.y)
    with pytest.raises(TypeError, match="net must be a DiagonalNet"):
        flow("net", task.X, task.y)


def test_flow_says_when_t_max_is_too_short(task):
    with pytest.raises(FlowError, match="raise t_max"):
        flow(_nets(task.d), task.X, task.y, tol=1e-12, t_max=1.0)


@pytest.mark.parametrize("lam_over_c, gamma", [(-0.99, 1e-6), (0.0, 10.0)])
def test_pretrain_then_finetune_flow_lands_where_the_theory_says(lam_over_c, gamma):
    """PT flow, the paper's FT re-initialization, FT flow: R3–R4's predicted β_FT."""
    pt, ft = dlnft.make_tasks(d=100, alpha_pt=0.5, alpha_ft=0.3, rho_pt=0.2, rho_ft=0.1,
                              omega="subset", seed=0)
    c = 1e-3
    pretrained = flow(DiagonalNet.from_scales(c, lam_over_c * c, shape=(1, pt.d)), pt.X, pt.y,
                      tol=1e-14).net
    tuned = flow(dlnft.finetune_init(pretrained, gamma), ft.X, ft.y, tol=1e-14).net
    theory = implicit_bias.predict_finetune(pt, ft, c=c, lam=lam_over_c * c, gamma=gamma)
    np.testing.assert_allclose(pretrained.beta().numpy()[0], theory.beta_pt, atol=1e-4)
    np.testing.assert_allclose(tuned.beta().numpy()[0], theory.beta_ft, atol=1e-4)


class _TookTooLong(Exception):
    pass


def _within(seconds, fn):
    """fn() or a test failure after ``seconds`` (a hang becomes a failure, not a stuck run)."""
    import signal

    def stop(*_):
        raise _TookTooLong(f"still running after {seconds} s")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_inconsistent_data_raise_at_once():
    """A repeated row with two labels: no β fits, so the loss never reaches tol."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 10))
    X[4] = X[0]
    y = rng.standard_normal(5)
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 10))
    with pytest.raises(FlowError, match=r"has no solution on the coordinates that can move "
                                        r"\(its least-squares loss is 0.135\)"):
        _within(120, lambda: flow(net, X, y))


def test_data_that_only_frozen_coordinates_could_fit_raise_at_once():
    """X beta = y has a solution, but not on the coordinates whose weights are all 0 (they
    never move): the message says which equation has none."""
    X, y = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 1.0])
    net = DiagonalNet.from_weights(*(np.array([1.0, 0.0]) for _ in range(4)))
    with pytest.raises(FlowError, match=r"has no solution on the coordinates that can move "
                                        r"\(its least-squares loss is 0.25\)"):
        _within(120, lambda: flow(net, X, y))


@pytest.mark.parametrize("method", ["LSODA", "Radau", "BDF"])
def test_tiny_flow_times_end_and_match_one_gd_step(task, method):
    net = _nets(task.d)
    for t in (1e-170, 1e-300):
        out = _within(120, lambda: flow(net, task.X, task.y, t=t, method=method))
        assert out.t[0] == t and np.all(np.abs(out.net.beta().numpy()) < 1e3 * t)
    # at t = 1e-9 the flow is one GD step of size t, to O(t) relative (1e-5: the round-off
    # of β ~ 1e-11 from weights ~ 1)
    step = dlnft.gd(net, task.X, task.y, lr=1e-9, steps=1).net.beta().numpy()
    exact = flow(net, task.X, task.y, t=1e-9, method=method).net.beta().numpy()
    assert np.max(np.abs(exact - step)) <= 1e-4 * np.max(np.abs(step))
