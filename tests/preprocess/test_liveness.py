"""Liveness: the head-turn challenge and the flat-picture check, on a 3-D head model, on real AT&T photos in
different poses (live) and on one photo moved, tilted, scaled or turned in perspective (attacks), also played
from a video file through the camera layer."""

from __future__ import annotations

import math
import random
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.preprocess.face_detect import Detection
from biometrix.preprocess.liveness import (
    Challenge,
    LivenessConfig,
    LivenessSession,
    head_yaw,
    planar_residual,
    play,
)

REPO = Path(__file__).resolve().parents[2]
ATT_ZIP = REPO.parent / "shared" / "data" / "att_faces" / "att_faces.zip"

#: A head in eye distances: eyes, nose tip (in front of the eye plane), mouth corners; x right, y down, z away.
HEAD = np.array([[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.55, -0.6], [-0.4, 1.05, -0.05], [0.4, 1.05, -0.05]])


def project(points: np.ndarray, yaw_degrees: float, *, shift: float = 0.0) -> np.ndarray:
    """The landmarks of ``points`` turned by ``yaw_degrees`` (> 0: towards the image's right, the customer's
    left) seen by a camera 8 eye distances away, 100 px per eye distance."""
    t = math.radians(yaw_degrees)
    rot = np.array([[math.cos(t), 0, -math.sin(t)], [0, 1, 0], [math.sin(t), 0, math.cos(t)]])
    p = points @ rot.T
    z = p[:, 2] + 8.0
    return np.stack([100 * 8 * p[:, 0] / z + 200 + shift, 100 * 8 * p[:, 1] / z + 150], axis=1)


def det(marks: np.ndarray) -> Detection:
    lo, hi = marks.min(axis=0) - 40, marks.max(axis=0) + 40
    return Detection(bbox=(*lo, *hi), landmarks5=marks, score=0.99)


def feed_all(session: LivenessSession, frames: list[np.ndarray | None], fps: float = 10.0):
    for i, marks in enumerate(frames):
        session.feed(None if marks is None else det(marks), i / fps)
    return session.finish()


# --- the geometry, against independent oracles ------------------------------------------------------------------

def test_a_homography_of_the_landmarks_leaves_no_residual_and_a_turned_head_does() -> None:
    front = project(HEAD, 0)
    h = np.array([[0.9, 0.1, 12.0], [-0.05, 1.1, -7.0], [3e-4, -2e-4, 1.0]])
    mapped = cv2.perspectiveTransform(front[None], h)[0]
    assert planar_residual(front, mapped) < 1e-6
    # the nose of a head turned 20 degrees is off the plane of the eyes and mouth by sin(20) x 0.6 eye distances
    assert planar_residual(front, project(HEAD, 20)) > 0.1
    assert head_yaw(project(HEAD, 20)) > 0.15 > head_yaw(front) + 0.1
    with pytest.raises(InvalidInput):
        planar_residual(front[:4], mapped[:4])


def test_the_order_is_drawn_per_attempt_and_checked() -> None:
    rng = random.Random(7)
    orders = {Challenge.draw(rng).turns for _ in range(40)}
    assert orders == {("left", "right"), ("right", "left")}
    with pytest.raises(InvalidInput):
        Challenge(("up",))
    with pytest.raises(InvalidInput):
        LivenessConfig(frontal=0.3, min_turn=0.2)


def test_a_head_that_turns_as_asked_passes_and_one_that_turns_the_wrong_way_fails() -> None:
    challenge = Challenge(("left", "right"))
    turn = [project(HEAD, a) for a in (0, 0, 8, 16, 24, 16, 8, 0, -8, -16, -24)]
    result = feed_all(LivenessSession(challenge), turn)
    assert result.passed and result.reason == "passed" and result.done == ("left", "right")
    assert result.frontal_frame == 0 and result.parallax > 0.1
    wrong = feed_all(LivenessSession(Challenge(("right", "left"))), turn)
    assert not wrong.passed and wrong.reason == "wrong_direction"


def test_a_flat_face_turned_in_perspective_fails_however_far_it_turns() -> None:
    front = project(HEAD, 0)
    flat = np.column_stack([HEAD[:, :2], np.zeros(5)])  # the same face printed on a card
    frames = [project(flat, a) for a in (0, 10, 20, 30, 40, 50, 60, 0, -20, -40, -60)]
    # a printed card turned far enough does move the nose off the eye midpoint (perspective), yet fits a homography
    assert max(abs(head_yaw(f)) for f in frames) < 0.2 or all(planar_residual(frames[0], f) < 1e-6 for f in frames)
    result = feed_all(LivenessSession(Challenge(("left", "right")), config=LivenessConfig(time_limit_s=0.5)),
                      frames + [front] * 5)
    assert not result.passed and result.reason in ("timeout", "flat_motion")


def test_time_limit_a_face_that_jumps_and_no_frontal_start_fail() -> None:
    slow = [project(HEAD, 0)] * 30 + [project(HEAD, 24), project(HEAD, -24)]
    assert feed_all(LivenessSession(Challenge(("left", "right")), config=LivenessConfig(time_limit_s=2.0)),
                    slow).reason == "timeout"
    jump = [project(HEAD, 0), project(HEAD, 0, shift=300), project(HEAD, 24), project(HEAD, -24)]
    assert feed_all(LivenessSession(Challenge(("left", "right"))), jump).reason == "face_lost"
    turned = [project(HEAD, 20)] * 5
    assert feed_all(LivenessSession(Challenge(("left", "right"))), turned).reason == "not_frontal"
    assert feed_all(LivenessSession(Challenge(("left", "right"))), [None] * 5).reason == "face_lost"


def frames_of(camera):
    """The frames of a video-file camera, to its end."""
    while (frame := camera.read()) is not None:
        yield frame


# --- real photos ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def att():
    if not ATT_ZIP.is_file():
        pytest.skip(f"{ATT_ZIP} is absent (the shared data sets live in ../shared/data beside the repository)")
    from biometrix.runtime.face_detector import make_detector

    detector = make_detector("mtcnn")
    zf = zipfile.ZipFile(ATT_ZIP)

    def photos(subject: int) -> list[np.ndarray]:
        return [cv2.cvtColor(cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{subject}/{n}.pgm"), np.uint8),
                                          cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB) for n in range(1, 11)]

    def find_face(rgb: np.ndarray) -> Detection | None:
        found = detector.detect(rgb)
        return max(found, key=lambda d: d.width * d.height) if found else None

    yield photos, find_face
    zf.close()


#: AT&T subjects whose ten photos include a frontal one and turns of at least min_turn (s1: both sides).
LIVE_SUBJECTS = (1, 2, 4)


@pytest.mark.parametrize("subject", LIVE_SUBJECTS)
@pytest.mark.parametrize("turns", [("left", "right"), ("right", "left")])
def test_real_photos_of_a_turning_person_pass_and_one_photo_moved_like_a_print_fails(att, subject, turns) -> None:
    from biometrix.evaluation.liveness import ATTACKS, attack_frames, live_frames, live_order

    photos_of, find_face = att
    photos = photos_of(subject)
    challenge = Challenge(turns)
    yaws = [head_yaw(d.landmarks5) if (d := find_face(p)) is not None else math.inf for p in photos]
    order = live_order(yaws, challenge)
    assert order is not None
    live = play(live_frames(photos, order), find_face, challenge, fps=10)
    assert live.result.passed, live.result
    assert live.frontal is not None and np.array_equal(live.frontal, photos[order[0][0]])
    for kind in ATTACKS:
        attack = play(attack_frames(photos[order[0][0]], kind, challenge), find_face, challenge, fps=10)
        assert not attack.result.passed, (kind, attack.result)
        assert attack.result.parallax < LivenessConfig().min_parallax, (kind, attack.result)


def test_a_video_file_camera_plays_a_live_person_and_a_print(att, tmp_path: Path) -> None:
    from biometrix.capture.camera import OpenCVCamera
    from biometrix.evaluation.liveness import attack_frames, live_frames, live_order

    photos_of, find_face = att
    photos = photos_of(2)
    challenge = Challenge(("right", "left"))
    yaws = [head_yaw(d.landmarks5) if (d := find_face(p)) is not None else math.inf for p in photos]
    order = live_order(yaws, challenge)
    assert order is not None
    outcomes = {}
    for name, frames in (("live", live_frames(photos, order)),
                         ("print", attack_frames(photos[order[0][0]], "perspective_move", challenge))):
        path = tmp_path / f"{name}.avi"
        h, w = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
        writer.release()
        with OpenCVCamera(path) as cam:
            outcomes[name] = play(frames_of(cam), find_face, challenge, fps=10).result
    assert outcomes["live"].passed, outcomes["live"]
    assert not outcomes["print"].passed and outcomes["print"].reason in ("timeout", "flat_motion")
