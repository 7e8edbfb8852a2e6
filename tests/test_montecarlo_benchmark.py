"""benchmarks/montecarlo.py's fixed point refuses to return a value it did not converge to
(on a tiny problem; the benchmark itself takes minutes and is not run here)."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "montecarlo.py"


@pytest.fixture(scope="module")
def mc():
    spec = importlib.util.spec_from_file_location("montecarlo_benchmark", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    beta_star = np.where(np.arange(200) < 40, rng.standard_normal(200), 0.0)
    return beta_star, np.full(200, 0.1), rng.standard_normal(200)


def test_an_unconverged_fixed_point_raises(mc, problem):
    with pytest.raises(RuntimeError, match=r"did not converge in 1 iterations"):
        mc.mc_fixed_point(0.3, *problem, max_iter=1)


def test_a_converged_fixed_point_is_returned(mc, problem):
    error, se, (s2, g), iterations = mc.mc_fixed_point(0.3, *problem)
    assert 1 < iterations < 2000 and np.isfinite([error, se, s2, g]).all()
