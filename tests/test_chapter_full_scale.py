"""Both scales run: every chapter executes at ``DLNFT_SCALE=full`` and trains nothing deep.

At full scale a chapter reads its recorded sweeps from ``data/results/`` (as the rendered book
does) and runs its in-page theory; ``dlnft.pipeline_check()`` keeps every deep-network smoke
run out of the page. Outputs are not compared (the in-page theory may be larger at full
scale); every cell must run without error, asserts included, within the budget.
"""
from __future__ import annotations

import dataclasses
import time

import nbformat
import pytest
from nbclient import NotebookClient

from dlnft import book
from dlnft.experiments import EXPERIMENTS

BUDGET_S = 300
NOTEBOOKS = [ipynb for _, ipynb in book.chapter_pairs()]


@pytest.mark.slow
@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_at_full_scale(ipynb, monkeypatch):
    monkeypatch.setenv("DLNFT_SCALE", "full")
    nb = nbformat.read(ipynb, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="python3", timeout=BUDGET_S,
                   resources={"metadata": {"path": str(ipynb.parent)}}).execute()
    wall = time.perf_counter() - start
    print(f"\n{ipynb.name}: {wall:.1f} s at full scale")
    said = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
    guarded = sum("dlnft.pipeline_check()" in cell.source for cell in nb.cells)
    assert said.count("DLNFT_SCALE=full: no network is trained in the page") == guarded
    assert wall < BUDGET_S


def test_full_configs_do_not_depend_on_the_machine(monkeypatch):
    """A recorded full-scale run must match its registry config on any machine: no config
    field (a device, say) may follow whether CUDA is present."""
    import torch

    def configs():
        return {name: [dataclasses.asdict(c) for c in e.configs("full")]
                for name, e in EXPERIMENTS.items()}

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    on_cpu = configs()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert configs() == on_cpu
