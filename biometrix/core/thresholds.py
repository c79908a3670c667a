"""Calibrate a Threshold, bound to its model, from genuine and impostor distances."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import ModelMismatch
from biometrix.core.metrics import eer, threshold_at_fmr
from biometrix.core.types import Threshold


def calibrate_at_fmr(
    *, impostor: np.ndarray, target_fmr: float, model_id: str, distance: str = "cosine", source: str = ""
) -> Threshold:
    """The threshold whose FMR on these impostor distances is at most target_fmr."""
    value = threshold_at_fmr(impostor=impostor, target_fmr=target_fmr)
    return Threshold(value=value, model_id=model_id, distance=distance, target_fmr=target_fmr, source=source)


def calibrate_eer(
    *,
    genuine: np.ndarray,
    impostor: np.ndarray,
    model_id: str,
    distance: str = "cosine",
    source: str = "",
) -> Threshold:
    """The threshold at the equal error rate of these distances."""
    res = eer(genuine=genuine, impostor=impostor)
    return Threshold(value=res.threshold, model_id=model_id, distance=distance, target_fmr=None, source=source)


def check_model(threshold: Threshold, model_id: str) -> None:
    """Refuse a threshold calibrated for another model."""
    if threshold.model_id != model_id:
        raise ModelMismatch(
            f"threshold belongs to model {threshold.model_id!r}, embeddings come from {model_id!r}"
        )
