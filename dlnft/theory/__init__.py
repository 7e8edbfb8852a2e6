"""Exact theory of the PT → FT pipeline in the proportional limit (R5, R6).

* :mod:`.denoiser` — the scalar channel's denoiser D(z; g, c), the proximal map of g Φ_c.
* :mod:`.fixed_point` — the state-evolution equations and their vectorized solver.
* :mod:`.ptft` — single-task, PT and FT generalization errors (oracle and imperfect PT).
* :mod:`.regimes` — the four fine-tuning regimes, measured on the FT error; the FT
  penalty's order ℓ and PT dependence PD; the book's α_conv1 → λ/c mapping.
"""
from .denoiser import denoiser
from .fixed_point import FixedPoint, FixedPointError
from .ptft import FTTheory, ft_theory, single_task
from .regimes import NAMES as REGIME_NAMES
from .regimes import (classify, contrasts, conv1_lambda_ratio, design_errors, penalty_order,
                      pt_dependence, regime, regime_indices)

__all__ = ["FTTheory", "FixedPoint", "FixedPointError", "REGIME_NAMES", "classify", "contrasts",
           "conv1_lambda_ratio", "denoiser", "design_errors", "ft_theory", "penalty_order",
           "pt_dependence", "regime", "regime_indices", "single_task"]
