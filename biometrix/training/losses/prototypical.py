"""Prototypical loss on a labelled batch (Snell et al. 2017, with leave-one-out prototypes)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from biometrix.core.templates import l2_normalize
from biometrix.training.losses.base import MetricLoss, check_positive


class PrototypicalLoss(MetricLoss):
    """Softmax over negative squared distances to class prototypes, for a PK batch (registered "prototypical").

    Every sample whose class has another sample in the batch is a query. Each class of the batch has a
    prototype, ``core.templates.prototype`` of its samples (the re-normalised mean of the L2-normalised
    embeddings, the runtime's template math); the query's own class uses the prototype of its *other*
    samples (leave-one-out), so a query never votes for itself. A class with one sample (a skilled
    forgery under its own label) is a prototype only, a negative for everyone. Per query:
    ``cross_entropy(-scale * ||q - p_c||^2 over classes c, own class)``; the mean over queries; no query: 0.

    An episode (N-way, K-shot, Q queries) is the special case the few-shot head computes; this form
    needs no support/query split, so it trains with the same PK batches as the other losses.
    """

    def __init__(self, *, scale: float = 10.0) -> None:
        super().__init__()
        check_positive("scale", scale)
        self.scale = scale

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = self.check_inputs(embeddings, labels)
        classes, inverse = torch.unique(labels, return_inverse=True)  # inverse (N,) in 0..C-1
        unit = l2_normalize(embeddings)
        one_hot = F.one_hot(inverse, num_classes=classes.numel()).to(unit.dtype)  # (N, C)
        sums = one_hot.T @ unit  # (C, D); normalising a sum is normalising the mean
        counts = one_hot.sum(dim=0)  # (C,)
        is_query = counts[inverse] > 1
        if not bool(is_query.any()):
            return embeddings.sum() * 0.0
        q, qi = unit[is_query], inverse[is_query]
        protos = l2_normalize(sums)  # (C, D)
        own = l2_normalize(sums[qi] - q)  # (Q, D) leave-one-out prototype of each query's class
        sq = ((q[:, None, :] - protos[None, :, :]) ** 2).sum(dim=-1)  # (Q, C)
        own_sq = ((q - own) ** 2).sum(dim=-1)
        sq = sq.scatter(1, qi[:, None], own_sq[:, None])
        return F.cross_entropy(-self.scale * sq, qi)

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError("PrototypicalLoss works on embeddings (prototypes), not on a distance matrix")
