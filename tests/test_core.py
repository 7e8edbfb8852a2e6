"""Unit tests of the dlnft core: networks, conservation, batched GD, tasks, PT → FT."""
import math
import re

import numpy as np
import pytest
import torch

import dlnft
from dlnft.gd import GDDivergedError
from dlnft.network import DiagonalNet


@pytest.fixture
def task():
    pt, ft = dlnft.make_tasks(d=60, alpha_pt=0.5, alpha_ft=0.3, rho_pt=0.2, rho_ft=0.1,
                              omega="subset", seed=3)
    return pt, ft


# --- networks -------------------------------------------------------------------------------

def test_from_scales_is_the_papers_initialization():
    c = np.array([0.1, 1.0, 2.0])
    lam = np.array([-0.1, 0.5, 0.0])
    net = DiagonalNet.from_scales(c, lam)
    assert net.M == 1 and net.d == 3
    np.testing.assert_allclose(net.w_plus.numpy()[0], np.sqrt((c + lam) / 2))
    np.testing.assert_allclose(net.v_minus.numpy()[0], np.sqrt((c - lam) / 2))
    np.testing.assert_array_equal(net.beta().numpy(), 0.0)
    kept = dlnft.conserved(net)
    np.testing.assert_allclose(kept.c[0], c)
    np.testing.assert_allclose(kept.lam_plus[0], lam, atol=1e-15)
    np.testing.assert_allclose(kept.lam_minus[0], lam, atol=1e-15)


def test_from_scales_broadcasts_to_a_batch():
    net = DiagonalNet.from_scales(np.array([[0.1], [1.0]]), 0.0, shape=(2, 5))
    assert (net.M, net.d) == (2, 5)
    np.testing.assert_allclose(dlnft.conserved(net).c[:, 0], [0.1, 1.0])


def test_from_weights_and_conserved():
    net = DiagonalNet.from_weights([1.0, 2.0], [0.5, 1.0], [3.0, 0.0], [1.0, 4.0])
    kept = dlnft.conserved(net)
    np.testing.assert_allclose(kept.c[0], [1 * 0.5 + 3 * 1, 2 * 1 + 0 * 4])
    np.testing.assert_allclose(kept.lam_plus[0], [1 - 9, 4 - 0])
    np.testing.assert_allclose(kept.lam_minus[0], [0.25 - 1, 1 - 16])
    np.testing.assert_allclose(net.beta().numpy()[0], [3 - 0.5, 0 - 4])


def test_from_weights_takes_one_or_many_networks_and_copies():
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    net = DiagonalNet.from_weights(w, w + 1, w + 2, np.array([[0.0, 1.0], [2.0, 3.0]]))
    w.fill_(9.0)                                          # the net holds copies
    np.testing.assert_array_equal(net.w_plus.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(net.beta().numpy(), [[1 * 3 - 2 * 0, 2 * 4 - 3 * 1],
                                                       [3 * 5 - 4 * 2, 4 * 6 - 5 * 3]])
    assert (net.M, net.d) == (2, 2) and net.w_minus.dtype == torch.float64
    one = DiagonalNet.from_weights([1.0, 2.0, 3.0], [0.0] * 3, [2.0] * 3, [1.0] * 3)
    assert (one.M, one.d) == (1, 3)
    np.testing.assert_array_equal(one.beta().numpy(), [[2.0, 4.0, 6.0]])
    for shape in ((1, 2, 3), ()):
        with pytest.raises(ValueError, match=re.escape(
                f"w_plus must have 1 or 2 dimensions, got shape {shape}")):
            DiagonalNet.from_weights(*(np.ones(shape),) * 4)


def test_to_moves_every_weight():
    net = DiagonalNet.from_weights([1.0, 2.0], [0.5, 1.0], [3.0, 0.0], [1.0, 4.0])
    moved = net.to("meta")
    assert all(t.device.type == "meta" and t.shape == (1, 2) for t in moved.weights())
    back = net.to("cpu")
    assert back is not net
    assert all(torch.equal(a, b) for a, b in zip(back.weights(), net.weights()))


def test_conserved_names_what_it_got():
    for obj, name in ((3, "int"), (None, "NoneType"), (np.ones((1, 2)), "ndarray")):
        with pytest.raises(TypeError, match=f"^net must be a DiagonalNet, got {name}$"):
            dlnft.conserved(obj)


def exactly(message):
    return "^" + re.escape(message) + "$"


def test_from_scales_messages_and_edges():
    with pytest.raises(ValueError, match=exactly("c must be > 0.0 everywhere, got a minimum "
                                                 "of 0.0")):
        DiagonalNet.from_scales(np.array([1.0, 0.0]), 0.0)
    with pytest.raises(TypeError, match=exactly("shape must be a tuple (M, d) or (d,), got 5")):
        DiagonalNet.from_scales(1.0, 0.0, shape=5)
    with pytest.raises(ValueError, match=exactly("shape entries must be >= 1, got 0")):
        DiagonalNet.from_scales(1.0, 0.0, shape=(2, 0))
    with pytest.raises(ValueError, match=exactly(
            "c (2,), lam (3,) and shape None do not broadcast together")):
        DiagonalNet.from_scales(np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match=exactly(
            "c (2,), lam () and shape (3,) do not broadcast together")):
        DiagonalNet.from_scales(np.ones(2), 0.0, shape=[3])
    for name in ("c", "lam"):
        args = {"c": 1.0, "lam": 0.0} | {name: np.ones((1, 2, 2))}
        with pytest.raises(ValueError, match=exactly(
                f"{name} must have 0 or 1 or 2 dimensions, got shape (1, 2, 2)")):
            DiagonalNet.from_scales(**args)
    with pytest.raises(ValueError, match=exactly(
            "give shape=(M, d) or (d,) when c and lam are scalars")):
        DiagonalNet.from_scales(1.0, 0.5)
    with pytest.raises(ValueError, match=exactly("networks are (M, d) at most, got shape "
                                                 "(2, 2, 2)")):
        DiagonalNet.from_scales(np.ones((2, 2)), 0.0, shape=(2, 2, 2))
    # |lam| may exceed c by round-off (1e-12 of c): the weight that would be imaginary is 0
    net = DiagonalNet.from_scales(np.array([1.0, 2.0]), np.array([1.0 + 5e-13, -2.0 - 1e-12]))
    (w, v) = net.w_minus.numpy()[0], net.v_plus.numpy()[0]
    assert v[0] == 0.0 and w[1] == 0.0
    assert w[0] == pytest.approx(1.0, rel=1e-12) and v[1] == pytest.approx(2**0.5, rel=1e-12)
    assert torch.equal(net.w_plus, net.w_minus) and torch.equal(net.v_plus, net.v_minus)
    net = DiagonalNet.from_scales(np.array([0.5, 2.0]), np.array([0.1, -1.0]), shape=(3, 2))
    assert (net.M, net.d) == (3, 2)
    np.testing.assert_allclose(net.w_plus.numpy(), [[0.5477225575051661, 0.7071067811865476]] * 3,
                               rtol=1e-15)
    np.testing.assert_allclose(net.v_plus.numpy(), [[0.4472135954999579, 1.224744871391589]] * 3,
                               rtol=1e-15)


def test_a_net_checks_its_four_tensors_by_name():
    ok = torch.ones(2, 3, dtype=torch.float64)
    names = ("w_plus", "w_minus", "v_plus", "v_minus")
    for k, name in enumerate(names):
        def build(t):
            args = [ok] * 4
            args[k] = t
            return DiagonalNet(*args)
        with pytest.raises(TypeError, match=exactly(
                f"{name} must be a torch tensor (DiagonalNet.from_weights takes arrays), "
                f"got ndarray")):
            build(np.ones((2, 3)))
        for dtype in (torch.complex64, torch.bool):
            with pytest.raises(TypeError, match=exactly(f"{name} must be real, got dtype "
                                                        f"{dtype}")):
                build(torch.ones(2, 3, dtype=dtype))
        net = build(torch.full((2, 3), 0.5, dtype=torch.float32))
        assert getattr(net, name).dtype == torch.float64
        assert torch.equal(getattr(net, name), torch.full((2, 3), 0.5, dtype=torch.float64))
        shapes = {n: (2, 3) for n in names} | {name: (1, 3)}
        with pytest.raises(ValueError, match=exactly(
                f"w_plus, w_minus, v_plus, v_minus must have one shape (M, d), got {shapes}")):
            build(torch.ones(1, 3))
    with pytest.raises(ValueError, match=exactly(
            "w_plus, w_minus, v_plus, v_minus must have one shape (M, d), got "
            + str({n: (3,) for n in names}))):
        DiagonalNet(*(torch.ones(3),) * 4)


def test_index_messages():
    net = DiagonalNet.from_scales(np.array([[1.0], [2.0], [3.0]]), 0.0, shape=(3, 2))
    with pytest.raises(IndexError, match=exactly(
            "network index 3 is out of range for M = 3 networks")):
        net[3]
    with pytest.raises(IndexError, match=exactly(
            "index slice(5, 7, None) selects none of the M = 3 networks")):
        net[5:7]
    for i in (-3, 0, 2):
        assert torch.equal(net[i].w_plus, net.w_plus[i % 3:i % 3 + 1])
    with pytest.raises(ValueError, match="one shape"):
        net[True]                                  # a bool is not a network index


def test_as_data_messages():
    from dlnft.gd import as_data

    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 3))
    X, y = np.ones((4, 3)), np.ones(4)
    for args, exc, message in (
            ((X, y, 3), TypeError, "net must be a DiagonalNet, got int"),
            ((np.ones(3), y, net), ValueError, "X must have 2 or 3 dimensions, got shape (3,)"),
            ((X, np.ones((1, 1, 4)), net), ValueError,
             "y must have 1 or 2 dimensions, got shape (1, 1, 4)"),
            ((np.ones((4, 2)), y, net), ValueError,
             "X has 2 features but the networks have d = 3 coordinates"),
            ((np.ones((3, 4, 3)), y, net), ValueError,
             "X holds 3 design matrices but there are M = 2 networks"),
            ((X, np.ones(5), net), ValueError, "y has 5 targets but X has n = 4 samples"),
            ((X, np.ones((3, 4)), net), ValueError,
             "y holds 3 target vectors but there are M = 2 networks")):
        with pytest.raises(exc, match=exactly(message)):
            as_data(*args)
    data = as_data(np.ones((2, 4, 3)), np.ones((2, 4)), net)
    assert data.X.shape == (2, 4, 3) and data.y.shape == (2, 4) and data.n == 4
    assert data.X.dtype == data.y.dtype == torch.float64
    meta = as_data(X, y, net.to("meta"))
    assert meta.X.device.type == meta.y.device.type == "meta"


def test_indexing_keeps_the_batch_dimension():
    net = DiagonalNet.from_scales(np.linspace(0.1, 1, 4)[:, None], 0.0, shape=(4, 3))
    assert net[2].M == 1 and net[-1].M == 1 and net[1:3].M == 2
    np.testing.assert_allclose(dlnft.conserved(net[-1]).c, 1.0)


# --- conservation ---------------------------------------------------------------------------

def test_small_step_gd_conserves_c_and_lambda(task):
    pt, _ = task
    net = DiagonalNet.from_scales(0.3, -0.1, shape=(1, pt.d))
    out = dlnft.gd(net, pt.X, pt.y, lr=1e-3, steps=2000).net
    kept = dlnft.conserved(out)
    assert np.max(np.abs(kept.c - 0.3)) < 1e-6
    assert np.max(np.abs(kept.lam_plus + 0.1)) < 1e-6
    assert np.max(np.abs(out.beta().numpy())) > 1e-3  # it did learn something


def test_one_gd_step_drift_is_exactly_minus_eta2_g2(task):
    pt, _ = task
    rng = np.random.default_rng(0)
    net = DiagonalNet.from_weights(*(rng.normal(size=pt.d) for _ in range(4)))
    lr = 0.05
    g = dlnft.gradient(net, pt.X, pt.y)
    before = dlnft.conserved(net)
    after = dlnft.conserved(dlnft.gd(net, pt.X, pt.y, lr=lr, steps=1).net)
    factor = 1 - (lr * g) ** 2
    np.testing.assert_allclose(after.c, before.c * factor, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(after.lam_plus, before.lam_plus * factor, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(after.lam_minus, before.lam_minus * factor, rtol=1e-12,
                               atol=1e-15)


def test_beta_velocity_prefactor_is_two_sqrt_beta2_plus_c2(task):
    pt, _ = task
    net = dlnft.gd(DiagonalNet.from_scales(0.2, 0.1, shape=(1, pt.d)), pt.X, pt.y, lr=0.05,
                   steps=300).net
    wp, wm, vp, vm = (t.numpy() for t in net.weights())
    kept = dlnft.conserved(net)
    beta = net.beta().numpy()
    np.testing.assert_allclose(wp**2 + vp**2 + wm**2 + vm**2, 2 * np.sqrt(beta**2 + kept.c**2),
                               rtol=1e-10)


# --- batched GD -----------------------------------------------------------------------------

def test_batched_gd_equals_one_at_a_time(task):
    pt, _ = task
    c = np.array([0.05, 0.5, 2.0])[:, None]
    lam = np.array([-0.04, 0.0, 1.5])[:, None]
    lrs = np.array([0.02, 0.05, 0.01])
    batched = dlnft.gd(DiagonalNet.from_scales(c, lam, shape=(3, pt.d)), pt.X, pt.y, lr=lrs,
                       steps=300)
    for m in range(3):
        single = dlnft.gd(DiagonalNet.from_scales(c[m], lam[m], shape=(1, pt.d)), pt.X, pt.y,
                          lr=float(lrs[m]), steps=300)
        np.testing.assert_allclose(batched.net[m].beta().numpy(), single.net.beta().numpy(),
                                   rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(batched.losses[:, m], single.losses[:, 0], rtol=1e-10)


def test_batched_gd_with_one_design_matrix_per_network():
    tasks = [dlnft.make_tasks(d=30, alpha_pt=0.5, alpha_ft=0.5, rho_pt=0.2, rho_ft=0.2,
                              omega="new", seed=s)[0] for s in range(3)]
    X = np.stack([t.X for t in tasks])
    y = np.stack([t.y for t in tasks])
    batched = dlnft.gd(DiagonalNet.from_scales(0.5, 0.0, shape=(3, 30)), X, y, lr=0.1,
                       steps=200)
    for m, t in enumerate(tasks):
        single = dlnft.gd(DiagonalNet.from_scales(0.5, 0.0, shape=(1, 30)), t.X, t.y, lr=0.1,
                          steps=200)
        np.testing.assert_allclose(batched.net[m].beta().numpy(), single.net.beta().numpy(),
                                   rtol=1e-10, atol=1e-14)


def test_gd_does_not_modify_its_input_and_records_losses(task):
    pt, _ = task
    net = DiagonalNet.from_scales(0.5, 0.0, shape=(2, pt.d))
    weights = [t.clone() for t in net.weights()]
    res = dlnft.gd(net, pt.X, pt.y, lr=0.1, steps=100, record_every=10)
    assert all(torch.equal(a, b) for a, b in zip(net.weights(), weights))
    assert res.n_steps == 100 and res.steps.tolist() == list(range(0, 101, 10))
    assert res.losses.shape == (11, 2)
    np.testing.assert_allclose(res.losses[0], dlnft.loss(net, pt.X, pt.y), rtol=1e-14)
    for k, row in zip(res.steps[1:], res.losses[1:]):
        np.testing.assert_allclose(row, dlnft.loss(dlnft.gd(net, pt.X, pt.y, lr=0.1,
                                                             steps=int(k)).net, pt.X, pt.y),
                                   rtol=1e-12)
    assert np.all(np.diff(res.losses[:, 0]) < 0)        # a small step: the loss falls


def test_gd_stops_at_the_first_check_below_tol(task):
    """Losses are checked every 25 steps: gd stops at the first check with every loss below
    tol, with the weights of that many plain steps and its loss recorded last."""
    pt, _ = task
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, pt.d))
    res = dlnft.gd(net, pt.X, pt.y, lr=0.2, steps=100_000, tol=1e-8)
    assert res.n_steps % 25 == 0 and 25 <= res.n_steps < 100_000
    assert res.steps.tolist() == [0, res.n_steps]
    plain = dlnft.gd(net, pt.X, pt.y, lr=0.2, steps=res.n_steps)
    for a, b in zip(res.net.weights(), plain.net.weights()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(res.losses, plain.losses)
    assert res.losses[-1, 0] < 1e-8
    np.testing.assert_allclose(res.losses[-1], dlnft.loss(res.net, pt.X, pt.y), rtol=1e-10)
    before = dlnft.gd(net, pt.X, pt.y, lr=0.2, steps=res.n_steps - 25).losses[-1, 0]
    assert before >= 1e-8


def test_gd_stops_only_below_tol_not_at_it():
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 1))
    X, y = np.eye(1), np.ones(1)
    at_25 = dlnft.gd(net, X, y, lr=0.01, steps=25).losses[-1, 0]
    res = dlnft.gd(net, X, y, lr=0.01, steps=1000, tol=float(at_25))
    assert res.n_steps == 50 and res.losses[-1, 0] < at_25


def test_gd_bounds_on_lr_and_blowup_are_exact():
    from dlnft.gd import _lr_tensor

    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 3))
    X, y = np.eye(3), np.ones(3)
    for lr, message in (([0.1, 0.0], "lr must be > 0.0 everywhere, got a minimum of 0.0"),
                        (np.array([0.1, -0.5]),
                         "lr must be > 0.0 everywhere, got a minimum of -0.5"),
                        (0.0, "lr must be > 0.0, got 0.0")):
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            dlnft.gd(net, X, y, lr=lr, steps=1)
    with pytest.raises(ValueError, match=r"^blowup must be >= 1\.0, got 0\.999$"):
        dlnft.gd(net, X, y, lr=0.1, steps=1, blowup=0.999)
    # blowup = 1 is allowed: a loss may not rise above max(1, its start), and here it falls
    res = dlnft.gd(net, X, y, lr=0.1, steps=30, blowup=1.0)
    assert res.n_steps == 30 and np.all(res.losses[-1] < res.losses[0])
    with pytest.raises(ValueError, match=r"^record_every must be >= 0, got -1$"):
        dlnft.gd(net, X, y, lr=0.1, steps=1, record_every=-1)
    assert _lr_tensor([0.1, 0.2], 2, "meta").device.type == "meta"
    assert _lr_tensor(0.1, 2, "cpu").shape == (1, 1)
    assert _lr_tensor([0.1, 0.2], 2, "cpu").tolist() == [[0.1], [0.2]]


def test_gd_divergence_ceiling_is_blowup_times_max_of_1_and_the_start():
    """One network, one coordinate, w± = v± = sqrt(1/2), y = 1: one step of size η gives
    β = 2η and the loss (2η − 1)²/2 from L0 = 1/2."""
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 1))
    X, y = np.eye(1), np.ones(1)
    res = dlnft.gd(net, X, y, lr=1.35, steps=1, blowup=1.5)     # 1.445 < 1.5 · max(1, 0.5)
    np.testing.assert_allclose(res.losses[:, 0], [0.5, 1.7**2 / 2], rtol=1e-12)
    message = ("gradient descent diverged by step 1 in network(s) [0] (loss 1.45); lower the "
               "step size lr (now 1.35), e.g. to 0.338")
    with pytest.raises(GDDivergedError, match="^" + re.escape(message) + "$"):
        dlnft.gd(net, X, y, lr=1.35, steps=1, blowup=1.0)     # 1.445 > 1 · max(1, 0.5)
    # a start above 1 scales the ceiling: y = 10 gives L0 = 50, a falling loss is kept
    res = dlnft.gd(net, X, 10 * y, lr=0.01, steps=3, blowup=1.0)
    assert res.losses[0, 0] == 50.0 and res.losses[-1, 0] < 50.0


def test_gd_divergence_names_the_networks_and_their_largest_step_size():
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 1))
    X, y = np.eye(1), np.ones(1)
    # a loss exactly at the ceiling is kept (the check is "above")
    at = dlnft.gd(net, X, y, lr=1.35, steps=1).losses[-1, 0]
    kept = dlnft.gd(net, X, y, lr=1.35, steps=1, blowup=float(at))   # ceiling at · max(1, ½)
    assert kept.n_steps == 1 and kept.losses[-1, 0] == at
    three = DiagonalNet.from_scales(1.0, 0.0, shape=(3, 1))
    pattern = (r"^gradient descent diverged by step 25 in network\(s\) {} \(loss \S+\); "
               r"lower the step size lr \(now {}\), e\.g\. to {}$")
    with pytest.raises(GDDivergedError, match=pattern.format(r"\[1, 2\]", "5", "1.25")):
        dlnft.gd(three, X, y, lr=np.array([0.1, 5.0, 3.0]), steps=100)
    with pytest.raises(GDDivergedError, match=pattern.format(r"\[2\]", "3", "0.75")):
        dlnft.gd(three, X, y, lr=np.array([0.1, 0.2, 3.0]), steps=100)
    # one step size shared by all: the second network's own data make it diverge
    Xs = np.stack([np.eye(1), 10 * np.eye(1), np.eye(1)])
    with pytest.raises(GDDivergedError, match=pattern.format(r"\[1\]", "0.5", "0.125")):
        dlnft.gd(three, Xs, np.ones((3, 1)), lr=0.5, steps=100)
    two = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 1))
    with pytest.raises(GDDivergedError, match=pattern.format(r"\[1\]", "5", "1.25")):
        dlnft.gd(two, X, y, lr=np.array([0.1, 5.0]), steps=100)
    # at most ten networks are named
    many = DiagonalNet.from_scales(1.0, 0.0, shape=(12, 1))
    with pytest.raises(GDDivergedError, match=pattern.format(
            re.escape(str(list(range(10)))), "100", "25")):
        dlnft.gd(many, X, y, lr=100.0, steps=100)


def test_gd_progress_bar_is_labelled(monkeypatch):
    from dlnft import _progress

    seen = []

    def bar(iterable, **kwargs):
        seen.append(kwargs)
        return iterable
    monkeypatch.setattr(_progress, "bar", bar)
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 1))
    assert dlnft.gd(net, np.eye(1), np.ones(1), lr=0.1, steps=3).n_steps == 3
    assert seen == [{"desc": "GD"}]


def test_gd_raises_on_divergence_and_names_the_step_size(task):
    pt, _ = task
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(1, pt.d))
    with pytest.raises(GDDivergedError, match=r"lower the step size lr \(now 100\)"):
        dlnft.gd(net, pt.X, pt.y, lr=100.0, steps=500)


# --- tasks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("omega, inside", [("subset", 10), ("new", 0), (0.5, 5)])
def test_task_supports(omega, inside):
    pt, ft = dlnft.make_tasks(d=200, alpha_pt=0.5, alpha_ft=0.25, rho_pt=0.2, rho_ft=0.05,
                              omega=omega, a_pt=2.0, seed=1)
    assert len(pt.support) == 40 and len(ft.support) == 10
    np.testing.assert_array_equal(pt.beta_star[pt.support], 2.0)
    assert len(np.intersect1d(pt.support, ft.support)) == inside
    assert pt.X.shape == (100, 200) and ft.X.shape == (50, 200)
    np.testing.assert_allclose(pt.y, pt.X @ pt.beta_star)
    np.testing.assert_allclose(ft.y, ft.X @ ft.beta_star)


def test_task_statistics():
    pt, ft = dlnft.make_tasks(d=2000, alpha_pt=1.0, alpha_ft=1.0, rho_pt=0.5, rho_ft=0.5,
                              omega=0.5, seed=2)
    assert abs(pt.X.var() * 2000 - 1) < 0.01          # X_ij ~ N(0, 1/d)
    assert abs(np.mean(ft.beta_star**2) - 1) < 0.1     # E[β*²] = 1


def test_tasks_are_seeded_and_noise_is_added():
    a = dlnft.make_tasks(d=50, alpha_pt=1, alpha_ft=1, rho_pt=0.2, rho_ft=0.2, omega=1, seed=7)
    b = dlnft.make_tasks(d=50, alpha_pt=1, alpha_ft=1, rho_pt=0.2, rho_ft=0.2, omega=1, seed=7)
    np.testing.assert_array_equal(a[1].X, b[1].X)
    noisy = dlnft.make_tasks(d=50, alpha_pt=1, alpha_ft=1, rho_pt=0.2, rho_ft=0.2, omega=1,
                             noise=0.1, seed=7)
    assert 0.01 < np.var(noisy[0].y - noisy[0].X @ noisy[0].beta_star) < 0.5


# --- PT → FT --------------------------------------------------------------------------------

def test_merged_rule_reinitialization():
    net = DiagonalNet.from_weights([1.0, 2.0], [0.5, 0.0], [0.3, 0.1], [0.2, 0.4])
    ft = dlnft.finetune_init(net, gamma=2.0, rule="merged")
    np.testing.assert_allclose(ft.w_plus.numpy(), [[1.5, 2.0]])
    np.testing.assert_allclose(ft.w_minus.numpy(), [[1.5, 2.0]])
    np.testing.assert_allclose(ft.v_plus.numpy(), math.sqrt(2))
    np.testing.assert_array_equal(ft.beta().numpy(), 0.0)
    kept = dlnft.conserved(ft)
    np.testing.assert_allclose(kept.c, [[1.5**2 + 2, 2.0**2 + 2]])   # (w₊+w₋)² + γ²/2
    np.testing.assert_allclose(kept.lam_plus, kept.lam_minus)


def test_separate_rule_reinitialization():
    net = DiagonalNet.from_weights([1.0, 2.0], [0.5, 0.0], [0.3, 0.1], [0.2, 0.4])
    ft = dlnft.finetune_init(net, gamma=2.0, rule="separate")
    np.testing.assert_allclose(ft.w_plus.numpy(), [[1.0, 2.0]])
    np.testing.assert_allclose(ft.v_minus.numpy(), 2.0)
    np.testing.assert_allclose(ft.beta().numpy(), [[2.0 * (1.0 - 0.5), 2.0 * 2.0]])


def test_pretrain_finetune_pipeline(task):
    pt, ft = task
    net = DiagonalNet.from_scales(0.1, 0.0, shape=(2, pt.d))
    res = dlnft.pretrain_finetune(net, pt, ft, gamma=0.1, lr_pt=0.3, lr_ft=0.3, steps_pt=3000,
                                  steps_ft=3000)
    assert res.pt.net.M == res.ft_init.M == res.ft.net.M == 2
    assert res.ft.net.d == pt.d
    assert res.pt.losses[-1].max() < 1e-4 and res.ft.losses[-1].max() < 1e-4
    np.testing.assert_array_equal(res.ft_init.beta().numpy(), 0.0)
    res2 = dlnft.pretrain_finetune(net, (pt.X, pt.y), (ft.X, ft.y), gamma=0.1, lr_pt=0.3,
                                   lr_ft=0.3, steps_pt=3000, steps_ft=3000)
    np.testing.assert_allclose(res2.ft.net.beta().numpy(), res.ft.net.beta().numpy())


def test_get_scale(monkeypatch):
    monkeypatch.setenv("DLNFT_SCALE", "full")
    assert dlnft.get_scale() == "full"
    monkeypatch.setenv("DLNFT_SCALE", "smoke")
    assert dlnft.get_scale() == "smoke"
    monkeypatch.delenv("DLNFT_SCALE")
    assert dlnft.get_scale() == ("full" if torch.cuda.is_available() else "smoke")
    monkeypatch.setenv("DLNFT_SCALE", "huge")
    with pytest.raises(ValueError, match="DLNFT_SCALE must be one of"):
        dlnft.get_scale()


# --- validation -----------------------------------------------------------------------------

X_OK = np.ones((4, 3))
Y_OK = np.ones(4)
NET = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 3))


@pytest.mark.parametrize("call, exc, message", [
    (lambda: DiagonalNet.from_scales(0.0, 0.0, shape=(3,)), ValueError, "c must be > 0"),
    (lambda: DiagonalNet.from_scales(-1.0, 0.0, shape=(3,)), ValueError, "c must be > 0"),
    (lambda: DiagonalNet.from_scales(1.0, 1.5, shape=(3,)), ValueError, r"\|lam\| <= c"),
    (lambda: DiagonalNet.from_scales(np.nan, 0.0, shape=(3,)), ValueError, "c must be finite"),
    (lambda: DiagonalNet.from_scales(1.0, 0.0), ValueError, "give shape"),
    (lambda: DiagonalNet.from_scales(np.ones(3), np.ones(4)), ValueError, "do not broadcast"),
    (lambda: DiagonalNet.from_scales(1.0, 0.0, shape=(1, 2, 3)), ValueError, r"\(M, d\) at most"),
    (lambda: DiagonalNet.from_weights(np.ones(3), np.ones(3), np.ones(3), np.ones(2)),
     ValueError, "one shape"),
    (lambda: DiagonalNet.from_weights([np.inf], [1], [1], [1]), ValueError,
     "w_plus must be finite"),
    (lambda: DiagonalNet.from_weights("abc", [1], [1], [1]), TypeError, "w_plus"),
    (lambda: dlnft.conserved("net"), TypeError, "net must be a DiagonalNet"),
    (lambda: dlnft.gd(NET, np.ones((4, 5)), Y_OK, lr=0.1, steps=1), ValueError,
     "X has 5 features"),
    (lambda: dlnft.gd(NET, X_OK, np.ones(5), lr=0.1, steps=1), ValueError, "y has 5 targets"),
    (lambda: dlnft.gd(NET, np.ones((3, 4, 3)), Y_OK, lr=0.1, steps=1), ValueError,
     "X holds 3 design matrices"),
    (lambda: dlnft.gd(NET, X_OK, np.ones((3, 4)), lr=0.1, steps=1), ValueError,
     "y holds 3 target vectors"),
    (lambda: dlnft.gd(NET, np.ones((0, 3)), np.ones(0), lr=0.1, steps=1), ValueError,
     "X must not be empty"),
    (lambda: dlnft.gd(NET, X_OK, Y_OK, lr=0.0, steps=1), ValueError, "lr must be > 0"),
    (lambda: dlnft.gd(NET, X_OK, Y_OK, lr=[0.1, 0.1, 0.1], steps=1), ValueError,
     "one entry per network"),
    (lambda: dlnft.gd(NET, X_OK, Y_OK, lr=0.1, steps=-1), ValueError, "steps must be >= 0"),
    (lambda: dlnft.gd(NET, X_OK, Y_OK, lr=0.1, steps=1.5), TypeError, "steps must be an integer"),
    (lambda: dlnft.gd(NET, X_OK, Y_OK, lr=0.1, steps=1, tol=0.0), ValueError, "tol must be > 0"),
    (lambda: dlnft.gd(NET, X_OK * np.nan, Y_OK, lr=0.1, steps=1), ValueError, "X must be finite"),
    (lambda: dlnft.make_tasks(d=0, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1),
     ValueError, "d must be >= 1"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=0, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1),
     ValueError, "alpha_pt must be > 0"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=0.01, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1),
     ValueError, "alpha_pt = 0.01 gives no samples"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=1.5, rho_ft=.1, omega=1),
     ValueError, "rho_pt must be <= 1"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.01, rho_ft=.1, omega=1),
     ValueError, "rho_pt = 0.01 gives an empty support"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.5, omega=1),
     ValueError, "puts 5 FT features in a PT support of only 1"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.9, rho_ft=.5, omega=0),
     ValueError, "outside the PT support"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega="all"),
     ValueError, "omega must be one of"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=2),
     ValueError, "omega must be <= 1"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1,
                              a_pt=0), ValueError, "a_pt must be non-zero"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1,
                              noise=-1), ValueError, "noise must be >= 0"),
    (lambda: dlnft.make_tasks(d=10, alpha_pt=1, alpha_ft=1, rho_pt=.1, rho_ft=.1, omega=1,
                              seed=-1), ValueError, "seed must be >= 0"),
    (lambda: dlnft.finetune_init(NET, gamma=-1.0), ValueError, "gamma must be >= 0"),
    (lambda: dlnft.finetune_init(NET, gamma=1.0, rule="fused"), ValueError, "rule must be one of"),
    (lambda: dlnft.pretrain_finetune(NET, "task", (X_OK, Y_OK), gamma=0, lr_pt=.1, lr_ft=.1,
                                     steps_pt=1, steps_ft=1), TypeError, "task_pt must be"),
])
def test_validation_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
