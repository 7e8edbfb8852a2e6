"""Author-year labels for the book's bibliography (a local Sphinx extension).

The text cites author-year (``bibtex_reference_style: author_year``); this registers the pybtex
formatting style ``author_year`` so that the bibliography's labels read the same way:
"Anguita et al., 2026" for three or more authors, "Lippl and Lindsey, 2024" for two, the
surname alone for one, with a, b, ... after the year where two entries would share a label.
Entries are sorted by author, year and title. Select it with ``bibtex_default_style``.
"""
from __future__ import annotations

import codecs
from collections import Counter

import latexcodec  # noqa: F401  (registers the "ulatex" codec)
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    """A person's last name(s) as plain text: LaTeX accents decoded, braces dropped."""
    raw = " ".join(person.prelast_names + person.last_names)
    return codecs.decode(raw, "ulatex").replace("{", "").replace("}", "")


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        labels = [self.format_label(entry) for entry in sorted_entries]
        count, seen = Counter(labels), Counter()
        for label in labels:
            if count[label] == 1:
                yield label
            else:  # "Smith, 2020a", "Smith, 2020b": the suffix goes on the year
                yield label + chr(ord("a") + seen[label])
                seen[label] += 1

    def format_label(self, entry) -> str:
        persons = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [_surname(p) for p in persons]
        if not names:
            who = entry.fields.get("key", entry.key)
        elif len(names) == 1:
            who = names[0]
        elif len(names) == 2:
            who = f"{names[0]} and {names[1]}"
        else:
            who = f"{names[0]} et al."
        year = entry.fields.get("year", "n.d.")
        return f"{who}, {year}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True}
