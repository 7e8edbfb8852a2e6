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
import math
from collections.abc import Callable
from dataclasses import dataclass

Family = Callable[[dict], dict]
"""The type of a family of comparisons, a function of the merged results that returns
``{comparison label: {seed: paired difference}}``, the primary comparison first."""


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
    claim: ``"direction"`` (default: the differences have the sign ``sign``) or
    ``"equivalence"`` (they stay inside (-delta, delta); ``sign`` is the side a departure
    was expected on), see :func:`dlnft.experiments.summary.verdict_of`.
    reason: why delta has its size, in words.
    unit: the endpoint's unit as printed after a number (e.g. ``" nats"``).
    digits: how many decimals a printed difference of it carries.
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
    claim: str = "direction"
    reason: str = ""
    unit: str = ""
    digits: int = 3

    def __post_init__(self):
        if self.sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {self.sign!r} ({self.id})")
        if not self.delta > 0:
            raise ValueError(f"delta must be > 0, got {self.delta!r} ({self.id})")
        if self.claim not in ("direction", "equivalence"):
            raise ValueError(f"claim must be 'direction' or 'equivalence', got "
                             f"{self.claim!r} ({self.id})")
        if ":" not in self.family:
            raise ValueError(f"family must be 'module:function', got {self.family!r} "
                             f"({self.id})")

    def comparisons(self, merged: dict) -> dict[str, dict[int, float]]:
        """The family of paired differences computed from ``merged`` (primary first)."""
        module, func = self.family.split(":")
        return getattr(importlib.import_module(module), func)(merged)


_E = "dlnft.experiments.endpoints:"
CE_DELTA = round(0.038 * math.log(9), 3)
"""The 0.038 accuracy benefit that the authors' earlier CIFAR-100 work reported (0.083 nats)
as a change of test cross-entropy at the held-out task's recorded accuracy a = 0.9 (the
cross-entropy of a calibrated classifier of accuracy a is the binary entropy H(a), and
|H'(0.9)| = ln 9)."""

PREDICTIONS: tuple[Prediction, ...] = (
    Prediction(
        id="1.balance.eta", chapter=1, experiment="balance",
        statement="In a bias-free ReLU network trained by full-batch GD for a fixed time "
                  "eta T, the drift of the layer balance max_l |D_l(T) - D_l(0)| shrinks in "
                  "proportion to eta: a log-log slope of 1 over the three smallest steps.",
        endpoint="fitted log-log slope of the final drift against eta, minus 1",
        metric="drift_slope", sign=-1, delta=0.2, family=_E + "balance_slope",
        digits=2,
        claim="equivalence",
        reason="the rule stated with the prediction: the slope within [0.8, 1.2]; a "
               "departure was expected below 1 (large steps leave the flow's path)"),
    Prediction(
        id="2.grok.scale", chapter=2, experiment="modular_scale",
        statement="A smaller overall initialization scale sits nearer the rich end: the "
                  "Transformer's grokking step increases with the scale.",
        endpoint="grokking step (first recorded PT step with held-out accuracy >= 0.95; "
                 "never: the 5,000-step budget), scale 3 minus scale 0.3",
        metric="grok_step", sign=1, delta=500.0, family=_E + "grok_scale",
        unit=" steps", digits=0,
        reason="one tenth of the 5,000-step budget (five recording intervals)"),
    Prediction(
        id="3.cka.alpha", chapter=3, experiment="resnet_fmnist",
        statement="The conv1 stage's representation changes more during FT at larger "
                  "alpha_conv1 (a smaller first layer), on both FT tasks.",
        endpoint="log10(1 - CKA) at conv1, alpha_conv1 10 minus 0.1, mean over tasks "
                 "and n",
        metric="representation.conv1.change", sign=1, delta=math.log10(2),
        family=_E + "cka_alpha",
        unit=" decades", digits=2,
        reason="a factor 2 in 1 - CKA (log10 2 = 0.30 decades), against the seven- to "
               "tenfold change the diagonal theory gives over the same range"),
    Prediction(
        id="3.cka.task", chapter=3, experiment="resnet_fmnist",
        statement="New classes change the conv1 stage more than PT classes: log10(1 - CKA) "
                  "at conv1 is larger on heldout than on subset at every alpha_conv1.",
        endpoint="log10(1 - CKA) at conv1, heldout minus subset, mean over alpha and "
                 "n",
        metric="representation.conv1.change", sign=1, delta=math.log10(2),
        family=_E + "cka_task",
        unit=" decades", digits=2,
        reason="a factor 2 in 1 - CKA (0.30 decades), the size of the theory's relative gap "
               "(26-109%) at lambda >= 0"),
    Prediction(
        id="4.resnet.small_conv1", chapter=4, experiment="resnet_fmnist",
        statement="A smaller first layer (conv1 divided by a larger alpha_conv1, lambda < 0) "
                  "makes FT richer, which new features need: the held-out pair's FT test "
                  "loss falls from alpha_conv1 0.1 (and 1) to 10, and falls more than the "
                  "subset pair's (the subset-over-new gap narrows). Made in chapters 4, 5 "
                  "and 6; read in chapter 8.",
        endpoint="FT test cross-entropy of the held-out pair, n = 100, alpha_conv1 0.1 minus "
                 "10 (positive: the small first layer helps)",
        metric="test_loss", sign=1, delta=CE_DELTA, family=_E + "resnet_small_conv1",
        unit=" nats",
        reason="the authors' earlier CIFAR-100 work reported an accuracy benefit of 0.038; "
               "at the held-out accuracy 0.9 this is 0.038 ln 9 = 0.083 nats of "
               "cross-entropy. Test cross-entropy, not accuracy: the subset task sits at "
               "its accuracy ceiling (0.98)"),
    Prediction(
        id="5.modular.narrow", chapter=5, experiment="modular",
        statement="Smaller early layers (embeddings and attention scaled by early_scale < 1) "
                  "narrow the subset task's advantage over a new operation: the FT accuracy "
                  "gap + minus new is larger at early_scale 3 than at 0.3. Made in chapters "
                  "5 and 7; read in chapter 8.",
        endpoint="FT test accuracy of + minus the mean of the new operations, early_scale 3 "
                 "minus 0.3",
        metric="test_acc", sign=1, delta=0.05, family=_E + "modular_narrow",
        reason="three chance accuracies (1/59 each). Accuracy, not cross-entropy: the new "
               "operations sit far from the ceiling (0.07-0.18), and their cross-entropy "
               "(7-20 nats) is set by a few confident errors"),
    Prediction(
        id="6.resnet.reuse", chapter=6, experiment="resnet_fmnist",
        statement="Subset above held-out at every alpha_conv1 and n: fine-tuning on two PT "
                  "classes reuses the PT features (PT-dependence in every regime).",
        endpoint="FT test cross-entropy, held-out minus subset pair, mean over alpha and n",
        metric="test_loss", sign=1, delta=CE_DELTA, family=_E + "resnet_reuse",
        unit=" nats",
        reason="as 4.resnet.small_conv1: 0.038 accuracy at a = 0.9, 0.083 nats"),
    Prediction(
        id="7.modular.new", chapter=7, experiment="modular",
        statement="A new operation does not gain from larger early layers: its FT test "
                  "accuracy at early_scale 3 is not above that at 0.3.",
        endpoint="FT test accuracy of the new operations (mean of - and a2+b2), early_scale "
                 "3 minus 0.3",
        metric="test_acc", sign=-1, delta=0.05, family=_E + "modular_new",
        reason="three chance accuracies (1/59 each), as 5.modular.narrow"),
)
"""Every prediction of the book, in chapter order."""


def get(pid: str) -> Prediction:
    """The prediction with id ``pid`` (ValueError naming the known ids otherwise)."""
    for p in PREDICTIONS:
        if p.id == pid:
            return p
    raise ValueError(f"no prediction {pid!r}; known: {[p.id for p in PREDICTIONS]}")
