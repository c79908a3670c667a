"""Pen dynamics: a signature drawn with a pen as a sequence of per-point features, for dynamic time warping.

A forger who copies the shape of a signature rarely copies how it was drawn: the order of the strokes, where
the pen speeds up, how hard it presses. The image encoder sees only the ink; these features keep the motion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biometrix.core.errors import EmptySignature, InvalidInput

#: Points are resampled every this many milliseconds along each stroke, so a pad that reports at another rate
#: gives the same sequence for the same motion (SVC2004's tablet reports every 10 ms).
STEP_MS = 10.0

#: The per-point features, in this order; each is standardised over the signature.
FEATURES = ("x", "y", "dx", "dy", "pressure")


#: The longest pen-down time compared (all strokes together): a signature takes seconds; this bounds the work of
#: resampling and of DTW (quadratic in the points) for a hostile or broken recording.
MAX_PEN_MS = 60_000.0


def pen_time_ms(strokes: Sequence[np.ndarray]) -> float:
    """The pen-down time of pen data: each stroke's time span over the points ``resample`` keeps (those later
    than every point before them), summed (pen-up gaps left out)."""
    return sum(float(_increasing(s)[-1, 3] - s[0, 3]) for s in strokes if len(s))


def _increasing(stroke: np.ndarray) -> np.ndarray:
    """The points of a stroke later than every point before it (the first always): a pad's clock may repeat or
    step back, and the times left increase."""
    arr = np.asarray(stroke, dtype=np.float64)
    return arr[np.concatenate([[True], arr[1:, 3] > np.maximum.accumulate(arr[:-1, 3])])]


def pen_comparable(strokes: Sequence[np.ndarray], step_ms: float = STEP_MS) -> bool:
    """Whether the motion of pen data can be compared: it carries its time (at least two resampling steps with the
    pen down; a device or file that stamps every point alike has none) and lasts at most ``MAX_PEN_MS``."""
    return 2 * step_ms <= pen_time_ms(strokes) <= MAX_PEN_MS


def resample(stroke: np.ndarray, step_ms: float = STEP_MS) -> np.ndarray:
    """One stroke's (k, 4) points (x, y, pressure, t in ms) as (x, y, pressure) every ``step_ms`` ms from its first
    point, linearly interpolated in time. A point not later than every point before it is dropped (so the times
    left increase); a stroke of one instant is its first point."""
    arr = _increasing(stroke)
    if len(arr) == 1:
        return arr[:, :3]
    t = np.arange(arr[0, 3], arr[-1, 3] + 1e-9, step_ms)
    return np.stack([np.interp(t, arr[:, 3], arr[:, c]) for c in range(3)], axis=1)


def pen_features(strokes: Sequence[np.ndarray], *, step_ms: float = STEP_MS) -> np.ndarray:
    """(T, 5) features of a pen signature: position, velocity (the change to the next point, within a stroke)
    and pressure, each standardised to mean 0 and standard deviation 1 over the signature (a feature that does
    not vary, such as the pressure of a device without it, is 0). Strokes are joined in the order drawn; the
    pen-up gaps between them are left out. Position and velocity are in device units divided by the
    signature's own spread, so neither the device's resolution nor the size of the signature matters.
    ``strokes``: each stroke's (k, 4) points, x, y, pressure, t (``capture.pen.stroke_arrays``)."""
    if step_ms <= 0:
        raise InvalidInput(f"step_ms must be positive, got {step_ms}")
    for s in strokes:
        if s.ndim != 2 or s.shape[1] != 4 or not np.isfinite(s).all():
            raise InvalidInput(f"a stroke must be a finite (k, 4) array of x, y, pressure, t; got shape {s.shape}")
    pen_ms = pen_time_ms(strokes)
    if pen_ms > MAX_PEN_MS:
        raise InvalidInput(f"the pen was down for {pen_ms / 1000:.0f} s; at most "
                           f"{MAX_PEN_MS / 1000:.0f} s of a signature's motion is compared")
    parts = []
    for s in strokes:
        if not len(s):
            continue
        pts = resample(s, step_ms)
        vel = np.diff(pts[:, :2], axis=0, append=pts[-1:, :2]) if len(pts) > 1 else np.zeros((1, 2))
        if len(pts) > 1:
            vel[-1] = vel[-2]  # the last point moves as the one before it
        parts.append(np.concatenate([pts[:, :2], vel, pts[:, 2:3]], axis=1))
    if not parts:
        raise EmptySignature("the pen signature has no points")
    feats = np.concatenate(parts)
    if len(feats) < 2:
        raise EmptySignature("the pen signature has fewer than two points in time")
    std = feats.std(axis=0)
    return np.where(std > 1e-9, (feats - feats.mean(axis=0)) / np.where(std > 1e-9, std, 1.0), 0.0)
