"""scikit-learn's bundled 8x8 digits as a small class-labelled image data set that needs no download."""

from __future__ import annotations

import numpy as np

from biometrix.evaluation.folder_dataset import ArrayDataset, ClassSplit

#: The fixed class-disjoint split of the digits: train on 0-6, hold out 7-9.
DIGITS_TRAIN_CLASSES = ("0", "1", "2", "3", "4", "5", "6")
DIGITS_HELDOUT_CLASSES = ("7", "8", "9")
#: The largest pixel value in sklearn's digits (16 grey levels plus 0).
_DIGITS_MAX = 16


def load_digits_dataset() -> ArrayDataset:
    """The 1,797 digits as uint8 (1797, 8, 8) images (0..16 scaled to 0..255), labels 0..9, classes "0".."9".

    The ink is bright (255) on a dark (0) background, the opposite of scans; ``images / 255`` is ink 1.0 on 0.0.
    """
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped]
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the digits data set needs scikit-learn: pip install 'biometrix[dev]' (or pip install scikit-learn)"
        ) from exc
    bunch = load_digits()
    raw = np.asarray(bunch.images, dtype=np.float64)
    images = np.rint(raw * (255.0 / _DIGITS_MAX)).astype(np.uint8)
    labels = np.asarray(bunch.target, dtype=np.int64)
    return ArrayDataset(images, labels, tuple(str(d) for d in range(10)))


def digits_split(data: ArrayDataset | None = None) -> ClassSplit[ArrayDataset]:
    """The fixed class-disjoint split: train = digits 0-6, validation (held out) = digits 7-9."""
    ds = load_digits_dataset() if data is None else data
    return ds.split_classes(DIGITS_HELDOUT_CLASSES)
