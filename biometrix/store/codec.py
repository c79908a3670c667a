"""Embedding <-> BLOB encoding for the store: float32 little-endian, dimension checked."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput, StoreError

_DTYPE = np.dtype("<f4")


def embedding_to_blob(v: np.ndarray) -> bytes:
    """v (D,) finite -> 4*D bytes of float32 little-endian."""
    arr = np.asarray(v)
    if arr.ndim != 1 or arr.shape[0] == 0:
        raise InvalidInput(f"an embedding must be a non-empty (D,) vector, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise InvalidInput(f"an embedding must hold real numbers, got dtype {arr.dtype}")
    with np.errstate(over="ignore"):  # too large for float32 becomes inf, refused just below
        arr = arr.astype(_DTYPE)
    if not np.isfinite(arr).all():
        raise InvalidInput("an embedding contains NaN or infinite values (or values too large for float32)")
    return arr.tobytes()


def blob_to_embedding(b: bytes, dim: int) -> np.ndarray:
    """4*dim bytes of float32 little-endian -> (dim,) float32 (a writable copy)."""
    if dim < 1:
        raise StoreError(f"stored embedding dimension must be >= 1, got {dim}")
    if len(b) != dim * _DTYPE.itemsize:
        raise StoreError(
            f"stored embedding is {len(b)} bytes but dimension {dim} needs {dim * _DTYPE.itemsize}; "
            "the enrollment database may be corrupt"
        )
    return np.frombuffer(b, dtype=_DTYPE).astype(np.float32)
