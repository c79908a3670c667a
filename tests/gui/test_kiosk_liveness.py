"""The face kiosk with its liveness challenge on: a video file camera of a person turning their head as asked is
verified (and the outcome audited with the decision); a printed photo turned in front of it is refused."""

from __future__ import annotations

import math
import sqlite3
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.gui.context import AppContext
from biometrix.gui.kiosk import KioskWindow
from biometrix.gui.qt import Qt
from biometrix.gui.settings import GuiSettings
from tests.gui.conftest import ATT_ZIP, WAIT_MS, _require, shown

#: AT&T s2 turns both ways in its photos; its photos 1, 2, 4, 7 and 9 are near frontal (the references).
SUBJECT = 2


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture
def presentations(tmp_path: Path):
    """(enrolment photos, live video, print-attack video) for SUBJECT, the challenge being left then right."""
    from biometrix.evaluation.liveness import attack_frames, live_frames, live_order
    from biometrix.preprocess.liveness import Challenge, head_yaw
    from biometrix.runtime.face_detector import make_detector

    with zipfile.ZipFile(_require(ATT_ZIP)) as zf:
        photos = [cv2.cvtColor(cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{SUBJECT}/{n}.pgm"), np.uint8),
                                            cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB) for n in range(1, 11)]
    detector = make_detector("mtcnn")
    yaws = [head_yaw(f[0].landmarks5) if (f := detector.detect(p)) else math.inf for p in photos]
    challenge = Challenge(("left", "right"))
    order = live_order(yaws, challenge)
    assert order is not None
    front = photos[order[0][0]]
    # a long frontal start: the challenge begins while the customer still faces the camera
    live = [front] * 30 + live_frames(photos, order, frames_per_pose=15)
    attack = [front] * 30 + attack_frames(front, "perspective_move", challenge, frames_per_turn=15)
    return ([photos[i] for i in (0, 1, 3, 6, 8)], write_video(tmp_path / "live.avi", live),
            write_video(tmp_path / "print.avi", attack))


def test_the_kiosk_challenge_lets_a_turning_head_through_and_refuses_a_print(
        qtbot, gui_settings: GuiSettings, presentations, monkeypatch) -> None:
    from biometrix.preprocess import liveness

    monkeypatch.setattr(liveness.Challenge, "draw", classmethod(lambda cls, rng=None: cls(("left", "right"))))
    refs, live, attack = presentations
    settings = gui_settings.replace(kiosk_modality="face", kiosk_idle_s=600.0, kiosk_liveness="challenge",
                                    camera=str(live)).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 768))
    ctx = k.ctx
    try:
        done: list = []
        ctx.run(None, lambda bx: bx.enroll("att-2", faces=refs), on_success=done.append, on_error=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
        assert isinstance(done[0], list), done[0]
        labels, prompts = [], []
        for video in (live, attack):
            ctx.settings = ctx.settings.replace(camera=str(video))
            k.id_edit.setText("att-2")
            qtbot.mouseClick(k.next_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: k.camera.frame is not None, timeout=WAIT_MS)
            qtbot.mouseClick(k.camera.capture_button, Qt.MouseButton.LeftButton)
            qtbot.waitUntil(lambda: k.liveness is not None or k.screen_name == "result", timeout=WAIT_MS)
            qtbot.waitUntil(lambda: k.screen_name == "result", timeout=WAIT_MS)
            prompts.append(k.prompt.text())
            labels.append(k.last_label)
            qtbot.mouseClick(k.done_button, Qt.MouseButton.LeftButton)
        assert labels == ["Accept", "Reject"], prompts
        with sqlite3.connect(settings.db_path) as conn:
            rows = conn.execute("SELECT decision, json_extract(details, '$.liveness.outcome'), distance FROM audit_log "
                                "WHERE event = 'verify' ORDER BY rowid").fetchall()
        assert [r[:2] for r in rows] == [("accept", "pass"), ("reject", "fail")]
        assert rows[1][2] is None  # the print was never compared with the references
    finally:
        k.unlock_and_close()
        ctx.shutdown()


def test_the_liveness_setting_is_checked() -> None:
    from biometrix.core.errors import InvalidInput

    assert GuiSettings().kiosk_liveness == "off"  # off unless a kiosk is set to challenge
    with pytest.raises(InvalidInput, match="kiosk_liveness must be one of off, challenge"):
        GuiSettings(kiosk_liveness="on")


def test_the_kiosk_catalogue_holds_every_liveness_text_the_check_shows() -> None:
    """The kiosk translates the check's prompts through its catalogue list: it holds exactly what the check says."""
    from biometrix.gui.kiosk import LIVENESS_TEXTS
    from biometrix.preprocess.liveness import LIVENESS_MESSAGES, PROMPTS

    shown = {"Look straight at the camera", *PROMPTS.values(), *LIVENESS_MESSAGES.values()}
    assert set(LIVENESS_TEXTS) == shown
