"""Issue 28 in the kiosk: only its camera and its pad are taken (never a photo file), Enter submits the PIN, any
customer id can be typed at once, and messages never move its buttons."""

from __future__ import annotations

import sqlite3

import pytest

from biometrix.gui.context import AppContext
from biometrix.gui.kiosk import KioskWindow, PinDialog
from biometrix.gui.qt import QApplication, QFileDialog, QPushButton, Qt, QWidget
from biometrix.gui.settings import GuiSettings
from tests.gui.conftest import WAIT_MS, call_service, draw_on_pad, shown


@pytest.fixture
def face_kiosk(qtbot, gui_settings: GuiSettings):
    """A face kiosk whose camera does not open (the settings name a video file that is not there)."""
    settings = gui_settings.replace(kiosk_modality="face", kiosk_idle_s=600.0).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 600))
    yield k
    k.unlock_and_close()
    k.ctx.shutdown()


def _verify_rows(db: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT subject_id, decision FROM audit_log WHERE event = 'verify'").fetchall()


# --- defect 3: no file dialog, no photo file -----------------------------------------------------------------


def test_the_kiosk_takes_no_photo_file(face_kiosk, qtbot, att_video, monkeypatch) -> None:
    """The attack as reported: at the kiosk, with no camera, the customer pressed "Load a photo file…", browsed
    the machine's files and a photo of the enrolled customer gave "you are verified". Now no button offers a
    file, no file dialog opens whatever is pressed, a photo handed to the camera is refused and nothing is
    verified or audited."""
    k = face_kiosk
    opened: list[str] = []
    for name in ("getOpenFileName", "getOpenFileNames", "getSaveFileName", "getExistingDirectory", "exec"):
        monkeypatch.setattr(QFileDialog, name, lambda *a, _n=name, **kw: opened.append(_n) or ("", ""))
    call_service(qtbot, k.ctx, lambda bx: bx.enroll("att-1", faces=[att_video.photo(1, n) for n in (1, 2, 4, 5)]))

    qtbot.keyClicks(k.id_edit, "att-1")
    qtbot.mouseClick(k.next_button, Qt.MouseButton.LeftButton)
    assert k.screen_name == "capture"
    qtbot.waitUntil(lambda: k.camera.stack.currentIndex() == 1, timeout=5_000)  # "No camera"
    # what "Load a photo file…" did with the file chosen: the enrolled customer's photo
    with qtbot.assertNotEmitted(k.camera.captured, wait=300):
        assert not k.camera.load_photo(att_video.photo(1, 6))
    qtbot.wait(500)
    assert k.screen_name == "capture" and k.camera.frame is None and k.last_label == ""
    assert _verify_rows(k.ctx.settings.db_path) == []
    assert k.camera.load_button is None and not k.camera.allow_files
    texts = [b.text().lower() for b in k.findChildren(QPushButton)]
    assert not [t for t in texts if "photo file" in t or "load" in t or "file" in t], texts
    assert "photo file" not in k.camera.no_camera_label.text() and "staff" in k.camera.no_camera_label.text()
    for b in k.findChildren(QPushButton):  # every button of the capture screen (Cancel last: it resets)
        if b.isVisible() and b.isEnabled() and b not in (k.supervisor_button, k.cancel_button):
            qtbot.mouseClick(b, Qt.MouseButton.LeftButton)
    assert opened == [] and _verify_rows(k.ctx.settings.db_path) == []
    assert not [w for w in (k, *k.findChildren(QWidget)) if w.acceptDrops()]  # no file dropped on it either


# --- defect 4: Enter submits the PIN ------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["keyboard", "keypad"])
def test_enter_submits_the_pin(face_kiosk, qtbot, by: str) -> None:
    """Before the fix Enter pressed the keypad's "1" (Qt makes the first button of a dialog its default): the
    PIN became "24681" and was refused. Enter now presses OK, whether the PIN was typed or tapped."""
    dialog = PinDialog(face_kiosk.ctx, face_kiosk)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    buttons = {b.text(): b for b in dialog.findChildren(QPushButton)}
    focused: list = []

    def enter(pin: str) -> None:
        if by == "keyboard":
            qtbot.keyClicks(dialog.pin, pin)
        else:
            for digit in pin:
                qtbot.mouseClick(buttons[digit], Qt.MouseButton.LeftButton)
        assert dialog.pin.text() == pin
        focused.append(dialog.focusWidget())
        qtbot.keyClick(dialog.focusWidget() or dialog.pin, Qt.Key.Key_Return)

    enter("1357")  # the wrong PIN: refused, and nothing typed by Enter
    assert dialog.status.text() == "Wrong PIN." and dialog.pin.text() == "" and dialog.isVisible()
    enter("2468")
    assert dialog.result() == PinDialog.DialogCode.Accepted and not dialog.isVisible()
    assert [t for t, b in buttons.items() if b.isDefault() or b.autoDefault()] == ["OK"]
    assert focused == [dialog.pin, dialog.pin]  # the field keeps the focus: a keyboard types into it


# --- defect 5: every customer id can be typed, from the first key -------------------------------------------


@pytest.fixture
def pen_kiosk(qtbot, gui_settings: GuiSettings):
    settings = gui_settings.replace(kiosk_modality="signature", kiosk_idle_s=600.0).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 600))
    k.activateWindow()
    qtbot.waitUntil(k.isActiveWindow, timeout=5_000)
    yield k
    k.unlock_and_close()
    k.ctx.shutdown()


def _sign_and_verify(qtbot, k, strokes, stylus) -> str:
    qtbot.mouseClick(k.next_button, Qt.MouseButton.LeftButton)
    assert k.screen_name == "capture"
    draw_on_pad(k.pad, strokes, stylus)
    qtbot.mouseClick(k.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: k.screen_name == "result", timeout=WAIT_MS)
    label = k.last_label
    qtbot.mouseClick(k.done_button, Qt.MouseButton.LeftButton)
    return label


def test_a_lettered_id_signs_in_by_touch_or_keyboard(pen_kiosk, qtbot, stylus, svc_strokes) -> None:
    """Before the fix the kiosk keypad had digits only, so a customer enrolled as "C-3001" could not sign in, and
    a physical keyboard typed nothing until the field was tapped. The kiosk keyboard now has digits, capitals
    and '-'; the field has the focus from the start (and after each customer); letters typed in either case
    find the enrolled id."""
    k = pen_kiosk
    call_service(qtbot, k.ctx, lambda bx: bx.enroll("C-3001", signatures=[svc_strokes(15, n) for n in range(1, 6)]))
    keys = {b.text(): b for b in k.stack.widget(0).findChildren(QPushButton)}  # the start screen's keys
    assert {"C", "-", "3", "0", "1"} <= set(keys)
    assert QApplication.focusWidget() is k.id_edit  # no tap needed
    for key in "C-3001":
        qtbot.mouseClick(keys[key], Qt.MouseButton.LeftButton)
    assert k.id_edit.text() == "C-3001" and QApplication.focusWidget() is k.id_edit
    # SVC2004 user 15, genuine S6: accepted (test_kiosk.test_customer_signs_and_sees_the_result)
    assert _sign_and_verify(qtbot, k, svc_strokes(15, 6), stylus) == "Accept"

    assert k.screen_name == "start" and QApplication.focusWidget() is k.id_edit
    qtbot.keyClicks(QApplication.focusWidget(), "c-3001")  # the next customer on a physical keyboard
    assert k.id_edit.text() == "c-3001"
    assert _sign_and_verify(qtbot, k, svc_strokes(15, 7), stylus) == "Accept"
    with sqlite3.connect(k.ctx.settings.db_path) as conn:
        rows = conn.execute("SELECT subject_id, decision FROM audit_log WHERE event = 'verify'").fetchall()
    assert rows == [("C-3001", "accept"), ("C-3001", "accept")]
