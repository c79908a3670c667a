"""Face detection: the Detection type, the FaceDetector protocol, MTCNN's numpy cascade and an OpenCV Haar detector.

The MTCNN networks run in ``biometrix.runtime.face_detector`` (onnxruntime lives there); everything around
them is here, in numpy and cv2: the image pyramid, box generation, non-maximum suppression, box regression,
squaring and cropping. ``mtcnn_detect`` takes the three networks as plain callables, so this module never
loads a model.

Why MTCNN is the default (``make_detector("mtcnn")``), measured with

    python bench/face_detect.py

(one thread each; Yale B: every 4th of the 2,414 cropped images, as stored and with a 25 % black border,
as the crops end at the face edge): exactly one face found, and the mean time per image (on a shared 2-core
machine, so the times are rough):

    detector         AT&T (400)              Yale B (604)             Yale B +border (604)
    mtcnn            399/400 (99.8 %) 14 ms  133/604 (22.0 %) 18 ms   377/604 (62.4 %) 47 ms
    haar             355/400 (88.8 %) 10 ms   39/604 ( 6.5 %) 23 ms   502/604 (83.1 %) 56 ms
    dlib HOG (ref)   385/400 (96.2 %)  7 ms  150/604 (24.8 %) 18 ms   281/604 (46.5 %) 41 ms

MTCNN is the default: on AT&T (ordinary lighting, slight pose) it finds the one face in 399 of 400 images
where Haar finds it in 355 and dlib's HOG in 385, and it gives five real landmarks for alignment where Haar
only estimates them. Haar (histogram-equalised input) does better on the bordered Yale B set, whose misses for
MTCNN are mostly the images lit from the side or above; ``runtime.pipelines.find_faces`` therefore retries MTCNN
on the grey levels normalised by CLAHE and by histogram equalisation, which finds most of them (its docstring).
Haar stays as the no-model fallback (``make_detector("haar")``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput

#: Landmark order of ``Detection.landmarks5`` ("left" = image left, i.e. the subject's right eye).
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# ``(N, 3, H, W) float32 -> outputs``: what the cascade needs from each network (see runtime.face_detector).
PNetFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # -> regression (1,4,h,w), probability (1,2,h,w)
RNetFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # -> regression (N,4), probability (N,2)
ONetFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]  # -> (N,4), landmarks (N,10), (N,2)

_PNET_CELL = 12
_PNET_STRIDE = 2


@dataclass(frozen=True, eq=False)
class Detection:
    """One face: ``bbox`` (x0, y0, x1, y1) in pixels, ``landmarks5`` (5, 2) float (x, y) in the order of
    ``LANDMARK_NAMES``, and ``score`` (MTCNN: the O-Net face probability; Haar: see ``HaarDetector``)."""

    bbox: tuple[float, float, float, float]
    landmarks5: np.ndarray
    score: float

    @property
    def width(self) -> float:
        return self.bbox[2] - self.bbox[0]

    @property
    def height(self) -> float:
        return self.bbox[3] - self.bbox[1]


class FaceDetector(Protocol):
    """``detect(rgb uint8 (H, W, 3)) -> list[Detection]``, best score first (an empty list: no face)."""

    def detect(self, rgb: np.ndarray) -> list[Detection]: ...


def to_rgb(img: np.ndarray) -> np.ndarray:
    """(H, W) grey or (H, W, 3|4) uint8 -> contiguous (H, W, 3) uint8 RGB; anything else is InvalidInput."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise InvalidInput(f"a face image must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif not (img.ndim == 3 and img.shape[2] in (3, 4)):
        raise InvalidInput(f"a face image must be (H, W) or (H, W, 3), got shape {img.shape}")
    if img.shape[0] < _PNET_CELL or img.shape[1] < _PNET_CELL:
        raise InvalidInput(
            f"a face image must be at least {_PNET_CELL}x{_PNET_CELL} px, got {img.shape[1]}x{img.shape[0]}"
        )
    return np.ascontiguousarray(img[:, :, :3])


def kept_photo(rgb: np.ndarray, *, max_side: int = 1024) -> np.ndarray:
    """What is kept of an enrolled face photo: the photo itself, grey (H, W) when its three channels are equal (a
    grey photo read as RGB: a third of the bytes, decoded back to the same RGB), area-downscaled to at most
    ``max_side`` px on its longer side (the detector finds faces of 20 px and up)."""
    img = to_rgb(rgb)
    h, w = img.shape[:2]
    scale = max_side / max(h, w)
    if scale < 1.0:
        img = cv2.resize(img, (max(_PNET_CELL, round(w * scale)), max(_PNET_CELL, round(h * scale))),
                         interpolation=cv2.INTER_AREA)
    grey = img[:, :, 0]
    return np.ascontiguousarray(grey) if (img == grey[:, :, None]).all() else img


# --- MTCNN building blocks (facenet-pytorch's detect_face, in numpy) -----------------------------------------


def pyramid_scales(height: int, width: int, *, min_face_size: float = 20, factor: float = 0.709) -> list[float]:
    """The scales at which P-Net (a 12 px window) sees faces from ``min_face_size`` px up to the short side."""
    if min_face_size <= 0 or not 0 < factor < 1:
        raise InvalidInput(f"need min_face_size > 0 and 0 < factor < 1, got {min_face_size}, {factor}")
    m = _PNET_CELL / min_face_size
    minl = min(height, width) * m
    scales, scale = [], m
    while minl >= _PNET_CELL:
        scales.append(scale)
        scale *= factor
        minl *= factor
    return scales


def area_resize(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W, C) -> (height, width, C) float32 by adaptive average pooling (torch ``interpolate(mode="area")``):
    output cell i averages input rows floor(i*H/h) .. ceil((i+1)*H/h) - 1, unweighted, and likewise columns."""
    out = np.asarray(img, dtype=np.float32)
    for axis, n_out in ((0, height), (1, width)):
        n_in = out.shape[axis]
        i = np.arange(n_out)
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        zero = np.zeros_like(out.take([0], axis=axis), dtype=np.float64)
        csum = np.concatenate([zero, np.cumsum(out, axis=axis, dtype=np.float64)], axis=axis)
        count = (end - start).astype(np.float64).reshape([-1 if a == axis else 1 for a in range(out.ndim)])
        out = ((csum.take(end, axis=axis) - csum.take(start, axis=axis)) / count).astype(np.float32)
    return out


def normalize_patch(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) float RGB in 0..255 -> (3, H, W) float32, ``(x - 127.5) * 0.0078125`` as the networks expect."""
    return ((np.asarray(img, dtype=np.float32) - 127.5) * 0.0078125).transpose(2, 0, 1)


def generate_boxes(regression: np.ndarray, probability: np.ndarray, *, scale: float, threshold: float) -> np.ndarray:
    """P-Net maps at one scale -> (K, 9) float32 [x0, y0, x1, y1, score, dx0, dy0, dx1, dy1] in image pixels.

    ``regression`` (4, h, w), ``probability`` (h, w): each cell >= threshold is a 12 px window at stride 2.
    """
    ys, xs = np.nonzero(probability >= threshold)
    bb = np.stack([xs, ys], axis=1).astype(np.float32)
    q1 = np.floor((_PNET_STRIDE * bb + 1) / np.float32(scale))
    q2 = np.floor((_PNET_STRIDE * bb + _PNET_CELL) / np.float32(scale))
    score = probability[ys, xs][:, None]
    reg = regression[:, ys, xs].T
    return np.concatenate([q1, q2, score, reg], axis=1).astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, *, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression -> indices kept, best score first.

    ``boxes`` (N, 4) (x0, y0, x1, y1), ``scores`` (N,). A box is dropped when its overlap with a kept, better
    box is > ``threshold``. ``method="union"``: intersection over union of continuous areas (torchvision's
    ``nms``); ``method="min"``: intersection over the smaller area, pixel-inclusive (+1) sizes (MTCNN's last
    stage, facenet-pytorch's ``nms_numpy``).
    """
    if method not in ("union", "min"):
        raise InvalidInput(f"nms method must be 'union' or 'min', got {method!r}")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    one = 1.0 if method == "min" else 0.0
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0 + one) * (y1 - y0 + one)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + one)
        ih = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + one)
        inter = iw * ih
        denom = np.minimum(area[i], area[rest]) if method == "min" else area[i] + area[rest] - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = np.where(denom > 0, inter / denom, 0.0)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)


def bbox_regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """(N, 4+) boxes moved by (N, 4) offsets in units of the pixel-inclusive box size (R-/O-Net); a new array."""
    out = np.array(boxes, dtype=np.float32, copy=True)
    w = out[:, 2] - out[:, 0] + 1
    h = out[:, 3] - out[:, 1] + 1
    out[:, 0] += reg[:, 0] * w
    out[:, 1] += reg[:, 1] * h
    out[:, 2] += reg[:, 2] * w
    out[:, 3] += reg[:, 3] * h
    return out


def square_boxes(boxes: np.ndarray) -> np.ndarray:
    """(N, 4+) -> the same boxes made square (side = the longer side) about their centres; a new array."""
    out = np.array(boxes, dtype=np.float32, copy=True)
    h = out[:, 3] - out[:, 1]
    w = out[:, 2] - out[:, 0]
    side = np.maximum(w, h)
    out[:, 0] = out[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = out[:, 1] + h * 0.5 - side * 0.5
    out[:, 2] = out[:, 0] + side
    out[:, 3] = out[:, 1] + side
    return out


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(N, 4+) -> int (y0, y1, x0, x1), truncated toward zero and clipped to 1..height / 1..width; the crop of
    box k is ``img[y0[k] - 1 : y1[k], x0[k] - 1 : x1[k]]`` (facenet-pytorch's ``pad``: no zero padding)."""
    b = np.trunc(np.asarray(boxes)[:, :4]).astype(np.int64)
    x0, y0 = np.maximum(b[:, 0], 1), np.maximum(b[:, 1], 1)
    x1, y1 = np.minimum(b[:, 2], width), np.minimum(b[:, 3], height)
    return y0, y1, x0, x1


def crop_patches(img: np.ndarray, boxes: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) float32 and (N, 4+) boxes -> (M, 3, side, side) normalised network input and the (N,) bool
    mask of the boxes that had a non-empty crop (M of them)."""
    h, w = img.shape[:2]
    y0, y1, x0, x1 = clip_boxes(boxes, w, h)
    valid = (y1 > y0 - 1) & (x1 > x0 - 1)
    patches = [
        normalize_patch(area_resize(img[y0[k] - 1 : y1[k], x0[k] - 1 : x1[k]], side, side))
        for k in np.flatnonzero(valid)
    ]
    batch = np.stack(patches) if patches else np.zeros((0, 3, side, side), np.float32)
    return np.ascontiguousarray(batch, dtype=np.float32), valid


def mtcnn_detect(
    rgb: np.ndarray,
    *,
    pnet: PNetFn,
    rnet: RNetFn,
    onet: ONetFn,
    min_face_size: float = 20,
    thresholds: Sequence[float] = (0.6, 0.7, 0.7),
    factor: float = 0.709,
) -> list[Detection]:
    """rgb uint8 (H, W, 3) -> detections, best score first: P-Net over the pyramid, R-Net, then O-Net with
    landmarks, step for step as facenet-pytorch's ``detect_face`` for one image."""
    img = to_rgb(rgb).astype(np.float32)
    h, w = img.shape[:2]
    t1, t2, t3 = (float(t) for t in thresholds)

    # Stage 1: P-Net on every pyramid level, NMS per level then across levels.
    found = []
    for scale in pyramid_scales(h, w, min_face_size=min_face_size, factor=factor):
        level = area_resize(img, int(h * scale + 1), int(w * scale + 1))
        reg, prob = pnet(normalize_patch(level)[None])
        boxes = generate_boxes(reg[0], prob[0, 1], scale=scale, threshold=t1)
        found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
    boxes = np.concatenate(found) if found else np.zeros((0, 9), np.float32)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    if boxes.shape[0] == 0:
        return []
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    refined = boxes[:, :4] + boxes[:, 5:9] * np.stack([bw, bh, bw, bh], axis=1)
    boxes = square_boxes(np.concatenate([refined, boxes[:, 4:5]], axis=1))

    # Stage 2: R-Net on 24x24 crops.
    batch, valid = crop_patches(img, boxes, 24)
    boxes = boxes[valid]
    if boxes.shape[0] == 0:
        return []
    reg, prob = rnet(batch)
    keep = prob[:, 1] > t2
    boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1).astype(np.float32)
    reg = reg[keep]
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7)
    boxes = square_boxes(bbox_regress(boxes[pick], reg[pick]))
    if boxes.shape[0] == 0:
        return []

    # Stage 3: O-Net on 48x48 crops, with the five landmarks.
    batch, valid = crop_patches(img, boxes, 48)
    boxes = boxes[valid]
    if boxes.shape[0] == 0:
        return []
    reg, marks, prob = onet(batch)
    keep = prob[:, 1] > t3
    boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1).astype(np.float32)
    reg, marks = reg[keep], marks[keep]
    bw = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    bh = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    points = np.stack([bw * marks[:, :5] + boxes[:, 0:1] - 1, bh * marks[:, 5:10] + boxes[:, 1:2] - 1], axis=2)
    boxes = bbox_regress(boxes, reg)
    pick = nms(boxes[:, :4], boxes[:, 4], 0.7, method="min")
    dets = [
        Detection(
            bbox=tuple(float(v) for v in boxes[k, :4]),  # type: ignore[arg-type]
            landmarks5=points[k].astype(np.float64),
            score=float(boxes[k, 4]),
        )
        for k in pick
    ]
    return sorted(dets, key=lambda d: -d.score)


# --- OpenCV Haar cascades --------------------------------------------------------------------------------------

#: Landmark positions as fractions (x, y) of a Haar face box; the eyes are replaced by the eye cascade's
#: centres when it finds one eye in each half. Approximate: from MTCNN's landmarks inside Haar boxes on AT&T.
HAAR_LANDMARK_FRACTIONS = np.array([[0.32, 0.39], [0.68, 0.39], [0.50, 0.58], [0.35, 0.76], [0.65, 0.76]])


class HaarDetector:
    """OpenCV's bundled frontal-face Haar cascade (``cv2.data.haarcascades``), plus its eye cascade.

    No model file of ours and no network; ``landmarks5`` are APPROXIMATE: fixed fractions of the face box
    (``HAAR_LANDMARK_FRACTIONS``), with the eye points taken from the eye cascade when it finds one eye in
    each upper half of the box. ``score`` is not a probability: it is the number of raw detections merged
    into the box (more is surer).
    """

    def __init__(self, *, min_face_size: int = 20, scale_factor: float = 1.1, min_neighbors: int = 5) -> None:
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not folder:
            raise InvalidInput("this OpenCV build ships no Haar cascades (opencv-python-headless<5 does)")
        self._face = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
        self._eye = cv2.CascadeClassifier(folder + "haarcascade_eye.xml")
        if self._face.empty() or self._eye.empty():
            raise InvalidInput(f"cannot load the Haar cascades from {folder}")
        self.min_face_size = int(min_face_size)
        self.scale_factor = float(scale_factor)
        self.min_neighbors = int(min_neighbors)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """rgb uint8 (H, W, 3) -> detections, most merged raw detections first."""
        gray = cv2.equalizeHist(cv2.cvtColor(to_rgb(rgb), cv2.COLOR_RGB2GRAY))
        size = (self.min_face_size, self.min_face_size)
        rects, counts = self._face.detectMultiScale2(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=size
        )
        dets = []
        for (x, y, w, h), n in zip(np.asarray(rects).reshape(-1, 4), np.asarray(counts).reshape(-1), strict=True):
            marks = HAAR_LANDMARK_FRACTIONS * (w, h) + (x, y)
            eyes = self._eyes(gray, int(x), int(y), int(w), int(h))
            if eyes is not None:
                marks[:2] = eyes
            dets.append(
                Detection(bbox=(float(x), float(y), float(x + w), float(y + h)), landmarks5=marks, score=float(n))
            )
        return sorted(dets, key=lambda d: -d.score)

    def _eyes(self, gray: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray | None:
        """The centres of the largest eye found in each upper half of the face box, or None."""
        top = gray[y : y + h // 2 + h // 10, x : x + w]
        side = max(5, w // 8)
        found = self._eye.detectMultiScale(top, scaleFactor=1.1, minNeighbors=3, minSize=(side, side))
        centres: list[tuple[float, float, float] | None] = [None, None]
        for ex, ey, ew, eh in np.asarray(found).reshape(-1, 4):
            cx, cy = ex + ew / 2, ey + eh / 2
            k = 0 if cx < w / 2 else 1
            if centres[k] is None or ew * eh > centres[k][2]:  # type: ignore[index]
                centres[k] = (cx, cy, float(ew * eh))
        if centres[0] is None or centres[1] is None:
            return None
        pts = np.array([c[:2] for c in centres]) + (x, y)  # type: ignore[index]
        dx, dy = pts[1] - pts[0]
        if dx < 0.2 * w or abs(math.degrees(math.atan2(dy, dx))) > 30:
            return None  # eyebrows, glasses rims or a nostril taken for an eye
        return pts
