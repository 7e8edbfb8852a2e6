"""Time budget: every chapter executes at smoke scale in under 3 minutes.

Each chapter notebook is executed once, top to bottom, in a fresh kernel with nbclient (as nbval
does), and its wall time, kernel start included, is compared with the budget; a chapter that is
still running when the budget is spent is stopped there. The times are printed (run with ``-s``)
so that the README's total can be kept honest.
"""
from __future__ import annotations

import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError

from dlnft import book

BUDGET_S = 180
NOTEBOOKS = [ipynb for _, ipynb in book.chapter_pairs()]


@pytest.mark.slow
@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_within_budget(ipynb, monkeypatch):
    md = ipynb.with_suffix(".md")
    assert ipynb.exists(), f"{ipynb.name} is missing: python -m dlnft.book execute {md}"
    monkeypatch.setenv("DLNFT_SCALE", "smoke")
    nb = nbformat.read(ipynb, as_version=4)
    current = {"cell": None}
    start = time.perf_counter()
    client = NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(ipynb.parent)}},
        timeout_func=lambda cell: max(1, int(BUDGET_S - (time.perf_counter() - start)) + 1),
        on_cell_start=lambda cell, cell_index: current.update(cell=cell_index))
    try:
        client.execute()
    except CellTimeoutError:
        pytest.fail(f"{ipynb.name} was still running at cell {current['cell'] + 1} of "
                    f"{len(nb.cells)} when its {BUDGET_S} s smoke-scale budget ran out")
    wall = time.perf_counter() - start
    print(f"\n{ipynb.name}: {wall:.1f} s at smoke scale")
    assert wall < BUDGET_S, f"{ipynb.name} took {wall:.0f} s at smoke scale, over {BUDGET_S} s"
