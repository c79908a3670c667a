"""Per-modality pipelines: a raw sample in, an L2-normalised embedding out (preprocess, then encode)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biometrix.core.errors import ModelMismatch
from biometrix.core.types import Modality
from biometrix.preprocess.signature import preprocess_signature
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard


class SignaturePipeline:
    """Signature image (grey or RGB uint8, dark ink on light paper) -> embedding, as the card describes."""

    modality = Modality.SIGNATURE

    def __init__(self, encoder: OnnxEncoder) -> None:
        card = encoder.card
        if card.modality is not Modality.SIGNATURE:
            raise ModelMismatch(f"model {card.model_id!r} is a {card.modality.value} model, not a signature model")
        self.encoder = encoder
        self.card: ModelCard = card

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """image -> float32 (C, H, W) encoder input (binarized ink, normalised as the card says)."""
        _, h, w = self.card.input_shape
        x = preprocess_signature(image, height=h, width=w)
        norm = self.card.normalization
        return ((x - norm.mean) / norm.std).astype(np.float32)[None]

    def embed_many(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """images -> (N, D) embeddings; every image is preprocessed (and can fail) before any is encoded."""
        batch = np.stack([self.prepare(img) for img in images])
        return self.encoder.embed(batch)

    def embed(self, image: np.ndarray) -> np.ndarray:
        """One image -> (D,) embedding."""
        return self.embed_many([image])[0]
