"""Every chapter opens in Colab and installs dlnft there, and only there.

The first code cell of every chapter notebook is exactly :func:`dlnft.book.colab_cell`, left out
of the rendered page (the page has the Colab launch button); the pip
requirement it runs is well formed and points at the repository configured in ``_config.yml``;
run outside Colab it does nothing, and inside (a fake) Colab it calls pip with that requirement.
"""
from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest
import yaml
from packaging.requirements import Requirement

from dlnft import book

CONFIG = yaml.safe_load((book.ROOT / "_config.yml").read_text())
NOTEBOOKS = [ipynb for _, ipynb in book.chapter_pairs()]


def first_code_cell(ipynb) -> str:
    assert ipynb.exists(), f"{ipynb.name} is missing: python -m dlnft.book execute " \
                           f"{ipynb.with_suffix('.md')}"
    cells = json.loads(ipynb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code, f"{ipynb.name} has no code cell"
    src = code[0]["source"]
    return "".join(src) if isinstance(src, list) else src


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapters/NN_slug.md found"
    missing = [str(p) for p in NOTEBOOKS if not p.exists()]
    assert not missing, f"chapters without their executed .ipynb twin: {missing}"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_is_the_colab_cell(ipynb):
    assert first_code_cell(ipynb) == book.colab_cell()


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.stem)
def test_colab_cell_is_left_out_of_the_rendered_page(ipynb):
    """The book's page has the Colab launch button; the install cell is for Colab alone, so
    the page leaves it out (``remove-cell``) and its first screen shows the chapter instead."""
    cells = json.loads(ipynb.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    assert "remove-cell" in first.get("metadata", {}).get("tags", []), (
        f"{ipynb.name}: tag the Colab cell `:tags: [remove-cell]` in {ipynb.stem}.md")


def test_requirement_is_well_formed():
    req = Requirement(book.install_requirement())
    assert req.name == "dlnft"
    assert req.url == "git+" + CONFIG["repository"]["url"].rstrip("/")
    assert req.url.startswith("git+https://")
    assert not req.extras and not str(req.specifier) and req.marker is None


def test_launch_buttons_are_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    repo = CONFIG["repository"]
    assert repo["url"].startswith("https://github.com/")
    assert repo["branch"] == "main"
    assert CONFIG["html"]["use_repository_button"] is True


def test_colab_cell_mentions_the_configured_url_only_once():
    assert book.colab_cell().count(CONFIG["repository"]["url"].rstrip("/")) == 1


@pytest.fixture
def pip_calls(monkeypatch):
    calls = []

    def fake_run(args, **kwargs):
        calls.append((list(args), kwargs))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


def test_cell_does_nothing_outside_colab(monkeypatch, pip_calls):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(book.colab_cell(), "<colab cell>", "exec"), {})
    assert pip_calls == [], "the Colab cell ran a command outside Colab"


def test_cell_installs_dlnft_in_colab(monkeypatch, pip_calls):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(compile(book.colab_cell(), "<colab cell>", "exec"), {})
    assert len(pip_calls) == 1
    args, kwargs = pip_calls[0]
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == book.install_requirement()
    assert set(args[4:-1]) <= {"-q"}
    assert kwargs.get("check") is True


@pytest.mark.parametrize("cuda, scale", [(True, "full"), (False, "smoke")])
def test_chapters_pick_full_scale_on_a_gpu(monkeypatch, cuda, scale):
    import torch

    import dlnft

    monkeypatch.delenv("DLNFT_SCALE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert dlnft.get_scale() == scale
