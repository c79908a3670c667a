"""Pen input: points with pressure and time, strokes, SVC2004 files, stroke JSON, and the one renderer.

The same ``rasterize`` turns a signature drawn on the app's pad and an SVC2004 recording into an
image, so the encoder sees pen input the same way at training and at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from biometrix.core.errors import EmptySignature, InvalidInput, PenDataTooLarge

#: SVC2004 tablets report pressure as 0..1023.
SVC2004_MAX_PRESSURE = 1023.0
STROKES_FORMAT = "biometrix-strokes/1"

# Limits on one pen signature, checked before any work: the file size before it is read, the counts before any
# array is built. SVC2004's longest recordings (python bench/pen_limits.py) have 708 points, 17 strokes,
# 9.4 s and 24 KB; each limit leaves a real signature (a tablet at 240 points/s, a slow signer) far inside it.
#: Bytes of a stroke ``.json`` or SVC2004 ``.txt`` file (and characters of stroke JSON text).
MAX_PEN_FILE_BYTES = 2 * 2**20
#: Points of one signature, all strokes together.
MAX_PEN_POINTS = 20_000
#: Strokes (pen-down to pen-up) of one signature.
MAX_PEN_STROKES = 500
#: Time from the first point to the last, in milliseconds.
MAX_PEN_DURATION_MS = 120_000.0


_FIRST_TOKEN = re.compile(r"\s*(\S+)")


@dataclass(frozen=True)
class PenPoint:
    """One pen sample: position in device units (y grows downwards), pressure in [0, 1], time in ms."""

    x: float
    y: float
    pressure: float
    t: float


@dataclass(frozen=True)
class Stroke:
    """The points between one pen-down and the next pen-up."""

    points: tuple[PenPoint, ...]


def check_pen_counts(*, strokes: int, points: int, name: str = "the signature") -> None:
    """PenDataTooLarge when ``strokes`` or ``points`` is over its limit (MAX_PEN_STROKES, MAX_PEN_POINTS)."""
    if strokes > MAX_PEN_STROKES:
        raise PenDataTooLarge(f"{name} has {strokes} pen strokes; a signature has at most {MAX_PEN_STROKES}")
    if points > MAX_PEN_POINTS:
        raise PenDataTooLarge(f"{name} has {points} pen points; a signature has at most {MAX_PEN_POINTS}")


def check_pen_duration(t: np.ndarray, *, name: str = "the signature") -> None:
    """PenDataTooLarge when the times ``t`` (ms) span more than MAX_PEN_DURATION_MS."""
    span = float(t.max() - t.min()) if t.size else 0.0
    if span > MAX_PEN_DURATION_MS:
        raise PenDataTooLarge(f"{name} lasts {span / 1000:g} s; a signature lasts at most "
                              f"{MAX_PEN_DURATION_MS / 1000:g} s")


def _check_strokes(strokes: Sequence[Stroke]) -> np.ndarray:
    check_pen_counts(strokes=len(strokes), points=sum(len(s.points) for s in strokes))
    pts = [p for s in strokes for p in s.points]
    if not pts:
        raise EmptySignature("the signature has no pen strokes")
    arr = np.array([(p.x, p.y, p.pressure, p.t) for p in pts], dtype=np.float64)
    if not np.isfinite(arr).all():
        raise InvalidInput("pen data contains NaN or infinite values")
    if (arr[:, 2] < 0).any() or (arr[:, 2] > 1).any():
        raise InvalidInput("pen pressure must lie in [0, 1]")
    check_pen_duration(arr[:, 3])
    return arr


def stroke_arrays(strokes: Sequence[Stroke]) -> list[np.ndarray]:
    """Each non-empty stroke as a float64 (k, 4) array of x, y, pressure, t (checked as the renderer checks)."""
    _check_strokes(strokes)
    return [np.array([(p.x, p.y, p.pressure, p.t) for p in s.points], dtype=np.float64) for s in strokes if s.points]


def read_svc2004(text: str, *, name: str = "<svc2004>") -> list[Stroke]:
    """Parse an SVC2004 task-2 file: a count line, then ``x y t button azimuth altitude pressure`` rows.

    Tablet y grows upwards; it is flipped so that y grows downwards like screen coordinates.
    Pen-up rows (button 0) separate strokes and are not drawn. The size, the declared and the actual number of
    rows are checked against the limits (MAX_PEN_*) before the rows are split or converted.
    """
    _check_text_size(text, name)
    first = _FIRST_TOKEN.match(text)
    if first is None:
        raise InvalidInput(f"{name} is not an SVC2004 task-2 file (it holds nothing)")
    try:
        n = int(first.group(1))
    except ValueError as err:
        raise InvalidInput(f"{name} is not an SVC2004 task-2 file ({err})") from None
    check_pen_counts(strokes=0, points=max(n, text.count("\n") - 2), name=name)
    lines = text.split()
    try:
        rows = np.array(lines[1:], dtype=np.float64).reshape(-1, 7)
    except ValueError as err:
        raise InvalidInput(f"{name} is not an SVC2004 task-2 file ({err})") from None
    if rows.shape[0] != n:
        raise InvalidInput(f"{name} declares {n} points but holds {rows.shape[0]}")
    check_pen_duration(rows[rows[:, 3] > 0, 2], name=name)
    strokes: list[Stroke] = []
    current: list[PenPoint] = []
    for x, y, t, button, _az, _alt, p in rows:
        if button > 0:
            current.append(PenPoint(x, -y, min(max(p / SVC2004_MAX_PRESSURE, 0.0), 1.0), t))
        elif current:
            strokes.append(Stroke(tuple(current)))
            current = []
    if current:
        strokes.append(Stroke(tuple(current)))
    return strokes


def strokes_to_json(strokes: Sequence[Stroke]) -> str:
    """Strokes as JSON: {"format": ..., "strokes": [[[x, y, pressure, t], ...], ...]}."""
    _check_strokes(strokes)
    return json.dumps(
        {
            "format": STROKES_FORMAT,
            "strokes": [[[p.x, p.y, p.pressure, p.t] for p in s.points] for s in strokes],
        }
    )


def _check_text_size(text: str, name: str) -> None:
    if len(text) > MAX_PEN_FILE_BYTES:
        raise PenDataTooLarge(f"{name} is {len(text)} characters long; pen data is at most {MAX_PEN_FILE_BYTES} bytes")


def strokes_from_json(text: str, *, name: str = "stroke data") -> list[Stroke]:
    """Parse ``strokes_to_json`` output; anything else is a clear InvalidInput.

    The limits (MAX_PEN_*) are checked before the JSON is parsed (its size, and its brackets: every stroke and
    every point is one) and again on the parsed counts before any point is built.
    """
    _check_text_size(text, name)
    if text.count("[") > 1 + MAX_PEN_STROKES + MAX_PEN_POINTS:
        raise PenDataTooLarge(f"{name} holds more than {MAX_PEN_POINTS} pen points or {MAX_PEN_STROKES} strokes")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"stroke data is not JSON ({err.msg} at line {err.lineno})") from None
    except (RecursionError, ValueError) as err:  # nested too deeply, or an integer too long to read
        raise InvalidInput(f"stroke data is not usable JSON ({type(err).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != STROKES_FORMAT:
        raise InvalidInput(f"stroke data must be a {STROKES_FORMAT!r} document")
    raw = doc.get("strokes")
    if isinstance(raw, list):
        check_pen_counts(strokes=len(raw), points=sum(len(s) for s in raw if isinstance(s, list)), name=name)
    strokes = []
    try:
        for s in doc["strokes"]:
            pts = tuple(PenPoint(float(x), float(y), float(p), float(t)) for x, y, p, t in s)
            if pts:
                strokes.append(Stroke(pts))
    except (KeyError, TypeError, ValueError, OverflowError) as err:
        raise InvalidInput(f"malformed stroke data ({err})") from None
    _check_strokes(strokes)
    return strokes


def load_strokes(path: str | Path) -> list[Stroke]:
    """Strokes from a ``.json`` stroke file or an SVC2004 ``.txt`` file; a file over MAX_PEN_FILE_BYTES is refused
    before it is read (and no more than that is ever read, whatever its size claims)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PEN_FILE_BYTES:
            raise PenDataTooLarge(f"{path} is {size} bytes; pen data is at most {MAX_PEN_FILE_BYTES} bytes")
        with path.open("rb") as f:
            data = f.read(size + 1)
            if len(data) > size:  # it grew, or a device or pipe that reports no size: read on, to the limit
                data += f.read(MAX_PEN_FILE_BYTES + 1 - len(data))
        if len(data) > MAX_PEN_FILE_BYTES:
            raise PenDataTooLarge(f"{path} is over {MAX_PEN_FILE_BYTES} bytes; pen data is at most that")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidInput(f"cannot read pen data {path}: {err}") from None
    if path.suffix.lower() == ".json":
        return strokes_from_json(text, name=str(path))
    return read_svc2004(text, name=str(path))


def rasterize(
    strokes: Sequence[Stroke],
    *,
    long_side: int = 320,
    margin: int = 8,
    min_width: float = 1.0,
    max_width: float = 3.0,
) -> np.ndarray:
    """Draw strokes as dark ink on white paper: uint8 (H, W), the longer side of the ink ``long_side`` px.

    The drawing is scaled to a fixed size whatever the device's resolution, and each segment's
    width goes from ``min_width`` (no pressure) to ``max_width`` (full pressure).
    """
    arr = _check_strokes(strokes)
    lo = arr[:, :2].min(axis=0)
    with np.errstate(over="ignore"):
        span = float((arr[:, :2].max(axis=0) - lo).max())
    if not np.isfinite(span):
        raise InvalidInput("pen coordinates span too large a range to draw")
    with np.errstate(over="ignore", divide="ignore"):
        scale = (long_side - 1) / span if span > 0 else np.inf
    if not np.isfinite(scale):  # zero or a vanishingly small (subnormal) extent
        raise EmptySignature("the signature is a single dot")
    ext = np.ceil((arr[:, :2].max(axis=0) - lo) * scale).astype(int) + 1
    w, h = int(ext[0]) + 2 * margin, int(ext[1]) + 2 * margin
    shift = 4  # sub-pixel precision for cv2.line
    canvas = np.full((h, w), 255, dtype=np.uint8)
    for s in strokes:
        if not s.points:  # an empty stroke draws nothing (and would not index as (n, 3))
            continue
        pts = np.array([(p.x, p.y, p.pressure) for p in s.points], dtype=np.float64)
        xy = ((pts[:, :2] - lo) * scale + margin) * (1 << shift)
        xy = np.round(xy).astype(np.int64)
        widths = min_width + (max_width - min_width) * pts[:, 2]
        if len(pts) == 1:
            r = max(1, int(round(widths[0] / 2)))
            cv2.circle(canvas, (int(xy[0, 0]), int(xy[0, 1])), r << shift, 0, -1, cv2.LINE_AA, shift)
            continue
        for k in range(len(pts) - 1):
            thick = max(1, int(round((widths[k] + widths[k + 1]) / 2)))
            p0 = (int(xy[k, 0]), int(xy[k, 1]))
            p1 = (int(xy[k + 1, 0]), int(xy[k + 1, 1]))
            cv2.line(canvas, p0, p1, 0, thick, cv2.LINE_AA, shift)
    return canvas
