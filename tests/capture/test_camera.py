"""Cameras: a video file written here stands in for a webcam; a missing device fails clearly and at once."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.capture.camera import OpenCVCamera, grab_frame
from biometrix.core.errors import CameraUnavailable, InvalidInput


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def solid(rgb: tuple[int, int, int], h: int = 48, w: int = 64) -> np.ndarray:
    return np.full((h, w, 3), rgb, dtype=np.uint8)


def test_video_file_frames_come_back_as_rgb_in_order(tmp_path: Path) -> None:
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    video = write_video(tmp_path / "cam.avi", [solid(c) for c in colours])
    with OpenCVCamera(video) as cam:
        got = [cam.read() for _ in range(3)]
        assert cam.read() is None  # end of the file
    for frame, want in zip(got, colours, strict=True):
        assert frame is not None and frame.shape == (48, 64, 3) and frame.dtype == np.uint8
        # MJPG is lossy: the mean colour stays within a few levels, and the channel order is RGB
        np.testing.assert_allclose(frame.reshape(-1, 3).mean(0), want, atol=6)


def test_grab_frame_skips_the_first_frames(tmp_path: Path) -> None:
    video = write_video(tmp_path / "cam.avi", [solid((0, 0, 0)), solid((0, 0, 0)), solid((250, 250, 250))])
    assert grab_frame(video, skip=2).mean() > 240
    assert grab_frame(video, skip=10).mean() > 240  # past the end: the last frame read


def test_missing_camera_index_fails_at_once_with_a_clear_message() -> None:
    t0 = time.monotonic()
    with pytest.raises(CameraUnavailable, match="camera 97 cannot be opened"):
        OpenCVCamera(97)
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("content", [b"", b"this is not a video at all" * 10])
def test_unreadable_video_file_is_refused(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.avi"
    bad.write_bytes(content)
    with pytest.raises(CameraUnavailable, match="bad.avi"):
        with OpenCVCamera(bad) as cam:
            cam.read()


def test_missing_file_and_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailable, match="does not exist"):
        OpenCVCamera(tmp_path / "nope.avi")
    with pytest.raises(InvalidInput):
        OpenCVCamera(-1)
    with pytest.raises(InvalidInput):
        OpenCVCamera(True)  # type: ignore[arg-type]


def test_reading_after_close_is_an_error(tmp_path: Path) -> None:
    cam = OpenCVCamera(write_video(tmp_path / "c.avi", [solid((9, 9, 9))]))
    cam.close()
    with pytest.raises(CameraUnavailable, match="closed"):
        cam.read()
