"""Alignment models f_theta (:mod:`.models`), how they are fitted and loaded (:mod:`.fitting`), and
the authors' form of f_theta, one network shared by the agents (:mod:`.authors`, ``protocol.f_theta``)."""

from .authors import AUTHORS_MODELS, AuthorsModel, built_inputs, fit_authors
from .fitting import FORMS, FitConfig, adversarial_delta, build_model, fit, load_align_model
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
    "AUTHORS_MODELS",
    "FORMS",
    "AuthorsModel",
    "ROBUST_ARCHS",
    "AlignmentMLP",
    "AlignmentModel",
    "AlignmentRNN",
    "AlignmentTransformer",
    "BatchedLSTM",
    "FitConfig",
    "adversarial_delta",
    "build_model",
    "built_inputs",
    "fit",
    "fit_authors",
    "load_align_model",
    "others_index",
    "rebuild_model",
]
