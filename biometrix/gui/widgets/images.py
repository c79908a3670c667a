"""Images between numpy and Qt: arrays as QImage / QPixmap."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.gui.qt import QImage, QPixmap, Qt


def to_qimage(img: np.ndarray) -> QImage:
    """uint8 (H, W) grey or (H, W, 3) RGB -> a QImage owning a copy of the pixels."""
    a = np.ascontiguousarray(img)
    if a.dtype != np.uint8:
        raise InvalidInput(f"an image to show must be uint8, got {a.dtype}")
    if a.ndim == 2:
        h, w = a.shape
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    if a.ndim == 3 and a.shape[2] == 3:
        h, w, _ = a.shape
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()
    raise InvalidInput(f"an image to show must be (H, W) or (H, W, 3), got {a.shape}")


def to_pixmap(img: np.ndarray, *, size: int | None = None) -> QPixmap:
    """An array as a pixmap, scaled to fit a ``size`` x ``size`` box when given."""
    pm = QPixmap.fromImage(to_qimage(img))
    if size is not None:
        pm = pm.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return pm
