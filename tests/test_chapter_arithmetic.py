"""Every chapter once more, under other arithmetic: the same compared outputs, within budget.

The committed outputs were computed with the machine's fastest kernels and one thread. Here
each chapter runs again under nbval, in a fresh kernel, with its floating-point arithmetic
changed where the chapters' numbers come from (still one thread: on two busy cores, two OpenMP
threads per kernel wait on each other and a chapter takes minutes instead of seconds):

- ``ATEN_CPU_CAPABILITY``: PyTorch's CPU kernels one vector width down (AVX-512 → AVX2,
  AVX2 → the scalar default), so elementwise and reduction kernels round differently;
- ``MKL_ENABLE_INSTRUCTIONS`` and ``DNNL_MAX_CPU_ISA``: MKL and oneDNN (PyTorch's
  convolutions) capped at the same lower vector width;
- ``OPENBLAS_CORETYPE``: NumPy's BLAS on another core type's kernels.

nbval then compares every output that is not tagged ``nbval-ignore-output`` with the committed
one. A chapter that prints the last bits of a float32 training run fails here, as it would on
another CPU or a GPU: this is the check that outputs are facts, not bits. The chapter's wall
time in this run, kernel start included, must also stay within the smoke-scale budget (the times
are printed with ``-s``).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from dlnft import book

BUDGET_S = 180
NOTEBOOKS = [ipynb for _, ipynb in book.chapter_pairs()]


def other_arithmetic() -> dict[str, str]:
    """Environment variables that change the chapters' floating-point arithmetic."""
    import torch

    capability = torch.backends.cpu.get_cpu_capability()
    avx512 = capability == "AVX512"
    return {"ATEN_CPU_CAPABILITY": "avx2" if avx512 else "default",
            "MKL_ENABLE_INSTRUCTIONS": "AVX2" if avx512 else "SSE4_2",
            "DNNL_MAX_CPU_ISA": "AVX2" if avx512 else "SSE41",
            "OPENBLAS_CORETYPE": "Haswell" if avx512 else "Sandybridge",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DLNFT_SCALE": "smoke"}


@pytest.mark.slow
@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_under_other_arithmetic(ipynb):
    md = ipynb.with_suffix(".md")
    assert ipynb.exists(), f"{ipynb.name} is missing: python -m dlnft.book execute {md}"
    env = {**os.environ, **other_arithmetic()}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={BUDGET_S}",
         str(ipynb)],
        env=env, capture_output=True, text=True, timeout=BUDGET_S + 120)
    wall = time.perf_counter() - start
    print(f"\n{ipynb.name}: {wall:.1f} s under other arithmetic")
    assert proc.returncode == 0, (
        f"{ipynb.name} under {other_arithmetic()}: outputs differ from the committed ones or a "
        f"cell failed\n{proc.stdout[-6000:]}")
    assert wall < BUDGET_S, f"{ipynb.name} took {wall:.0f} s at smoke scale, over {BUDGET_S} s"
