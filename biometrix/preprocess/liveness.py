"""Face liveness (presentation-attack detection): a head-turn challenge followed on tracked landmarks, and a
geometric check that the face moved like a head, not like a flat picture.

The customer is asked to turn the head to one side and then the other, in an order drawn at random for each
attempt (``Challenge.draw``), within a time limit. ``LivenessSession`` is fed one face detection (or None) per
camera frame and its time; it follows the head's yaw from the five landmarks (the nose's offset from the eye
midpoint along the eye line, over the eye distance, as ``quality.face_measures``) and ends passed or failed,
with a reason code (``LIVENESS_REASONS``).

The geometric check: the five landmarks of a flat picture (a print, a phone screen) moved, tilted, scaled or
seen in perspective are images of five points on one plane, so any frame's landmarks are those of the first
(frontal) frame mapped by one homography, up to the detector's noise. On a head the nose tip stands out of the
plane of the eyes and mouth corners by about half the eye distance, so when the head turns the five points no
longer fit one homography. ``planar_residual`` fits a homography (``cv2.findHomography``) to every four of the
five correspondences -- with five points, an exhaustive RANSAC -- and returns the smallest reprojection error
of the point left out, over the eye distance. A turn is only counted when that residual reaches
``min_parallax``.

What this does not stop: a video of the customer turning their head (a replay that happens to follow the
order), a mask, or a photo bent around a curve; it is not a certified presentation-attack detector
(docs/security.md).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_detect import Detection

#: The customer's own left / right. With an unmirrored camera the customer's left is the image's right, where
#: the nose moves (yaw > 0) when they turn to their left.
DIRECTIONS = ("left", "right")
LIVENESS_REASONS = ("passed", "wrong_direction", "flat_motion", "timeout", "face_lost", "not_frontal")
#: What each outcome tells the customer (a kiosk shows it; the audit keeps the code).
LIVENESS_MESSAGES = {
    "passed": "thank you",
    "wrong_direction": "the head was turned the other way; please try again",
    "flat_motion": "the movement did not look like a real head turning; please see a member of staff",
    "timeout": "the head was not turned in time; please try again",
    "face_lost": "the face left the camera's view; please try again",
    "not_frontal": "please look straight at the camera first",
}
PROMPTS = {"left": "Slowly turn your head to your LEFT", "right": "Slowly turn your head to your RIGHT"}


@dataclass(frozen=True)
class LivenessConfig:
    """The cuts of the challenge, chosen on AT&T s1-s30 (development): 31 real turns of at least ``min_turn``
    (photos and their mirror images) had planar residuals of 0.168 or more (median 0.238) against the
    subject's frontal photo; 1,800 frames of frontal photos moved, tilted, scaled and turned in perspective by
    up to 40 degrees had at most 0.144 (median 0.031) and never a yaw over 0.16, below ``min_turn``
    (``python bench/liveness.py --residuals``).

    ``min_turn``: |yaw| a turn must reach (nose offset over eye distance; 0.2 is roughly 15 degrees of head
    turn); ``frontal``: |yaw| at most for the first frame; ``min_parallax``: the planar residual (eye
    distances) a turned frame must show against the frontal one; ``time_limit_s``: for the whole challenge;
    ``max_jump``: the largest move of the eye midpoint between two consecutive detections, in
    eye distances (a bigger one means another face or a cut)."""

    min_turn: float = 0.2
    frontal: float = 0.12
    min_parallax: float = 0.15
    time_limit_s: float = 12.0
    max_jump: float = 3.0

    def __post_init__(self) -> None:
        for name in ("min_turn", "frontal", "min_parallax", "time_limit_s", "max_jump"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value <= 0:
                raise InvalidInput(f"liveness {name} must be a positive number, got {value!r}")
        if self.frontal >= self.min_turn:
            raise InvalidInput(f"liveness frontal ({self.frontal}) must be below min_turn ({self.min_turn})")


@dataclass(frozen=True)
class Challenge:
    """The head turns asked of the customer, in order (each "left" or "right")."""

    turns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.turns or any(t not in DIRECTIONS for t in self.turns):
            raise InvalidInput(f"a challenge is a non-empty sequence of {DIRECTIONS}, got {self.turns!r}")

    @classmethod
    def draw(cls, rng: random.Random | None = None) -> Challenge:
        """Left then right, or right then left, drawn with ``rng`` (a fresh system-seeded one by default)."""
        order = list(DIRECTIONS)
        (rng or random.SystemRandom()).shuffle(order)
        return cls(tuple(order))


@dataclass(frozen=True)
class LivenessResult:
    """How a challenge ended: ``passed``, the reason code, the turns asked and done, the largest planar residual
    seen on a turned frame, the challenge's duration (seconds of frame time) and the frames seen."""

    passed: bool
    reason: str
    turns: tuple[str, ...]
    done: tuple[str, ...]
    parallax: float
    elapsed_s: float
    frames: int
    frontal_frame: int | None = None

    @property
    def message(self) -> str:
        return LIVENESS_MESSAGES[self.reason]

    def summary(self) -> dict[str, object]:
        """The result as JSON-ready values, for the audit row."""
        return {"outcome": "pass" if self.passed else "fail", "reason": self.reason, "turns": list(self.turns),
                "done": list(self.done), "parallax": round(self.parallax, 4), "elapsed_s": round(self.elapsed_s, 3),
                "frames": self.frames}


def head_yaw(landmarks5: np.ndarray) -> float:
    """The nose's offset from the eye midpoint along the eye line, over the eye distance (0 facing the camera,
    > 0 nose towards the image's right); inf when the eyes coincide."""
    marks = np.asarray(landmarks5, dtype=np.float64)
    eye_line = marks[1] - marks[0]
    dist = float(np.hypot(*eye_line))
    if dist <= 1e-6:
        return math.inf
    return float(np.dot(marks[2] - (marks[0] + marks[1]) / 2, eye_line / dist) / dist)


def planar_residual(reference: np.ndarray, moved: np.ndarray) -> float:
    """How far five landmark correspondences are from one homography, in eye distances of ``reference``: for each
    four of the five points, the homography through them (``cv2.findHomography``) and the reprojection error of
    the fifth; the smallest such error (near 0 for a flat picture, the nose's parallax for a turning head)."""
    src = np.asarray(reference, dtype=np.float64).reshape(-1, 2)
    dst = np.asarray(moved, dtype=np.float64).reshape(-1, 2)
    if src.shape != (5, 2) or dst.shape != (5, 2) or not (np.isfinite(src).all() and np.isfinite(dst).all()):
        raise InvalidInput(f"planar_residual needs two finite (5, 2) landmark sets, got {src.shape}, {dst.shape}")
    scale = float(np.hypot(*(src[1] - src[0])))
    if scale <= 1e-6:
        raise InvalidInput("planar_residual: the reference eyes are at one place")
    best = math.inf
    for out in range(5):
        keep = [i for i in range(5) if i != out]
        h, _ = cv2.findHomography(src[keep], dst[keep], 0)
        if h is None:
            continue
        p = h @ np.array([src[out, 0], src[out, 1], 1.0])
        if abs(p[2]) < 1e-12:
            continue
        best = min(best, float(np.hypot(*(p[:2] / p[2] - dst[out]))) / scale)
    return best


class LivenessSession:
    """One attempt: feed it ``(detection or None, time in seconds)`` per frame until ``result`` is set.

    The first frame with a face must look at the camera (|yaw| <= ``frontal``): it is the reference, and the
    photo to verify (``result.frontal_frame``). Then each asked turn must reach ``min_turn`` on the asked side
    with a planar residual of at least ``min_parallax`` against the reference; a turn past ``min_turn`` to the
    other side fails (a replayed video rarely follows a freshly drawn order; holding the turn just made is
    fine), and so does running out of time or a jump of the face between frames."""

    def __init__(self, challenge: Challenge, *, config: LivenessConfig | None = None) -> None:
        self.challenge = challenge
        self.config = config or LivenessConfig()
        self.result: LivenessResult | None = None
        self._reference: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._t0: float | None = None
        self._t = 0.0
        self._done: list[str] = []
        self._parallax = 0.0
        self._frames = 0
        self._frontal_frame: int | None = None

    @property
    def frontal_frame(self) -> int | None:
        """The index of the reference frame (the first frontal one), once seen."""
        return self._frontal_frame

    @property
    def prompt(self) -> str:
        """What to show the customer now."""
        if self.result is not None:
            return LIVENESS_MESSAGES[self.result.reason]
        if self._reference is None:
            return "Look straight at the camera"
        return PROMPTS[self.challenge.turns[len(self._done)]]

    def feed(self, detection: Detection | None, t: float) -> LivenessResult | None:
        """One frame's face (the subject's detection, or None when no face was found) at time ``t`` s."""
        if self.result is not None:
            return self.result
        index, self._frames = self._frames, self._frames + 1
        if self._t0 is None:
            self._t0 = t
        self._t = t
        if t - self._t0 > self.config.time_limit_s:
            return self._finish("timeout")
        if detection is None:
            return None
        marks = np.asarray(detection.landmarks5, dtype=np.float64)
        yaw = head_yaw(marks)
        if not math.isfinite(yaw):
            return None
        if self._last is not None and _jump(self._last, marks) > self.config.max_jump:
            return self._finish("face_lost")
        self._last = marks
        if self._reference is None:
            if abs(yaw) <= self.config.frontal:
                self._reference, self._frontal_frame = marks, index
            return None
        wanted = self.challenge.turns[len(self._done)]
        side = "left" if yaw > 0 else "right"
        if abs(yaw) < self.config.min_turn:
            return None
        if side != wanted:
            if self._done and side == self._done[-1]:
                return None  # still turned the way just asked: waiting for the next turn
            return self._finish("wrong_direction")
        residual = planar_residual(self._reference, marks)
        self._parallax = max(self._parallax, residual)
        if residual < self.config.min_parallax:
            return None  # turned, but like a picture: keep watching until the time runs out
        self._done.append(wanted)
        if len(self._done) == len(self.challenge.turns):
            return self._finish("passed")
        return None

    def finish(self) -> LivenessResult:
        """End the attempt now (no more frames): the result so far, ``timeout`` or ``flat_motion`` if unfinished."""
        return self.result if self.result is not None else self._finish(self._unfinished_reason())

    def _unfinished_reason(self) -> str:
        if self._reference is None:
            return "not_frontal" if self._last is not None else "face_lost"
        return "flat_motion" if 0 < self._parallax < self.config.min_parallax else "timeout"

    def _finish(self, reason: str) -> LivenessResult:
        if reason == "timeout" and 0 < self._parallax < self.config.min_parallax:
            reason = "flat_motion"  # the turns were made, but by a flat thing
        self.result = LivenessResult(
            passed=reason == "passed", reason=reason, turns=self.challenge.turns, done=tuple(self._done),
            parallax=self._parallax, elapsed_s=self._t - (self._t0 if self._t0 is not None else self._t),
            frames=self._frames, frontal_frame=self._frontal_frame)
        return self.result


def _jump(a: np.ndarray, b: np.ndarray) -> float:
    """The move of the eye midpoint from ``a`` to ``b``, in ``a``'s eye distances."""
    dist = float(np.hypot(*(a[1] - a[0])))
    return math.inf if dist <= 1e-6 else float(np.hypot(*((b[0] + b[1]) / 2 - (a[0] + a[1]) / 2))) / dist


@dataclass(frozen=True)
class PlayedChallenge:
    """A challenge played on a sequence of frames: the result and the frame to verify (the frontal one)."""

    result: LivenessResult
    frontal: np.ndarray | None = field(default=None, repr=False)


def play(frames: Iterable[np.ndarray], find_face: Callable[[np.ndarray], Detection | None], challenge: Challenge,
         *, fps: float, config: LivenessConfig | None = None) -> PlayedChallenge:
    """Run ``challenge`` on ``frames`` (a video file, a test sequence) taken ``fps`` frames a second apart;
    ``find_face(frame)`` gives the subject's detection or None. Stops at the result or at the last frame."""
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and fps > 0):
        raise InvalidInput(f"fps must be a positive number, got {fps!r}")
    session = LivenessSession(challenge, config=config)
    frontal = None
    for i, frame in enumerate(frames):
        session.feed(find_face(frame), i / fps)
        if session.frontal_frame == i:
            frontal = frame
        if session.result is not None:
            break
    return PlayedChallenge(session.finish(), frontal)


def sequences_for(yaws: Sequence[float], challenge: Challenge, *, config: LivenessConfig | None = None
                  ) -> list[int] | None:
    """An order of photo indices (one person's photos, their yaws) that performs ``challenge``: the most frontal
    photo, then the furthest-turned photo of each asked side; None when the photos hold no such turn."""
    cfg = config or LivenessConfig()
    idx = list(range(len(yaws)))
    front = min(idx, key=lambda i: abs(yaws[i]))
    if abs(yaws[front]) > cfg.frontal:
        return None
    order = [front]
    for turn in challenge.turns:
        side = [i for i in idx if (yaws[i] > 0) == (turn == "left") and abs(yaws[i]) >= cfg.min_turn]
        if not side:
            return None
        order.append(max(side, key=lambda i: abs(yaws[i])))
    return order


__all__ = ["DIRECTIONS", "LIVENESS_REASONS", "Challenge", "LivenessConfig", "LivenessResult", "LivenessSession",
           "PlayedChallenge", "head_yaw", "planar_residual", "play", "sequences_for"]
