"""The book's figure style (dlnft.plotting): sizes, colours, and the PNG a notebook shows."""
from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from dlnft import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def book_style():
    with matplotlib.rc_context():
        plotting.use_book_style()
        yield
    plt.close("all")


def shown(fig):
    data, meta = plotting.figure_png(fig)
    img = Image.open(io.BytesIO(base64.b64decode(data)))
    return img, meta


def phone_tick_px(img, meta):
    """Tick labels in CSS px on a 390 px phone, as tests/test_browser_phone.py measures."""
    natural = img.size[0]
    on_phone = min(meta["width"], plotting.PHONE_COLUMN_PX)
    return float(img.info["dlnft:tick_pt"]) / 72 * img.info["dpi"][0] * on_phone / natural


def test_stacked_panels_are_readable_on_a_phone():
    fig, axes = plotting.panels(2, 2.8, sharex=True)
    assert len(axes) == 2 and fig.get_size_inches()[0] == pytest.approx(plotting.PANEL_WIDTH)
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    img, meta = shown(fig)
    assert img.info["dlnft:tick_pt"] == "10"
    assert img.info["dpi"][0] == pytest.approx(200, abs=0.01)
    assert meta["width"] == img.size[0] // 2 and meta["height"] == img.size[1] // 2
    assert phone_tick_px(img, meta) >= plotting.MIN_TICK_PX


def test_a_row_at_the_full_page_width_is_not():
    fig, axes = plt.subplots(1, 2, figsize=plotting.figsize(2))
    for ax in axes:
        ax.plot([0, 1], [0, 1])
    img, meta = shown(fig)
    assert phone_tick_px(img, meta) < plotting.MIN_TICK_PX


def test_phone_width_is_the_widest_readable_figure():
    tick = plotting.STYLE["xtick.labelsize"]
    px = tick / 72 * 100 * plotting.PHONE_COLUMN_PX / (100 * plotting.PHONE_WIDTH)
    assert plotting.MIN_TICK_PX <= px < plotting.MIN_TICK_PX * 1.02


def test_tick_label_pt_is_the_smallest_visible_label():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.tick_params(axis="y", labelsize=7)
    fig.canvas.draw()
    assert plotting.tick_label_pt(fig) == 7
    ax.yaxis.set_visible(False)
    for label in ax.get_yticklabels():
        label.set_visible(False)
    assert plotting.tick_label_pt(fig) == 10
    fig2 = plt.figure()
    assert plotting.tick_label_pt(fig2) is None and plotting.figure_png(fig2) is None


def test_colours_are_fixed_per_condition():
    assert plotting.colour(10) == plotting.colour("alpha=10") == plotting.COLOURS["alpha=10"]
    assert plotting.colour(0.1) != plotting.colour(1) != plotting.colour(10)
    assert len({plotting.colour(r) for r in ("I", "II", "III", "IV")}) == 4
    assert plotting.colour("heldout") != plotting.colour("subset")
    with pytest.raises(ValueError, match="condition"):
        plotting.colour("V")
    with pytest.raises(ValueError, match="condition"):
        plotting.colour(3)


@pytest.mark.parametrize("n, height", [(0, 2.8), (7, 2.8), (2, 0.5), (1.5, 2.8), (2, 9)])
def test_panels_rejects_bad_arguments(n, height):
    with pytest.raises(ValueError):
        plotting.panels(n, height)


def test_figsize_rejects_bad_arguments():
    with pytest.raises(ValueError, match="panels"):
        plotting.figsize(3)
    with pytest.raises(ValueError, match="height"):
        plotting.figsize(1, 0)
