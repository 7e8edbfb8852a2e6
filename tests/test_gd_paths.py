"""dlnft.gd's two step formulas (two products with X, or the Gram matrix XᵀX/n when d < 2n)
against a plain NumPy loop over networks and steps."""
import numpy as np
import pytest

import dlnft
from dlnft.network import DiagonalNet


def reference_gd(net, X, y, lr, steps):
    """One network at a time, one step at a time, exactly the update of dlnft.gd's docstring:
    the four weights (w₊, w₋, v₊, v₋), each of shape (M, d)."""
    out = []
    for m in range(net.M):
        wp, wm, vp, vm = (t[m].numpy().copy() for t in net.weights())
        Xm, ym = (X, y) if X.ndim == 2 else (X[m], y[m])
        eta = lr if np.ndim(lr) == 0 else lr[m]
        for _ in range(steps):
            g = Xm.T @ (Xm @ (wp * vp - wm * vm) - ym) / Xm.shape[0]
            wp, vp, wm, vm = wp - eta * vp * g, vp - eta * wp * g, wm + eta * vm * g, \
                vm + eta * wm * g
        out.append((wp, wm, vp, vm))
    return tuple(np.stack(w) for w in zip(*out))


@pytest.mark.parametrize("n, d", [(40, 30), (40, 100)], ids=["gram", "two-products"])
@pytest.mark.parametrize("per_network_X", [False, True])
@pytest.mark.parametrize("per_network_lr", [False, True])
def test_gd_matches_a_plain_loop(n, d, per_network_X, per_network_lr):
    rng = np.random.default_rng(n + d)
    M = 3
    shape = (M, n, d) if per_network_X else (n, d)
    X = rng.normal(size=shape) / np.sqrt(d)
    y = rng.normal(size=shape[:-1])
    lr = np.array([0.05, 0.1, 0.2]) if per_network_lr else 0.1
    net = DiagonalNet.from_weights(*(rng.uniform(0.1, 0.5, size=(M, d)) for _ in range(4)))
    res = dlnft.gd(net, X, y, lr=lr, steps=60)
    expected = reference_gd(net, X, y, lr, 60)
    for got, want in zip(res.net.weights(), expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-13)
    wp, wm, vp, vm = expected
    np.testing.assert_allclose(res.net.beta().numpy(), wp * vp - wm * vm, rtol=1e-10,
                               atol=1e-13)
    assert res.n_steps == 60 and res.steps.tolist() == [0, 60]
    np.testing.assert_allclose(res.losses[0], dlnft.loss(net, X, y), rtol=1e-12)
    np.testing.assert_allclose(res.losses[-1], dlnft.loss(res.net, X, y), rtol=1e-12)


def test_gram_path_losses_stay_exact_near_interpolation():
    """Losses come from the residual, not from the Gram form (which cancels to ~1e-16)."""
    rng = np.random.default_rng(0)
    n, d = 20, 30
    X = rng.normal(size=(n, d)) / np.sqrt(d)
    y = X @ rng.normal(size=d)
    res = dlnft.gd(DiagonalNet.from_scales(1.0, 0.0, shape=(1, d)), X, y, lr=1.0,
                   steps=20_000, tol=1e-26)
    assert res.losses[-1, 0] < 1e-26 and res.n_steps < 20_000
    np.testing.assert_allclose(res.losses[-1], dlnft.loss(res.net, X, y), rtol=1e-2)


@pytest.mark.parametrize("n, d", [(40, 30), (40, 100)], ids=["gram", "two-products"])
@pytest.mark.parametrize("per_network_X", [False, True])
def test_every_path_writes_into_its_buffers_without_a_resize(n, d, per_network_X):
    """Each product writes into a preallocated buffer of its own shape: torch warns (and will
    refuse) when an `out=` tensor has to be resized, so any warning here is an error."""
    import warnings

    from dlnft.gd import _lr_tensor, _Stepper, as_data

    rng = np.random.default_rng(7)
    M = 3
    X = rng.normal(size=(M, n, d) if per_network_X else (n, d)) / np.sqrt(d)
    y = rng.normal(size=X.shape[:-1])
    net = DiagonalNet.from_weights(*(rng.uniform(0.1, 0.5, size=(M, d)) for _ in range(4)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lr in (0.1, np.array([0.05, 0.1, 0.2])):
            dlnft.gd(net, X, y, lr=lr, steps=30)
    state = _Stepper(net, as_data(X, y, net), _lr_tensor(0.1, M, "cpu"), 30)
    assert state.gram == (d < 2 * n)
    if not state.gram:                  # the loss checks reuse the residual kept by the step
        state.step()
        assert state.residual() is state.r
        np.testing.assert_allclose(state.r.numpy(), state.data.residual(state.beta).numpy(),
                                   rtol=1e-12, atol=1e-14)
