"""Property tests: dlnft's public API refuses bad input loudly and by name.

Every property feeds a public function one kind of bad argument (wrong shape, NaN/inf, a zero or
negative scale, empty data, mismatched sizes, a wrong type) and asserts that it raises
``ValueError`` or ``TypeError`` whose message names the argument, raised by dlnft's own checks
(the innermost frame of the traceback is in the dlnft package, not deep inside numpy or torch).
A few properties check the other side: valid input gives a finite, correct answer.

``COUNTS`` records how many examples each property tried; run with ``-s`` to see them.
"""
from __future__ import annotations

import math
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlnft
from dlnft import (DiagonalNet, conserved, finetune_init, gd, get_scale, loss, make_tasks,
                   pretrain_finetune)

settings.register_profile("dlnft", max_examples=60, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dlnft")

PACKAGE = Path(dlnft.__file__).resolve().parent
COUNTS: Counter = Counter()

BAD_REALS = st.sampled_from([math.nan, math.inf, -math.inf])
SMALL = st.integers(1, 4)


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    print("\nexamples tried per property:")
    for name, n in sorted(COUNTS.items()):
        print(f"  {name:45s} {n}")


def refuses(fn, names, *, count):
    """Call fn(); assert it raises ValueError/TypeError from dlnft naming one of ``names``."""
    COUNTS[count] += 1
    names = (names,) if isinstance(names, str) else names
    with pytest.raises((ValueError, TypeError)) as info:
        fn()
    message = str(info.value)
    assert any(n in message for n in names), f"message {message!r} names none of {names}"
    tb = info.value.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    origin = Path(tb.tb_frame.f_code.co_filename).resolve()
    assert PACKAGE in origin.parents, f"raised from {origin}, not by dlnft's checks: {message}"


def with_bad_entry(shape, bad):
    """A standard-normal float64 array of ``shape`` with one entry set to ``bad``."""
    def build(seed_and_index):
        seed, index = seed_and_index
        a = np.random.default_rng(seed).standard_normal(shape)
        a.flat[index % a.size] = bad
        return a
    return st.tuples(st.integers(0, 2**16), st.integers(0, 10**6)).map(build)


@st.composite
def net_and_data(draw, per_network=False):
    """A valid (net, X, y): M networks, d coordinates, n samples."""
    M, d, n = draw(SMALL), draw(SMALL), draw(SMALL)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(M, d))
    X = rng.standard_normal((M, n, d) if per_network else (n, d))
    y = rng.standard_normal((M, n) if per_network else (n,))
    return net, X, y


# --- DiagonalNet.from_scales ----------------------------------------------------------------

@given(c=st.one_of(BAD_REALS, st.floats(-1e6, 0.0)), lam=st.floats(-1, 1))
def test_from_scales_refuses_bad_c(c, lam):
    refuses(lambda: DiagonalNet.from_scales(c, lam, shape=(2, 3)), "c",
            count="from_scales: c <= 0, NaN or inf")


@given(lam=st.one_of(BAD_REALS, st.floats(1.0001, 1e6), st.floats(-1e6, -1.0001)))
def test_from_scales_refuses_bad_lam(lam):
    refuses(lambda: DiagonalNet.from_scales(1.0, lam, shape=(2, 3)), "lam",
            count="from_scales: NaN/inf lam or |lam| > c")


@given(st.data())
def test_from_scales_refuses_bad_entries_in_arrays(data):
    shape = (data.draw(SMALL), data.draw(SMALL))
    which = data.draw(st.sampled_from(["c", "lam"]))
    bad = with_bad_entry(shape, data.draw(BAD_REALS))
    c = np.abs(data.draw(bad)) + 1 if which == "c" else np.full(shape, 2.0)
    lam = data.draw(bad) if which == "lam" else np.zeros(shape)
    refuses(lambda: DiagonalNet.from_scales(c, lam), which,
            count="from_scales: NaN/inf entry in array c or lam")


@given(shape=st.one_of(
    st.tuples(SMALL, SMALL, SMALL),                       # too many dimensions
    st.tuples(st.integers(0, 3), st.just(0)),             # no coordinates
    st.tuples(st.just(0), SMALL),                         # no networks
    st.tuples(st.integers(-4, -1), SMALL),                # negative sizes
    st.tuples(),                                          # nothing to broadcast to
))
def test_from_scales_refuses_bad_shape(shape):
    refuses(lambda: DiagonalNet.from_scales(1.0, 0.0, shape=shape), "shape",
            count="from_scales: bad shape=")


@given(st.data())
def test_from_scales_refuses_mismatched_arrays(data):
    a, b = data.draw(st.tuples(st.integers(2, 5), st.integers(2, 5)).filter(lambda t: t[0] != t[1]))
    refuses(lambda: DiagonalNet.from_scales(np.ones(a), np.zeros(b)), ("c", "lam"),
            count="from_scales: c and lam do not broadcast")


@given(value=st.one_of(st.text(max_size=3), st.none(), st.just([[1.0], [1.0, 2.0]]),
                       st.just({"c": 1})))
def test_from_scales_refuses_non_numbers(value):
    refuses(lambda: DiagonalNet.from_scales(value, 0.0, shape=(2, 2)), "c",
            count="from_scales: non-numeric c")


@given(M=SMALL, d=SMALL, c=st.floats(1e-3, 1e3), frac=st.floats(-1, 1))
def test_from_scales_is_right_on_valid_input(M, d, c, frac):
    COUNTS["from_scales: valid input conserves (c, lam)"] += 1
    lam = frac * c
    net = DiagonalNet.from_scales(c, lam, shape=(M, d))
    q = conserved(net)
    assert net.M == M and net.d == d
    np.testing.assert_allclose(q.c, c, rtol=1e-9)
    np.testing.assert_allclose(q.lam_plus, lam, rtol=1e-9, atol=1e-9 * c)
    assert float(net.beta().abs().max()) == 0.0


# --- DiagonalNet.from_weights and conserved -------------------------------------------------

NAMES = ["w_plus", "w_minus", "v_plus", "v_minus"]


@given(st.data())
def test_from_weights_refuses_bad_entries(data):
    shape = (data.draw(SMALL), data.draw(SMALL))
    which = data.draw(st.sampled_from(NAMES))
    args = {n: np.ones(shape) for n in NAMES}
    args[which] = data.draw(with_bad_entry(shape, data.draw(BAD_REALS)))
    refuses(lambda: DiagonalNet.from_weights(**args), which,
            count="from_weights: NaN/inf weight")


@given(st.data())
def test_from_weights_refuses_mismatched_or_bad_shapes(data):
    which = data.draw(st.sampled_from(NAMES))
    other = data.draw(st.one_of(
        st.tuples(st.integers(5, 7), st.integers(5, 7)),   # a different (M, d)
        st.tuples(st.integers(1, 3), st.just(0)),          # empty
        st.tuples(SMALL, SMALL, SMALL),                    # 3 dimensions
        st.just(()),                                       # a scalar
    ))
    args = {n: np.ones((2, 3)) for n in NAMES}
    args[which] = np.ones(other)
    refuses(lambda: DiagonalNet.from_weights(**args), which,
            count="from_weights: wrong/mismatched shape")


@given(obj=st.one_of(st.none(), st.integers(), st.just(np.ones((2, 2))), st.text(max_size=2)))
def test_functions_of_a_net_refuse_other_objects(obj):
    X, y = np.ones((3, 2)), np.ones(3)
    refuses(lambda: conserved(obj), "net", count="conserved/gd/loss/finetune_init: net not a net")
    refuses(lambda: gd(obj, X, y, lr=0.1, steps=1), "net",
            count="conserved/gd/loss/finetune_init: net not a net")
    refuses(lambda: loss(obj, X, y), "net",
            count="conserved/gd/loss/finetune_init: net not a net")
    refuses(lambda: finetune_init(obj, 1.0), "net",
            count="conserved/gd/loss/finetune_init: net not a net")


# --- gd and loss ----------------------------------------------------------------------------

@given(data=st.data(), per_network=st.booleans())
def test_gd_and_loss_refuse_bad_entries_in_data(data, per_network):
    net, X, y = data.draw(net_and_data(per_network))
    which = data.draw(st.sampled_from(["X", "y"]))
    bad = data.draw(with_bad_entry((X if which == "X" else y).shape, data.draw(BAD_REALS)))
    X, y = (bad, y) if which == "X" else (X, bad)
    refuses(lambda: gd(net, X, y, lr=0.1, steps=2), which, count="gd/loss: NaN/inf in X or y")
    refuses(lambda: loss(net, X, y), which, count="gd/loss: NaN/inf in X or y")


@given(st.data())
def test_gd_and_loss_refuse_mismatched_shapes(data):
    net, X, y = data.draw(net_and_data(data.draw(st.booleans())))
    M, n, d = net.M, X.shape[-2], net.d
    X_bad, y_bad, name = data.draw(st.sampled_from([
        (np.ones((n, d + 1)), y, "X"),                 # wrong number of features
        (np.ones((M + 1, n, d)), np.ones((M + 1, n)), "X"),   # one design per network, too many
        (X, np.ones(n + 1), "y"),                      # more targets than samples
        (np.ones((n, d)), np.ones((M + 1, n)), "y"),   # target vectors for too many networks
        (np.ones(d), y, "X"),                          # one dimension
        (np.ones((1, 1, n, d)), y, "X"),               # four dimensions
        (np.ones((0, d)), np.ones(0), "X"),            # no samples
        (X, np.ones((1, 1, n)), "y"),                  # three-dimensional targets
    ]))
    refuses(lambda: gd(net, X_bad, y_bad, lr=0.1, steps=2), name,
            count="gd/loss: mismatched or empty X, y")
    refuses(lambda: loss(net, X_bad, y_bad), name, count="gd/loss: mismatched or empty X, y")


@given(st.data())
def test_gd_refuses_bad_lr(data):
    net, X, y = data.draw(net_and_data())
    lr = data.draw(st.one_of(
        BAD_REALS, st.floats(-10, 0),
        st.lists(st.floats(0.01, 0.1), min_size=net.M + 1, max_size=net.M + 3),  # too many
        st.just([[0.1]]), st.just("0.1"), st.none(),
        st.just([0.1] * (net.M - 1) + [-0.1]),
        st.just([0.1] * (net.M - 1) + [math.nan]),
    ))
    refuses(lambda: gd(net, X, y, lr=lr, steps=2), "lr", count="gd: bad lr")


@given(st.data())
def test_gd_refuses_bad_counts_and_tol(data):
    net, X, y = data.draw(net_and_data())
    name = data.draw(st.sampled_from(["steps", "record_every", "tol"]))
    if name == "tol":
        value = data.draw(st.one_of(BAD_REALS, st.floats(-1, 0), st.just("small")))
    else:
        value = data.draw(st.one_of(st.integers(-100, -1), st.floats(0.5, 3.5), st.just(True),
                                    st.none()))
    kwargs = dict(lr=0.1, steps=3)
    kwargs[name] = value
    refuses(lambda: gd(net, X, y, **kwargs), name, count="gd: bad steps/record_every/tol")


@given(data=st.data(), per_network=st.booleans())
def test_gd_and_loss_are_right_on_valid_input(data, per_network):
    COUNTS["gd/loss: valid input, loss agrees with numpy"] += 1
    net, X, y = data.draw(net_and_data(per_network))
    res = gd(net, X, y, lr=0.05, steps=3, record_every=1)
    assert res.n_steps == 3 and res.losses.shape == (4, net.M)
    assert np.isfinite(res.losses).all()
    beta = res.net.beta().numpy()
    pred = np.einsum("...nd,md->mn", X, beta) if X.ndim == 2 else np.einsum("mnd,md->mn", X, beta)
    expected = ((pred - y) ** 2).sum(-1) / (2 * X.shape[-2])
    np.testing.assert_allclose(loss(res.net, X, y), expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(res.losses[-1], expected, rtol=1e-10, atol=1e-14)


# --- make_tasks -----------------------------------------------------------------------------

VALID_TASKS = dict(d=20, alpha_pt=1.0, alpha_ft=0.5, rho_pt=0.3, rho_ft=0.2, omega=0.5)
BAD_TASK_ARGS = {
    "d": st.one_of(st.integers(-5, 0), st.floats(1.5, 9.5), st.just("10"), st.none()),
    "alpha_pt": st.one_of(BAD_REALS, st.floats(-5, 0), st.floats(1e-6, 0.02)),  # 0 samples
    "alpha_ft": st.one_of(BAD_REALS, st.floats(-5, 0), st.floats(1e-6, 0.02)),
    "rho_pt": st.one_of(BAD_REALS, st.floats(-1, 0), st.floats(1.0001, 5), st.floats(1e-6, 0.02)),
    "rho_ft": st.one_of(BAD_REALS, st.floats(-1, 0), st.floats(1.0001, 5), st.floats(1e-6, 0.02)),
    "omega": st.one_of(BAD_REALS, st.floats(-1, -1e-6), st.floats(1.0001, 3),
                       st.text(max_size=4).filter(lambda s: s not in ("subset", "new")),
                       st.none()),
    "a_pt": st.one_of(BAD_REALS, st.just(0.0), st.just("1")),
    "noise": st.one_of(BAD_REALS, st.floats(-5, -1e-9)),
    "seed": st.one_of(st.integers(-100, -1), st.floats(0.5, 2.5), st.just("0")),
}


@given(st.data())
def test_make_tasks_refuses_bad_arguments(data):
    name = data.draw(st.sampled_from(sorted(BAD_TASK_ARGS)))
    kwargs = dict(VALID_TASKS, **{name: data.draw(BAD_TASK_ARGS[name])})
    refuses(lambda: make_tasks(**kwargs), name, count="make_tasks: one bad argument")


@given(rho_pt=st.floats(0.05, 1.0), rho_ft=st.floats(0.05, 1.0), omega=st.floats(0.0, 1.0))
def test_make_tasks_supports_fit_or_are_refused(rho_pt, rho_ft, omega):
    """Impossible support splits are refused by name; possible ones give what was asked."""
    COUNTS["make_tasks: support split fits or is refused"] += 1
    d = 20
    kwargs = dict(VALID_TASKS, d=d, rho_pt=rho_pt, rho_ft=rho_ft, omega=omega)
    k_pt, k_ft = round(rho_pt * d), round(rho_ft * d)
    k_in = round(omega * k_ft)
    if k_in > k_pt or k_ft - k_in > d - k_pt:
        refuses(lambda: make_tasks(**kwargs), "omega", count="make_tasks: impossible split")
        return
    pt, ft = make_tasks(**kwargs)
    assert len(pt.support) == k_pt and len(ft.support) == k_ft
    assert len(np.intersect1d(pt.support, ft.support)) == k_in
    assert pt.X.shape == (round(VALID_TASKS["alpha_pt"] * d), d)
    np.testing.assert_allclose(pt.y, pt.X @ pt.beta_star)


# --- finetune_init and pretrain_finetune ----------------------------------------------------

@given(gamma=st.one_of(BAD_REALS, st.floats(-1e3, -1e-9), st.just("1"), st.none()),
       rule=st.sampled_from(["merged", "separate"]))
def test_finetune_init_refuses_bad_gamma(gamma, rule):
    net = DiagonalNet.from_scales(1.0, 0.5, shape=(2, 3))
    refuses(lambda: finetune_init(net, gamma, rule), "gamma", count="finetune_init: bad gamma")


@given(rule=st.one_of(st.text(max_size=8).filter(lambda s: s not in ("merged", "separate")),
                      st.none(), st.integers()))
def test_finetune_init_refuses_bad_rule(rule):
    net = DiagonalNet.from_scales(1.0, 0.5, shape=(2, 3))
    refuses(lambda: finetune_init(net, 1.0, rule), "rule", count="finetune_init: bad rule")


def small_tasks(d=4, seed=0):
    return make_tasks(d=d, alpha_pt=2.0, alpha_ft=1.0, rho_pt=0.5, rho_ft=0.5, omega=0.5,
                      seed=seed)


@given(st.data())
def test_pretrain_finetune_refuses_mismatched_tasks(data):
    d = data.draw(st.integers(2, 5))
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, d))
    pt, ft = small_tasks(d)
    which = data.draw(st.sampled_from(["task_pt", "task_ft"]))
    n = 2 * d
    bad = data.draw(st.sampled_from([
        (np.ones((n, d + 1)), np.ones(n)),          # wrong number of features
        (np.ones((n, d)), np.ones(n + 1)),          # more targets than samples
        (np.ones((0, d)), np.ones(0)),              # empty
        (np.full((n, d), np.nan), np.ones(n)),      # NaN inputs
        (np.ones((n, d)), np.full(n, np.inf)),      # infinite labels
        (np.ones((3, n, d)), np.ones((3, n))),      # per-network data for 3 networks, M = 2
        "X and y",                                  # not a task
        (np.ones((n, d)),),                         # a 1-tuple
    ]))
    tasks = dict(task_pt=pt, task_ft=ft)
    tasks[which] = bad
    refuses(lambda: pretrain_finetune(net, tasks["task_pt"], tasks["task_ft"], gamma=1.0,
                                      lr_pt=0.1, lr_ft=0.1, steps_pt=2, steps_ft=2),
            which, count="pretrain_finetune: mismatched/bad task")


@given(st.data())
def test_pretrain_finetune_refuses_bad_stage_arguments(data):
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 4))
    pt, ft = small_tasks(4)
    name = data.draw(st.sampled_from(["gamma", "lr_pt", "lr_ft", "steps_pt", "steps_ft", "rule",
                                      "tol"]))
    value = data.draw({
        "gamma": st.one_of(BAD_REALS, st.floats(-5, -1e-9)),
        "lr_pt": st.one_of(BAD_REALS, st.floats(-1, 0)),
        "lr_ft": st.one_of(BAD_REALS, st.floats(-1, 0)),
        "steps_pt": st.one_of(st.integers(-9, -1), st.floats(0.5, 2.5)),
        "steps_ft": st.one_of(st.integers(-9, -1), st.floats(0.5, 2.5)),
        "rule": st.text(max_size=5),
        "tol": st.one_of(BAD_REALS, st.floats(-1, 0)),
    }[name])
    kwargs = dict(gamma=1.0, lr_pt=0.1, lr_ft=0.1, steps_pt=2, steps_ft=2)
    kwargs[name] = value
    refuses(lambda: pretrain_finetune(net, pt, ft, **kwargs), name,
            count="pretrain_finetune: bad stage argument")


# --- get_scale ------------------------------------------------------------------------------

@given(value=st.text(alphabet=st.characters(codec="ascii", exclude_characters="\x00"),
                     min_size=1, max_size=8))
def test_get_scale_refuses_unknown_scales(value):
    assume(value.strip() and value.strip().lower() not in ("smoke", "full"))
    old = os.environ.get("DLNFT_SCALE")
    os.environ["DLNFT_SCALE"] = value
    try:
        refuses(get_scale, "DLNFT_SCALE", count="get_scale: unknown DLNFT_SCALE")
    finally:
        if old is None:
            del os.environ["DLNFT_SCALE"]
        else:
            os.environ["DLNFT_SCALE"] = old


# --- implicit_bias --------------------------------------------------------------------------

from dlnft import implicit_bias as ib  # noqa: E402

ELEMENTWISE = {          # function: its arguments, with valid values
    "phi": dict(beta=0.5, c=1.0),
    "phi_prime": dict(beta=0.5, c=1.0),
    "bregman": dict(beta=0.5, beta0=0.2, c=1.0),
    "ft_scale": dict(beta_pt=0.5, c=1.0, lam=0.2, gamma=0.3),
    "layer_split": dict(beta=0.5, c=1.0, lam=0.2),
    "merged_first_layer": dict(beta=0.5, c=1.0, lam=0.2),
    "mirror_scale": dict(w_plus=1.0, w_minus=0.5, v_plus=0.3, v_minus=0.2),
}


@given(st.data())
def test_implicit_bias_refuses_bad_elementwise_arguments(data):
    fn = data.draw(st.sampled_from(sorted(ELEMENTWISE)))
    kwargs = dict(ELEMENTWISE[fn])
    name = data.draw(st.sampled_from(sorted(kwargs)))
    bad = [BAD_REALS, st.just([]), st.just("x"), st.just([[1.0], [1.0, 2.0]])]
    if name == "c":
        bad.append(st.floats(-10, 0))
    if name == "gamma":
        bad.append(st.floats(-10, -1e-9))
    if name == "lam":
        bad.append(st.one_of(st.floats(1.0001, 10), st.floats(-10, -1.0001)))
    kwargs[name] = data.draw(st.one_of(*bad))
    refuses(lambda: getattr(ib, fn)(**kwargs), name,
            count="implicit_bias elementwise: one bad argument")


@given(st.data())
def test_implicit_bias_refuses_shapes_that_do_not_broadcast(data):
    fn = data.draw(st.sampled_from(sorted(ELEMENTWISE)))
    kwargs = dict(ELEMENTWISE[fn])
    a, b = sorted(data.draw(st.lists(st.sampled_from(sorted(kwargs)), min_size=2, max_size=2,
                                     unique=True)))
    n = data.draw(st.integers(2, 5))
    kwargs[a] = np.full(n, kwargs[a])
    kwargs[b] = np.full(n + 1, kwargs[b])
    refuses(lambda: getattr(ib, fn)(**kwargs), (a, b),
            count="implicit_bias elementwise: shapes do not broadcast")


@st.composite
def regression(draw):
    """A solvable (X, y, c): n < d rows of a random design."""
    d = draw(st.integers(2, 6))
    n = draw(st.integers(1, d - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return rng.standard_normal((n, d)), rng.standard_normal(n), draw(st.floats(0.01, 10))


@given(st.data())
def test_solve_refuses_bad_arguments(data):
    X, y, c = data.draw(regression())
    n, d = X.shape
    args = dict(X=X, y=y, c=c, beta0=0.0)
    kwargs = dict()
    case = data.draw(st.sampled_from(["X nan", "X 1d", "X empty", "y nan", "y long", "c neg",
                                      "c long", "beta0 long", "beta0 inf", "tol", "max_iter",
                                      "nu0"]))
    name = case.split()[0]
    if case == "X nan":
        args["X"] = data.draw(with_bad_entry(X.shape, data.draw(BAD_REALS)))
    elif case == "X 1d":
        args["X"] = X[0]
    elif case == "X empty":
        args["X"], args["y"] = np.ones((0, d)), np.ones(0)
    elif case == "y nan":
        args["y"] = data.draw(with_bad_entry(y.shape, data.draw(BAD_REALS)))
    elif case == "y long":
        args["y"] = np.ones(n + 1)
    elif case == "c neg":
        args["c"] = data.draw(st.one_of(BAD_REALS, st.floats(-10, -1e-9)))
    elif case == "c long":
        args["c"] = np.ones(d + 1)
    elif case == "beta0 long":
        args["beta0"] = np.ones(d + 2)
    elif case == "beta0 inf":
        args["beta0"] = data.draw(BAD_REALS)
    elif case == "tol":
        kwargs["tol"] = data.draw(st.one_of(BAD_REALS, st.floats(-1, 0)))
    elif case == "max_iter":
        kwargs["max_iter"] = data.draw(st.one_of(st.integers(-5, 0), st.floats(0.5, 5.5)))
    else:
        kwargs["nu0"] = np.zeros(n + 1)
    refuses(lambda: ib.solve(*args.values(), **kwargs), name, count="solve: one bad argument")


@given(st.data())
def test_solve_is_right_or_refuses_by_name(data):
    """Solvable systems are interpolated; contradictory ones are refused, naming X and y."""
    COUNTS["solve: interpolates, or refuses X beta = y with no solution"] += 1
    X, y, c = data.draw(regression())
    if data.draw(st.booleans()):            # duplicate a row with a different target
        X, y = np.vstack([X, X[:1]]), np.append(y, y[0] + data.draw(st.floats(0.1, 5)))
        refuses(lambda: ib.solve(X, y, c), ("X beta = y", "X", "y"),
                count="solve: no solution refused")
        return
    sol = ib.solve(X, y, c)
    assert np.isfinite(sol.beta).all()
    assert np.max(np.abs(X @ sol.beta - y)) <= 1e-10 * max(1.0, np.max(np.abs(y))) * 10


@given(st.data())
def test_predict_finetune_refuses_mismatched_tasks(data):
    d = data.draw(st.integers(2, 5))
    pt = (np.eye(d)[:1], np.ones(1))
    ft = (np.eye(d)[1:2], np.ones(1))
    which = data.draw(st.sampled_from(["task_pt", "task_ft"]))
    bad = data.draw(st.sampled_from(["X and y", (np.ones((1, d)),), None]))
    tasks = dict(task_pt=pt, task_ft=ft)
    tasks[which] = bad
    refuses(lambda: ib.predict_finetune(tasks["task_pt"], tasks["task_ft"], c=1.0, lam=0.0,
                                        gamma=1.0), which,
            count="predict_finetune: a task that is no task")
    tasks = dict(task_pt=pt, task_ft=(np.ones((1, d + 1)), np.ones(1)))
    refuses(lambda: ib.predict_finetune(tasks["task_pt"], tasks["task_ft"], c=1.0, lam=0.0,
                                        gamma=1.0), "task_ft",
            count="predict_finetune: task_ft with another d")


# --- theory ---------------------------------------------------------------------------------

from dlnft import theory  # noqa: E402

NOT_A_NUMBER = st.one_of(BAD_REALS, st.just("1"), st.none(), st.just([[1.0], [1.0, 2.0]]))
ALPHA_BAD = st.one_of(NOT_A_NUMBER, st.floats(-5, 0), st.floats(1, 50))   # needs 0 < alpha < 1
THEORY_CASES = {
    "single_task": (dict(alpha=0.5, rho=0.2, c=1.0), {
        "alpha": ALPHA_BAD, "c": st.one_of(NOT_A_NUMBER, st.floats(-5, 0)),
        "rho": st.one_of(NOT_A_NUMBER, st.floats(-5, 0), st.floats(1.0001, 5)),
        "teacher": st.text(max_size=5), "a": NOT_A_NUMBER,
        "noise": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9)),
        "on_failure": st.text(max_size=5)}),
    "ft_theory": (dict(alpha_ft=0.5, rho_pt=0.2, rho_ft=0.2, omega=0.5, c=1.0, lam=0.0,
                       gamma=1.0), {
        "alpha_ft": ALPHA_BAD, "alpha_pt": ALPHA_BAD,
        "rho_pt": st.one_of(NOT_A_NUMBER, st.floats(-5, 0), st.floats(1.0001, 5)),
        "rho_ft": st.one_of(NOT_A_NUMBER, st.floats(-5, 0), st.floats(1.0001, 5)),
        "omega": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9), st.floats(1.0001, 5)),
        "c": st.one_of(NOT_A_NUMBER, st.floats(-5, 0)),
        "lam": st.one_of(NOT_A_NUMBER, st.floats(1.0001, 5), st.floats(-5, -1.0001)),
        "gamma": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9)),
        "a_pt": st.one_of(NOT_A_NUMBER, st.just(0.0)),
        "noise": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9)),
        "on_failure": st.text(max_size=5)}),
    "denoiser": (dict(z=0.5, g=0.3, c=1.0), {
        "z": NOT_A_NUMBER, "g": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9)),
        "c": st.one_of(NOT_A_NUMBER, st.floats(-5, 0))}),
    "regime": (dict(c=1.0, lam=0.0, gamma=1.0), {
        "c": st.one_of(NOT_A_NUMBER, st.floats(-5, 0)),
        "lam": st.one_of(NOT_A_NUMBER, st.floats(1.0001, 5)),
        "gamma": st.one_of(NOT_A_NUMBER, st.floats(-5, -1e-9)),
        "a_pt": NOT_A_NUMBER, "margin": st.one_of(NOT_A_NUMBER, st.floats(-5, 0))}),
}


@given(st.data())
def test_theory_refuses_bad_arguments(data):
    fn = data.draw(st.sampled_from(sorted(THEORY_CASES)))
    valid, bad = THEORY_CASES[fn]
    name = data.draw(st.sampled_from(sorted(bad)))
    value = data.draw(bad[name])
    if name in ("teacher", "on_failure"):
        assume(value not in ("gauss", "point", "raise", "keep"))
    kwargs = dict(valid, **{name: value})
    positional = [kwargs.pop(k) for k in ("alpha", "alpha_ft") if k in kwargs]
    if fn in ("denoiser", "regime"):
        positional = [kwargs.pop(k) for k in list(valid)]
    refuses(lambda: getattr(theory, fn)(*positional, **kwargs), name,
            count="theory: one bad argument")


@given(rho_pt=st.floats(0.05, 1.0), rho_ft=st.floats(0.05, 1.0), omega=st.floats(0.0, 1.0))
def test_ft_theory_refuses_impossible_supports(rho_pt, rho_ft, omega):
    assume(omega * rho_ft > rho_pt + 1e-9 or rho_pt + (1 - omega) * rho_ft > 1 + 1e-9)
    refuses(lambda: theory.ft_theory(0.5, rho_pt=rho_pt, rho_ft=rho_ft, omega=omega, c=1.0,
                                     lam=0.0, gamma=1.0), ("rho_pt", "rho_ft", "omega"),
            count="ft_theory: supports that do not fit")


# --- |lam| <= c entry by entry ----------------------------------------------------------------

@st.composite
def scales_with_one_bad_lam(draw):
    """(c, lam, k): c of d entries spanning 1e-8 … 1e4, valid lam except at entry k, where
    |lam| exceeds its own c by a relative 1e-9 … 1 (far below the largest c)."""
    d = draw(st.integers(2, 5))
    c = 10.0 ** np.array(draw(st.lists(st.floats(-8, 4), min_size=d, max_size=d)))
    lam = c * np.array(draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)))
    k = draw(st.integers(0, d - 1))
    lam[k] = draw(st.sampled_from([-1.0, 1.0])) * c[k] * (1 + draw(st.floats(1e-9, 1.0)))
    return c, lam, k


@given(case=scales_with_one_bad_lam())
def test_lam_is_checked_against_its_own_c(case):
    """Every function of (c, lam) refuses one entry with |lam| > c, whatever the other c."""
    c, lam, k = case
    d = c.size
    rng = np.random.default_rng(0)
    task = (rng.standard_normal((2, d)), rng.standard_normal(2))
    calls = {
        "from_scales": lambda: DiagonalNet.from_scales(c, lam),
        "ft_scale": lambda: ib.ft_scale(0.0, c, lam, 0.0),
        "layer_split": lambda: ib.layer_split(0.5, c, lam),
        "merged_first_layer": lambda: ib.merged_first_layer(0.5, c, lam),
        "separate_scale": lambda: ib.separate_scale(0.5, c, lam, 1.0),
        "predict_finetune": lambda: ib.predict_finetune(task, task, c=c, lam=lam, gamma=1.0),
        "ft_theory": lambda: theory.ft_theory(0.5, rho_pt=0.2, rho_ft=0.2, omega=0.5, c=c,
                                              lam=lam, gamma=1.0),
        "regime": lambda: theory.regime(c, lam, 1.0),
    }
    for fn, call in calls.items():
        refuses(call, "lam", count=f"|lam| > c at one small-c entry: {fn}")


@given(d=st.integers(1, 5), data=st.data())
def test_valid_lam_is_kept_entry_by_entry(d, data):
    """With |lam| <= c everywhere, the net conserves the lam asked, to each entry's own c, and
    the FT scale is >= 0."""
    COUNTS["valid lam: conserved per entry, c_FT >= 0"] += 1
    c = 10.0 ** np.array(data.draw(st.lists(st.floats(-8, 4), min_size=d, max_size=d)))
    lam = c * np.array(data.draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)))
    q = conserved(DiagonalNet.from_scales(c, lam))
    for got in (q.lam_plus[0], q.lam_minus[0]):
        assert np.all(np.abs(got - lam) <= 1e-12 * c), (got, lam, c)
    assert np.all(ib.ft_scale(0.0, c, lam, 0.0) >= 0)


class _Reached(Exception):
    """Raised in place of the work that follows a function's argument checks."""


@pytest.mark.parametrize("frac, ok", [(1.0, True), (1 + 1e-13, True), (1 + 1e-9, False),
                                      (1.5, False)])
@pytest.mark.parametrize("sign", [1.0, -1.0])
@pytest.mark.parametrize("c", [1e-3, 1.0])
def test_every_entry_point_draws_the_lam_line_in_one_place(monkeypatch, c, sign, frac, ok):
    """from_scales, the closed forms, the exact theory and the trained-network check accept
    and refuse the same |lam| against c, with the same slack (a relative 1e-12) and message."""
    from dlnft.theory import checks, ptft

    def reached(*_, **__):
        raise _Reached
    monkeypatch.setattr(checks, "make_tasks", reached)  # the first step after the checks
    monkeypatch.setattr(ptft, "ft_scale", reached)
    lam = sign * c * frac
    calls = {
        "from_scales": lambda: DiagonalNet.from_scales(c, lam, shape=(1, 3)),
        "ft_scale": lambda: ib.ft_scale(0.5, c, lam, 0.0),
        "ft_theory": lambda: theory.ft_theory(0.5, rho_pt=0.2, rho_ft=0.2, omega=0.5, c=c,
                                              lam=lam, gamma=1.0),
        "trained_ft_error": lambda: checks.trained_ft_error(
            d=4, alpha_ft=0.5, omega=0.5, c=c, lam=lam, gamma=0.0, seed=0, rho_pt=0.5,
            rho_ft=0.5),
    }
    for name, call in calls.items():
        if ok:
            try:
                call()
            except _Reached:
                pass
        else:
            with pytest.raises(ValueError, match=r"lam must satisfy \|lam\| <= c entry by "
                                                 r"entry") as info:
                call()
            assert f"lam = {lam:.6g}, c = {c:.6g}" in str(info.value), name


# --- one clear line instead of a silent or raw failure ---------------------------------------

@pytest.mark.parametrize("blowup", [math.nan, math.inf, 0.5, "1e8"])
def test_gd_refuses_a_blowup_that_switches_off_divergence(blowup):
    net, X, y = DiagonalNet.from_scales(1.0, 0.0, shape=(1, 3)), np.eye(3), np.ones(3)
    refuses(lambda: gd(net, X, y, lr=0.1, steps=2, blowup=blowup), "blowup",
            count="gd: blowup NaN, inf, < 1 or not a number")


@pytest.mark.parametrize("lr", [torch.tensor(0.1), np.array(0.1), torch.tensor([0.1])])
def test_gd_takes_a_single_lr_as_a_0d_or_one_entry_array(lr):
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 3))
    X, y = np.eye(3), np.ones(3)
    expected = gd(net, X, y, lr=0.1, steps=5).net.beta()
    np.testing.assert_allclose(gd(net, X, y, lr=lr, steps=5).net.beta(), expected,
                               rtol=1e-6)      # torch.tensor(0.1) is float32


@pytest.mark.parametrize("shape", [(2, 1), (3,)])
def test_gd_names_lr_of_the_wrong_shape(shape):
    net = DiagonalNet.from_scales(1.0, 0.0, shape=(2, 3))
    message = f"lr must be a number or have one entry per network (M = 2), got shape {shape}"
    with pytest.raises(ValueError, match=re.escape(message)):
        gd(net, np.eye(3), np.ones(3), lr=np.full(shape, 0.1), steps=1)


def test_net_index_out_of_range_is_refused():
    net = DiagonalNet.from_scales(np.array([[1.0], [2.0]]), 0.0, shape=(2, 3))
    for index in (5, 2, -3, np.int64(2)):
        with pytest.raises(IndexError, match="out of range for M = 2"):
            net[index]
    with pytest.raises(IndexError, match="selects none"):
        net[5:7]
    assert net[-2].M == 1 and torch.equal(net[-2].w_plus, net.w_plus[:1])
    assert torch.equal(net[np.int64(1)].w_plus, net.w_plus[1:])


def test_a_float32_net_trains_as_float64():
    ref = DiagonalNet.from_scales(0.5, 0.25, shape=(2, 3))
    single = DiagonalNet(*(t.to(torch.float32) for t in ref.weights()))
    assert all(t.dtype == torch.float64 for t in single.weights())
    X, y = np.random.default_rng(0).standard_normal((4, 3)), np.ones(4)
    np.testing.assert_allclose(gd(single, X, y, lr=0.1, steps=10).net.beta(),
                               gd(ref, X, y, lr=0.1, steps=10).net.beta(), rtol=1e-6)
    with pytest.raises(TypeError, match="w_plus must be a torch tensor"):
        DiagonalNet(np.ones((2, 3)), *ref.weights()[1:])
    with pytest.raises(ValueError, match="must have one shape"):
        DiagonalNet(ref.w_plus[:1], *ref.weights()[1:])


def test_regime_refuses_a_zero_pt_teacher():
    refuses(lambda: theory.regime(1.0, 0.0, 1.0, a_pt=0.0), "a_pt",
            count="regime: a_pt = 0")


@pytest.mark.parametrize("fn", ["ft_theory", "single_task"])
def test_fixed_point_error_suggests_arguments_that_exist(fn):
    kwargs = (dict(rho_pt=0.2, rho_ft=0.2, omega=0.5, c=0.01, lam=0.0, gamma=0.1)
              if fn == "ft_theory" else dict(rho=0.2, c=0.01))
    with pytest.raises(theory.FixedPointError, match="raise max_iter or ramp"):
        getattr(theory, fn)(0.5, max_iter=1, ramp=0, **kwargs)
    assert getattr(theory, fn)(0.5, max_iter=60, ramp=12, **kwargs).converged.all()
    for name, bad in (("max_iter", 0), ("ramp", -1)):
        refuses(lambda: getattr(theory, fn)(0.5, **{name: bad}, **kwargs), name,
                count="theory: bad max_iter or ramp")
