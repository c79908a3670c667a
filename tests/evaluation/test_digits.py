"""Tests for biometrix.evaluation.digits against scikit-learn's own arrays."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from biometrix.evaluation.digits import (
    DIGITS_HELDOUT_CLASSES,
    DIGITS_TRAIN_CLASSES,
    digits_split,
    load_digits_dataset,
)

datasets = pytest.importorskip("sklearn.datasets",
                               reason="the digits come with scikit-learn: pip install 'biometrix[dev]'")


def test_digits_images_labels_and_scaling() -> None:
    ds = load_digits_dataset()
    ref = datasets.load_digits()
    assert len(ds) == 1797 and ds.images.shape == (1797, 8, 8) and ds.images.dtype == np.uint8
    assert ds.classes == tuple("0123456789")
    np.testing.assert_array_equal(ds.labels, ref.target)
    assert ds.labels.dtype == np.int64
    levels = {int(v): int(np.rint(v * 255 / 16)) for v in range(17)}  # 0 -> 0, 8 -> 128, 16 -> 255
    assert levels[0] == 0 and levels[16] == 255
    expected = np.vectorize(levels.__getitem__)(ref.images.astype(int)).astype(np.uint8)
    np.testing.assert_array_equal(ds.images, expected)
    np.testing.assert_array_equal(np.rint(ds.images.astype(np.float64) * 16 / 255), ref.images)  # nothing lost
    np.testing.assert_array_equal(ds.load(5), expected[5])


def test_fixed_class_disjoint_split() -> None:
    ds = load_digits_dataset()
    train, held = digits_split(ds)
    assert train.classes == DIGITS_TRAIN_CLASSES and held.classes == DIGITS_HELDOUT_CLASSES
    assert set(train.classes).isdisjoint(held.classes)
    counts = np.bincount(ds.labels)
    assert len(train) == counts[:7].sum() and len(held) == counts[7:].sum() and len(train) + len(held) == 1797
    # labels are renumbered within each side and still name the right digit
    orig = np.concatenate([np.flatnonzero(ds.labels == d) for d in range(10)])
    assert sorted(int(held.classes[k]) for k in held.labels) == sorted(ds.labels[orig[counts[:7].sum():]])
    for i in (0, 100, len(held) - 1):
        digit = int(held.classes[int(held.labels[i])])
        matches = np.flatnonzero((ds.images == held.load(i)).all(axis=(1, 2)))
        assert digit in {int(ds.labels[m]) for m in matches}
    again = digits_split()
    np.testing.assert_array_equal(again.train.images, train.images)


def test_missing_sklearn_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match="pip install"):
        load_digits_dataset()
