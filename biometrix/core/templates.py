"""Templates from several references: the re-normalised mean of L2-normalised embeddings.

This is the same math as a prototypical network's class prototype; training uses it through
``prototype`` so the two never drift apart.
"""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality, SubjectId, Template


def l2_normalize(x: np.ndarray, *, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """x (..., D) -> x / ||x||; all-zero rows are an error."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    if (norm <= eps).any():
        raise InvalidInput("cannot normalise a zero embedding")
    return x / norm


def prototype(features: np.ndarray) -> np.ndarray:
    """features (K, D) -> (D,): mean of the L2-normalised rows, re-normalised."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[0] == 0:
        raise InvalidInput(f"a template needs at least one (K, D) reference, got shape {features.shape}")
    if not np.isfinite(features).all():
        raise InvalidInput("reference embeddings contain NaN or infinite values")
    return l2_normalize(l2_normalize(features).mean(axis=0))


def make_template(
    features: np.ndarray, *, subject_id: SubjectId | str, modality: Modality, model_id: str
) -> Template:
    """features (K, D) of one subject -> a Template keeping every reference and their prototype."""
    refs = l2_normalize(np.asarray(features, dtype=np.float32))
    return Template(
        subject_id=SubjectId(str(subject_id)),
        modality=modality,
        model_id=model_id,
        references=refs,
        centroid=prototype(refs),
    )
