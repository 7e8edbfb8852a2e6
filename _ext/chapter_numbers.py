"""Figures, tables and exercises numbered per chapter (a local Sphinx extension).

Sphinx numbers every figure of an unnumbered toctree in one sequence across the book (chapter
3's first figure was "Fig. 12"). This extension renumbers the enumerable nodes of each chapter
page, ``chapters/NN_slug``, as ``N.k``: the k-th figure (table, code block, exercise, …) of
chapter N in the order Sphinx found them, so that chapter 3's figures read "Fig. 3.1",
"Fig. 3.2", …, in their captions and in every ``{numref}`` to them from any page. Pages that
are not chapters keep Sphinx's numbers.

It runs on ``env-get-updated`` after Sphinx's own numbering (``TocTreeCollector``, priority
500), on every build, and asks Sphinx to rewrite the pages whose numbers it changed.
"""
from __future__ import annotations

import re

CHAPTER = re.compile(r"^chapters/(\d{2})_")


def chapter_numbers(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]
                    ) -> list[str]:
    """Renumber, in place, every chapter page's nodes of each kind as (chapter, k), k = 1, 2, …
    in the order of Sphinx's numbers; return the pages whose numbers changed."""
    changed = []
    for docname, kinds in fignumbers.items():
        match = CHAPTER.match(docname)
        if not match:
            continue
        chapter = int(match.group(1))
        for ids in kinds.values():
            for k, key in enumerate(sorted(ids, key=ids.get), start=1):
                if ids[key] != (chapter, k):
                    ids[key] = (chapter, k)
                    if docname not in changed:
                        changed.append(docname)
    return changed


def _renumber(app, env) -> list[str]:
    return chapter_numbers(env.toc_fignumbers)


def setup(app):
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
