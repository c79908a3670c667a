"""Quadruplet loss (Chen et al. 2017) with batch-hard mining."""

from __future__ import annotations

import torch

from biometrix.core.errors import InvalidInput
from biometrix.training.losses.base import MetricLoss, check_positive
from biometrix.training.losses.miners import batch_hard_triplets, hardest_negative_pairs


class QuadrupletLoss(MetricLoss):
    """Triplet term + alpha * max(d(a, p) - d(n1, n2) + margin2, 0) (registered "quadruplet").

    Chen et al. (2017) add to the triplet term a second one that asks every positive distance to be smaller
    than the distance of a negative pair (n1, n2) that does not involve the anchor: n1 and n2 have different
    labels from each other and from the anchor. It pushes inter-class distances above intra-class distances
    globally, not only relative to one anchor, which is what a single verification threshold needs.

    Mining, our choice: batch-hard. For each anchor, p is its farthest positive and n its closest negative
    (the triplet term, ``margin``), and (n1, n2) is the closest pair of the batch whose labels differ from
    each other and from the anchor's (the second term, ``margin2``, usually smaller than ``margin`` as in
    the paper). All-combinations would be O(N^4) per batch. Each term is averaged over the anchors for which
    it is defined (a positive and a negative; a valid negative pair); a term with no anchor is 0.
    Distances are Euclidean, not squared, as in our triplet loss.
    """

    def __init__(self, *, margin: float = 0.2, margin2: float = 0.1, alpha: float = 1.0) -> None:
        super().__init__()
        check_positive("margin", margin)
        check_positive("margin2", margin2)
        if alpha < 0:
            raise InvalidInput(f"alpha must be >= 0, got {alpha}")
        self.margin, self.margin2, self.alpha = margin, margin2, alpha

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) distances, labels (N,) -> scalar."""
        a, p, n = batch_hard_triplets(matrix, labels)
        triplet = torch.clamp(matrix[a, p] - matrix[a, n] + self.margin, min=0)
        first = triplet.sum() / max(a.shape[0], 1)
        # the anchors of the second term need a positive; their farthest one is reused
        b, n1, n2 = hardest_negative_pairs(matrix, labels)
        has_pos = torch.isin(b, a)
        b, n1, n2 = b[has_pos], n1[has_pos], n2[has_pos]
        far_pos = torch.full((labels.shape[0],), -1, dtype=torch.long, device=matrix.device)
        far_pos[a] = p
        second = torch.clamp(matrix[b, far_pos[b]] - matrix[n1, n2] + self.margin2, min=0)
        return first + self.alpha * second.sum() / max(b.shape[0], 1)
