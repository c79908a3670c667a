"""Kiosk mode: idle reset, the supervisor PIN, signature verification by a customer, launch refusals."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import BiometrixError
from biometrix.gui.app import LaunchOptions, make_context, make_window
from biometrix.gui.context import AppContext
from biometrix.gui.kiosk import KioskWindow, PinDialog
from biometrix.gui.qt import Qt
from biometrix.gui.settings import GuiSettings
from tests.gui.conftest import WAIT_MS, draw_on_pad, shown


@pytest.fixture
def kiosk(qtbot, gui_settings: GuiSettings):
    settings = gui_settings.replace(kiosk_idle_s=0.4, kiosk_modality="signature").with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 768))
    yield k
    k.unlock_and_close()
    k.ctx.shutdown()


def test_idle_resets_to_the_first_screen(kiosk, qtbot) -> None:
    kiosk.id_edit.setText("12345")
    qtbot.mouseClick(kiosk.next_button, Qt.MouseButton.LeftButton)
    assert kiosk.screen_name == "capture"
    qtbot.mouseClick(kiosk.pad, Qt.MouseButton.LeftButton)
    assert not kiosk.pad.is_empty
    qtbot.waitUntil(lambda: kiosk.screen_name == "start", timeout=10_000)
    assert kiosk.id_edit.text() == "" and kiosk.pad.is_empty


def test_activity_postpones_the_reset(kiosk, qtbot) -> None:
    kiosk.ctx.settings = kiosk.ctx.settings.replace(kiosk_idle_s=1.5)
    kiosk.id_edit.setText("1")
    kiosk.to_capture()
    for _ in range(4):  # 4 x 0.5 s of activity: longer than the timeout, yet no reset
        qtbot.wait(500)
        qtbot.mouseClick(kiosk.pad, Qt.MouseButton.LeftButton)
        assert kiosk.screen_name == "capture"
    qtbot.waitUntil(lambda: kiosk.screen_name == "start", timeout=10_000)


def test_leaving_needs_the_pin(kiosk, qtbot) -> None:
    kiosk.close()
    assert kiosk.isVisible()  # refused without the PIN
    qtbot.keyClick(kiosk, Qt.Key.Key_Escape)
    assert kiosk.isVisible()
    dialog = PinDialog(kiosk.ctx, kiosk)
    qtbot.addWidget(dialog)
    assert not dialog.try_unlock("1111") and dialog.status.text() == "Wrong PIN."
    assert dialog.try_unlock("2468")
    kiosk.unlock_and_close()
    assert not kiosk.isVisible()


def test_keypad_large_targets(kiosk) -> None:
    from biometrix.gui.kiosk import TOUCH_HEIGHT

    assert kiosk.next_button.minimumHeight() >= TOUCH_HEIGHT


def test_kiosk_needs_a_pin(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("BIOMETRIX_KIOSK_PIN", raising=False)
    ctx = make_context(LaunchOptions(kiosk=True, settings_path=str(tmp_path / "none.json")))
    with pytest.raises(BiometrixError, match="PIN"):
        make_window(ctx, kiosk=True)
    monkeypatch.setenv("BIOMETRIX_KIOSK_PIN", "9876")
    ctx = make_context(LaunchOptions(kiosk=True, settings_path=str(tmp_path / "none.json")))
    assert ctx.settings.pin_matches("9876")
    assert not (tmp_path / "none.json").exists()  # a PIN from the environment is never written


def test_customer_signs_and_sees_the_result(kiosk, qtbot, stylus, svc_strokes) -> None:
    kiosk.ctx.settings = kiosk.ctx.settings.replace(kiosk_idle_s=600.0)
    done = []
    kiosk.ctx.run(None, lambda bx: bx.enroll("777", signatures=[svc_strokes(15, n) for n in range(1, 6)]),
                  on_success=done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
    for key in "777":
        qtbot.keyClicks(kiosk.id_edit, key)
    kiosk.to_capture()
    # SVC2004 user 15: genuine S6 at 0.000864 (signature-v6-int8, pen threshold 0.001240)
    draw_on_pad(kiosk.pad, svc_strokes(15, 6), stylus)
    qtbot.mouseClick(kiosk.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: kiosk.screen_name == "result", timeout=WAIT_MS)
    assert kiosk.last_label == "Accept" and "verified" in kiosk.result_label.text()
    with sqlite3.connect(kiosk.ctx.settings.db_path) as conn:
        assert conn.execute("SELECT decision FROM audit_log WHERE event='verify'").fetchall() == [("accept",)]
    qtbot.mouseClick(kiosk.done_button, Qt.MouseButton.LeftButton)
    assert kiosk.screen_name == "start" and kiosk.id_edit.text() == ""


def test_face_kiosk_accepts_the_person_and_rejects_another(qtbot, gui_settings: GuiSettings, att_video) -> None:
    """Face mode through a video-file camera (AT&T photos in an MJPG .avi): the enrolled person is accepted,
    another person presenting the same customer number is rejected, both audited; idle resets the kiosk."""
    settings = gui_settings.replace(kiosk_modality="face", kiosk_idle_s=600.0,
                                    camera=str(att_video(1, [6]))).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 768))
    ctx = k.ctx
    try:
        assert k.camera is not None and k.pad is None
        done: list = []
        ctx.run(None, lambda bx: bx.enroll("att-1", faces=[att_video.photo(1, n) for n in (1, 2, 4, 5)]),
                on_success=done.append, on_error=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)
        assert isinstance(done[0], list) and len(done[0]) == 1  # one face template, no exception
        # (AT&T s1 photo 3 is refused as turned too far, so it is not among the references)

        labels = []
        for subject, sample in ((1, 6), (3, 1)):  # the same person, then another person
            ctx.settings = ctx.settings.replace(camera=str(att_video(subject, [sample])))
            for key in "att-1":
                qtbot.keyClicks(k.id_edit, key)
            qtbot.mouseClick(k.next_button, Qt.MouseButton.LeftButton)
            assert k.screen_name == "capture"
            qtbot.waitUntil(lambda: k.camera.frame is not None, timeout=WAIT_MS)
            qtbot.mouseClick(k.camera.capture_button, Qt.MouseButton.LeftButton)  # taking the photo verifies
            qtbot.waitUntil(lambda: k.screen_name == "result", timeout=WAIT_MS)
            labels.append(k.last_label)
            qtbot.mouseClick(k.done_button, Qt.MouseButton.LeftButton)
            assert k.screen_name == "start" and k.id_edit.text() == ""
        assert labels == ["Accept", "Reject"]
        with sqlite3.connect(settings.db_path) as conn:
            rows = conn.execute("SELECT subject_id, modality, decision FROM audit_log WHERE event='verify' "
                                "ORDER BY rowid").fetchall()
        assert rows == [("att-1", "face", "accept"), ("att-1", "face", "reject")]

        # idle: a customer who walks away at the camera screen leaves the kiosk on the first screen
        ctx.settings = ctx.settings.replace(kiosk_idle_s=0.5)
        k.id_edit.setText("att-1")
        k.to_capture()
        assert k.screen_name == "capture"
        qtbot.waitUntil(lambda: k.screen_name == "start", timeout=10_000)
        assert k.id_edit.text() == "" and k.camera.frame is None and k.camera.preview.image is None
    finally:
        k.unlock_and_close()
        ctx.shutdown()
