"""Pretrained ResNets: PT on 98 CIFAR-100 (or 8 Fashion-MNIST) classes, FT on a few samples.

The CIFAR-100 protocol of the authors' earlier work (Lippl & Lindsey, NeurIPS 2024; PAPER.md
R7; the deep protocols of the paper itself are not in a source the book can read):
torchvision ``resnet18(num_classes=100)`` from scratch; CIFAR-100 classes permuted per seed; PT
on the 98 classes perm[2:] (labels 2–99) by SGD lr 1e-3, momentum 0.9, batch 128, until the
training loss is < 0.01 (≤ 1000 epochs); FT on the binary task of the two held-out classes
perm[:2] read off logits 0–1, with n ∈ {10, …, 1000} training images, by the same optimizer
with batch min(n, 128) and the same stopping rule; inputs normalized by 0.5/0.5; no
augmentation. That work changes the scale by multiplying *all* weights by s after PT. This
module changes it instead by dividing ``conv1.weight`` by α_conv1 at initialization: a design
of this book, not a documented protocol of the authors (conv1 sits in front of BatchNorm, so
the division changes that layer's effective step size, not the function;
:func:`dlnft.theory.regimes.conv1_lambda_ratio` gives the λ/c it stands for).
``ResNetConfig.full()`` pretrains with the earlier work's schedule above (constant learning
rate, until the PT training loss is below ``pt_target_loss`` or ``pt_max_epochs`` have
passed); the class defaults, used by the smoke runs and the Fashion-MNIST runs, pretrain at
lr 0.05.

The same protocol on Fashion-MNIST (``dataset="fashion_mnist"``, real 28×28 grayscale images
that need no GPU and no download): ``resnet18(num_classes=10)`` with a one-channel stem
(``conv1 = Conv2d(1, width, 7, 2, 3)``, torchvision's initialization; width 16 in
:class:`FashionResNetConfig`, 64 in torchvision's ResNet-18); classes permuted per seed;
PT on the 8 classes perm[2:] (logits 2–9); FT ``"heldout"`` on perm[:2] (logits 0–1, new
features, ω ≈ 0) and ``"subset"`` on perm[2:4] (two PT classes, ω = 1).
:class:`FashionResNetConfig` holds its smoke and full sizes.

Extensions: a CIFAR-style ResNet-18 (``arch="cifar"``: 3×3 stem, no max-pool; ``width`` sets the
channels of stage 1, 64 in ResNet-18, narrower in smoke runs and in the Fashion-MNIST runs);
scaling of the layer groups of :data:`~dlnft.experiments.scaling.RESNET_EARLY_LATE` (early =
stem + stages 1–2, late = stages 3–4, head); a fresh head at scale γ instead of the PT logits;
and FT tasks ``"heldout"`` (the earlier work's binary task: new classes), ``"subset"`` (a
binary task of two PT classes, the ω = 1 case), ``"svhn"`` (ten SVHN digits, n images in all).

:func:`run` reports, per FT task and n: test accuracy, the training-loss curve, the relative
change of every weight, and per stage the representation before vs after FT (participation
ratio, ENSD, CKA).
"""
from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.models.resnet import BasicBlock, ResNet

from .. import _validate as V
from ..scale import device as default_device
from .data import (DATA_ROOT, cifar100_files, load_cifar100, load_fashion_mnist, load_svhn,
                   svhn_files, write_cifar100_fixture, write_svhn_fixture)
from .metrics import representation_change
from .scaling import RESNET_EARLY_LATE, layer_norms, relative_change, scale_init
from .train import activations, evaluate, fit, to_device

FT_TASKS = ("heldout", "subset", "svhn")
DATASETS = {"cifar100": (3, 100), "fashion_mnist": (1, 10)}
"""The PT datasets, by name → (image channels, classes)."""
STAGES = ("conv1", "layer1", "layer2", "layer3", "layer4")


@dataclass(frozen=True)
class ResNetConfig:
    """One PT run and its FT runs. ``smoke()``: CPU, fixtures, a narrow network; ``full()``: R7
    (the earlier work's CIFAR-100 protocol, with this book's conv1 / α_conv1).

    dataset: the PT dataset, "cifar100" (the earlier work's) or "fashion_mnist" (see the
    module).
    arch: "torchvision" (resnet18(num_classes=100)) or "cifar" (3×3 stem, no max-pool).

    width: channels of stage 1 (64 = ResNet-18; narrower to make smoke runs and the CPU runs
    of :class:`FashionResNetConfig` fast).

    alpha: α_conv1, the number conv1.weight is divided by at initialization (α_conv1 > 0).
    group_scales: ((group, factor), …) over RESNET_EARLY_LATE ("early", "late", "head").

    gamma: None = FT reads the PT head's logits 0..k−1 (earlier work); a number = a fresh head
        whose default initialization is multiplied by gamma.

    ft_tasks: FT tasks, from FT_TASKS. ft_ns: FT training-set sizes (n ≥ number of classes).

    pt_per_class: PT images per class (None = all 500). rep_images: test images used for the
        representation statistics. fixtures: write and use tiny fixtures instead of data/
        (CIFAR-100 and SVHN only).
    """
    dataset: str = "cifar100"
    arch: str = "torchvision"
    width: int = 64
    alpha: float = 1.0
    group_scales: tuple = ()
    gamma: float | None = None
    ft_tasks: tuple = ("heldout",)
    ft_ns: tuple = (10, 20, 50, 100, 200, 500, 1000)
    pt_lr: float = 0.05
    pt_momentum: float = 0.9
    pt_batch: int = 256
    pt_max_epochs: int = 100
    pt_target_loss: float = 0.01
    pt_per_class: int | None = None
    ft_lr: float = 1e-3
    ft_momentum: float = 0.9
    ft_max_batch: int = 128
    ft_max_epochs: int = 1000
    ft_target_loss: float = 0.01
    augment: bool = False
    rep_images: int = 500
    compile: bool = False
    fixtures: bool = False
    seed: int = 0

    def __post_init__(self):
        V.choice("dataset", self.dataset, DATASETS)
        V.choice("arch", self.arch, {"torchvision", "cifar"})
        V.integer("width", self.width, low=1)
        V.real("alpha", self.alpha, low=0, low_open=True)
        for item in self.group_scales:
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(f"group_scales must hold (group, factor) pairs, got {item!r}")
            V.choice("group_scales group", item[0], RESNET_EARLY_LATE)
            V.real(f"group_scales[{item[0]!r}]", item[1], low=0, low_open=True)
        if self.gamma is not None:
            V.real("gamma", self.gamma, low=0, low_open=True)
        if not self.ft_tasks:
            raise ValueError("ft_tasks must name at least one task")
        for t in self.ft_tasks:
            V.choice("ft_tasks entry", t, FT_TASKS)
        if self.dataset == "fashion_mnist" and "svhn" in self.ft_tasks:
            raise ValueError("ft_tasks entry 'svhn' needs dataset='cifar100' (SVHN's 32×32 "
                             "colour digits do not fit a network pretrained on 28×28 grayscale "
                             "Fashion-MNIST); allowed with fashion_mnist: 'heldout', 'subset'")
        if self.dataset == "fashion_mnist" and self.fixtures:
            raise ValueError("fixtures=True needs dataset='cifar100': Fashion-MNIST runs always "
                             "use the real images")
        if not self.ft_ns:
            raise ValueError("ft_ns must hold at least one n")
        k = 10 if "svhn" in self.ft_tasks else 2
        for n in self.ft_ns:
            V.integer("ft_ns entry", n, low=k)
        for name in ("pt_lr", "ft_lr"):
            V.real(name, getattr(self, name), low=0, low_open=True)
        for name in ("pt_momentum", "ft_momentum"):
            V.real(name, getattr(self, name), low=0, high=1, high_open=True)
        for name in ("pt_batch", "ft_max_batch", "pt_max_epochs", "ft_max_epochs", "rep_images"):
            V.integer(name, getattr(self, name), low=1)
        for name in ("pt_target_loss", "ft_target_loss"):
            V.real(name, getattr(self, name), low=0)
        if self.pt_per_class is not None:
            V.integer("pt_per_class", self.pt_per_class, low=1)
        V.integer("seed", self.seed, low=0)

    @classmethod
    def smoke(cls, **kw) -> "ResNetConfig":
        """Seconds on a CPU: fixtures, a ResNet-18 of width 8, a few epochs."""
        base = dict(width=8, ft_tasks=("heldout", "subset", "svhn"),
                    ft_ns=(10, 20), pt_per_class=3, pt_lr=0.05, pt_batch=64, pt_max_epochs=3,
                    ft_max_epochs=15, rep_images=40, fixtures=True)
        return cls(**{**base, **kw})

    @classmethod
    def full(cls, **kw) -> "ResNetConfig":
        """The earlier work's CIFAR-100 protocol (R7: PT by SGD lr 1e-3, momentum 0.9, batch
        128, until the training loss is < 0.01, ≤ 1000 epochs) with conv1 / α_conv1 (this
        book's design) and the three FT tasks."""
        base = dict(ft_tasks=("heldout", "subset", "svhn"), pt_lr=1e-3, pt_batch=128,
                    pt_max_epochs=1000)
        return cls(**{**base, **kw})


@dataclass(frozen=True)
class FashionResNetConfig(ResNetConfig):
    """The protocol of :class:`ResNetConfig` on real Fashion-MNIST, recorded on a CPU.

    ``full()``: torchvision's ResNet-18 architecture (one-channel stem, 10 logits) at width 16
    (stages of 16, 32, 64, 128 channels), PT on 500 training images of each of the 8 PT classes
    (4,000 images; SGD lr 0.05, momentum 0.9, batch 128, until the PT loss is < 0.01 or 40
    epochs; the earlier work pretrains at lr 1e-3, and the larger step is part of the CPU
    sizing below), FT on the held-out pair (new features) and on a PT pair (ω = 1) with
    n ∈ {10, 100} by the earlier work's rule (SGD lr 1e-3, momentum 0.9, batch min(n, 128),
    until the loss is < 0.01, ≤ 1000 epochs), representation statistics on 500 test images;
    the registry sweeps α_conv1 ∈ {0.1, 1, 10} (conv1 / α_conv1) over seeds 0–7, 24 runs.

    Sizing, for at most 75 minutes of the whole sweep on 2 CPU cores. Measured on this
    machine's CPU (one thread, 2026-11-27, while other jobs shared it): training at batch 128
    runs at 1,318 images/s at width 16, 401 at width 32 and 76 at width 64, and an FT epoch at
    n = 100 takes 0.08 s, 0.25 s and 1.7 s. At width 64 one run (40 PT epochs at most, FT up
    to 1000 epochs) takes over half an hour, so the 24-run sweep would take many hours; at width
    16 a run takes about 2 minutes. The width is what was shrunk; the depth, the stem, the data
    and the optimizers are the protocol's. α = 0.1 and 10 put conv1 on both sides of the
    default scale; 8 seeds.

    ``smoke()``: the same code on real images, width 16, 50 PT images per class (15 epochs),
    FT n ∈ {10, 40} (≤ 100 epochs); 34 s on one thread of a lightly loaded machine. Seed 0,
    α = 1: PT test accuracy 0.84 on the 8 classes (chance 0.125); FT accuracy 0.60 / 0.72
    (held-out pair, n = 10 / 40) and 0.94 / 0.995 (PT pair), chance 0.5.
    """
    dataset: str = "fashion_mnist"
    width: int = 16
    ft_tasks: tuple = ("heldout", "subset")
    ft_ns: tuple = (10, 100)
    pt_batch: int = 128
    pt_max_epochs: int = 40
    pt_per_class: int | None = 500

    @classmethod
    def smoke(cls, **kw) -> "FashionResNetConfig":
        """Under a minute on one CPU thread, on real images; PT and FT learn (well above
        chance)."""
        base = dict(ft_ns=(10, 40), pt_per_class=50, pt_batch=64, pt_max_epochs=15,
                    ft_max_epochs=100, rep_images=100)
        return cls(**{**base, **kw})

    @classmethod
    def full(cls, **kw) -> "FashionResNetConfig":
        """The recorded CPU protocol (see the class docstring)."""
        return cls(**kw)


def build_model(config: ResNetConfig) -> nn.Module:
    """The network of ``config`` with its initialization scaled (conv1 / α_conv1, group
    factors).

    Its stem ``conv1`` takes the dataset's channels (3, or 1 for Fashion-MNIST) and its head
    ``fc`` has one logit per class of the dataset (100 or 10).
    """
    channels, classes = DATASETS[config.dataset]
    if config.arch == "torchvision" and config.width == 64:
        model = resnet18(num_classes=classes)
        if channels != 3:
            model.conv1 = _stem(channels, 64, "torchvision")
    else:
        model = _resnet18(config.arch, config.width, channels, classes)
    with torch.no_grad():
        model.conv1.weight.div_(config.alpha)
    scale_init(model, dict(config.group_scales), RESNET_EARLY_LATE)
    return model


def _stem(channels: int, width: int, arch: str) -> nn.Conv2d:
    """The stem convolution (7×7 stride 2, or 3×3 stride 1 for ``arch="cifar"``) from
    ``channels`` input channels, initialized as torchvision initializes its convolutions."""
    stride, kernel = (1, 3) if arch == "cifar" else (2, 7)
    conv = nn.Conv2d(channels, width, kernel, stride, kernel // 2, bias=False)
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    return conv


def _resnet18(arch: str, width: int, channels: int, classes: int) -> nn.Module:
    """torchvision's ResNet-18 with stage widths width·(1, 2, 4, 8); for ``arch="cifar"`` a 3×3
    stride-1 stem and no max-pool. New layers get torchvision's own initialization."""
    model = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=classes)
    model.inplanes = width  # torchvision fixes 64 channels: rebuild the stages at this width
    model.conv1 = _stem(channels, width, arch)
    model.bn1 = nn.BatchNorm2d(width)
    for i in range(4):
        setattr(model, f"layer{i + 1}", model._make_layer(BasicBlock, width * 2 ** i, 2,
                                                          stride=1 if i == 0 else 2))
    model.fc = nn.Linear(8 * width, classes)
    if arch == "cifar":
        model.maxpool = nn.Identity()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


def _data_root(config: ResNetConfig, root) -> Path:
    """``root`` (default ``data/``), or for smoke runs the fixture folder: ``DLNFT_FIXTURES``,
    else ``<tmp>/dlnft-fixtures``, written once. Each file is written in a private folder and
    moved into place, so concurrent runs never read a half-written fixture."""
    if not config.fixtures:
        return Path(root) if root is not None else DATA_ROOT
    folder = Path(os.environ.get("DLNFT_FIXTURES", Path(tempfile.gettempdir()) / "dlnft-fixtures"))
    if not all(f.exists() for f in cifar100_files(folder) + svhn_files(folder)):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            write_cifar100_fixture(tmp)
            write_svhn_fixture(tmp)
            for f in cifar100_files(folder) + svhn_files(folder):
                f.parent.mkdir(exist_ok=True)
                os.replace(Path(tmp) / f.relative_to(folder), f)
    return folder


def _balanced(y: np.ndarray, classes, per_class, rng) -> np.ndarray:
    """Indices of ``per_class`` random images of each class (all of them if None)."""
    idx = []
    for c in classes:
        pool = np.flatnonzero(y == c)
        idx.append(pool if per_class is None else rng.choice(pool, min(per_class, len(pool)),
                                                             replace=False))
    return np.concatenate(idx)


def _ft_task(task, perm, n, source, svhn, rng):
    """(x_train, y_train, x_test, y_test) of one FT task, labels 0..k−1. source: the PT
    dataset's ((x_train, y_train), (x_test, y_test)); perm: its permuted classes."""
    if task == "svhn":
        (xtr, ytr), (xte, yte), classes = svhn[0], svhn[1], list(range(10))
    else:
        (xtr, ytr), (xte, yte) = source
        classes = list(perm[:2] if task == "heldout" else perm[2:4])
    k = len(classes)
    relabel = np.full(max(len(perm), k), -1)
    relabel[classes] = np.arange(k)
    tr = _balanced(ytr, classes, n // k, rng)
    te = _balanced(yte, classes, None, rng)
    return xtr[tr], relabel[ytr[tr]], xte[te], relabel[yte[te]]


def run(config: ResNetConfig, *, root=None, download: bool | None = None,
        device: str | None = None) -> dict:
    """Pretrain one network and fine-tune copies of it on every (task, n) of ``config``.

    root: data folder (default ``data/``; ignored with ``config.fixtures``). download: see
    :func:`~dlnft.experiments.data.download_allowed`. device: default CUDA if available.

    Returns a JSON-serializable dict:
        ``pt``: train_loss at curve_epochs (geometrically spaced, 1-based), epochs,
            converged, test_acc (PT test images of the PT classes, 98 of CIFAR-100 or 8 of
            Fashion-MNIST, argmax over all 100 or 10 logits),
            images_per_s, norms_init / norms_pt (per-weight Frobenius norms);
        ``ft``: a list, one entry per (task, n): task, n, test_acc, test_loss, epochs,
            converged, train_loss at curve_epochs, weight_change (per weight, ‖ΔW‖/‖W_PT‖),
            representation (per stage: pr_before, pr_after, ensd, cka, change = 1 − CKA,
            on the task's test images).
    """
    if not isinstance(config, ResNetConfig):
        raise TypeError(f"config must be a ResNetConfig, got {type(config).__name__}")
    device = device or default_device()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    folder = _data_root(config, root)
    load = load_fashion_mnist if config.dataset == "fashion_mnist" else load_cifar100
    source = (load(True, folder, download), load(False, folder, download))
    svhn = ((load_svhn("train", folder, download), load_svhn("test", folder, download))
            if "svhn" in config.ft_tasks else None)
    classes = DATASETS[config.dataset][1]
    perm = rng.permutation(classes)
    label = np.empty(classes, dtype=np.int64)
    label[perm] = np.arange(classes)  # class perm[j] → logit j: PT on logits 2, 3, …

    (xtr, ytr), (xte, yte) = source
    tr = _balanced(ytr, perm[2:], config.pt_per_class, rng)
    te = _balanced(yte, perm[2:], None, rng)
    x_pt, y_pt = to_device(xtr[tr], label[ytr[tr]], device)
    x_pt_test, y_pt_test = to_device(xte[te], label[yte[te]], device)

    model = build_model(config).to(device, memory_format=torch.channels_last)
    norms_init = layer_norms(model)
    step = torch.compile(model) if config.compile else model
    pt = fit(step, x_pt, y_pt, lr=config.pt_lr, momentum=config.pt_momentum,
             batch_size=config.pt_batch, max_epochs=config.pt_max_epochs,
             target_loss=config.pt_target_loss, augment=config.augment, seed=config.seed,
             desc="PT")
    _, pt_acc = evaluate(model, x_pt_test, y_pt_test)
    out = {"pt": {**_curve(pt.losses), "epochs": pt.epochs, "converged": pt.converged,
                  "test_acc": pt_acc, "images_per_s": pt.images_per_s,
                  "norms_init": norms_init, "norms_pt": layer_norms(model)}, "ft": []}
    del x_pt, y_pt

    for task in config.ft_tasks:
        for n in config.ft_ns:
            out["ft"].append(_finetune(model, config, task, n, perm, source, svhn, device, rng))
    return out


def _curve(losses: list[float], points: int = 60) -> dict:
    """The loss curve at ≤ ``points`` geometrically spaced epochs (1, 2, …, last), so that a
    1000-epoch run stays small in the merged JSON: {"curve_epochs": [...], "train_loss": [...]}."""
    epochs = sorted({round(len(losses) ** (k / (points - 1))) for k in range(points)})
    return {"curve_epochs": epochs, "train_loss": [losses[e - 1] for e in epochs]}


def _finetune(pt_model, config, task, n, perm, source, svhn, device, rng) -> dict:
    xtr, ytr, xte, yte = _ft_task(task, perm, n, source, svhn, rng)
    x, y = to_device(xtr, ytr, device)
    x_test, y_test = to_device(xte, yte, device)
    k = 10 if task == "svhn" else 2
    model = copy.deepcopy(pt_model)
    logits = slice(0, k)
    if config.gamma is not None:
        model.fc = nn.Linear(model.fc.in_features, k).to(device)
        with torch.no_grad():
            model.fc.weight.mul_(config.gamma)
            model.fc.bias.mul_(config.gamma)
        logits = None
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    rep_x = x_test[:config.rep_images]
    stages = {s: getattr(model, s) for s in STAGES}
    rep_before = activations(model, rep_x, stages)
    step = torch.compile(model) if config.compile else model
    res = fit(step, x, y, lr=config.ft_lr, momentum=config.ft_momentum,
              batch_size=min(len(y), config.ft_max_batch), max_epochs=config.ft_max_epochs,
              target_loss=config.ft_target_loss, logits=logits, seed=config.seed + n,
              desc=f"FT {task} n={n}")
    test_loss, test_acc = evaluate(model, x_test, y_test, logits=logits)
    rep_after = activations(model, rep_x, stages)
    return {"task": task, "n": int(len(y)), "test_acc": test_acc, "test_loss": test_loss,
            "epochs": res.epochs, "converged": res.converged, **_curve(res.losses),
            "weight_change": relative_change(before, model),
            "representation": {s: representation_change(rep_before[s], rep_after[s])
                               for s in STAGES}}
