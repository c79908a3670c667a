"""core.dtw: the row-by-row DTW against the textbook dynamic programme, and its invariances."""

from __future__ import annotations

import numpy as np
import pytest

from biometrix.core.dtw import dtw_distance
from biometrix.core.errors import InvalidInput


def textbook(a: np.ndarray, b: np.ndarray) -> float:
    """D[i, j] = cost(i, j) + min(D[i-1, j-1], D[i-1, j], D[i, j-1]), one cell at a time; / (n + m)."""
    n, m = len(a), len(b)
    d = np.full((n + 1, m + 1), np.inf)
    d[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = np.linalg.norm(a[i - 1] - b[j - 1]) + min(d[i - 1, j - 1], d[i - 1, j], d[i, j - 1])
    return d[n, m] / (n + m)


@pytest.mark.parametrize("seed", range(6))
def test_dtw_equals_the_textbook_programme(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(10):
        a = rng.normal(size=(int(rng.integers(1, 25)), 3))
        b = rng.normal(size=(int(rng.integers(1, 25)), 3))
        assert dtw_distance(a, b) == pytest.approx(textbook(a, b), rel=1e-10, abs=1e-12)
        assert dtw_distance(a, b) == pytest.approx(dtw_distance(b, a), rel=1e-10, abs=1e-12)


def test_a_slower_copy_is_at_distance_zero_and_a_different_path_is_not() -> None:
    t = np.linspace(0, 1, 40)
    a = np.stack([np.sin(6 * t), np.cos(6 * t)], axis=1)
    slower = np.repeat(a, 3, axis=0)  # the same motion at a third of the speed
    assert dtw_distance(a, slower) == pytest.approx(0.0, abs=1e-6)  # rounding in the squared-norm expansion
    assert dtw_distance(a, a[::-1]) > 0.1


def test_one_point_sequences_and_bad_input() -> None:
    assert dtw_distance(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])) == pytest.approx(5.0 / 2)
    with pytest.raises(InvalidInput, match="non-empty"):
        dtw_distance(np.zeros((0, 2)), np.zeros((3, 2)))
    with pytest.raises(InvalidInput, match="same F"):
        dtw_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(InvalidInput, match="NaN"):
        dtw_distance(np.array([[np.nan, 0.0]]), np.zeros((3, 2)))
