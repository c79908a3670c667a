"""Liveness test presentations built from still face photos: live ones from one person's photos in different
poses, attacks from one photo moved, tilted, scaled or turned in perspective like a print or a screen.

No video of real attacks is available, so these are stand-ins: a "live" sequence is a person's real photos
in the order the challenge asks (the most frontal, then the furthest turned to each side; a side the person
never turned to in their photos is their turned photo mirrored, a real head's geometry seen from the other
side), and an "attack" is a single frontal photo warped frame by frame as a hand would move a print or a
phone. They show that the checks tell these two apart, not how a certified PAD evaluation would rate them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.liveness import Challenge, LivenessConfig

#: The kinds of single-photo attack ``attack_frames`` builds.
ATTACKS = ("move", "tilt", "scale", "perspective", "perspective_move")


def _warp(img: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def turned_plane(width: int, height: int, degrees: float, *, distance: float = 2.0) -> np.ndarray:
    """The homography of a flat picture ``width`` x ``height`` turned by ``degrees`` about its vertical axis,
    seen by a pinhole camera ``distance`` picture-widths away (unchanged at 0 degrees)."""
    theta = math.radians(degrees)
    f = distance * width
    cx, cy = width / 2, height / 2
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    out = []
    for x, y in corners:
        xc, yc = x - cx, y - cy
        z = xc * math.sin(theta) + f
        out.append([f * xc * math.cos(theta) / z + cx, f * yc / z + cy])
    return cv2.getPerspectiveTransform(corners, np.float32(out))


def attack_frames(photo: np.ndarray, kind: str, challenge: Challenge, *, frames_per_turn: int = 6) -> list[np.ndarray]:
    """A frontal ``photo`` held still, then moved as ``kind`` says in the challenge's rhythm: ``move`` (slid
    sideways towards each asked side), ``tilt`` (rotated in the image plane by 20 degrees each way), ``scale``
    (brought 25 % closer and taken away), ``perspective`` (the print turned 40 degrees about its vertical axis
    towards each asked side) or ``perspective_move`` (turned and slid)."""
    if kind not in ATTACKS:
        raise InvalidInput(f"unknown attack {kind!r} (known: {', '.join(ATTACKS)})")
    h, w = photo.shape[:2]
    frames = [photo.copy() for _ in range(frames_per_turn)]
    for turn in challenge.turns:
        sign = 1.0 if turn == "left" else -1.0
        for k in range(1, frames_per_turn + 1):
            a = k / frames_per_turn
            m = np.eye(3)
            if kind in ("move", "perspective_move"):
                m = np.array([[1, 0, sign * 0.2 * w * a], [0, 1, 0], [0, 0, 1]]) @ m
            if kind == "tilt":
                m = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), sign * 20 * a, 1.0), [0, 0, 1]])
            if kind == "scale":
                s = 1 + 0.25 * a * (1 if turn == challenge.turns[0] else -1)
                m = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), 0, s), [0, 0, 1]])
            if kind in ("perspective", "perspective_move"):
                m = m @ turned_plane(w, h, sign * 40 * a)
            frames.append(_warp(photo, m))
    return frames


def live_order(yaws: Sequence[float], challenge: Challenge, *, config: LivenessConfig | None = None,
               mirrored: Sequence[float] | None = None) -> list[tuple[int, bool]] | None:
    """(photo index, mirrored) in the order that performs ``challenge`` with one person's photos: the most
    frontal, then for each asked side the photo turned furthest to it, or the one turned furthest to the other
    side mirrored; None when the photos hold no frontal one or no turn of at least ``min_turn``. ``mirrored``:
    each photo's yaw measured on its mirror image (the detector's landmarks are not symmetric, so it is not
    exactly ``-yaw``); a mirrored photo is used only when that reaches ``min_turn``."""
    cfg = config or LivenessConfig()
    flipped = list(mirrored) if mirrored is not None else [-y for y in yaws]
    idx = [i for i in range(len(yaws)) if math.isfinite(yaws[i])]
    if not idx:
        return None
    front = min(idx, key=lambda i: abs(yaws[i]))
    if abs(yaws[front]) > cfg.frontal:
        return None
    order = [(front, False)]
    for turn in challenge.turns:
        same = [i for i in idx if (yaws[i] > 0) == (turn == "left") and abs(yaws[i]) >= cfg.min_turn]
        other = [i for i in idx if math.isfinite(flipped[i]) and (flipped[i] > 0) == (turn == "left")
                 and abs(flipped[i]) >= cfg.min_turn]
        if same:
            order.append((max(same, key=lambda i: abs(yaws[i])), False))
        elif other:
            order.append((max(other, key=lambda i: abs(flipped[i])), True))
        else:
            return None
    return order


def live_frames(photos: Sequence[np.ndarray], order: Sequence[tuple[int, bool]], *, frames_per_pose: int = 6
                ) -> list[np.ndarray]:
    """The photos of ``live_order`` as a frame sequence, each held for ``frames_per_pose`` frames, with the
    frontal photo again between two turns (a head passes the front on its way from one side to the other)."""
    out = []
    front = photos[order[0][0]]
    for k, (i, mirrored) in enumerate(order):
        if k > 1:
            out += [front.copy() for _ in range(frames_per_pose)]
        img = cv2.flip(photos[i], 1) if mirrored else photos[i]
        out += [img.copy() for _ in range(frames_per_pose)]
    return out
