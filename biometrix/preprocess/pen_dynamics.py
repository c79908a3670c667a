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

#: The per-point features of ``pen-dtw-v1`` (``pen_features``), in this order; each is standardised over the signature.
FEATURES = ("x", "y", "dx", "dy", "pressure")

#: The local features ``local_features`` computes (``pen-dtw-v2`` compares a chosen few of them, by channel).
LOCAL_FEATURES = ("x", "y", "vx", "vy", "ax", "ay", "pressure", "dpressure", "cos_dir", "sin_dir", "curvature")


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


def _checked(strokes: Sequence[np.ndarray], step_ms: float) -> None:
    """InvalidInput unless every stroke is a finite (k, 4) array, ``step_ms`` is positive and the pen-down time is at
    most ``MAX_PEN_MS``."""
    if step_ms <= 0:
        raise InvalidInput(f"step_ms must be positive, got {step_ms}")
    for s in strokes:
        if s.ndim != 2 or s.shape[1] != 4 or not np.isfinite(s).all():
            raise InvalidInput(f"a stroke must be a finite (k, 4) array of x, y, pressure, t; got shape {s.shape}")
    pen_ms = pen_time_ms(strokes)
    if pen_ms > MAX_PEN_MS:
        raise InvalidInput(f"the pen was down for {pen_ms / 1000:.0f} s; at most "
                           f"{MAX_PEN_MS / 1000:.0f} s of a signature's motion is compared")


def _standardised(feats: np.ndarray) -> np.ndarray:
    """Each column to mean 0 and standard deviation 1 (a column that does not vary: 0); C-ordered float64."""
    if len(feats) < 2:
        raise EmptySignature("the pen signature has fewer than two points in time")
    std = feats.std(axis=0)
    safe = np.where(std > 1e-9, std, 1.0)
    return np.ascontiguousarray(np.where(std > 1e-9, (feats - feats.mean(axis=0)) / safe, 0.0))


def pen_features(strokes: Sequence[np.ndarray], *, step_ms: float = STEP_MS) -> np.ndarray:
    """(T, 5) features of a pen signature (``pen-dtw-v1``'s): position, velocity (the change to the next point,
    within a stroke) and pressure, each standardised to mean 0 and standard deviation 1 over the signature (a
    feature that does not vary, such as the pressure of a device without it, is 0). Strokes are joined in the order
    drawn; the pen-up gaps between them are left out. Position and velocity are in device units divided by the
    signature's own spread, so neither the device's resolution nor the size of the signature matters.
    ``strokes``: each stroke's (k, 4) points, x, y, pressure, t (``capture.pen.stroke_arrays``)."""
    _checked(strokes, step_ms)
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
    return _standardised(np.concatenate(parts))


def _gradient(v: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """``np.gradient`` of each stroke of the joined values ``v``, in one pass: central differences inside a stroke,
    one-sided at its first and last point, 0 for a stroke of one point (``first``/``last`` mark its ends)."""
    nxt, prv = np.roll(v, -1), np.roll(v, 1)
    g = np.where(first, nxt - v, (nxt - prv) / 2.0)
    g = np.where(last, v - prv, g)
    return np.where(first & last, 0.0, g)


def _local_columns(strokes: Sequence[np.ndarray], step_ms: float) -> dict[str, np.ndarray]:
    """Every local feature of the joined resampled strokes, unstandardised: derivatives by central differences per
    step within each stroke (one-sided at its ends, 0 for a stroke of one point)."""
    pts = [resample(s, step_ms) for s in strokes if len(s)]
    if not pts:
        raise EmptySignature("the pen signature has no points")
    sizes = np.array([len(p) for p in pts])
    ends = np.cumsum(sizes)
    first, last = np.zeros(ends[-1], dtype=bool), np.zeros(ends[-1], dtype=bool)
    first[ends - sizes], last[ends - 1] = True, True
    x, y, p = np.concatenate(pts).T
    vx, vy = _gradient(x, first, last), _gradient(y, first, last)
    direction = np.arctan2(vy, vx)
    unwrapped = np.concatenate([np.unwrap(d) for d in np.split(direction, ends[:-1])])
    return {"x": x, "y": y, "vx": vx, "vy": vy, "ax": _gradient(vx, first, last), "ay": _gradient(vy, first, last),
            "pressure": p, "dpressure": _gradient(p, first, last), "cos_dir": np.cos(direction),
            "sin_dir": np.sin(direction), "curvature": _gradient(unwrapped, first, last)}


def local_features(strokes: Sequence[np.ndarray], names: Sequence[str] = LOCAL_FEATURES, *,
                   step_ms: float = STEP_MS) -> np.ndarray:
    """(T, len(names)) local features of a pen signature (``pen-dtw-v2``'s), from ``LOCAL_FEATURES``: position x, y;
    velocity vx, vy and acceleration ax, ay (central differences per ``step_ms`` step, within a stroke); pressure and
    its change dpressure; the pen's direction of motion as cos_dir, sin_dir; curvature, the change of that direction
    per step (radians, unwrapped). Every stroke is resampled every ``step_ms`` ms, strokes are joined in the order
    drawn (pen-up gaps left out), and each feature is standardised over the signature (mean 0, standard deviation
    1; a feature that does not vary is 0)."""
    unknown = [n for n in names if n not in LOCAL_FEATURES]
    if unknown or not names:
        raise InvalidInput(f"unknown pen features {unknown}; known: {', '.join(LOCAL_FEATURES)}")
    _checked(strokes, step_ms)
    columns = _local_columns(strokes, step_ms)
    return _standardised(np.stack([columns[n] for n in names], axis=1))
