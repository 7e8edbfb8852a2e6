"""Pretraining → fine-tuning (PT → FT) for diagonal networks.

1. Pretrain: initialize from (c, λ) (:meth:`.DiagonalNet.from_scales`) and run GD on task A.
2. Re-initialize for fine-tuning, by one of two rules:

   * ``"merged"`` (the paper's): both branches get the merged first layer
     w₊ = w₋ = w₊ᴾᵀ + w₋ᴾᵀ and the readout is reset to v₊ = v₋ = γ/√2, so β_FT(0) = 0 and the
     two branches share one conserved λ;
   * ``"separate"``: the first layers w± are kept as they are and the readouts set to v± = γ,
     so β_FT(0) = γ (w₊ − w₋).

3. Fine-tune: GD on task B from the re-initialized networks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from . import _validate as check
from .gd import GDResult, _lr_tensor, as_data, gd
from .network import DiagonalNet

RULES = ("merged", "separate")


def finetune_init(net: DiagonalNet, gamma: float, rule: str = "merged") -> DiagonalNet:
    """The fine-tuning initialization of pretrained networks ``net``.

    gamma: readout scale γ >= 0 at fine-tuning; rule: ``"merged"`` (paper) or ``"separate"``
    (see the module docstring).
    """
    if not isinstance(net, DiagonalNet):
        raise TypeError(f"net must be a DiagonalNet, got {type(net).__name__}")
    gamma = check.real("gamma", gamma, low=0.0)
    check.choice("rule", rule, RULES)
    if rule == "merged":
        w = net.w_plus + net.w_minus
        v = w.new_full(w.shape, gamma / math.sqrt(2))
        return DiagonalNet(w.clone(), w.clone(), v, v.clone())
    v = net.w_plus.new_full(net.w_plus.shape, gamma)
    return DiagonalNet(net.w_plus.clone(), net.w_minus.clone(), v, v.clone())


@dataclass
class PTFTResult:
    """Outcome of :func:`pretrain_finetune`: the PT run, the FT initialization and the FT run."""

    pt: GDResult
    ft_init: DiagonalNet
    ft: GDResult


def pretrain_finetune(net: DiagonalNet, task_pt, task_ft, *, gamma: float, lr_pt, lr_ft,
                      steps_pt: int, steps_ft: int, rule: str = "merged",
                      tol: float | None = None) -> PTFTResult:
    """Train ``net`` on task_pt, re-initialize by ``rule`` with readout scale γ, train on task_ft.

    task_pt, task_ft: objects with X and y (e.g. :class:`dlnft.tasks.Task`), or (X, y) pairs;
    the shapes :func:`dlnft.gd.gd` accepts. lr_*, steps_*: step size and most steps of each
    stage; tol: stop a stage once every loss is below it.
    """
    if not isinstance(net, DiagonalNet):
        raise TypeError(f"net must be a DiagonalNet, got {type(net).__name__}")
    # check every argument before the first step, naming it as the caller wrote it
    gamma = check.real("gamma", gamma, low=0.0)
    check.choice("rule", rule, RULES)
    X_pt, y_pt = _xy("task_pt", task_pt)
    X_ft, y_ft = _xy("task_ft", task_ft)
    for name, X, y in (("task_pt", X_pt, y_pt), ("task_ft", X_ft, y_ft)):
        _named(name, as_data, X, y, net)
    for name, lr in (("lr_pt", lr_pt), ("lr_ft", lr_ft)):
        _named(name, _lr_tensor, lr, net.M, net.w_plus.device)
    check.integer("steps_pt", steps_pt, low=0)
    check.integer("steps_ft", steps_ft, low=0)
    if tol is not None:
        check.real("tol", tol, low=0.0, low_open=True)
    pt = gd(net, X_pt, y_pt, lr=lr_pt, steps=steps_pt, tol=tol)
    init = finetune_init(pt.net, gamma, rule)
    ft = gd(init, X_ft, y_ft, lr=lr_ft, steps=steps_ft, tol=tol)
    return PTFTResult(pt=pt, ft_init=init, ft=ft)


def _named(name, fn, *args):
    """fn(*args), with a refusal re-raised under the name of the caller's argument."""
    try:
        return fn(*args)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"{name}: {exc}") from exc


def _xy(name, task):
    if hasattr(task, "X") and hasattr(task, "y"):
        return task.X, task.y
    if isinstance(task, (tuple, list)) and len(task) == 2:
        return task
    raise TypeError(f"{name} must be a Task or an (X, y) pair, got {type(task).__name__}")
