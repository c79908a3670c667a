"""Triplet margin loss with batch-all or batch-hard mining."""

from __future__ import annotations

from typing import Literal

import torch
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.training.losses.base import MetricLoss, check_positive
from biometrix.training.losses.miners import batch_all_triplets, batch_hard_triplets

Mining = Literal["batch_all", "batch_hard"]


class TripletLoss(MetricLoss):
    """L = max(d(a, p) - d(a, n) + margin, 0) over triplets of a labelled batch (registered "triplet").

    ``mining="batch_all"``: every valid triplet (a != p same label, n another label); the loss is averaged
    over the triplets whose loss is > 0 only (Hermans et al.'s "batch all"; averaging over all of them would
    let the many easy triplets dilute the gradient to nothing). ``mining="batch_hard"``: for each anchor
    its farthest positive and its closest negative, averaged over the anchors that have both.
    No valid (or no positive-loss) triplet: 0.

    ``margin="soft"``: the soft margin of Hermans et al. (2017), L = log(1 + exp(d(a, p) - d(a, n))). A hard
    margin has a flat floor at L = margin where every embedding coincides (d = 0 for all pairs): when the
    hardest negatives cannot be separated (a skilled forgery is nearly a copy of the genuine signature) the
    encoder can settle there, with all signatures inside a tiny cone. The soft margin has no flat region, but
    it does not prevent that either: while the hardest positives lie farther than the hardest negatives,
    shrinking every distance together still lowers it, towards log 2 (README, "The embeddings sit in a narrow
    cone"; ``SignatureCNN(embedding_bn=True)`` is what prevents the cone). With ``batch_all`` every triplet
    counts.
    """

    def __init__(self, *, margin: float | Literal["soft"] = 0.2, mining: Mining = "batch_hard") -> None:
        super().__init__()
        if margin != "soft":
            if isinstance(margin, str):
                raise InvalidInput(f"triplet margin must be a positive number or 'soft', got {margin!r}")
            check_positive("margin", margin)
        if mining not in ("batch_all", "batch_hard"):
            raise InvalidInput(f"unknown triplet mining {mining!r}; known: batch_all, batch_hard")
        self.margin = margin
        self.mining = mining

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) distances, labels (N,) -> scalar."""
        if self.mining == "batch_all":
            a, p, n = batch_all_triplets(labels)
        else:
            a, p, n = batch_hard_triplets(matrix, labels)
        if self.margin == "soft":
            losses = F.softplus(matrix[a, p] - matrix[a, n])
            return losses.sum() / max(losses.shape[0], 1)
        losses = torch.clamp(matrix[a, p] - matrix[a, n] + self.margin, min=0)
        if self.mining == "batch_all":
            count = (losses > 0).sum()
        else:
            count = torch.tensor(losses.shape[0], device=matrix.device)
        return losses.sum() / count.clamp(min=1)
