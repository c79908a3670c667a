"""Metric-learning losses over pairs of embeddings."""

from __future__ import annotations

import torch
from torch import nn


class ContrastiveLoss(nn.Module):
    """Hadsell et al. (2006): L = (1 - y) * d^2 + y * max(0, margin - d)^2, averaged.

    ``y = 0`` marks a similar pair (same signer, both genuine) and pulls it together;
    ``y = 1`` marks a dissimilar pair (another signer or a forgery) and pushes it beyond ``margin``.
    ``d`` is the Euclidean distance between the two embeddings. With ``balance=True`` the similar and
    dissimilar terms are averaged separately and then added, so their weights never depend on how
    many pairs of each kind a batch happens to hold. With ``nonzero_negatives=True`` the dissimilar term
    is averaged over the pairs still inside the margin only (pytorch-metric-learning's
    AvgNonZeroReducer), so the gradient does not fade as most negatives become easy.
    """

    def __init__(self, *, margin: float = 1.0, balance: bool = True, nonzero_negatives: bool = False) -> None:
        super().__init__()
        if margin <= 0:
            raise ValueError(f"margin must be positive, got {margin}")
        self.margin = margin
        self.balance = balance
        self.nonzero_negatives = nonzero_negatives

    def forward(self, a: torch.Tensor, b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """a, b (P, D) embeddings of the pairs' two sides; y (P,) in {0, 1}."""
        if a.shape != b.shape or a.shape[0] != y.shape[0]:
            raise ValueError(f"pair shapes differ: {tuple(a.shape)}, {tuple(b.shape)}, {tuple(y.shape)}")
        d = torch.sqrt(((a - b) ** 2).sum(dim=1) + 1e-12)
        y = y.to(d.dtype)
        similar = (1 - y) * d.pow(2)
        dissimilar = y * torch.clamp(self.margin - d, min=0).pow(2)
        if not self.balance:
            return (similar + dissimilar).mean()
        n_sim = (1 - y).sum().clamp(min=1)
        n_dis = ((dissimilar > 0).sum() if self.nonzero_negatives else y.sum()).clamp(min=1)
        return similar.sum() / n_sim + dissimilar.sum() / n_dis
