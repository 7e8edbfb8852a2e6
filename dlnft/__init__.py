"""dlnft: diagonal linear networks, pretraining and fine-tuning.

The package behind the book that re-derives and checks *A Theory of How Pretraining Shapes
Inductive Bias in Fine-Tuning* (Anguita et al., arXiv:2602.20062). Notation is the paper's:
w = first layer, v = readout, c = absolute scale, λ (``lam``) = relative scale, γ (``gamma``) =
readout scale at fine-tuning.
"""
from .flow import FlowResult, flow
from .gd import GDDivergedError, GDResult, gd, gradient, loss
from .network import Conserved, DiagonalNet, conserved
from .pipeline import PTFTResult, finetune_init, pretrain_finetune
from .scale import get_scale, pipeline_check
from .tasks import Task, make_tasks

__all__ = [
    "Conserved", "DiagonalNet", "FlowResult", "GDDivergedError", "GDResult", "PTFTResult", "Task",
    "conserved", "finetune_init", "flow", "gd", "get_scale", "gradient", "loss", "make_tasks",
    "pipeline_check", "pretrain_finetune",
]
__version__ = "0.1.0"
