"""Progress bars for long loops: shown in an interactive terminal, off in CI and notebooks."""
from __future__ import annotations

import os
import sys

from tqdm import tqdm


def enabled() -> bool:
    """True in an interactive terminal outside CI (notebook outputs stay clean for nbval)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


def bar(iterable=None, **kwargs):
    """tqdm over ``iterable`` (or a manual bar with ``total=``), disabled when not
    :func:`enabled`."""
    kwargs.setdefault("disable", not enabled())
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)
