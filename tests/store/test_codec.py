"""Tests for store/codec.py: float32 little-endian blobs."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from biometrix.core.errors import InvalidInput, StoreError
from biometrix.store.codec import blob_to_embedding, embedding_to_blob


def test_round_trip_is_exact_for_float32() -> None:
    v = np.random.default_rng(1).normal(size=128).astype(np.float32)
    out = blob_to_embedding(embedding_to_blob(v), 128)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, v)
    out[0] = 0.0  # a writable copy, not a view on the bytes


def test_blob_is_float32_little_endian() -> None:
    assert embedding_to_blob(np.array([1.0, -2.5])) == struct.pack("<2f", 1.0, -2.5)


def test_float64_input_is_stored_as_float32() -> None:
    v = np.array([0.1, 0.2, 0.3], dtype=np.float64)
    assert len(embedding_to_blob(v)) == 12
    np.testing.assert_array_equal(blob_to_embedding(embedding_to_blob(v), 3), v.astype(np.float32))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e40])
def test_non_finite_values_are_refused(bad: float) -> None:
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        embedding_to_blob(np.array([0.5, bad, 0.1]))


@pytest.mark.parametrize("shape", [(0,), (2, 3), ()])
def test_wrong_shapes_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInput, match="shape"):
        embedding_to_blob(np.zeros(shape, dtype=np.float32))


def test_length_mismatch_is_a_clear_error() -> None:
    blob = embedding_to_blob(np.ones(4, dtype=np.float32))
    with pytest.raises(StoreError, match="16 bytes but dimension 5 needs 20"):
        blob_to_embedding(blob, 5)
    with pytest.raises(StoreError, match="dimension"):
        blob_to_embedding(blob[:-1], 4)
