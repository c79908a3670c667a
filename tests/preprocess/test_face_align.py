"""Tests for biometrix.preprocess.face_align: Umeyama against known similarity transforms, chips against templates."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_align import ARCFACE_112, DLIB_CHIP_150, FaceTemplate, align_face, umeyama


def similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[scale * c, -scale * s, tx], [scale * s, scale * c, ty]])


def apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ matrix[:, :2].T + matrix[:, 2]


@pytest.mark.parametrize(
    ("scale", "angle", "tx", "ty"),
    [(1.0, 0.0, 0.0, 0.0), (1.7, 0.6, 12.0, -5.0), (0.31, -2.9, -140.5, 77.25), (3.0, math.pi, 1.0, 2.0)],
)
def test_umeyama_recovers_an_exact_similarity(scale, angle, tx, ty):
    src = np.random.default_rng(1).uniform(-50, 50, (7, 2))
    truth = similarity(scale, angle, tx, ty)
    got = umeyama(src, apply(truth, src))
    np.testing.assert_allclose(got, truth, atol=1e-9)


def test_umeyama_without_scale_keeps_unit_scale_and_never_reflects():
    src = np.random.default_rng(2).uniform(-10, 10, (5, 2))
    got = umeyama(src, apply(similarity(2.0, 0.3, 4.0, 5.0), src), estimate_scale=False)
    np.testing.assert_allclose(np.linalg.det(got[:, :2]), 1.0, atol=1e-9)
    mirrored = src * [-1, 1]  # the best similarity onto a mirror image is still a proper rotation
    assert np.linalg.det(umeyama(src, mirrored)[:, :2]) > 0


def test_umeyama_least_squares_matches_a_brute_force_search():
    rng = np.random.default_rng(3)
    src = rng.uniform(-20, 20, (5, 2))
    dst = apply(similarity(1.3, 0.4, 3.0, -2.0), src) + rng.normal(0, 1.0, src.shape)
    best = umeyama(src, dst)

    def cost(m: np.ndarray) -> float:
        return float(((apply(m, src) - dst) ** 2).sum())

    # no nearby similarity (scale, angle, translation perturbed) fits better
    s0 = math.hypot(best[0, 0], best[1, 0])
    a0 = math.atan2(best[1, 0], best[0, 0])
    for ds in (-0.01, 0.0, 0.01):
        for da in (-0.01, 0.0, 0.01):
            for dt in ((0, 0), (0.1, 0), (0, -0.1)):
                m = similarity(s0 + ds, a0 + da, best[0, 2] + dt[0], best[1, 2] + dt[1])
                assert cost(m) >= cost(best) - 1e-9


def test_umeyama_refuses_degenerate_input():
    with pytest.raises(InvalidInput):
        umeyama(np.ones((5, 2)), np.zeros((5, 2)))
    with pytest.raises(InvalidInput):
        umeyama(np.zeros((5, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("template", [DLIB_CHIP_150, ARCFACE_112])
@pytest.mark.parametrize("size", [112, 150])
def test_align_face_puts_the_landmarks_on_the_template(template: FaceTemplate, size: int):
    # Five coloured dots at a rotated, scaled, shifted copy of the template in a 400x300 image.
    truth = similarity(200 / template.size, 0.35, 120.0, 10.0)
    marks = apply(truth, template.points)
    img = np.zeros((300, 400, 3), np.uint8)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255)]
    for (x, y), colour in zip(marks, colours, strict=True):
        cv2.circle(img, (round(x * 16), round(y * 16)), 7 * 16, colour, -1, lineType=cv2.LINE_AA, shift=4)
    chip = align_face(img, marks, size=size, template=template)
    assert chip.shape == (size, size, 3) and chip.dtype == np.uint8
    for expected, colour in zip(template.at(size), colours, strict=True):
        mask = np.all(np.abs(chip.astype(int) - colour) < 60, axis=2) & (chip.sum(axis=2) > 150)
        ys, xs = np.nonzero(mask)
        centre = np.array([xs.mean(), ys.mean()])
        assert np.abs(centre - expected).max() < 0.6, (colour, centre, expected)


def test_align_face_validates_its_input():
    with pytest.raises(InvalidInput):
        align_face(np.zeros((10, 10, 3), np.float32), DLIB_CHIP_150.points)
    with pytest.raises(InvalidInput):
        align_face(np.zeros((10, 10, 3), np.uint8), np.zeros((4, 2)))


def test_templates_are_left_to_right_and_eyes_above_mouth():
    for t in (ARCFACE_112, DLIB_CHIP_150):
        p = t.points
        assert p[0, 0] < p[2, 0] < p[1, 0] and p[3, 0] < p[4, 0]
        assert max(p[0, 1], p[1, 1]) < p[2, 1] < min(p[3, 1], p[4, 1])
        assert (p >= 0).all() and (p < t.size).all()
