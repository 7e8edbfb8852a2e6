"""The book: chapter pairs in sync and executed, and a build with zero warnings."""
import html as html_lib
import json
import re

import jupytext
import pytest

from dlnft.book import chapter_pairs

PAIRS = chapter_pairs()


def _cells(path):
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_every_chapter_is_a_pair(root):
    mds = {p.stem for p in (root / "chapters").glob("[0-9][0-9]_*.md")}
    nbs = {p.stem for p in (root / "chapters").glob("[0-9][0-9]_*.ipynb")}
    assert mds, "no chapters found"
    assert mds == nbs, f"unpaired: .md only {sorted(mds - nbs)}, .ipynb only {sorted(nbs - mds)}"


@pytest.mark.parametrize("md, ipynb", PAIRS, ids=[md.stem for md, _ in PAIRS])
def test_pair_in_sync(md, ipynb):
    a, b = _cells(md), _cells(ipynb)
    assert len(a) == len(b), f"{md.name} has {len(a)} cells, {ipynb.name} {len(b)}: run jupytext --sync"
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"cell {i} differs between {md.name} and {ipynb.name}: run jupytext --sync"


@pytest.mark.parametrize("md, ipynb", PAIRS, ids=[md.stem for md, _ in PAIRS])
def test_notebook_is_executed(md, ipynb):
    cells = json.loads(ipynb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert code, f"{ipynb.name} has no code cells"
    missing = [i for i, c in enumerate(code) if not c.get("execution_count")]
    assert not missing, f"{ipynb.name}: code cells {missing} were never executed"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), \
        f"{ipynb.name} was not executed top to bottom in one kernel (counts {counts})"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{ipynb.name} has error outputs"


def test_toc_lists_every_chapter(root):
    toc = (root / "_toc.yml").read_text()
    for md, _ in PAIRS:
        assert f"chapters/{md.stem}" in toc, f"{md.stem} is missing from _toc.yml"


def test_book_builds_without_warnings(book_build):
    code, log, html = book_build
    assert code == 0, f"jupyter-book build -W failed:\n{log[-4000:]}"
    assert (html / "index.html").exists()
    for md, _ in PAIRS:
        assert (html / "chapters" / f"{md.stem}.html").exists(), f"{md.stem} was not rendered"


def test_bibliography_labels_read_like_the_citations(book_html):
    """The text cites author-year, and so do the bibliography's labels (_ext/author_year_bib)."""
    page = (book_html / "bibliography.html").read_text()
    labels = [html_lib.unescape(re.sub(r"<[^>]+>", "", m)) for m in
              re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)'
                         r'<span class="fn-bracket">\]</span>', page)]
    assert len(labels) >= 10, f"the bibliography on bibliography.html has {len(labels)} entries"
    assert "Anguita et al., 2026" in labels and "Lippl and Lindsey, 2024" in labels
    assert "Dominé et al., 2025" in labels  # LaTeX accents decoded
    for label in labels:
        assert re.fullmatch(r"[^\W\d][\w' .-]*?(?: et al\.| and [\w' -]+)?, \d{4}[a-z]?",
                            label), label
