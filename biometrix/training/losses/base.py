"""MetricLoss: the one base of the batch metric-learning losses (embeddings + labels -> matrix -> scalar).

Label convention: ``labels[i]`` is the identity of sample ``i``; two samples are a positive pair when their
labels are equal (and ``i != j``), a negative pair otherwise. For signatures a skilled forgery gets a unique
label of its own (e.g. ``-1 - index`` or any id no genuine signer uses), so it is never anyone's positive
and only ever a negative -- in particular a negative of the genuine signatures it imitates, which is the
hard negative verification must learn to reject. A sample whose label occurs once is never an anchor that
needs a positive; a batch with no usable pair or triplet gives a loss of 0 (a zero gradient, not NaN).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from biometrix.core.errors import InvalidInput


def euclidean_distance_matrix(embeddings: torch.Tensor, *, eps: float = 1e-12) -> torch.Tensor:
    """embeddings (N, D) -> (N, N) Euclidean distances, with exact zeros (and zero gradients) on the diagonal.

    Computed from the Gram matrix (||a||^2 + ||b||^2 - 2 a.b), clamped at 0; distances whose square is below
    ``eps`` are set to 0 through ``torch.where`` so the square root never back-propagates an infinity.
    """
    sq_norm = (embeddings * embeddings).sum(dim=1)
    sq = (sq_norm[:, None] + sq_norm[None, :] - 2.0 * embeddings @ embeddings.T).clamp(min=0.0)
    return torch.where(sq > eps, sq.clamp(min=eps).sqrt(), torch.zeros_like(sq))


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` where ``mask`` (same shape, bool) is True; 0 (still attached to the graph) if none is."""
    m = mask.to(values.dtype)
    return (values * m).sum() / m.sum().clamp(min=1.0)


def pair_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """labels (N,) -> (positive (N, N), negative (N, N)) bool masks: same label and i != j / different label."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


class MetricLoss(nn.Module):
    """Base of the batch losses: ``forward(embeddings (N, D), labels (N,)) -> scalar``.

    ``forward`` validates the inputs, builds one (N, N) matrix and calls the single hook
    ``compute(matrix (N, N), labels (N,)) -> scalar``. The matrix is the Euclidean distance matrix of the
    given embeddings (our encoders emit L2-normalised embeddings, so it lies in [0, 2]); a subclass that
    works on similarities (N-pair) sets ``uses_similarity = True`` and receives the dot-product matrix
    ``embeddings @ embeddings.T`` instead. Subclasses are registered by name in ``losses.LOSSES``.
    """

    uses_similarity: ClassVar[bool] = False

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = self.check_inputs(embeddings, labels)
        if self.uses_similarity:
            matrix = embeddings @ embeddings.T
        else:
            matrix = euclidean_distance_matrix(embeddings)
        return self.compute(matrix, labels)

    @staticmethod
    def check_inputs(embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Validate embeddings (N, D) and integer labels (N,); return the labels on the embeddings' device."""
        if embeddings.ndim != 2:
            raise InvalidInput(f"embeddings must be (N, D), got shape {tuple(embeddings.shape)}")
        if labels.ndim != 1 or labels.shape[0] != embeddings.shape[0]:
            raise InvalidInput(f"labels must be (N,) with N = {embeddings.shape[0]}, got shape {tuple(labels.shape)}")
        if labels.is_floating_point():
            raise InvalidInput(f"labels must be integers, got {labels.dtype}")
        return labels.to(embeddings.device)

    def compute(self, matrix: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """matrix (N, N) distances (or similarities if ``uses_similarity``), labels (N,) -> scalar loss."""
        raise NotImplementedError


def check_positive(name: str, value: float) -> None:
    """Raise InvalidInput unless ``value`` > 0 (margins, scales)."""
    if not value > 0:
        raise InvalidInput(f"{name} must be positive, got {value}")
