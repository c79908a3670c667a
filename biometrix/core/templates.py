"""Templates from several references: the re-normalised mean of L2-normalised embeddings.

This is the same math as a prototypical network's class prototype; training uses it through
``prototype`` so the two never drift apart.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality, SubjectId, Template

ArrayT = TypeVar("ArrayT")  # np.ndarray, or a torch.Tensor in training


def _as_array(x: Any) -> Any:
    """numpy input (or anything array-like) -> float32 ndarray; a tensor-like object is kept as it is.

    A tensor (torch, in training) is recognised by duck typing, never by importing its library: it is any
    object that is not an ndarray but has ``shape``, ``ndim`` and a ``sum`` method. Its dtype, device and
    autograd graph are kept so a training loss can differentiate through ``prototype``.
    """
    if not isinstance(x, (np.ndarray, np.generic)) and all(hasattr(x, a) for a in ("shape", "ndim", "sum", "mean")):
        return x
    return np.asarray(x, dtype=np.float32)


def row_norms(x: ArrayT, *, axis: int = -1) -> ArrayT:
    """||x|| along ``axis`` (kept as a length-1 axis), exactly as ``l2_normalize`` divides by it: a caller that
    divides by these norms itself (into memory of its own) gets ``l2_normalize``'s values bit for bit."""
    return (x * x).sum(axis=axis, keepdims=True) ** 0.5


def l2_normalize(x: ArrayT, *, axis: int = -1, eps: float = 1e-12) -> ArrayT:
    """x (..., D) -> x / ||x||; all-zero rows are an error.

    Works on numpy arrays (returned as float32) and on torch tensors (dtype and gradient kept), with only
    operations both libraries accept, so training and the runtime share this one function.
    """
    x = _as_array(x)
    norm = row_norms(x, axis=axis)
    if bool((norm <= eps).any()):
        raise InvalidInput("cannot normalise a zero embedding")
    return x / norm


def prototype(features: ArrayT) -> ArrayT:
    """features (K, D) -> (D,): mean of the L2-normalised rows, re-normalised (numpy or torch, see l2_normalize)."""
    features = _as_array(features)
    if features.ndim != 2 or features.shape[0] == 0:
        raise InvalidInput(f"a template needs at least one (K, D) reference, got shape {tuple(features.shape)}")
    if not bool((abs(features) < float("inf")).all()):  # False for NaN and for +-inf
        raise InvalidInput("reference embeddings contain NaN or infinite values")
    return l2_normalize(l2_normalize(features).mean(axis=0))


def make_template(
    features: np.ndarray, *, subject_id: SubjectId | str, modality: Modality, model_id: str
) -> Template:
    """features (K, D) of one subject -> a Template keeping every reference and their prototype."""
    refs = l2_normalize(np.asarray(features, dtype=np.float32))
    return Template(
        subject_id=SubjectId(str(subject_id)),
        modality=modality,
        model_id=model_id,
        references=refs,
        centroid=prototype(refs),
    )
