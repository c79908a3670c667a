"""Training-only heads on the embedding, after SigNet-F (Hafemann et al., 2017): multi-task signals beside the
metric loss that shape the embedding and are then thrown away (the exported encoder is the embedding alone).

- **Forgery head**: one logit "this is a skilled forgery" from the unit embedding, binary cross-entropy against
  every sample's label (1 = skilled forgery, 0 = genuine), whoever the writer. Forgeries of any writer are pushed
  to one side of a direction in the embedding, genuine signatures to the other, so a forged probe moves away from
  its genuine references along that direction too.
- **Writer head**: a cosine-softmax over the training writers (unit class vectors, scaled cosine logits), cross-
  entropy over the batch's *genuine* samples only (a forgery is nobody's signature), as SigNet's writer
  classification.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from biometrix.evaluation.datasets import SignatureRecord


def writer_index(samples: Sequence[SignatureRecord]) -> dict[str, int]:
    """The writer head's classes: one per signer with a genuine training sample, numbered in sorted key order."""
    return {k: i for i, k in enumerate(sorted({s.key for s in samples if s.genuine}))}


class AuxiliaryHeads(nn.Module):
    """The forgery and writer heads on a ``dim``-d unit embedding; ``loss`` is their weighted sum for one batch."""

    def __init__(self, dim: int, *, writers: dict[str, int], forgery_weight: float = 0.0,
                 writer_weight: float = 0.0, writer_scale: float = 16.0) -> None:
        super().__init__()
        if forgery_weight < 0 or writer_weight < 0:
            raise ValueError(f"head weights must be >= 0, got forgery {forgery_weight}, writer {writer_weight}")
        if writer_weight > 0 and not writers:
            raise ValueError("the writer head needs at least one training writer")
        if writer_scale <= 0:
            raise ValueError(f"writer_scale must be > 0, got {writer_scale}")
        self.forgery_weight = forgery_weight
        self.writer_weight = writer_weight
        self.writer_scale = writer_scale
        self.writers = dict(writers)
        self.forgery = nn.Linear(dim, 1) if forgery_weight > 0 else None
        self.classes = nn.Parameter(torch.randn(len(writers), dim) * dim**-0.5) if writer_weight > 0 else None

    def forgery_logits(self, emb: torch.Tensor) -> torch.Tensor:
        """(N,) logits "skilled forgery" of (N, dim) embeddings."""
        if self.forgery is None:
            raise RuntimeError("this model has no forgery head (forgery_weight is 0)")
        return self.forgery(emb).squeeze(1)

    def writer_logits(self, emb: torch.Tensor) -> torch.Tensor:
        """(N, writers) scaled cosine similarities of (N, dim) embeddings to the writers' class vectors."""
        if self.classes is None:
            raise RuntimeError("this model has no writer head (writer_weight is 0)")
        return self.writer_scale * F.normalize(emb, dim=1) @ F.normalize(self.classes, dim=1).T

    def loss(self, emb: torch.Tensor, batch: Sequence[SignatureRecord]) -> torch.Tensor:
        """forgery_weight * BCE(forgery) + writer_weight * CE(writer over the genuine samples) of one batch;
        ``batch`` holds the samples of the rows of ``emb``, in order."""
        if len(batch) != emb.shape[0]:
            raise ValueError(f"{emb.shape[0]} embeddings but {len(batch)} samples")
        total = emb.new_zeros(())
        if self.forgery is not None:
            forged = torch.tensor([0.0 if s.genuine else 1.0 for s in batch], dtype=emb.dtype, device=emb.device)
            total = total + self.forgery_weight * F.binary_cross_entropy_with_logits(self.forgery_logits(emb), forged)
        if self.classes is not None:
            rows = [n for n, s in enumerate(batch) if s.genuine]
            if rows:
                unknown = sorted({batch[n].key for n in rows} - set(self.writers))
                if unknown:
                    raise KeyError(f"writers outside the head's classes: {', '.join(unknown)}")
                target = torch.tensor([self.writers[batch[n].key] for n in rows], dtype=torch.long, device=emb.device)
                total = total + self.writer_weight * F.cross_entropy(self.writer_logits(emb[rows]), target)
        return total
