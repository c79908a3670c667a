"""Face alignment: a least-squares similarity transform (Umeyama) of five landmarks onto a canonical template.

Landmarks are in ``Detection.landmarks5`` order: left eye, right eye, nose, left mouth corner, right mouth corner
(left = image left).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """Five canonical landmark positions (5, 2) (x, y) in a ``size`` x ``size`` chip; scaled for other sizes."""

    name: str
    size: int
    points: np.ndarray

    def at(self, size: int) -> np.ndarray:
        """(5, 2) template points for a ``size`` x ``size`` chip."""
        return self.points * (size / self.size)


#: insightface's ArcFace template (``utils/face_align.py``, ``arcface_dst``) for 112 x 112 chips.
ARCFACE_112 = FaceTemplate(
    "arcface-112",
    112,
    np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]),
)

#: Where our MTCNN puts the five landmarks in dlib's ``get_face_chip(img, shape_5pt, size=150, padding=0.25)``
#: chips (the input of dlib's ResNet face encoder): the per-coordinate median over 1,435 chips (396 AT&T,
#: 1,039 Yale B; mean landmark spread 5-6 px), measured with ``python bench/derive_face_template.py``.
DLIB_CHIP_150 = FaceTemplate(
    "dlib-chip-150",
    150,
    np.array([[47.1, 42.4], [102.4, 42.2], [73.9, 71.7], [51.8, 103.6], [96.4, 103.5]]),
)

TEMPLATES = {t.name: t for t in (ARCFACE_112, DLIB_CHIP_150)}


def umeyama(src: np.ndarray, dst: np.ndarray, *, estimate_scale: bool = True) -> np.ndarray:
    """The similarity transform (2, 3) ``[s R | t]`` minimising sum |s R src_i + t - dst_i|^2 (Umeyama 1991).

    ``src``, ``dst`` (N, 2), N >= 2, not all coincident. Reflections are excluded (det R = +1).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or src.shape[0] < 2:
        raise InvalidInput(f"umeyama needs two (N, 2) point sets with N >= 2, got {src.shape} and {dst.shape}")
    if not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise InvalidInput("umeyama: points must be finite")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    var_s = (sc**2).sum() / len(src)
    if var_s <= 1e-12:
        raise InvalidInput("umeyama: the source points are all at one place")
    cov = dc.T @ sc / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    scale = float((d * sign).sum() / var_s) if estimate_scale else 1.0
    out = np.empty((2, 3))
    out[:, :2] = scale * rot
    out[:, 2] = mu_d - scale * rot @ mu_s
    return out


def align_face(
    rgb: np.ndarray, landmarks5: np.ndarray, *, size: int = 150, template: FaceTemplate = DLIB_CHIP_150
) -> np.ndarray:
    """(H, W, 3) or (H, W) uint8 and (5, 2) landmarks -> uint8 (size, size, 3) (or (size, size)) chip whose
    landmarks sit on ``template`` scaled to ``size`` (bilinear, black outside the image)."""
    img = np.asarray(rgb)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise InvalidInput(f"align_face needs a uint8 (H, W) or (H, W, 3) image, got {img.dtype} {img.shape}")
    marks = np.asarray(landmarks5, dtype=np.float64)
    if marks.shape != (5, 2):
        raise InvalidInput(f"landmarks5 must be (5, 2), got {marks.shape}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise InvalidInput(f"size must be an integer >= 8, got {size!r}")
    matrix = umeyama(marks, template.at(size))
    return cv2.warpAffine(
        img, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
