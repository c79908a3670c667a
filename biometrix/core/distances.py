"""Distances between embeddings: pairwise(a (N,D), b (M,D)) -> (N,M), chosen by name from DISTANCES."""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from biometrix.core.errors import InvalidInput


def _check_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise InvalidInput(f"pairwise distances need 2-D arrays, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[1]:
        raise InvalidInput(f"embedding dimensions differ: {a.shape[1]} and {b.shape[1]}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInput("embeddings contain NaN or infinite values")
    return a, b


class Distance(Protocol):
    """A distance: smaller is more alike."""

    name: str

    def pairwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a (N,D), b (M,D) -> (N,M) distances."""
        ...


class CosineDistance:
    """1 - cosine similarity, in [0, 2]; zero vectors are an error."""

    name = "cosine"

    def pairwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = _check_pair(a, b)
        na = np.linalg.norm(a, axis=1, keepdims=True)
        nb = np.linalg.norm(b, axis=1, keepdims=True)
        if (na == 0).any() or (nb == 0).any():
            raise InvalidInput("cosine distance is undefined for a zero vector")
        sim = (a / na) @ (b / nb).T
        return np.clip(1.0 - sim, 0.0, 2.0)


class EuclideanDistance:
    """Euclidean (L2) distance."""

    name = "euclidean"

    def pairwise(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = _check_pair(a, b)
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
        return np.sqrt(np.maximum(sq, 0.0))


DISTANCES: dict[str, Distance] = {"cosine": CosineDistance(), "euclidean": EuclideanDistance()}


def get_distance(name: str) -> Distance:
    """The distance registered under ``name``; an unknown name is an error listing the known ones."""
    try:
        return DISTANCES[name]
    except KeyError:
        raise InvalidInput(f"unknown distance {name!r}; known: {', '.join(sorted(DISTANCES))}") from None


def format_distance(value: float, *, scale: float | None = None, digits: int = 4) -> str:
    """``value`` as fixed-point text with ``digits`` significant digits of ``scale`` (default: of itself).

    Models' distances live on very different scales: a ``normalized`` aggregate's threshold is near 0.5, a ``min``
    of cosine distances near 0.001, where a fixed ``.3f`` shows every genuine signature as ``0.001``. Pass the
    threshold as ``scale`` so that a distance and its threshold show the same number of decimals and read side by
    side: ``format_distance(0.000712, scale=0.0011)`` is ``'0.000712'``; ``format_distance(4.598, scale=0.4994)``
    is ``'4.5980'``. Zero, NaN and infinities are shown as ``'0'``, ``'nan'``, ``'inf'``.
    """
    if digits < 1:
        raise InvalidInput(f"digits must be at least 1, got {digits}")
    value = float(value)
    if not math.isfinite(value):
        return f"{value}"
    ref = abs(float(scale)) if scale is not None and math.isfinite(scale) and scale != 0 else abs(value)
    if ref == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(ref)))
    return f"{value:.{decimals}f}"
