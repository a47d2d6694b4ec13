"""Alignment models f_theta (:mod:`.models`) and how they are fitted and loaded (:mod:`.fitting`)."""

from .fitting import FitConfig, adversarial_delta, build_model, fit, load_align_model
from .models import (
    ALIGN_MODELS,
    ROBUST_ARCHS,
    AlignmentMLP,
    AlignmentModel,
    AlignmentRNN,
    AlignmentTransformer,
    BatchedLSTM,
    others_index,
    rebuild_model,
)

__all__ = [
    "ALIGN_MODELS",
    "ROBUST_ARCHS",
    "AlignmentMLP",
    "AlignmentModel",
    "AlignmentRNN",
    "AlignmentTransformer",
    "BatchedLSTM",
    "FitConfig",
    "adversarial_delta",
    "build_model",
    "fit",
    "load_align_model",
    "others_index",
    "rebuild_model",
]
