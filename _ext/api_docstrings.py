"""dlnft's plain-text docstrings in the API reference (a local Sphinx extension).

The package writes its formulas in plain text, as a reader of the source sees them:

* a formula display is a block indented under a paragraph, after a blank line; it is shown as
  a literal block, so that its lines and alignment stay as written (reStructuredText would
  make a block quote of it and run its lines together);
* ``|x|`` is an absolute value or a norm (``|lam| <= c``, ``||Xβ − y||²``); outside literal
  text every bar is escaped, since reStructuredText reads ``|...|`` as a substitution.

Both rewrites happen before napoleon reads the "Args:/Returns:" sections, on dlnft's
docstrings only; the source is unchanged.
"""
from __future__ import annotations

import re

_LITERAL = re.compile(r"(``.+?``)")
# a paragraph that must keep its indented block: a list item, a directive, a napoleon section
_KEEP = re.compile(r"^\s*(\d+\.|[*+-]|#\.|\.\.)\s|^\s*(Args|Arguments|Attributes|Example|Examples|"
                   r"Keyword Args|Methods|Note|Notes|Other Parameters|Parameters|Raises|"
                   r"References|Return|Returns|See Also|Warning|Warnings|Yield|Yields):\s*$")


def escape_bars(line: str) -> str:
    """``line`` with every ``|`` outside ````inline literals```` escaped as ``\\|``."""
    parts = _LITERAL.split(line)
    return "".join(part if i % 2 else re.sub(r"(?<!\\)\|", r"\\|", part)
                   for i, part in enumerate(parts))


def plain_text(lines: list[str]) -> list[str]:
    """The docstring ``lines`` as reStructuredText: displays made literal, bars escaped."""
    out: list[str] = []
    literal = False
    para_start = 0  # index in ``lines`` of the first line of the current top-level paragraph
    for k, line in enumerate(lines):
        indented = line[:1].isspace()
        if not line.strip():
            out.append(line)
            continue
        if not indented:
            literal = False
            if k == 0 or not lines[k - 1].strip():
                para_start = k
            out.append(escape_bars(line))
            continue
        if not literal and k > 0 and not lines[k - 1].strip():
            prev = next((j for j in range(k - 1, -1, -1) if lines[j].strip()), None)
            if (prev is not None and not lines[prev][:1].isspace()
                    and not lines[prev].rstrip().endswith("::")
                    and not _KEEP.match(lines[para_start]) and not _KEEP.match(line)):
                out += ["::", ""]  # a paragraph of "::" alone makes the next block literal
                literal = True
        out.append(line if literal else escape_bars(line))
    return out


def _process(app, what, name, obj, options, lines):
    if name == "dlnft" or name.startswith("dlnft."):
        lines[:] = plain_text(lines)


def setup(app):
    app.connect("autodoc-process-docstring", _process, priority=400)  # before napoleon (500)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
