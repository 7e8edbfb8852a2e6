"""The API reference: a page per dlnft module, and dlnft's plain-text docstrings made RST.

The pages are built, with warnings as errors, by tests/test_book.py; these tests check that the
reference covers the package and that _ext/api_docstrings.py rewrites docstrings as intended.
"""
from __future__ import annotations

import pkgutil
import re
import sys
from pathlib import Path

import yaml

import dlnft

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

from api_docstrings import plain_text  # noqa: E402


def _documented_modules() -> dict[str, str]:
    """module -> the API page (toc file) that runs automodule on it."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def files(entries):
        for entry in entries:
            yield entry["file"]
            yield from files(entry.get("sections", []))

    pages = [f for part in toc["parts"] for f in files(part["chapters"]) if f.startswith("api/")]
    found = {}
    for page in pages:
        for module in re.findall(r"\.\. automodule:: (\S+)", (ROOT / f"{page}.md").read_text()):
            found[module] = page
    return found


def test_every_public_module_has_a_page():
    public = {"dlnft"} | {m.name for m in pkgutil.walk_packages(dlnft.__path__, "dlnft.")
                          if not any(part.startswith("_") for part in m.name.split("."))}
    documented = _documented_modules()
    assert public <= set(documented), f"modules without an API page: {public - set(documented)}"
    for module, page in documented.items():
        assert page.startswith("api/") and Path(page).stem in (module.split(".")[-1], "index")


def test_top_level_page_lists_every_export():
    text = (ROOT / "api" / "dlnft.md").read_text()
    listed = {}
    module = None
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = m.group(1)
        elif module and re.fullmatch(r"   \w+", line):
            listed[line.strip()] = module
    assert set(listed) == set(dlnft.__all__)
    for name, module in listed.items():
        assert getattr(dlnft, name).__module__ == module, name


def test_indented_display_becomes_a_literal_block():
    doc = ["Per coordinate, flow conserves", "", "    c = w₊ w₋ + v₊ v₋      (absolute scale)",
           "        and more", "", "after it |x|."]
    assert plain_text(doc) == ["Per coordinate, flow conserves", "", "::", "",
                               "    c = w₊ w₋ + v₊ v₋      (absolute scale)",
                               "        and more", "", "after it \\|x\\|."]


def test_bars_are_escaped_outside_literals_only():
    doc = ["lam with |lam| <= c and ``a | b``.", "", "    |z| in a display"]
    out = plain_text(doc)
    assert out[0] == "lam with \\|lam\\| <= c and ``a | b``."
    assert out[-1] == "    |z| in a display"


def test_lists_sections_and_literals_keep_their_indented_blocks():
    doc = ["1. Pretrain, then:", "", "   * merged", "", "Args:", "    x: the |x|.", "",
           "    y: more.", "", "Shown as is::", "", "    a = b"]
    out = plain_text(doc)
    assert "::" not in out
    assert out[out.index("Args:") + 1] == "    x: the \\|x\\|."
