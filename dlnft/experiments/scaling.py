"""Layer-group initialization scaling for any torch model, and per-layer weight norms.

The deep analogue of the diagonal network's relative scale λ is the ratio of the initialization
scales of early and late layers; the analogue of the absolute scale c is an overall factor. Here a
*group* is a named tuple of parameter-name prefixes (``"layer1"`` matches ``layer1.0.conv1.weight``
…), and :func:`scale_init` multiplies the default initialization of every weight in a group by
the group's factor. Only weights with at least two dimensions (convolution kernels, linear
weights, embeddings) are scaled: biases and normalization parameters keep their defaults.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .. import _validate as V

RESNET_GROUPS = {
    "stem": ("conv1",),
    "stage1": ("layer1",),
    "stage2": ("layer2",),
    "stage3": ("layer3",),
    "stage4": ("layer4",),
    "head": ("fc",),
}
"""Layer groups of a torchvision ResNet — the stem (conv1), the four stages and the head (fc)."""

RESNET_EARLY_LATE = {
    "early": ("conv1", "layer1", "layer2"),
    "late": ("layer3", "layer4"),
    "head": ("fc",),
}
"""Coarser ResNet groups — stem + stages 1–2 ("early"), stages 3–4 ("late") and the head."""


def _scaled(name: str, p: torch.Tensor) -> bool:
    return p.ndim >= 2


def group_members(model: nn.Module, groups: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The names of the weights (ndim ≥ 2) each group's prefixes match, by group.

    Raises ValueError if a prefix matches no weight, or if a weight falls in two groups.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    names = [n for n, p in model.named_parameters() if _scaled(n, p)]
    members, owner = {}, {}
    for group, prefixes in groups.items():
        if isinstance(prefixes, str):
            raise TypeError(f"groups[{group!r}] must be a tuple of prefixes, got the string "
                            f"{prefixes!r}")
        members[group] = []
        for prefix in prefixes:
            hit = [n for n in names if n == prefix or n.startswith(prefix + ".")]
            if not hit:
                starts = sorted({n.split(".")[0] for n in names})
                raise ValueError(f"groups[{group!r}]: prefix {prefix!r} matches no weight of "
                                 f"the model (weights start with {starts})")
            for n in hit:
                if n in owner and owner[n] != group:
                    raise ValueError(f"weight {n!r} is in two groups: {owner[n]!r} and {group!r}")
                owner[n] = group
            members[group] += [n for n in hit if n not in members[group]]
    return members


@torch.no_grad()
def scale_init(model: nn.Module, factors: Mapping[str, float],
               groups: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Multiply the weights of each group in ``factors`` by its factor, in place.

    Args:
        model: any torch module, freshly initialized.
        factors: group name → factor (> 0); groups not named keep their initialization.
        groups: group name → tuple of parameter-name prefixes (see :data:`RESNET_GROUPS`).

    Returns:
        weight name → the factor applied (only the weights that were scaled).
    """
    members = group_members(model, groups)
    params = dict(model.named_parameters())
    applied = {}
    for group, factor in factors.items():
        V.choice("factors key", group, members)
        factor = V.real(f"factors[{group!r}]", factor, low=0, low_open=True)
        for n in members[group]:
            params[n].mul_(factor)
            applied[n] = factor
    return applied


@torch.no_grad()
def layer_norms(model: nn.Module) -> dict[str, float]:
    """Frobenius norm of every weight (ndim ≥ 2) of ``model``, by parameter name."""
    return {n: float(p.float().norm()) for n, p in model.named_parameters() if _scaled(n, p)}


@torch.no_grad()
def relative_change(before: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, float]:
    """‖W_after − W_before‖_F / ‖W_before‖_F for every weight (ndim ≥ 2) named in ``before``.

    before: a ``state_dict``-like copy taken before training (e.g. ``{n: p.clone()}``).
    """
    out = {}
    for n, p in model.named_parameters():
        if n in before and _scaled(n, p):
            w0 = before[n].float()
            out[n] = float((p.float() - w0).norm() / w0.norm().clamp_min(1e-30))
    return out
