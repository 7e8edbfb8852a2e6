"""Figures, tables and exercises numbered per chapter (``_ext/chapter_numbers.py``)."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
from chapter_numbers import chapter_numbers  # noqa: E402


def test_each_chapter_counts_from_one_in_sphinx_order():
    numbers = {
        "chapters/03_reuse": {"figure": {"b": (13,), "a": (12,), "c": (15,)},
                              "exercise": {"x": (5,), "y": (6,)}},
        "chapters/10_more": {"figure": {"z": (40,)}},
        "notation": {"proof": {"r1": (1,)}},
        "index": {"figure": {"h": (1,)}},
    }
    changed = chapter_numbers(numbers)
    assert numbers["chapters/03_reuse"] == {"figure": {"a": (3, 1), "b": (3, 2), "c": (3, 3)},
                                            "exercise": {"x": (3, 1), "y": (3, 2)}}
    assert numbers["chapters/10_more"] == {"figure": {"z": (10, 1)}}
    # pages that are not chapters keep Sphinx's numbers
    assert numbers["notation"] == {"proof": {"r1": (1,)}} and numbers["index"]["figure"] == {
        "h": (1,)}
    assert changed == ["chapters/03_reuse", "chapters/10_more"]
    # a second pass changes nothing (Sphinx rewrites only what changed)
    assert chapter_numbers(numbers) == []


def test_the_book_loads_it(root):
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())["sphinx"]
    assert config["local_extensions"]["chapter_numbers"] == "_ext"


@pytest.mark.slow
def test_built_chapters_number_their_figures_from_n_1(request):
    given = os.environ.get("DLNFT_BOOK_HTML")
    html = Path(given) if given else request.getfixturevalue("book_html")
    for page in sorted((html / "chapters").glob("0*.html")):
        chapter = int(page.name[:2])
        text = page.read_text(encoding="utf-8")
        captions = re.findall(r'<span class="caption-number">Fig\. ([\d.]+) </span>', text)
        assert captions, f"{page.name}: no numbered figure"
        assert captions == [f"{chapter}.{k}" for k in range(1, len(captions) + 1)], (
            page.name, captions)
    # a reference from chapter 8 to chapter 4's figure carries chapter 4's number
    eight = (html / "chapters" / "08_conclusion.html").read_text(encoding="utf-8")
    assert re.search(r'href="04_generalization\.html#fig-ch4-resnet"[^>]*>.*?Fig\. 4\.\d+', eight,
                     re.S)
