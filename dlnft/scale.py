"""The one scale switch: ``DLNFT_SCALE`` = ``smoke`` | ``full``.

Unset, it is ``full`` where CUDA is available and ``smoke`` elsewhere. Smoke runs take seconds
to a minute on two CPU cores and go through the same code paths as full runs.
"""
from __future__ import annotations

import os

SCALES = ("smoke", "full")


def get_scale() -> str:
    """The scale chosen by ``DLNFT_SCALE``, or by whether a GPU is present."""
    value = os.environ.get("DLNFT_SCALE", "").strip().lower()
    if value:
        if value not in SCALES:
            raise ValueError(f"DLNFT_SCALE must be one of {SCALES}, got {value!r}")
        return value
    import torch

    return "full" if torch.cuda.is_available() else "smoke"


def pipeline_check() -> bool:
    """Whether a chapter runs its experiment's smoke pipeline in the page: True at smoke scale.

    At full scale no deep network is trained inside a page (the recorded full-scale sweep is
    the result, read from ``data/results/``); this then prints so and returns False. Chapters
    guard their smoke-run cells with ``if dlnft.pipeline_check():``.
    """
    if get_scale() == "smoke":
        return True
    print("DLNFT_SCALE=full: no network is trained in the page; the recorded full-scale "
          "sweep below is the result.")
    return False


def device() -> str:
    """``"cuda"`` when a GPU is available, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
