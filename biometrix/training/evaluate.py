"""Validation of encoders during training, through the evaluation package's protocol."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from biometrix.evaluation.protocol import protocol_scores, summarize  # noqa: F401  (re-exported)


def embed_all(encode: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    """Run ``encode`` over (N, 1, H, W) in chunks -> (N, D)."""
    return np.concatenate([encode(batch[i : i + batch_size]) for i in range(0, len(batch), batch_size)])
