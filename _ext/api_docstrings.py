"""dlnft's docstrings in the API reference: bars are absolute values, not substitutions.

The package writes its formulas in plain text, with ``|x|`` for an absolute value or a norm
(``|lam| <= c``, ``|Xβ − y|``). reStructuredText reads ``|...|`` as a substitution reference and
fails on it, so before autodoc parses a docstring every bar outside inline literals is escaped:
the page shows the formula as the source writes it.
"""
from __future__ import annotations

import re

_LITERAL = re.compile(r"(``.+?``)")


def escape_bars(line: str) -> str:
    """``line`` with every ``|`` outside ````inline literals```` escaped as ``\\|``."""
    parts = _LITERAL.split(line)
    return "".join(part if i % 2 else re.sub(r"(?<!\\)\|", r"\\|", part)
                   for i, part in enumerate(parts))


def _process(app, what, name, obj, options, lines):
    if name == "dlnft" or name.startswith("dlnft."):
        lines[:] = [escape_bars(line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
