"""Face sample quality: is there exactly one usable face (large, sharp, well lit, frontal enough) in the image?

``face_quality`` returns a QualityReport whose ``reasons`` are stable codes (``REASONS``), for the caller to
map to user messages. The defaults were checked on ../shared/data with ``MtcnnDetector`` (Yale B: every 4th
image, with a black border of 25 % of the long side, since the crops end at the face edge):

    AT&T, all 400                                    393 pass (4 face_too_small, 2 turned_too_far, 1 no_face)
    Yale B lit from the front (|A| <= 25, |E| <= 25)  163/177 pass (13 no_face, 1 too_dark)
    Yale B lit from |A| >= 110 or E >= 65              7/152 pass (110 no_face, 34 too_dark, 1 blurred)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_detect import Detection

REASONS = (
    "no_face",
    "multiple_faces",
    "face_too_small",
    "blurred",
    "too_dark",
    "too_bright",
    "turned_too_far",
)
#: The inner face region is resized to this square before the Laplacian, so sharpness does not depend on face size.
SHARPNESS_SIDE = 112


@dataclass(frozen=True)
class QualityReport:
    """``ok`` iff ``reasons`` is empty; ``measures`` holds the figures the reasons were decided on
    (``n_faces``, and for the subject face ``face_size`` px, ``sharpness``, ``brightness`` 0..255, ``yaw``
    (nose offset / eye distance, signed), ``roll`` degrees)."""

    ok: bool
    reasons: tuple[str, ...]
    measures: dict[str, float] = field(default_factory=dict)


def face_measures(rgb: np.ndarray, detection: Detection) -> dict[str, float]:
    """The quality figures of one detected face in an (H, W, 3) or (H, W) uint8 image.

    ``face_size``: the shorter side of the box; ``sharpness``: variance of the Laplacian of the inner face
    (``_inner_face``: eyes to mouth, no hair or background) resized to ``SHARPNESS_SIDE`` px, divided by the
    variance of its grey levels (so dim or low-contrast faces are not taken for blurred ones); ``brightness``:
    the inner face's mean grey level; ``yaw``: the nose's offset from the
    eye midpoint along the eye line, over the eye distance (0 frontal, > 0 nose towards image right);
    ``roll``: the eye line's angle in degrees (> 0 clockwise in the image).
    """
    img = np.asarray(rgb)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise InvalidInput(f"face_quality needs a uint8 (H, W) or (H, W, 3) image, got {img.dtype} {img.shape}")
    gray = img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_RGB2GRAY)
    x0, y0, x1, y1 = detection.bbox
    measures = {"face_size": float(min(x1 - x0, y1 - y0))}
    marks = np.asarray(detection.landmarks5, dtype=np.float64)
    eye_line = marks[1] - marks[0]
    eye_distance = float(np.hypot(*eye_line))
    region = _inner_face(gray, marks, eye_distance)
    if region is None:
        measures["sharpness"] = 0.0
        measures["brightness"] = 0.0
    else:
        square = cv2.resize(region, (SHARPNESS_SIDE, SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
        contrast = float(square.astype(np.float64).var())
        lap = float(cv2.Laplacian(square, cv2.CV_64F).var())
        measures["sharpness"] = lap / contrast if contrast > 1e-6 else 0.0
        measures["brightness"] = float(region.mean())
    if eye_distance > 1e-6:
        mid = (marks[0] + marks[1]) / 2
        measures["yaw"] = float(np.dot(marks[2] - mid, eye_line / eye_distance) / eye_distance)
        measures["roll"] = math.degrees(math.atan2(eye_line[1], eye_line[0]))
    else:
        measures["yaw"] = math.inf
        measures["roll"] = 0.0
    return measures


def face_quality(
    rgb: np.ndarray,
    detections: Sequence[Detection],
    *,
    min_face: float = 40.0,
    min_sharpness: float = 0.03,
    min_brightness: float = 50.0,
    max_brightness: float = 215.0,
    max_yaw: float = 0.35,
    max_roll: float = 25.0,
) -> QualityReport:
    """Judge the detections of one image (from a FaceDetector) for enrollment or verification.

    - ``no_face``: no detection at all.
    - ``multiple_faces``: more than one detection whose shorter side is >= ``min_face`` px (smaller ones,
      e.g. faces far behind the subject, are ignored). The subject is the largest detection.
    - ``face_too_small``: the subject's shorter box side < ``min_face`` px (40: the encoder's 150 px chip would
      be upsampled more than ~4x; AT&T faces are 60-95 px).
    - ``blurred``: sharpness (variance of the Laplacian of the inner face at 112 px over its grey-level
      variance) < ``min_sharpness`` (AT&T: 0.033 at the least, median 0.18; the same faces after a Gaussian
      blur of sigma 3 px: median 0.017).
    - ``too_dark`` / ``too_bright``: mean grey level of the face region < ``min_brightness`` / > ``max_brightness``.
    - ``turned_too_far``: |yaw| > ``max_yaw`` (nose offset over eye distance; 0.35 is roughly 30 degrees of
      head turn) or |roll| > ``max_roll`` degrees.
    """
    if not detections:
        return QualityReport(ok=False, reasons=("no_face",), measures={"n_faces": 0.0})
    subject = max(detections, key=lambda d: d.width * d.height)
    measures = {"n_faces": float(len(detections)), **face_measures(rgb, subject)}
    reasons = []
    if sum(1 for d in detections if min(d.width, d.height) >= min_face) > 1:
        reasons.append("multiple_faces")
    if measures["face_size"] < min_face:
        reasons.append("face_too_small")
    if measures["sharpness"] < min_sharpness:
        reasons.append("blurred")
    if measures["brightness"] < min_brightness:
        reasons.append("too_dark")
    elif measures["brightness"] > max_brightness:
        reasons.append("too_bright")
    if abs(measures["yaw"]) > max_yaw or abs(measures["roll"]) > max_roll:
        reasons.append("turned_too_far")
    return QualityReport(ok=not reasons, reasons=tuple(reasons), measures=measures)


def _inner_face(gray: np.ndarray, marks: np.ndarray, eye_distance: float) -> np.ndarray | None:
    """The grey pixels of the landmarks' bounding box grown by 30 % of the eye distance (skin, eyes, nose,
    mouth: what lighting and focus are judged on), clipped to the image; None when under 4x4 px."""
    grow = 0.3 * eye_distance
    lo = np.floor(marks.min(axis=0) - grow).astype(int)
    hi = np.ceil(marks.max(axis=0) + grow).astype(int)
    c0, r0 = max(lo[0], 0), max(lo[1], 0)
    c1, r1 = min(hi[0], gray.shape[1]), min(hi[1], gray.shape[0])
    if c1 - c0 < 4 or r1 - r0 < 4:
        return None
    return gray[r0:r1, c0:c1]
