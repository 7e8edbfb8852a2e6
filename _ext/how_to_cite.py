"""The "how to cite" card (a local Sphinx extension), generated from CITATION.cff at build time.

The directive ``how-to-cite`` reads the repository's Citation File Format file (the config value
``how_to_cite_file``, ``CITATION.cff`` by default) and renders a sphinx-design card: the file's
``message``, then one tab for the paper (its ``preferred-citation``) and one for the book (the
file's top level), each as a reference in words and as a BibTeX entry. Since the card is made
from the file at every build, it cannot drift from it; an unreadable file, or one without a
title, authors or preferred citation, is a build warning (an error under ``-W``).

The BibTeX key of the paper is the first author's family name, the year and the first word of
the title that is not an article ("anguita2026theory", the key of ``references.bib``); the book's
key is the last component of ``repository-code``.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ARTICLES = {"a", "an", "the", "on", "of"}
ARXIV = re.compile(r"(?:arXiv:)?(\d{4}\.\d{4,5})(?:v\d+)?$", re.IGNORECASE)


class CitationError(ValueError):
    """CITATION.cff lacks a field the card needs."""


def _require(data: dict, key: str, where: str):
    value = data.get(key)
    if value in (None, "", []):
        raise CitationError(f"{where} has no {key!r}")
    return value


def person_names(authors: list) -> list[tuple[str, str]]:
    """(family, given) per author; an entity ("name:") is (name, "")."""
    names = []
    for author in authors:
        if "family-names" in author:
            names.append((author["family-names"], author.get("given-names", "")))
        elif "name" in author:
            names.append((author["name"], ""))
        else:
            raise CitationError(f"an author of CITATION.cff has no name: {author!r}")
    return names


def arxiv_id(reference: dict) -> str | None:
    """The arXiv identifier of a CFF reference (its identifiers, then its url), or None."""
    candidates = [str(i.get("value", "")) for i in reference.get("identifiers", [])]
    candidates.append(str(reference.get("url", "")).rsplit("/", 1)[-1])
    for value in candidates:
        match = ARXIV.match(value.strip())
        if match:
            return match.group(1)
    return None


def bibtex_key(reference: dict) -> str:
    """First author's family name + year + first title word that is not an article."""
    family = person_names(_require(reference, "authors", "the reference"))[0][0]
    words = re.findall(r"[A-Za-z]+", _require(reference, "title", "the reference"))
    word = next((w for w in words if w.lower() not in ARTICLES), "")
    family = re.sub(r"[^a-z]", "", family.lower())
    return f"{family}{reference.get('year', '')}{word.lower()}"


def _bibtex_names(authors: list) -> str:
    return " and ".join(f"{family}, {given}" if given else "{" + family + "}"
                        for family, given in person_names(authors))


def _wrap(tokens: list[str], sep: str, first: int, rest: int, width: int) -> list[str]:
    """Greedy line filling: ``tokens`` joined by ``sep``, the first line starting at column
    ``first`` and the others at ``rest``, no line wider than ``width`` where a break allows."""
    lines, line, col = [], tokens[0], first
    for token in tokens[1:]:
        if col + len(line) + len(sep) + len(token) > width:
            lines.append(line + sep.rstrip())
            line, col = token, rest
        else:
            line += sep + token
    return lines + [line]


def _bibtex(kind: str, key: str, fields: list[tuple[str, object]], width: int = 72) -> str:
    """One entry, a field a line, long values broken (authors at their "and"s, other values at
    spaces) so that the entry reads on a narrow screen without scrolling."""
    fields = [(name, str(value)) for name, value in fields if name and value not in (None, "")]
    lines = []
    for name, value in fields:
        head = f"  {name} = {{"
        tokens, sep = ((value.split(" and "), " and ") if name == "author"
                       else (value.split(" "), " "))
        wrapped = _wrap(tokens, sep, len(head), 4, width - 2)
        lines.append(head + wrapped[0])
        lines += ["    " + line for line in wrapped[1:]]
        lines[-1] += "},"
    lines[-1] = lines[-1][:-1]
    return f"@{kind}{{{key},\n" + "\n".join(lines) + "\n}"


def paper_bibtex(cff: dict) -> str:
    """The BibTeX entry of ``preferred-citation`` (an ``@inproceedings`` when it names the
    proceedings it appeared in, an ``@article`` otherwise)."""
    ref = _require(cff, "preferred-citation", "CITATION.cff")
    _require(ref, "title", "preferred-citation")
    eprint = arxiv_id(ref)
    booktitle = ref.get("collection-title")
    return _bibtex("inproceedings" if booktitle else "article", bibtex_key(ref), [
        ("title", ref["title"]),
        ("author", _bibtex_names(_require(ref, "authors", "preferred-citation"))),
        ("booktitle" if booktitle else "journal", booktitle or ref.get("journal")),
        ("series" if booktitle else "", ref.get("journal") if booktitle else None),
        ("volume", ref.get("volume")),
        ("year", _require(ref, "year", "preferred-citation")),
        ("eprint", eprint),
        ("archivePrefix", "arXiv" if eprint else None),
        ("doi", ref.get("doi")),
        ("url", ref.get("url")),
    ])


def book_bibtex(cff: dict) -> str:
    """The BibTeX entry of the book and its package (the file's top level)."""
    repository = str(cff.get("repository-code", "")).rstrip("/")
    key = repository.rsplit("/", 1)[-1] or "book"
    released = str(cff.get("date-released", ""))[:4]
    return _bibtex("software", key, [
        ("title", _require(cff, "title", "CITATION.cff")),
        ("author", _bibtex_names(_require(cff, "authors", "CITATION.cff"))),
        ("version", cff.get("version")),
        ("year", released or None),
        ("doi", cff.get("doi")),
        ("url", cff.get("url") or repository or None),
    ])


def _initials(given: str) -> str:
    return " ".join(part[0] + "." for part in given.replace("-", " ").split() if part)


def _escape(text: str) -> str:
    """Markdown-inert plain text."""
    return re.sub(r"([\\`*_\[\]<>{}$|])", r"\\\1", str(text))


def reference_text(names: list[tuple[str, str]]) -> str:
    """"Anguita, N., Locatello, F. and Dominé, C." (entities as they are)."""
    people = [f"{family}, {_initials(given)}" if given else family for family, given in names]
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]


def paper_text(cff: dict) -> str:
    """The paper's reference in words, as Markdown (the arXiv identifier a link)."""
    ref = cff["preferred-citation"]
    parts = [f"{_escape(reference_text(person_names(ref['authors'])))} ({ref['year']}). "
             f"*{_escape(ref['title'])}*."]
    venue = ref.get("collection-title") or ref.get("journal")
    if venue:
        volume = f", {_escape(ref['journal'])} {ref['volume']}" if (
            ref.get("collection-title") and ref.get("journal") and ref.get("volume")) else ""
        parts.append(f" {_escape(venue)}{volume}.")
    eprint = arxiv_id(ref)
    if eprint:
        parts.append(f" [arXiv:{eprint}](https://arxiv.org/abs/{eprint}).")
    return "".join(parts)


def book_text(cff: dict) -> str:
    """The book's reference in words, as Markdown."""
    who = _escape(reference_text(person_names(cff["authors"])))
    version = f", version {_escape(cff['version'])}" if cff.get("version") else ""
    url = cff.get("url") or cff.get("repository-code")
    link = f" <{url}>" if url else ""
    return f"{who}. *{_escape(cff['title'])}*{version}.{link}"


def card_markdown(cff: dict) -> str:
    """The card, as MyST Markdown for sphinx-design's ``card``, ``tab-set`` and ``tab-item``."""
    paper, book = paper_bibtex(cff), book_bibtex(cff)
    message = " ".join(str(cff.get("message", "")).split())
    return "\n".join([
        ":::::{card}",
        ":class-card: how-to-cite",
        "",
        _escape(message),
        "",
        "::::{tab-set}",
        "",
        ":::{tab-item} The paper",
        ":sync: paper",
        "",
        paper_text(cff),
        "",
        "```bibtex",
        paper,
        "```",
        ":::",
        "",
        ":::{tab-item} This book",
        ":sync: book",
        "",
        book_text(cff),
        "",
        "```bibtex",
        book,
        "```",
        ":::",
        "::::",
        ":::::",
    ])


def read_cff(path: Path) -> dict:
    """CITATION.cff as a mapping (a ``CitationError`` when it is not one)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CitationError(f"{path} is not a YAML mapping")
    return data


class HowToCite(SphinxDirective):
    """``how-to-cite``: the citation card (no arguments, no content)."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        path = Path(self.env.srcdir) / self.config.how_to_cite_file
        self.env.note_dependency(str(path))
        try:
            text = card_markdown(read_cff(path))
        except (OSError, yaml.YAMLError, CitationError, KeyError, TypeError) as exc:
            logger.warning(f"how to cite: cannot read {path}: {exc!r}",
                           location=(self.env.docname, self.lineno))
            return []
        container = nodes.container(classes=["how-to-cite-source"])
        self.state.nested_parse(StringList(text.splitlines(), source=str(path)),
                                self.content_offset, container)
        return container.children


def setup(app):
    app.add_config_value("how_to_cite_file", "CITATION.cff", "env")
    app.add_directive("how-to-cite", HowToCite)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
