"""Cameras: a webcam by index, or a video file standing in for one, read frame by frame as RGB arrays."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from biometrix.core.errors import CameraUnavailable, InvalidInput

log = logging.getLogger(__name__)

#: How many consecutive empty reads from an opened camera count as "the camera stopped delivering".
MAX_EMPTY_READS = 30


class Camera(Protocol):
    """What the app needs from a camera: RGB frames, and a way to let the device go."""

    def read(self) -> np.ndarray | None:
        """The next frame, uint8 (H, W, 3) RGB; None at the end of a video file."""
        ...

    def close(self) -> None: ...


class OpenCVCamera:
    """A camera opened through OpenCV: ``source`` is a device index (0 = the first webcam) or a video file.

    Use as a context manager; opening fails at once with ``CameraUnavailable`` (no device at that index,
    a device in use, a missing or unreadable video file). ``size`` asks the device for a frame size
    (width, height); a device may deliver another one. Frames are returned as RGB, like every image in
    the app. A live camera that opens but then delivers nothing (unplugged, busy) raises
    ``CameraUnavailable`` after ``MAX_EMPTY_READS`` failed reads; a video file returns None at its end.
    """

    def __init__(self, source: int | str | os.PathLike[str], *, size: tuple[int, int] | None = None) -> None:
        if isinstance(source, bool) or not isinstance(source, (int, str, os.PathLike)):
            raise InvalidInput(f"a camera is a device index or a video file path, got {source!r}")
        self.is_file = not isinstance(source, int)
        if isinstance(source, int) and source < 0:
            raise InvalidInput(f"a camera index must be 0 or more, got {source}")
        self.source = source
        self.description = f"video file {source}" if self.is_file else f"camera {source}"
        if self.is_file and not Path(source).is_file():
            raise CameraUnavailable(f"{self.description} does not exist")
        self._cap = cv2.VideoCapture(str(source) if self.is_file else source)
        if not self._cap.isOpened():
            self._cap.release()
            hint = "" if self.is_file else " (is a camera connected and not used by another program?)"
            raise CameraUnavailable(f"{self.description} cannot be opened{hint}")
        if size is not None and not self.is_file:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self.frames_read = 0
        log.info("opened %s", self.description)

    def read(self) -> np.ndarray | None:
        """The next frame as uint8 (H, W, 3) RGB; None at the end of a video file."""
        if self._cap is None:
            raise CameraUnavailable(f"{self.description} is closed")
        for _ in range(1 if self.is_file else MAX_EMPTY_READS):
            ok, frame = self._cap.read()
            if ok and frame is not None and frame.size:
                self.frames_read += 1
                if frame.ndim == 2:
                    return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
                return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        if self.is_file:
            if self.frames_read == 0:
                raise CameraUnavailable(f"{self.description} holds no readable video frame")
            return None
        raise CameraUnavailable(f"{self.description} stopped delivering frames")

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __enter__(self) -> OpenCVCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def grab_frame(source: int | str | os.PathLike[str], *, skip: int = 0) -> np.ndarray:
    """One RGB frame from a camera or video file, after discarding ``skip`` frames (a webcam's first
    frames are often dark while its exposure settles)."""
    with OpenCVCamera(source) as cam:
        frame = None
        for _ in range(skip + 1):
            nxt = cam.read()
            if nxt is None:
                break
            frame = nxt
        if frame is None:
            raise CameraUnavailable(f"{cam.description} delivered no frame")
        return frame
