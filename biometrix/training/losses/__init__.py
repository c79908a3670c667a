"""Metric-learning losses: the pair contrastive loss and the batch losses registered by name."""

from __future__ import annotations

import inspect
from typing import Any

from biometrix.core.errors import InvalidInput
from biometrix.training.losses.base import MetricLoss, euclidean_distance_matrix
from biometrix.training.losses.contrastive import ContrastiveLoss, ContrastiveMetricLoss
from biometrix.training.losses.npair import NPairLoss
from biometrix.training.losses.prototypical import PrototypicalLoss
from biometrix.training.losses.quadruplet import QuadrupletLoss
from biometrix.training.losses.triplet import TripletLoss

LOSSES: dict[str, type[MetricLoss]] = {
    "contrastive": ContrastiveMetricLoss,
    "triplet": TripletLoss,
    "quadruplet": QuadrupletLoss,
    "npair": NPairLoss,
    "prototypical": PrototypicalLoss,
}


def build_loss(name: str, **kwargs: Any) -> MetricLoss:
    """The batch loss registered under ``name``, built with keyword options (e.g. ``margin=0.2``)."""
    try:
        cls = LOSSES[name]
    except KeyError:
        raise InvalidInput(f"unknown loss {name!r}; known: {', '.join(sorted(LOSSES))}") from None
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise InvalidInput(f"loss {name!r} takes no option {', '.join(unknown)}; it takes: {', '.join(accepted)}")
    return cls(**kwargs)


__all__ = [
    "LOSSES",
    "ContrastiveLoss",
    "ContrastiveMetricLoss",
    "MetricLoss",
    "NPairLoss",
    "PrototypicalLoss",
    "QuadrupletLoss",
    "TripletLoss",
    "build_loss",
    "euclidean_distance_matrix",
]
