"""core.distances against scipy's cdist (an independent implementation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist

from biometrix.core.distances import DISTANCES, CosineDistance, EuclideanDistance, format_distance, get_distance
from biometrix.core.errors import InvalidInput

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=32)


@st.composite
def pairs(draw, *, nonzero: bool = False):
    d = draw(st.integers(1, 8))
    n = draw(st.integers(1, 6))
    m = draw(st.integers(1, 6))
    a = draw(arrays(np.float32, (n, d), elements=finite))
    b = draw(arrays(np.float32, (m, d), elements=finite))
    if nonzero:
        # keep rows clearly away from zero so the cosine is well defined and well conditioned
        a[np.linalg.norm(a, axis=1) < 1e-2, 0] = 1.0
        b[np.linalg.norm(b, axis=1) < 1e-2, 0] = 1.0
    return a, b


@settings(max_examples=150, deadline=None)
@given(pairs(nonzero=True))
def test_cosine_matches_cdist(ab):
    a, b = ab
    got = CosineDistance().pairwise(a, b)
    want = cdist(a.astype(np.float64), b.astype(np.float64), metric="cosine")
    assert got.shape == (a.shape[0], b.shape[0])
    np.testing.assert_allclose(got, want, atol=1e-9)
    assert (got >= 0).all() and (got <= 2).all()


@settings(max_examples=150, deadline=None)
@given(pairs())
def test_euclidean_matches_cdist(ab):
    a, b = ab
    got = EuclideanDistance().pairwise(a, b)
    want = cdist(a.astype(np.float64), b.astype(np.float64), metric="euclidean")
    assert got.shape == (a.shape[0], b.shape[0])
    # the |a|^2 + |b|^2 - 2ab expansion loses ~sqrt(eps)*|a| near zero distance
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-6)


def test_fixed_values():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[1.0, 0.0], [-3.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        CosineDistance().pairwise(a, b), [[0.0, 2.0, 1 - 1 / np.sqrt(2)], [1.0, 1.0, 1 - 1 / np.sqrt(2)]]
    )
    np.testing.assert_allclose(
        EuclideanDistance().pairwise(a, b), [[0.0, 4.0, 1.0], [np.sqrt(5), np.sqrt(13), np.sqrt(2)]]
    )


def test_identical_unit_vectors_are_at_distance_zero():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 128)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(np.diag(CosineDistance().pairwise(x, x)), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.diag(EuclideanDistance().pairwise(x, x)), 0.0, atol=1e-6)


@pytest.mark.parametrize("name", sorted(DISTANCES))
@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones(3), np.ones((2, 3))),  # 1-D
        (np.ones((2, 3)), np.ones(3)),
        (np.ones((1, 2, 3)), np.ones((2, 3))),  # 3-D
        (np.ones((2, 3)), np.ones((2, 4))),  # dimension mismatch
        (np.array([[1.0, np.nan]]), np.ones((1, 2))),
        (np.ones((1, 2)), np.array([[np.inf, 1.0]])),
    ],
    ids=["a-1d", "b-1d", "a-3d", "dim-mismatch", "nan", "inf"],
)
def test_bad_input_is_invalid_input(name, a, b):
    with pytest.raises(InvalidInput):
        get_distance(name).pairwise(a, b)


@pytest.mark.parametrize("zero_in", ["a", "b"])
def test_cosine_zero_vector_is_invalid_input(zero_in):
    z = np.array([[1.0, 2.0], [0.0, 0.0]])
    o = np.array([[1.0, 1.0]])
    a, b = (z, o) if zero_in == "a" else (o, z)
    with pytest.raises(InvalidInput, match="zero"):
        CosineDistance().pairwise(a, b)


def test_euclidean_accepts_zero_vector():
    np.testing.assert_allclose(
        EuclideanDistance().pairwise(np.zeros((1, 2)), np.array([[3.0, 4.0]])), [[5.0]]
    )


def test_get_distance_known_and_unknown():
    assert get_distance("cosine").name == "cosine"
    assert get_distance("euclidean").name == "euclidean"
    with pytest.raises(InvalidInput) as err:
        get_distance("manhattan")
    assert "manhattan" in str(err.value) and "cosine" in str(err.value) and "euclidean" in str(err.value)
    with pytest.raises(ValueError):  # InvalidInput is also a ValueError
        get_distance("")


@pytest.mark.parametrize(("value", "scale", "digits", "text"), [
    (0.4994, None, 4, "0.4994"),          # v4's threshold: as before, 4 decimals
    (4.598, 0.4994, 4, "4.5980"),         # a forgery far beyond it: the threshold's decimals
    (0.0011, None, 4, "0.001100"),        # a `min` aggregate's threshold: 4 significant digits, not "0.0011"
    (0.000712, 0.0011, 4, "0.000712"),    # a genuine distance under it: comparable digit for digit
    (0.000712, 0.0011, 3, "0.00071"),
    (123.4, None, 4, "123.4"),
    (1234.5, None, 4, "1234"),            # never fewer than 0 decimals, never exponent notation
    (0.0, None, 4, "0"),
    (0.0, 0.0011, 4, "0.000000"),
    (0.5, 0.0, 4, "0.5000"),              # a zero scale falls back to the value's own
    (float("inf"), None, 4, "inf"),
])
def test_format_distance_by_hand(value: float, scale: float | None, digits: int, text: str) -> None:
    assert format_distance(value, scale=scale, digits=digits) == text


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-7, 1e3), st.integers(1, 6))
def test_format_distance_keeps_its_significant_digits(value: float, digits: int) -> None:
    """Read back, the text is the value to within half a unit of its last digit, and shows `digits` digits."""
    text = format_distance(value, digits=digits)
    assert "e" not in text
    decimals = len(text.partition(".")[2])
    assert abs(float(text) - value) <= 0.5 * 10 ** -decimals * (1 + 1e-9)
    assert len(text.replace(".", "").lstrip("0")) >= digits


def test_format_distance_refuses_no_digits() -> None:
    with pytest.raises(InvalidInput, match="digits"):
        format_distance(0.5, digits=0)
