"""The reference pages (index, notation, glossary, bibliography) agree with the chapters.

Source-level checks (no build): every symbol and name the notation page defines is used by some
chapter; the regime labels are stated as the limits they are; the results R1-R7 are numbered
propositions in order; the glossary is in the table of contents and defines the book's terms;
every bibliography entry carries a resolvable identifier; the "how to cite" card's BibTeX agrees
with ``references.bib``. Rendered checks (the built book): the card, the propositions and the
glossary are on their pages. Set ``DLNFT_BOOK_HTML`` to an existing build's ``_build/html`` to
check that one instead of building the book again.
"""
import codecs
import html as html_lib
import os
import re
import sys
from pathlib import Path

import pytest
import latexcodec  # noqa: F401  (registers the "ulatex" codec)
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))

import how_to_cite  # noqa: E402  (the local Sphinx extension under test)

PAGES = ("index.md", "notation.md", "glossary.md")


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _chapters_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8")
                     for p in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.md")))


def normalize_tex(tex: str) -> str:
    """TeX with its spelling variants folded: ``c_{\\mathrm{FT}}^{\\mathrm{PT}}``,
    ``c_\\mathrm{FT}^\\mathrm{PT}`` and ``c_\\text{FT}^\\text{PT}`` all give ``c_FT^PT``."""
    tex = re.sub(r"\\(?:mathrm|text|operatorname|mathit|textrm)\s*", "", tex)
    tex = tex.replace("\\,", "").replace("\\!", "").replace("\\;", "")
    return re.sub(r"[\s{}]", "", tex)


def _blocks(text: str) -> list[str]:
    """Paragraphs, glossary entries and whole tables: the units a statement lives in (a table's
    column header says as much about a cell as the cell does)."""
    return [block for block in re.split(r"\n\s*\n", text) if block.strip()]


def notation_rows() -> list[tuple[str, str]]:
    """(symbol cell, meaning cell) of every row of the notation page's symbol tables."""
    rows = []
    for line in _read("notation.md").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if (line.startswith("|") and len(cells) >= 2 and cells[0] not in ("Symbol", "Label")
                and not set(cells[0]) <= set("- ") and not re.fullmatch(r"R\d", cells[0])):
            rows.append((cells[0], cells[1]))
    return rows


def defined_symbols() -> list[str]:
    """Each symbol the notation page defines: the TeX of its first column (the left side where
    it is written as a definition), and its plain names ("CKA", "rich", "lazy")."""
    symbols = []
    for cell, _ in notation_rows():
        maths = re.findall(r"\$([^$]+)\$", cell)
        for tex in maths:
            parts = [tex.split("=")[0]] if "=" in tex else tex.split(", ")
            symbols += [("tex", part.strip()) for part in parts if part.strip()]
        words = re.sub(r"\$[^$]+\$", "", cell)
        symbols += [("word", w.strip()) for w in re.split(r",", words)
                    if re.search(r"[A-Za-z]", w)]
    return symbols


def test_notation_page_defines_symbols():
    kinds = [kind for kind, _ in defined_symbols()]
    assert kinds.count("tex") >= 25 and kinds.count("word") >= 5, defined_symbols()


@pytest.mark.parametrize("kind, symbol", defined_symbols(),
                         ids=[s for _, s in defined_symbols()])
def test_every_notation_symbol_is_used_by_a_chapter(kind, symbol):
    """The notation page is the chapters' notation: a symbol no chapter writes is a drift (one
    page renamed it) or a leftover."""
    chapters = _chapters_text()
    if kind == "tex":
        assert normalize_tex(symbol) in normalize_tex(chapters), \
            f"notation.md defines ${symbol}$, which no chapter writes"
    else:
        word = symbol.replace(" scale", "")
        assert re.search(re.escape(word), chapters, re.IGNORECASE), \
            f"notation.md defines {symbol!r}, which no chapter uses"


def test_notation_page_has_one_reuse_ratio():
    """The FT scale of a PT feature over that of a new one has one notation, on this page."""
    text = normalize_tex(_read("notation.md"))
    assert "c_FT^PT/c_FT^new" in text
    for other in ("c_FT^on", "c_FT^off", "c_FT(PTfeature)", "c_FT(unused)"):
        assert other not in text, other


def _mentions_regime_one(block: str) -> bool:
    return re.search(r"(?<![IV])\bI\b(?![IV–-])|setting I\b|regime I\b", block) is not None


@pytest.mark.parametrize("page", PAGES)
def test_regime_one_is_called_pt_independent_only_as_a_limit(page):
    """Chapters 5 and 6 measure the authors' setting I as still PT-dependent: a page may call
    regime I PT-independent (or say it ignores PT features) only beside the limit the label
    names, lambda -> -c."""
    for block in _blocks(_read(page)):
        independent = re.search(r"PT-independent|ignores? (the )?PT|blind to PT", block)
        if independent and _mentions_regime_one(block):
            assert re.search(r"\\lambda\s*\\to\s*-c|λ\s*→\s*−c", block), \
                f"{page} calls regime I PT-independent without the limit:\n{block}"


def test_notation_says_setting_one_is_measured_pt_dependent():
    rows = [meaning for cell, meaning in notation_rows() if cell.startswith("regimes")]
    assert rows, "notation.md has no row for the regimes"
    assert "PT-dependent" in rows[0] and "05_regimes" in rows[0] and "06_resnets" in rows[0]


def test_g_on_the_notation_page_has_the_chapters_meanings():
    """Chapters 1-2 write g = dL/dbeta and chapter 4 the denoiser's threshold g; the notation
    page gives both, and never says that g is never a gradient."""
    chapters = normalize_tex(_chapters_text())
    as_gradient = any(form in chapters for form in
                      ("g_i=\\partialL/\\partial\\beta_i", "g=\\frac\\partialL\\partial\\beta"))
    text = _read("notation.md")
    assert "never a gradient" not in text
    row = [meaning for cell, meaning in notation_rows() if cell.startswith("$g")]
    assert row, "notation.md has no row for g"
    if as_gradient:
        assert "gradient" in row[0] and "01_conservation" in row[0]
    assert "threshold" in row[0]


def test_conv1_divisor_is_this_books_design():
    """Dividing conv1 at initialization is the book's own design, not the authors' protocol."""
    for page in PAGES:
        for block in _blocks(_read(page)):
            if re.search(r"conv1|06_resnets", block):
                assert not re.search(r"authors' (protocol|way)", block), \
                    f"{page} ascribes the conv1 divisor to the authors:\n{block}"
    row = [m for c, m in notation_rows() if "conv1" in c]
    assert row and "this book's own design" in row[0]


def test_results_are_numbered_propositions_in_order():
    """R1-R7 are sphinx-proof propositions 1-7 of the notation page, labelled result-rN."""
    text = _read("notation.md")
    found = re.findall(r"```\{prf:proposition\} (R\d)\b[^\n]*\n:label: ([\w-]+)", text)
    assert [r for r, _ in found] == [f"R{k}" for k in range(1, 8)], found
    assert [label for _, label in found] == [f"result-r{k}" for k in range(1, 8)]
    assert "{prf:" not in re.sub(r"\{prf:proposition\}", "", text).replace("{prf:ref}", "")


def test_extensions_are_configured():
    config = yaml.safe_load(_read("_config.yml"))["sphinx"]
    for ext in ("sphinx_proof", "sphinx_exercise", "sphinx_design"):
        assert ext in config["extra_extensions"], ext
    assert config["local_extensions"]["how_to_cite"] == "_ext"
    requirements = _read("requirements.txt")
    for package in ("sphinx-proof", "sphinx-exercise", "sphinx-design"):
        assert re.search(rf"^{package}\b", requirements, re.MULTILINE), package


GLOSSARY_TERMS = ("rich regime", "lazy regime", "feature reuse", "PT-dependence", "grokking",
                  "CKA", "state evolution", "replica method", "layer balance",
                  "relative scale λ", "absolute scale c", "readout scale γ",
                  "Holm correction", "sign-flip test", "equivalence bound")


def glossary_terms() -> list[str]:
    text = _read("glossary.md")
    block = re.search(r"```\{glossary\}\n(.*?)\n```", text, re.DOTALL)
    assert block, "glossary.md has no glossary directive"
    return [line.strip() for line in block.group(1).splitlines()
            if line.strip() and not line.startswith((" ", ":"))]


def test_glossary_defines_the_books_terms():
    terms = glossary_terms()
    assert len(terms) == len(set(terms)), "a glossary term is defined twice"
    for term in GLOSSARY_TERMS:
        assert term in terms, f"the glossary does not define {term!r}"
    toc = _read("_toc.yml")
    assert re.search(r"^\s*- file: glossary$", toc, re.MULTILINE)


def test_every_bibliography_entry_has_an_identifier():
    from pybtex.database import parse_file

    entries = parse_file(str(ROOT / "references.bib")).entries
    assert len(entries) >= 10
    for key, entry in entries.items():
        fields = entry.fields
        assert any(f in fields for f in ("doi", "eprint", "url")), f"{key}: no doi/eprint/url"
        if "doi" in fields:
            assert re.fullmatch(r"10\.\d{4,9}/\S+", fields["doi"]), (key, fields["doi"])
        if "eprint" in fields:
            assert re.fullmatch(r"\d{4}\.\d{4,5}", fields["eprint"]), (key, fields["eprint"])
            assert fields.get("archivePrefix") == "arXiv", key
        if "url" in fields:
            assert fields["url"].startswith("https://"), (key, fields["url"])


def test_how_to_cite_agrees_with_the_bibliography():
    """The card's paper entry (from CITATION.cff) and references.bib cite the same paper."""
    from pybtex.database import parse_string

    cff = how_to_cite.read_cff(ROOT / "CITATION.cff")
    card = parse_string(how_to_cite.paper_bibtex(cff), "bibtex").entries
    bib = parse_string(_read("references.bib"), "bibtex").entries
    (key, entry), = card.items()
    assert key in bib, f"the card's key {key!r} is not a key of references.bib"
    for field in ("title", "year", "volume", "eprint", "booktitle"):
        assert entry.fields[field] == bib[key].fields[field], field
    def surnames(e):
        return [codecs.decode(" ".join(p.last_names), "ulatex").replace("{", "")
                .replace("}", "") for p in e.persons["author"]]

    assert surnames(entry) == surnames(bib[key])


def test_how_to_cite_card_markup():
    cff = how_to_cite.read_cff(ROOT / "CITATION.cff")
    text = how_to_cite.card_markdown(cff)
    assert text.startswith(":::::{card}\n") and text.endswith(":::::")
    for block in re.findall(r"```bibtex\n(.*?)```", text, re.DOTALL):
        assert max(len(line) for line in block.splitlines()) <= 72, block
    assert text.count("```bibtex") == 2
    assert "https://arxiv.org/abs/2602.20062" in text
    book = how_to_cite.book_bibtex(cff)
    assert book.startswith("@software{dlnft,") and cff["title"] in book
    with pytest.raises(how_to_cite.CitationError, match="preferred-citation"):
        how_to_cite.paper_bibtex({k: v for k, v in cff.items() if k != "preferred-citation"})
    with pytest.raises(how_to_cite.CitationError, match="'title'"):
        how_to_cite.book_bibtex({"authors": cff["authors"]})


@pytest.fixture(scope="module")
def html(request) -> Path:
    """The built book: ``DLNFT_BOOK_HTML`` when set, else the session's build."""
    given = os.environ.get("DLNFT_BOOK_HTML")
    if given:
        return Path(given)
    return request.getfixturevalue("book_html")


def _text(page: Path) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


def test_index_shows_the_citation_card(html):
    cff = how_to_cite.read_cff(ROOT / "CITATION.cff")
    page = (html / "index.html").read_text(encoding="utf-8")
    assert "how-to-cite" in page and "sd-tab-set" in page
    text = _text(html / "index.html")
    assert cff["preferred-citation"]["title"] in text and "arXiv:2602.20062" in text
    code = html_lib.unescape(re.sub(r"<[^>]+>", "", page))
    assert "@inproceedings{anguita2026theory," in code and "@software{dlnft," in code


def test_notation_renders_the_propositions(html):
    text = _text(html / "notation.html")
    for k in range(1, 8):
        assert re.search(rf"Proposition {k} \(R{k}\b", text), f"Proposition {k} (R{k}"


def test_glossary_renders_every_term(html):
    page = (html / "glossary.html").read_text(encoding="utf-8")
    for term in glossary_terms():
        assert f'id="term-{term}"' in page or term in _text(html / "glossary.html"), term


def test_bibliography_renders_the_links(html):
    """Every rendered entry links to its arXiv page, its DOI or its proceedings page."""
    page = (html / "bibliography.html").read_text(encoding="utf-8")
    entries = re.findall(r'<div class="citation".*?</div>', page, re.DOTALL)
    assert len(entries) >= 10
    for entry in entries:
        assert re.search(r'href="https://(arxiv\.org/abs/|doi\.org/10\.|proceedings\.)',
                         entry), entry
