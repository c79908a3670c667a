"""Contrastive loss (Hadsell et al. 2006), over explicit pairs and over every pair of a labelled batch."""

from __future__ import annotations

import torch
from torch import nn

from biometrix.training.losses.base import MetricLoss, check_positive, pair_masks


def contrastive_reduce(d: torch.Tensor, similar: torch.Tensor, dissimilar: torch.Tensor, *, margin: float,
                       balance: bool, nonzero_negatives: bool) -> torch.Tensor:
    """The contrastive loss of distances ``d`` (any shape) given float masks of the same shape.

    Terms: ``similar * d^2`` and ``dissimilar * max(0, margin - d)^2``. ``balance``: mean over similar plus
    mean over dissimilar; otherwise the mean over all counted pairs. ``nonzero_negatives``: the dissimilar
    mean only over the terms that are still > 0 (inside the margin). An empty set contributes 0.
    """
    sim = similar * d.pow(2)
    dis = dissimilar * torch.clamp(margin - d, min=0).pow(2)
    if not balance:
        return (sim.sum() + dis.sum()) / (similar.sum() + dissimilar.sum()).clamp(min=1)
    n_dis = (dis > 0).sum() if nonzero_negatives else dissimilar.sum()
    return sim.sum() / similar.sum().clamp(min=1) + dis.sum() / n_dis.clamp(min=1)


class ContrastiveLoss(nn.Module):
    """Hadsell et al. (2006) over explicit pairs: L = (1 - y) * d^2 + y * max(0, margin - d)^2, averaged.

    ``y = 0`` marks a similar pair (same signer, both genuine) and pulls it together;
    ``y = 1`` marks a dissimilar pair (another signer or a forgery) and pushes it beyond ``margin``.
    ``d`` is the Euclidean distance between the two embeddings. With ``balance=True`` the similar and
    dissimilar terms are averaged separately and then added, so their weights never depend on how
    many pairs of each kind a batch happens to hold. With ``nonzero_negatives=True`` the dissimilar term
    is averaged over the pairs still inside the margin only (pytorch-metric-learning's
    AvgNonZeroReducer), so the gradient does not fade as most negatives become easy.
    The batch form, over every pair of a labelled batch, is ``ContrastiveMetricLoss``.
    """

    def __init__(self, *, margin: float = 1.0, balance: bool = True, nonzero_negatives: bool = False) -> None:
        super().__init__()
        check_positive("margin", margin)
        self.margin = margin
        self.balance = balance
        self.nonzero_negatives = nonzero_negatives

    def forward(self, a: torch.Tensor, b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """a, b (P, D) embeddings of the pairs' two sides; y (P,) in {0, 1}."""
        if a.shape != b.shape or a.shape[0] != y.shape[0]:
            raise ValueError(f"pair shapes differ: {tuple(a.shape)}, {tuple(b.shape)}, {tuple(y.shape)}")
        d = torch.sqrt(((a - b) ** 2).sum(dim=1) + 1e-12)
        y = y.to(d.dtype)
        return contrastive_reduce(d, 1 - y, y, margin=self.margin, balance=self.balance,
                                  nonzero_negatives=self.nonzero_negatives)


class ContrastiveMetricLoss(MetricLoss):
    """Contrastive loss over every ordered pair (i, j), i != j, of a labelled batch (registered "contrastive").

    Same label: similar (y = 0, term d^2); different labels: dissimilar (y = 1, term max(0, margin - d)^2).
    ``balance`` and ``nonzero_negatives`` as in ``ContrastiveLoss``. Each unordered pair is counted twice,
    which leaves every mean unchanged.
    """

    def __init__(self, *, margin: float = 1.0, balance: bool = True, nonzero_negatives: bool = False) -> None:
        super().__init__()
        check_positive("margin", margin)
        self.margin = margin
        self.balance = balance
        self.nonzero_negatives = nonzero_negatives

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) distances, labels (N,) -> scalar."""
        pos, neg = pair_masks(labels)
        return contrastive_reduce(matrix, pos.to(matrix.dtype), neg.to(matrix.dtype), margin=self.margin,
                                  balance=self.balance, nonzero_negatives=self.nonzero_negatives)
