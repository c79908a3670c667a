"""N-pair loss (Sohn 2016) on the dot-product similarity matrix."""

from __future__ import annotations

from typing import ClassVar

import torch

from biometrix.training.losses.base import MetricLoss, check_positive


def npair_indices(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """labels (N,) -> (positive (N, N), negative (N, N)) bool masks of the N-pair loss.

    Positive: one per anchor, the next sample of the anchor's class in batch order, cyclically (none when
    the class has a single sample). Negative: one per other class, that class's first sample in the batch.
    """
    n = labels.shape[0]
    same = labels[:, None] == labels[None, :]
    earlier = torch.ones(n, n, dtype=torch.bool, device=labels.device).tril(diagonal=-1)  # j < i
    rank = (same & earlier).sum(dim=1)  # position of i within its class
    size = same.sum(dim=1)
    next_rank = (rank + 1) % size
    positive = same & (rank[None, :] == next_rank[:, None]) & (size[:, None] > 1)
    negative = ~same & (rank[None, :] == 0)
    return positive, negative


class NPairLoss(MetricLoss):
    """L = mean over anchors of log(1 + sum over negative classes of exp(s f.f- - s f.f+)) (registered "npair").

    Sohn (2016), multi-class N-pair loss on dot products f.f of the embeddings (``uses_similarity``). From a
    labelled batch (a PK batch): every sample whose class has another sample is an anchor; its one positive
    is the next sample of its class in batch order (cyclically); its negatives are one sample per other
    class of the batch, that class's first sample. With K = 2 this is Sohn's N-pair-mc loss applied in both
    directions of every pair. ``scale`` s multiplies the similarities (1 = Sohn's formula; L2-normalised
    embeddings have dot products in [-1, 1], so a larger s sharpens the softmax). Sohn's L2 penalty on the
    embedding norms is not needed for L2-normalised embeddings and is left out. No anchor: 0.
    """

    uses_similarity: ClassVar[bool] = True

    def __init__(self, *, scale: float = 1.0) -> None:
        super().__init__()
        check_positive("scale", scale)
        self.scale = scale

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) dot products, labels (N,) -> scalar."""
        positive, negative = npair_indices(labels)
        sim = self.scale * matrix
        pos_sim = (sim * positive.to(sim.dtype)).sum(dim=1, keepdim=True)  # (N, 1); 0 where no positive
        logits = (sim - pos_sim).masked_fill(~negative, float("-inf"))
        # log(1 + sum exp(x)) = logsumexp([0, x...]); the 0 column keeps it finite when there is no negative
        per_anchor = torch.logsumexp(torch.cat([torch.zeros_like(pos_sim), logits], dim=1), dim=1)
        has_pos = positive.any(dim=1).to(sim.dtype)
        return (per_anchor * has_pos).sum() / has_pos.sum().clamp(min=1)
