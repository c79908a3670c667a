"""Liveness in the service: a head-turn challenge played on camera frames through the service's face detector."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from biometrix.preprocess.liveness import (
    Challenge,
    LivenessConfig,
    LivenessResult,
    LivenessSession,
)
from biometrix.runtime.pipelines import FacePipeline

#: A kiosk's liveness setting: "off" (a photo of the face is taken as it is) or "challenge" (head turns).
LIVENESS_MODES = ("off", "challenge")


class LivenessCheck:
    """One liveness attempt on live frames: ``feed(frame)`` each camera frame (RGB) until ``result`` is set;
    ``prompt`` is what to show the customer, ``frontal`` the frame to verify once it passed.

    Faces are found by the face pipeline's detector without the quality gate (a turned head is what is asked
    for); times come from ``clock`` (seconds) unless ``feed`` is given one."""

    def __init__(self, pipeline: FacePipeline, *, challenge: Challenge | None = None,
                 config: LivenessConfig | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.session = LivenessSession(challenge or Challenge.draw(), config=config)
        self._pipeline, self._clock = pipeline, clock
        self.frontal: np.ndarray | None = None
        self._index = 0

    @property
    def prompt(self) -> str:
        return self.session.prompt

    @property
    def result(self) -> LivenessResult | None:
        return self.session.result

    def feed(self, frame: np.ndarray, t: float | None = None) -> LivenessResult | None:
        """One RGB frame (taken at ``t`` s; now by default) -> the result once the attempt has ended, else None."""
        if self.session.result is not None:
            return self.session.result
        index, self._index = self._index, self._index + 1
        result = self.session.feed(self._pipeline.find_face(frame), self._clock() if t is None else t)
        if self.session.frontal_frame == index:
            self.frontal = np.array(frame, copy=True)
        return result

    def finish(self) -> LivenessResult:
        """End the attempt now (the customer left, the screen was reset)."""
        return self.session.finish()
