"""The book's figure style: readable at the width of the page column.

The rendered page's text column is about 7 inches wide at 100 dpi. A figure drawn wider is
shrunk to fit, and its fonts with it, so every chapter draws at most two panels per row within
:data:`PAGE_WIDTH` and with fonts of at least 10 pt. Chapters call :func:`use_book_style` once,
in their import cell; :func:`figsize` gives the size of a row of panels.
"""
from __future__ import annotations

import matplotlib as mpl

PAGE_WIDTH = 7.0
"""Width of a figure that spans the page column, in inches."""

STYLE = {
    "figure.figsize": (PAGE_WIDTH, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
"""The matplotlib settings of :func:`use_book_style` (fonts in points)."""


def use_book_style() -> None:
    """Set the book's matplotlib style (:data:`STYLE`) for the rest of the session."""
    mpl.rcParams.update(STYLE)


def figsize(panels: int = 1, height: float = 3.4) -> tuple[float, float]:
    """(width, height) in inches of a row of ``panels`` panels (1 or 2) across the page column.

    One panel is drawn at two thirds of the page width, two panels span it.
    """
    if panels not in (1, 2):
        raise ValueError(f"panels must be 1 or 2 (at most two panels per row), got {panels!r}")
    if not height > 0:
        raise ValueError(f"height must be > 0 inches, got {height!r}")
    return (PAGE_WIDTH * (2 / 3 if panels == 1 else 1.0), height)
