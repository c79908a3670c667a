"""Images between numpy and Qt: arrays and stored samples (PNG, pen strokes) as QImage / QPixmap."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.gui.qt import QImage, QPixmap, Qt

STROKES_MEDIA_TYPE = "application/vnd.biometrix.strokes+json"


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


def sample_image(media_type: str, data: bytes) -> np.ndarray:
    """A stored raw sample as an image array: PNG/JPEG bytes decoded, pen strokes drawn with capture.pen."""
    if media_type == STROKES_MEDIA_TYPE:
        from biometrix.capture.pen import rasterize, strokes_from_json

        return rasterize(strokes_from_json(data.decode("utf-8")))
    from biometrix.capture.files import decode_rgb

    return decode_rgb(data)
