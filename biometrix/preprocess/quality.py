"""Face sample quality: is there exactly one usable face (large, sharp, well exposed, frontal enough) in the image?

``face_quality`` returns a QualityReport whose ``reasons`` are stable codes (``REASONS``), for the caller to
map to user messages. Sharpness and exposure are measured on the face aligned to a canonical chip
(``MEASURE_CHIP`` px, dlib's chip geometry), so that they do not depend on the face's size or position, and
sharpness after an illumination normalisation (each pixel over its neighbourhood's mean, a self-quotient
image), so that light from the side does not pass for blur: on Extended Yale B (development subjects) its
median is 0.379 for faces lit within 25 degrees of the camera axis and 0.345 for those lit from beyond 90
(``python bench/face_quality_calibration.py``). The earlier measure (Laplacian over grey-level variance of the
raw face) called 31 of held-out Yale B's 704 photos blurred (``python bench/face_eval.py`` before issue 30).

The cuts (``QualityCuts``) are calibrated on matching, not on looks: ``python bench/face_quality_calibration.py``
measures on development subjects how the genuine distances grow as each measure worsens, sets each cut where
accepting worse faces would raise FNMR at the operating threshold by more than a stated amount, and writes
the cuts and that evidence into the face model's card (``preprocessing.quality``); the pipeline reads them
from there. The defaults below are that card's cuts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_align import DLIB_CHIP_150, umeyama
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
#: Side of the aligned grey chip that sharpness and exposure are measured on.
MEASURE_CHIP = 96
#: The inner face (eyes to mouth, no hair or background) in the 150 px dlib chip: x0, y0, x1, y1.
_INNER_150 = (30, 27, 120, 120)
#: Grey levels at or below / at or above which a pixel of the face counts as lost in shadow / burnt out.
DARK_LEVEL, BRIGHT_LEVEL = 40, 235
#: Added to the coarser detail energy of ``chip_sharpness`` (sharp AT&T faces: 3e-3 to 5e-3; blurred by sigma
#: 6 px: 1e-5 to 2e-4, where 8-bit rounding noise, about 3e-6, is what is left of the finest detail).
_DETAIL_FLOOR = 1e-4


@dataclass(frozen=True)
class QualityCuts:
    """Where each check refuses a face: ``min_face`` px (the box's shorter side), ``min_sharpness``
    (``chip_sharpness``), ``max_dark`` / ``max_bright`` (the fraction of the inner face at or below
    ``DARK_LEVEL`` / at or above ``BRIGHT_LEVEL``), ``max_yaw`` (nose offset over eye distance) and
    ``max_roll`` degrees."""

    min_face: float = 22.4241
    min_sharpness: float = 0.035
    max_dark: float = 1.0
    max_bright: float = 0.6963
    max_yaw: float = 0.3337
    max_roll: float = 55.4417

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise InvalidInput(f"quality cut {f.name} must be a finite number >= 0, got {value!r}")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object], *, source: str = "quality cuts") -> QualityCuts:
        """Cuts from a JSON object (a card's ``preprocessing.quality.cuts``); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise InvalidInput(f"{source}: unknown quality cut {unknown[0]!r} (known: {', '.join(sorted(known))})")
        return cls(**raw)  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class QualityReport:
    """``ok`` iff ``reasons`` is empty; ``measures`` holds the figures the reasons were decided on
    (``n_faces``, and for the subject face ``face_size`` px, ``sharpness``, ``dark``, ``bright`` (fractions),
    ``brightness`` 0..255, ``yaw`` (nose offset / eye distance, signed), ``roll`` degrees)."""

    ok: bool
    reasons: tuple[str, ...]
    measures: dict[str, float] = field(default_factory=dict)


def face_measures(rgb: np.ndarray, detection: Detection) -> dict[str, float]:
    """The quality figures of one detected face in an (H, W, 3) or (H, W) uint8 image.

    ``face_size``: the shorter side of the box; on the inner face of the aligned chip (``measure_chip``):
    ``sharpness`` (``chip_sharpness``), ``dark`` and ``bright`` (the fraction of its pixels in shadow at or
    below ``DARK_LEVEL`` / burnt out at or above ``BRIGHT_LEVEL``) and ``brightness`` (its mean grey level);
    ``yaw``: the nose's offset from the eye midpoint along the eye line, over the eye distance (0 frontal,
    > 0 nose towards image right); ``roll``: the eye line's angle in degrees (> 0 clockwise in the image).
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
    if eye_distance > 1e-6:
        chip, inside = measure_chip(gray, marks)
        measures["sharpness"] = chip_sharpness(chip)
        pixels = _inner(chip)[_inner(inside) > 0]
        if pixels.size == 0:
            pixels = _inner(chip).ravel()
        measures["dark"] = float(np.mean(pixels <= DARK_LEVEL))
        measures["bright"] = float(np.mean(pixels >= BRIGHT_LEVEL))
        measures["brightness"] = float(pixels.mean())
        mid = (marks[0] + marks[1]) / 2
        measures["yaw"] = float(np.dot(marks[2] - mid, eye_line / eye_distance) / eye_distance)
        measures["roll"] = math.degrees(math.atan2(eye_line[1], eye_line[0]))
    else:
        measures.update(sharpness=0.0, dark=1.0, bright=0.0, brightness=0.0, yaw=math.inf, roll=0.0)
    return measures


def measure_chip(gray: np.ndarray, landmarks5: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The face aligned to dlib's chip geometry at ``MEASURE_CHIP`` px (edges replicated), and a mask of the
    chip's pixels that lie inside the image (255) -- a tightly cropped photo's chip reaches past its edge."""
    matrix = umeyama(np.asarray(landmarks5, dtype=np.float64), DLIB_CHIP_150.at(MEASURE_CHIP))
    size = (MEASURE_CHIP, MEASURE_CHIP)
    chip = cv2.warpAffine(gray, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.full(gray.shape[:2], 255, np.uint8), matrix, size, flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return chip, inside


def chip_sharpness(chip: np.ndarray) -> float:
    """Sharpness of an aligned grey chip that light direction does not change much: the chip is divided by its
    local mean (Gaussian, sigma 6 % of the chip; a self-quotient image, which takes the shading out), and the
    energy of its finest detail (the image minus its blur at sigma 0.8 % of the chip) is divided by the energy
    one octave coarser (blur 0.8 % minus blur 2.5 %), over the inner face. Blur removes fine detail first, so
    the ratio falls (AT&T development faces: median 0.235; blurred with sigma 1 px 0.071, 2 px 0.036). The
    coarser energy has a floor (``_DETAIL_FLOOR``, about 1/30 of a sharp face's): a face blurred past all
    detail keeps only the image's rounding noise in both bands, whose bare ratio would look sharp."""
    f = np.asarray(chip, dtype=np.float64)
    k = f.shape[0] / MEASURE_CHIP
    quotient = f / (cv2.GaussianBlur(f, (0, 0), 6 * k) + 8.0)
    fine = cv2.GaussianBlur(quotient, (0, 0), 0.8 * k)
    coarse = cv2.GaussianBlur(quotient, (0, 0), 2.4 * k)
    mid = float(_inner((fine - coarse) ** 2).mean())
    return float(_inner((quotient - fine) ** 2).mean()) / (mid + _DETAIL_FLOOR)


def _inner(chip: np.ndarray) -> np.ndarray:
    """The inner face of a chip: eyes to mouth, no hair or background (``_INNER_150`` scaled)."""
    k = chip.shape[0] / 150
    x0, y0, x1, y1 = (int(round(v * k)) for v in _INNER_150)
    return chip[y0:y1, x0:x1]


def face_quality(rgb: np.ndarray, detections: Sequence[Detection], *, cuts: QualityCuts | None = None,
                 **overrides: float) -> QualityReport:
    """Judge the detections of one image (from a FaceDetector) for enrollment or verification, by ``cuts``
    (default ``QualityCuts()``) with any of its fields overridden by keyword.

    - ``no_face``: no detection at all.
    - ``multiple_faces``: more than one detection whose shorter side is >= ``min_face`` px (smaller ones,
      e.g. faces far behind the subject, are ignored). The subject is the largest detection.
    - ``face_too_small``: the subject's shorter box side < ``min_face`` px.
    - ``blurred``: ``sharpness`` < ``min_sharpness``.
    - ``too_dark`` / ``too_bright``: more than ``max_dark`` of the inner face in shadow / more than
      ``max_bright`` of it burnt out.
    - ``turned_too_far``: |yaw| > ``max_yaw`` or |roll| > ``max_roll`` degrees.
    """
    try:
        c = QualityCuts(**{**(cuts or QualityCuts()).to_dict(), **overrides})
    except TypeError as err:
        raise InvalidInput(f"unknown quality cut ({err})") from None
    if not detections:
        return QualityReport(ok=False, reasons=("no_face",), measures={"n_faces": 0.0})
    subject = max(detections, key=lambda d: d.width * d.height)
    measures = {"n_faces": float(len(detections)), **face_measures(rgb, subject)}
    reasons = []
    if sum(1 for d in detections if min(d.width, d.height) >= c.min_face) > 1:
        reasons.append("multiple_faces")
    if measures["face_size"] < c.min_face:
        reasons.append("face_too_small")
    if measures["sharpness"] < c.min_sharpness:
        reasons.append("blurred")
    if measures["dark"] > c.max_dark:
        reasons.append("too_dark")
    elif measures["bright"] > c.max_bright:
        reasons.append("too_bright")
    if abs(measures["yaw"]) > c.max_yaw or abs(measures["roll"]) > c.max_roll:
        reasons.append("turned_too_far")
    return QualityReport(ok=not reasons, reasons=tuple(reasons), measures=measures)
