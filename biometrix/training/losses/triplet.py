"""Triplet margin loss with batch-all or batch-hard mining."""

from __future__ import annotations

from typing import Literal

import torch
from torch.nn import functional as F

from biometrix.core.errors import InvalidInput
from biometrix.training.losses.base import MetricLoss, check_positive
from biometrix.training.losses.miners import batch_all_triplets, batch_hard_triplets, easy_positive_triplets

Mining = Literal["batch_all", "batch_hard", "easy_positive"]
#: Per-anchor miners: one (positive, negative) per anchor, the loss averaged over the anchors.
PER_ANCHOR = {"batch_hard": batch_hard_triplets, "easy_positive": easy_positive_triplets}


class TripletLoss(MetricLoss):
    """L = max(d(a, p) - d(a, n) + margin, 0) over triplets of a labelled batch (registered "triplet").

    ``mining="batch_all"``: every valid triplet (a != p same label, n another label); the loss is averaged
    over the triplets whose loss is > 0 only (Hermans et al.'s "batch all"; averaging over all of them would
    let the many easy triplets dilute the gradient to nothing). ``mining="batch_hard"``: for each anchor
    its farthest positive and its closest negative, averaged over the anchors that have both.
    ``mining="easy_positive"``: the same with each anchor's *closest* positive (Xuan et al. 2020): a signer's
    genuine signatures may form several clusters, and the loss asks only that each lies nearer to one of its own
    than to any other signer or forgery, as the ``min`` aggregate decides at run time.
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
        if mining != "batch_all" and mining not in PER_ANCHOR:
            raise InvalidInput(f"unknown triplet mining {mining!r}; known: batch_all, {', '.join(PER_ANCHOR)}")
        self.margin = margin
        self.mining = mining

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) distances, labels (N,) -> scalar."""
        if self.mining == "batch_all":
            a, p, n = batch_all_triplets(labels)
        else:
            a, p, n = PER_ANCHOR[self.mining](matrix, labels)
        if self.margin == "soft":
            losses = F.softplus(matrix[a, p] - matrix[a, n])
            return losses.sum() / max(losses.shape[0], 1)
        losses = torch.clamp(matrix[a, p] - matrix[a, n] + self.margin, min=0)
        if self.mining == "batch_all":
            count = (losses > 0).sum()
        else:
            count = torch.tensor(losses.shape[0], device=matrix.device)
        return losses.sum() / count.clamp(min=1)
