"""Triplet mining: index selection (batch-all, batch-hard, hardest negative pairs) from labels and distances."""

from __future__ import annotations

import torch

from biometrix.training.losses.base import pair_masks

Indices = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def batch_all_triplets(labels: torch.Tensor) -> Indices:
    """labels (N,) -> (anchor, positive, negative), each (T,): every triplet with
    labels[a] == labels[p], a != p, labels[n] != labels[a]. T can be 0."""
    pos, neg = pair_masks(labels)
    valid = pos[:, :, None] & neg[:, None, :]
    a, p, n = torch.nonzero(valid, as_tuple=True)
    return a, p, n


def _per_anchor(dist: torch.Tensor, labels: torch.Tensor, *, farthest_positive: bool) -> Indices:
    """For every anchor that has a positive and a negative: its farthest (or closest) positive and its closest
    negative. Ties go to the lowest index."""
    pos, neg = pair_masks(labels)
    valid = pos.any(dim=1) & neg.any(dim=1)
    if farthest_positive:
        p = dist.masked_fill(~pos, float("-inf")).argmax(dim=1)
    else:
        p = dist.masked_fill(~pos, float("inf")).argmin(dim=1)
    near_neg = dist.masked_fill(~neg, float("inf")).argmin(dim=1)
    anchors = torch.nonzero(valid, as_tuple=True)[0]
    return anchors, p[anchors], near_neg[anchors]


@torch.no_grad()
def batch_hard_triplets(dist: torch.Tensor, labels: torch.Tensor) -> Indices:
    """dist (N, N), labels (N,) -> (anchor, positive, negative), each (A,): for every anchor that has a
    positive and a negative, its farthest positive and its closest negative (Hermans et al. 2017).
    Ties go to the lowest index."""
    return _per_anchor(dist, labels, farthest_positive=True)


@torch.no_grad()
def easy_positive_triplets(dist: torch.Tensor, labels: torch.Tensor) -> Indices:
    """dist (N, N), labels (N,) -> (anchor, positive, negative), each (A,): for every anchor that has a
    positive and a negative, its *closest* positive and its closest negative (Xuan et al. 2020, "easy positive"
    mining): a class may spread into several modes, as long as each sample's nearest same-class neighbour is
    nearer than any other class. Ties go to the lowest index."""
    return _per_anchor(dist, labels, farthest_positive=False)


@torch.no_grad()
def hardest_negative_pairs(dist: torch.Tensor, labels: torch.Tensor) -> Indices:
    """dist (N, N), labels (N,) -> (anchor, n1, n2), each (A,): for every anchor, the closest pair of samples
    whose labels differ from each other and from the anchor's (the quadruplet loss's second term).
    Anchors with no such pair are left out. Ties go to the lowest flat index n1 * N + n2."""
    n = labels.shape[0]
    classes, inverse = torch.unique(labels, return_inverse=True)
    _, neg = pair_masks(labels)
    # ok[c, i, j]: i and j differ in label and neither has class c
    not_c = labels[None, :] != classes[:, None]  # (C, N)
    ok = neg[None] & not_c[:, :, None] & not_c[:, None, :]
    flat = dist[None].masked_fill(~ok, float("inf")).reshape(len(classes), n * n)
    best = flat.argmin(dim=1)  # (C,)
    has = ok.reshape(len(classes), n * n).any(dim=1)
    anchors = torch.nonzero(has[inverse], as_tuple=True)[0]
    pick = best[inverse[anchors]]
    return anchors, pick // n, pick % n
