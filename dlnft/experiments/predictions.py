"""The book's predictions, as data: one entry per prediction, each judged once.

Every prediction a chapter's Act 3 makes lives here, with what it is judged on: the recorded
file it reads (``data/results/EXPERIMENT.json``), the predicted sign of its paired
differences, its equivalence margin δ, and its *family* of comparisons — a function that turns
the merged results into paired differences, one value per seed for each comparison, the primary
comparison first. The chapters and chapter 8's table read the verdicts from here, so one claim
has one verdict. An entry is written and committed before the data it is judged on; the git
history of this file is the record of that.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

Family = Callable[[dict], dict]
"""A family of comparisons: merged results to ``{comparison label: {seed: paired
difference}}``, the primary comparison first."""


@dataclass(frozen=True)
class Prediction:
    """One prediction of the book.

    id: unique key, ``"CH.slug"`` (e.g. ``"6.lambda.heldout"``).
    chapter: the chapter whose Act 3 makes it.
    experiment: the recorded sweep it is judged on (``data/results/EXPERIMENT.json``).
    statement: the prediction in words, as committed before the data.
    endpoint: the primary endpoint in words (metric, contrast, unit).
    metric: the measured quantity the differences are taken of (e.g. ``"test_ce"``).
    sign: +1 or -1, the predicted sign of every paired difference in the family.
    delta: the equivalence margin (> 0), in the endpoint's units (a null whose interval lies
    inside (-delta, delta) is reported as "no effect larger than delta").
    family: ``"module:function"``, the function (see :data:`Family`) that computes the
    family of paired differences from the merged results.
    """
    id: str
    chapter: int
    experiment: str
    statement: str
    endpoint: str
    metric: str
    sign: int
    delta: float
    family: str

    def __post_init__(self):
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r} ({self.id})")
        if not self.delta > 0:
            raise ValueError(f"delta must be > 0, got {self.delta!r} ({self.id})")
        if ":" not in self.family:
            raise ValueError(f"family must be 'module:function', got {self.family!r} "
                             f"({self.id})")

    def comparisons(self, merged: dict) -> dict[str, dict[int, float]]:
        """The family of paired differences computed from ``merged`` (primary first)."""
        module, func = self.family.split(":")
        return getattr(importlib.import_module(module), func)(merged)


PREDICTIONS: tuple[Prediction, ...] = ()
"""Every prediction of the book, in chapter order."""


def get(pid: str) -> Prediction:
    """The prediction with id ``pid`` (ValueError naming the known ids otherwise)."""
    for p in PREDICTIONS:
        if p.id == pid:
            return p
    raise ValueError(f"no prediction {pid!r}; known: {[p.id for p in PREDICTIONS]}")
