"""preprocess.pen_dynamics: resampling in time and the standardised per-point features."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from biometrix.core.errors import EmptySignature, InvalidInput
from biometrix.preprocess.pen_dynamics import (
    FEATURES,
    LOCAL_FEATURES,
    MAX_PEN_MS,
    local_features,
    pen_comparable,
    pen_features,
    pen_time_ms,
    resample,
)


def stroke(x: np.ndarray, y: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.stack([x, y, p, t], axis=1).astype(np.float64)


def curve(step_ms: float, *, scale: float = 1.0, shift: float = 0.0) -> list[np.ndarray]:
    """The same two-stroke motion (a loop, then a bar) sampled every ``step_ms`` ms."""
    t1 = np.arange(0.0, 600.0 + 1e-9, step_ms)
    s1 = stroke(scale * np.cos(t1 / 100) + shift, scale * np.sin(t1 / 150) + shift, 0.5 + 0.3 * np.sin(t1 / 80),
                1000.0 + t1)
    t2 = np.arange(0.0, 200.0 + 1e-9, step_ms)
    s2 = stroke(scale * (2 + t2 / 100) + shift, scale * 0.5 + shift + 0 * t2, 0.4 + 0 * t2, 2000.0 + t2)
    return [s1, s2]


def test_resample_interpolates_in_time_and_drops_repeated_times() -> None:
    s = stroke(np.array([0.0, 2.0, 2.0, 4.0]), np.array([0.0, 0.0, 0.0, 4.0]), np.array([0.0, 1.0, 1.0, 1.0]),
               np.array([0.0, 20.0, 20.0, 40.0]))
    out = resample(s, 10.0)
    np.testing.assert_allclose(out, [[0, 0, 0], [1, 0, 0.5], [2, 0, 1], [3, 2, 1], [4, 4, 1]])
    np.testing.assert_allclose(resample(s[:1], 10.0), [[0, 0, 0]])


def test_a_clock_that_steps_back_keeps_only_later_points() -> None:
    # a pad whose timestamps repeat or step back (a release stamped by another clock): the stroke keeps the points
    # later than all before them, so its times still increase and it is never resampled to nothing
    s = stroke(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0, 3.0]), np.full(4, 0.5),
               np.array([100.0, 50.0, 60.0, 120.0]))
    np.testing.assert_allclose(resample(s, 10.0), [[0, 0, 0.5], [1.5, 1.5, 0.5], [3, 3, 0.5]])
    back = stroke(np.array([0.0, 5.0, 9.0]), np.zeros(3), np.full(3, 0.5), np.array([1000.0, 1010.0, 0.0]))
    np.testing.assert_allclose(resample(back, 10.0), [[0, 0, 0.5], [5, 0, 0.5]])
    assert pen_features([back, *curve(10.0)]).shape == (2 + 61 + 21, len(FEATURES))
    # the last point earlier than the first but later than the one before it: only the first remains
    dot = stroke(np.array([4.0, 5.0, 6.0]), np.zeros(3), np.full(3, 0.5), np.array([100.0, 50.0, 60.0]))
    np.testing.assert_allclose(resample(dot, 10.0), [[4, 0, 0.5]])
    assert pen_features([*curve(10.0), dot]).shape == (61 + 21 + 1, len(FEATURES))


def test_features_do_not_depend_on_the_pad_rate_size_or_place() -> None:
    reference = pen_features(curve(10.0))
    assert reference.shape == (61 + 21, len(FEATURES))
    np.testing.assert_allclose(reference.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(reference.std(axis=0), 1.0, atol=1e-9)
    # a pad reporting every 5 ms, a device with 3 times the resolution, the signature elsewhere on the pad
    faster = pen_features(curve(5.0))
    np.testing.assert_allclose(faster, reference, atol=0.02)
    np.testing.assert_allclose(pen_features(curve(10.0, scale=3.0, shift=50.0)), reference, atol=1e-9)


def test_a_feature_that_does_not_vary_is_zero() -> None:
    strokes = [s.copy() for s in curve(10.0)]
    for s in strokes:
        s[:, 2] = 0.5  # a device without pressure
    assert np.all(pen_features(strokes)[:, FEATURES.index("pressure")] == 0.0)


def test_empty_and_malformed_pen_data_are_refused() -> None:
    with pytest.raises(EmptySignature):
        pen_features([])
    with pytest.raises(EmptySignature):
        pen_features([np.zeros((0, 4))])
    with pytest.raises(EmptySignature, match="fewer than two"):
        pen_features([stroke(np.array([1.0]), np.array([1.0]), np.array([0.5]), np.array([0.0]))])
    with pytest.raises(InvalidInput, match=r"\(k, 4\)"):
        pen_features([np.zeros((5, 3))])
    with pytest.raises(InvalidInput, match=r"\(k, 4\)"):
        pen_features([np.full((5, 4), np.nan)])
    with pytest.raises(InvalidInput, match="step_ms"):
        pen_features(curve(10.0), step_ms=0.0)


def test_pen_data_without_its_time_or_far_too_long_is_not_comparable() -> None:
    strokes = curve(10.0)
    assert pen_comparable(strokes)
    frozen = [s.copy() for s in strokes]
    for s in frozen:
        s[:, 3] = 0.0  # one timestamp for every point
    assert not pen_comparable(frozen)
    assert not pen_comparable([stroke(np.zeros(2), np.zeros(2), np.full(2, 0.5), np.array([0.0, 19.0]))])
    assert pen_comparable([stroke(np.zeros(2), np.zeros(2), np.full(2, 0.5), np.array([0.0, 20.0]))])
    # a recording whose clock jumps by a day within one stroke: refused before anything is resampled
    day = stroke(np.arange(3.0), np.zeros(3), np.full(3, 0.5), np.array([0.0, 10.0, 86_400_000.0]))
    assert not pen_comparable([day])
    with pytest.raises(InvalidInput, match="at most 60 s"):
        pen_features([day])
    assert pen_comparable([stroke(np.zeros(2), np.zeros(2), np.full(2, 0.5), np.array([0.0, MAX_PEN_MS]))])


def test_pen_time_counts_the_points_kept_not_a_clock_jump() -> None:
    # the first point stamped by another clock (hours ahead): the stroke's later points are dropped as earlier, so
    # it counts 0 ms, not hours, and the rest of the signature is still comparable
    jumped = stroke(np.arange(3.0), np.zeros(3), np.full(3, 0.5), np.array([9_000_000.0, 10.0, 20.0]))
    strokes = [jumped, *curve(10.0)]
    assert pen_time_ms([jumped]) == 0.0
    assert pen_time_ms(strokes) == pytest.approx(600.0 + 200.0)
    assert pen_comparable(strokes)


def zscored(column: list[float]) -> list[float]:
    """(v - mean) / population standard deviation, by the statistics module; 0 for a column that does not vary."""
    mean, sd = statistics.fmean(column), statistics.pstdev(column)
    return [0.0 if sd < 1e-9 else (v - mean) / sd for v in column]


def test_local_features_are_finite_differences_per_stroke_by_hand() -> None:
    # Oracle: the derivatives written out by hand for a 4-point stroke and a 3-point stroke (central differences
    # inside a stroke, one-sided at its ends, never across the pen-up between them), then standardised.
    a = stroke(np.array([0.0, 1.0, 4.0, 9.0]), np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.1, 0.2, 0.4, 0.4]),
               np.array([0.0, 10.0, 20.0, 30.0]))
    b = stroke(np.array([20.0, 20.0, 21.0]), np.array([5.0, 7.0, 9.0]), np.array([0.3, 0.3, 0.6]),
               np.array([100.0, 110.0, 120.0]))
    vx = [1, (4 - 0) / 2, (9 - 1) / 2, 5] + [0, (21 - 20) / 2, 1]
    vy = [0, (1 - 0) / 2, (1 - 0) / 2, 0] + [2, (9 - 5) / 2, 2]
    ax = [2 - 1, (4 - 1) / 2, (5 - 2) / 2, 5 - 4] + [0.5 - 0, (1 - 0) / 2, 1 - 0.5]
    ay = [0.5, 0.25, -0.25, -0.5] + [0, 0, 0]
    dp = [0.1, (0.4 - 0.1) / 2, (0.4 - 0.2) / 2, 0.0] + [0.0, (0.6 - 0.3) / 2, 0.3]
    theta = [math.atan2(y, x) for x, y in zip(vx, vy, strict=True)]
    curvature = []
    for lo, hi in ((0, 4), (4, 7)):  # per stroke, the direction's change per step (no jump of 2 pi here)
        t = theta[lo:hi]
        curvature += [t[1] - t[0]] + [(t[i + 1] - t[i - 1]) / 2 for i in range(1, len(t) - 1)] + [t[-1] - t[-2]]
    want = {"x": [0, 1, 4, 9, 20, 20, 21], "y": [0, 0, 1, 1, 5, 7, 9], "vx": vx, "vy": vy, "ax": ax, "ay": ay,
            "pressure": [0.1, 0.2, 0.4, 0.4, 0.3, 0.3, 0.6], "dpressure": dp,
            "cos_dir": [math.cos(v) for v in theta], "sin_dir": [math.sin(v) for v in theta], "curvature": curvature}
    got = local_features([a, b])
    assert got.shape == (7, len(LOCAL_FEATURES)) and got.flags["C_CONTIGUOUS"]
    for i, name in enumerate(LOCAL_FEATURES):
        np.testing.assert_allclose(got[:, i], zscored([float(v) for v in want[name]]), atol=1e-9, err_msg=name)
    np.testing.assert_allclose(local_features([a, b], ("vy", "x")), got[:, [3, 0]])


def test_local_features_of_a_one_point_stroke_and_of_unknown_names() -> None:
    dot = stroke(np.array([3.0]), np.array([4.0]), np.array([0.5]), np.array([500.0]))
    feats = local_features([*curve(10.0), dot], ("vx", "ax"))
    assert feats.shape == (61 + 21 + 1, 2) and np.isfinite(feats).all()
    with pytest.raises(InvalidInput, match="unknown pen features"):
        local_features(curve(10.0), ("x", "speed"))
    with pytest.raises(InvalidInput, match="unknown pen features"):
        local_features(curve(10.0), ())
    with pytest.raises(EmptySignature, match="fewer than two"):
        local_features([dot])
