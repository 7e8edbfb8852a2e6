"""The book's figure style: readable at the width of the page column, on a desktop and a phone.

The rendered page's text column is about 7 inches wide at 100 dpi on a desktop; on a phone
390 px wide it is 342 CSS px. A figure is shrunk to fit the column, and its fonts with it: a
figure ``W`` inches wide with tick labels of ``t`` points shows them at
``t / 72 × 100 × 342 / (100 W)`` px on a phone, 9 px or more (the book's floor) only when
``W <= t × 4.75 / 9``: 5.3 inches at the style's 10-point ticks. So every chapter draws within
:data:`PHONE_WIDTH`: one panel at :data:`PANEL_WIDTH`, several panels stacked in a column
(:func:`panels`), never two side by side at the full page width. Chapters call
:func:`use_book_style` once, in their import cell; it also makes a notebook show figures as
2× PNGs (sharp on a phone's screen) that record, in a ``dlnft:tick_pt`` text chunk, the
smallest tick label they draw (:func:`tick_label_pt`), which the book's phone test reads.

Each condition the book compares has one colour in every chapter (:data:`COLOURS`,
:func:`colour`): the four regimes I–IV, the two fine-tuning tasks, the three first-layer
divisors :math:`\\alpha_{\\mathrm{conv1}}`.
"""
from __future__ import annotations

import base64
import io

import matplotlib as mpl

PAGE_WIDTH = 7.0
"""Width of the page column on a desktop, in inches (at 100 dpi)."""
PANEL_WIDTH = PAGE_WIDTH * 2 / 3
"""Width of a figure of one panel (or of a column of stacked panels), in inches."""
PHONE_WIDTH = 5.25
"""The widest figure, in inches, whose 10-point tick labels stay at 9 px or more on a 390 px
phone (342 px of column)."""
MIN_TICK_PX = 9.0
"""The smallest tick label, in CSS pixels, a figure may show on a 390 px phone."""
PHONE_COLUMN_PX = 342.0
"""Width of the page column, in CSS pixels, on a 390 px wide phone (measured)."""

STYLE = {
    "figure.figsize": (PANEL_WIDTH, 3.4),
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

COLOURS = {
    # the four fine-tuning regimes (chapter 5's settings)
    "I": "#1f5fa8", "II": "#e07b00", "III": "#2a9d3a", "IV": "#c62828",
    # the two fine-tuning tasks: new features (held-out classes) and a subset of the PT ones
    "heldout": "#7b3fa0", "subset": "#0b7285",
    # the first layer divided by alpha_conv1: large, balanced, small
    "alpha=0.1": "#8fb8de", "alpha=1": "#4a7fb5", "alpha=10": "#12355b",
}
"""One colour per condition, the same in every chapter (keys as :func:`colour` takes them)."""


def colour(condition) -> str:
    """The book's colour of ``condition``: a regime ("I"–"IV"), a task ("heldout",
    "subset") or a first-layer divisor (the number 0.1, 1 or 10, or "alpha=10")."""
    key = condition
    if isinstance(condition, (int, float)) and not isinstance(condition, bool):
        key = f"alpha={condition:g}"
    if key not in COLOURS:
        raise ValueError(f"condition must be one of {sorted(COLOURS)} (or the number 0.1, 1 "
                         f"or 10), got {condition!r}")
    return COLOURS[key]


def figsize(panels: int = 1, height: float = 3.4) -> tuple[float, float]:
    """(width, height) in inches of a row of ``panels`` panels (1 or 2) across the page column.

    One panel is drawn at two thirds of the page width, two panels span it (too wide for a
    phone's 9-px tick labels: new figures stack their panels with :func:`panels`).
    """
    if panels not in (1, 2):
        raise ValueError(f"panels must be 1 or 2 (at most two panels per row), got {panels!r}")
    if not height > 0:
        raise ValueError(f"height must be > 0 inches, got {height!r}")
    return (PAGE_WIDTH * (2 / 3 if panels == 1 else 1.0), height)


def panels(n: int, height: float = 2.8, **subplots):
    """A figure of ``n`` panels (1 to 6) stacked in one column, :data:`PANEL_WIDTH` wide and
    ``height`` inches per panel: ``(fig, axes)`` with ``axes`` a list of ``n`` Axes. Keyword
    arguments go to ``matplotlib.pyplot.subplots`` (e.g. ``sharex=True``)."""
    import matplotlib.pyplot as plt

    if not (isinstance(n, int) and 1 <= n <= 6):
        raise ValueError(f"n must be an integer from 1 to 6 panels, got {n!r}")
    if not (isinstance(height, (int, float)) and 1 <= height <= 6):
        raise ValueError(f"height must be between 1 and 6 inches per panel, got {height!r}")
    fig, axes = plt.subplots(n, 1, figsize=(PANEL_WIDTH, height * n), squeeze=False,
                             **subplots)
    return fig, list(axes[:, 0])


def tick_label_pt(fig) -> float | None:
    """The font size, in points, of the smallest visible tick label of ``fig`` (None when it
    draws none)."""
    sizes = []
    for ax in fig.get_axes():
        if not ax.get_visible():
            continue
        for axis in (ax.xaxis, ax.yaxis):
            for label in axis.get_ticklabels(which="both"):
                if label.get_visible() and label.get_text():
                    sizes.append(label.get_fontsize())
    return min(sizes) if sizes else None


def figure_png(fig) -> tuple[str, dict] | None:
    """``fig`` as a notebook shows it under :func:`use_book_style`: a PNG at twice the figure's
    dpi, cropped to what it draws, base64-encoded, with the display size (``width``,
    ``height``, half its pixels) and, in the PNG, the text chunk ``dlnft:tick_pt`` (see
    :func:`tick_label_pt`). None for an empty figure (nothing is shown)."""
    if not fig.axes:
        return None
    fig.canvas.draw()                 # tick labels exist only once the figure is drawn
    tick = tick_label_pt(fig)
    meta = {"dlnft:tick_pt": f"{tick:g}"} if tick is not None else {}
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=2 * fig.dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor(), metadata=meta)
    data = buf.getvalue()
    width, height = (int.from_bytes(data[i:i + 4], "big") for i in (16, 20))   # IHDR
    return (base64.b64encode(data).decode("ascii"),
            {"width": width // 2, "height": height // 2})


def use_book_style() -> None:
    """Set the book's matplotlib style (:data:`STYLE`) for the rest of the session; in IPython,
    show figures with :func:`figure_png`."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:               # matplotlib without IPython: the style alone
        return
    shell = get_ipython()
    if shell is not None:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        # load the backend now: the notebook's inline backend sets its own PNG formatter
        # when it is loaded, which would otherwise replace this one at the first figure
        plt.switch_backend(mpl.get_backend())
        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
