"""Tests for biometrix.preprocess.face_detect: NMS and area resizing against brute-force loops, Haar on AT&T."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_detect import (
    HaarDetector,
    area_resize,
    bbox_regress,
    nms,
    pyramid_scales,
    square_boxes,
    to_rgb,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ATT_ZIP = DATA / "att_faces" / "att_faces.zip"
needs_att = pytest.mark.skipif(not ATT_ZIP.is_file(), reason=f"AT&T faces not found at {ATT_ZIP}")


def brute_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str) -> list[int]:
    """Plain loops: visit boxes best first; keep one unless it overlaps a kept box by more than threshold."""
    one = 1.0 if method == "min" else 0.0
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept: list[int] = []
    for i in order:
        suppressed = False
        for j in kept:
            iw = max(0.0, min(boxes[i][2], boxes[j][2]) - max(boxes[i][0], boxes[j][0]) + one)
            ih = max(0.0, min(boxes[i][3], boxes[j][3]) - max(boxes[i][1], boxes[j][1]) + one)
            ai = (boxes[i][2] - boxes[i][0] + one) * (boxes[i][3] - boxes[i][1] + one)
            aj = (boxes[j][2] - boxes[j][0] + one) * (boxes[j][3] - boxes[j][1] + one)
            denom = min(ai, aj) if method == "min" else ai + aj - iw * ih
            if iw * ih / denom > threshold:
                suppressed = True
                break
        if not suppressed:
            kept.append(i)
    return kept


@pytest.mark.parametrize("method", ["union", "min"])
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", range(5))
def test_nms_matches_a_brute_force_loop(method, threshold, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (60, 2))
    wh = rng.uniform(5, 40, (60, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.uniform(0, 1, 60)
    got = nms(boxes, scores, threshold, method=method)
    assert got.tolist() == brute_nms(boxes.tolist(), scores.tolist(), threshold, method)


def test_nms_edge_cases():
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0
    same = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    assert nms(same, np.array([0.2, 0.9]), 0.5).tolist() == [1]
    with pytest.raises(InvalidInput):
        nms(same, np.array([0.2, 0.9]), 0.5, method="max")


def brute_area_resize(img: np.ndarray, h: int, w: int) -> np.ndarray:
    """torch's adaptive average pooling by its definition: cell (i, j) averages rows floor(i*H/h)..ceil((i+1)*H/h)-1."""
    big_h, big_w = img.shape[:2]
    out = np.zeros((h, w, img.shape[2]))
    for i in range(h):
        r0, r1 = (i * big_h) // h, -((-(i + 1) * big_h) // h)
        for j in range(w):
            c0, c1 = (j * big_w) // w, -((-(j + 1) * big_w) // w)
            out[i, j] = img[r0:r1, c0:c1].reshape(-1, img.shape[2]).mean(axis=0)
    return out


@pytest.mark.parametrize(("h", "w"), [(24, 24), (48, 48), (13, 29), (57, 40), (112, 92)])
def test_area_resize_is_adaptive_average_pooling(h, w):
    img = np.random.default_rng(0).integers(0, 256, (57, 40, 3)).astype(np.float32)
    np.testing.assert_allclose(area_resize(img, h, w), brute_area_resize(img, h, w), atol=1e-3)


def test_pyramid_scales_cover_min_face_to_the_short_side():
    scales = pyramid_scales(112, 92, min_face_size=20, factor=0.709)
    assert scales[0] == pytest.approx(12 / 20)
    assert np.allclose(np.diff(np.log(scales)), np.log(0.709))
    assert 92 * scales[-1] >= 12 > 92 * scales[-1] * 0.709


def test_square_boxes_and_regression():
    boxes = np.array([[10, 20, 30, 60, 0.9]], np.float32)
    sq = square_boxes(boxes)
    assert sq[0, 2] - sq[0, 0] == pytest.approx(40) and sq[0, 3] - sq[0, 1] == pytest.approx(40)
    assert (sq[0, 0] + sq[0, 2]) / 2 == pytest.approx(20) and sq[0, 4] == pytest.approx(0.9)
    moved = bbox_regress(boxes, np.array([[0.1, 0.0, -0.1, 0.5]], np.float32))
    np.testing.assert_allclose(moved[0, :4], [10 + 2.1, 20, 30 - 2.1, 60 + 20.5], rtol=1e-6)


def test_to_rgb_accepts_grey_and_refuses_the_rest():
    assert to_rgb(np.zeros((20, 30), np.uint8)).shape == (20, 30, 3)
    with pytest.raises(InvalidInput):
        to_rgb(np.zeros((20, 30), np.float32))
    with pytest.raises(InvalidInput):
        to_rgb(np.zeros((5, 5, 3), np.uint8))


@needs_att
def test_haar_detector_finds_the_face_in_att_images():
    det = HaarDetector()
    with zipfile.ZipFile(ATT_ZIP) as zf:
        found = 0
        for s in range(1, 11):
            gray = cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{s}/1.pgm"), np.uint8), cv2.IMREAD_GRAYSCALE)
            dets = det.detect(gray)
            if len(dets) == 1:
                found += 1
                d = dets[0]
                x0, y0, x1, y1 = d.bbox
                assert (d.landmarks5[:, 0] >= x0).all() and (d.landmarks5[:, 0] <= x1).all()
                assert d.landmarks5[0, 0] < d.landmarks5[1, 0]
    assert found >= 8
