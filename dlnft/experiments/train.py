"""The training loop shared by the image experiments, written for GPU throughput.

Images live on the device as one uint8 tensor (N, C, H, W) (C = 3 for colour, 1 for
grayscale); each batch is cast, normalized ((x/255 − 0.5)/0.5) and, if asked, augmented (random
crop with 4-pixel padding and horizontal flip) on the device, in ``channels_last`` layout.
Forward passes run under bf16 autocast on CUDA only (float32 on CPU, so smoke runs are exact
and portable). ``torch.compile`` is optional.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._progress import bar


def to_device(x: np.ndarray, y: np.ndarray, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, H, W, C) and int labels (N,) → uint8 (N, C, H, W) and int64 on device."""
    if x.ndim != 4:
        raise ValueError(f"x must be uint8 images of shape (N, H, W, C), got shape {x.shape}")
    xt = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous()
    return xt.to(device), torch.as_tensor(y, dtype=torch.int64).to(device)


def autocast(device: str):
    """bf16 autocast on CUDA, nothing elsewhere."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device == "cuda" else nullcontext()


def prepare(x: torch.Tensor, augment: bool = False, generator: torch.Generator | None = None):
    """uint8 (B, C, H, W) → normalized float (B, C, H, W) in channels_last, augmented if asked.

    Augmentation: a random crop of the 4-pixel reflection-padded image and a random
    horizontal flip, per image, drawn from ``generator`` on the images' device.
    """
    x = x.float().div_(255).sub_(0.5).div_(0.5)
    if augment:
        b, c, h, w = x.shape
        padded = F.pad(x, (4, 4, 4, 4), mode="reflect")
        dx, dy = (torch.randint(0, 9, (2, b), device=x.device, generator=generator))
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        idx = torch.arange(b, device=x.device)[:, None, None, None]
        x = padded[idx, torch.arange(c, device=x.device)[None, :, None, None], rows, cols]
        flip = torch.rand(b, device=x.device, generator=generator) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
    return x.contiguous(memory_format=torch.channels_last)


@dataclass
class FitResult:
    """Per-epoch mean training loss, epochs run, whether the target loss was reached, wall time."""
    losses: list[float]
    epochs: int
    converged: bool
    wall_s: float
    images_per_s: float


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, lr: float, momentum: float,
        batch_size: int, max_epochs: int, target_loss: float = 0.0, augment: bool = False,
        logits: slice | None = None, seed: int = 0, desc: str = "train",
        params=None) -> FitResult:
    """SGD with momentum on cross-entropy until the epoch's mean loss < target_loss.

    Raises FloatingPointError, naming ``lr`` and the epoch, if an epoch's loss is not finite
    (the step size is too large for this network): training never goes on from NaN weights.

    x: uint8 (N, C, H, W) and y: int64 (N,) on the model's device. logits: the slice of the
    model's outputs the labels index (e.g. ``slice(0, 2)`` for a binary task read off a
    100-way head). params: the parameters to train (default: all). The bar shows images/s.
    """
    device = x.device.type
    gen = torch.Generator(device=x.device).manual_seed(seed)
    opt = torch.optim.SGD(model.parameters() if params is None else params, lr=lr,
                          momentum=momentum)
    model.train()
    losses, seen, start = [], 0, time.perf_counter()
    epochs = bar(range(max_epochs), desc=desc, unit="epoch")
    for _ in epochs:
        order = torch.randperm(len(y), device=x.device, generator=gen)
        total = torch.zeros((), device=x.device)
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            with autocast(device):
                out = model(prepare(x[idx], augment, gen))
                out = out if logits is None else out[:, logits]
                loss = F.cross_entropy(out.float(), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        seen += len(y)
        losses.append(float(total) / len(y))
        if not np.isfinite(losses[-1]):
            raise FloatingPointError(
                f"{desc}: the training loss became {losses[-1]} in epoch {len(losses)} at "
                f"learning rate lr={lr:g} (momentum {momentum:g}, batch {batch_size}); lower lr")
        rate = seen / (time.perf_counter() - start)
        epochs.set_postfix(loss=f"{losses[-1]:.3g}", img_s=f"{rate:.0f}")
        if losses[-1] < target_loss:
            break
    wall = time.perf_counter() - start
    return FitResult(losses, len(losses), losses[-1] < target_loss, wall, seen / max(wall, 1e-9))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1024,
             logits: slice | None = None) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on uint8 images x and labels y."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch_size):
        with autocast(x.device.type):
            out = model(prepare(x[i:i + batch_size])).float()
        out = out if logits is None else out[:, logits]
        loss += float(F.cross_entropy(out, y[i:i + batch_size], reduction="sum"))
        correct += int((out.argmax(1) == y[i:i + batch_size]).sum())
    return loss / len(y), correct / len(y)


@torch.no_grad()
def activations(model: nn.Module, x: torch.Tensor, modules: dict[str, nn.Module], *,
                batch_size: int = 1024) -> dict[str, torch.Tensor]:
    """Outputs of the named submodules on images x, flattened per image, float32 on the CPU.

    Returns name → tensor of shape (N, features); eval mode (BatchNorm uses running stats).
    """
    model.eval()
    store: dict[str, list[torch.Tensor]] = {k: [] for k in modules}
    hooks = [m.register_forward_hook(lambda _m, _i, out, k=k: store[k].append(
        out.float().flatten(1).cpu())) for k, m in modules.items()]
    try:
        for i in range(0, len(x), batch_size):
            with autocast(x.device.type):
                model(prepare(x[i:i + batch_size]))
    finally:
        for h in hooks:
            h.remove()
    return {k: torch.cat(v) for k, v in store.items()}
