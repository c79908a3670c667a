"""The kiosk's test mode (issue 28, defect 3's remainder): a customer never gets a file dialog; after the PIN an
admin's login unlocks a test mode where a photo file may be used, every decision in it audited as a test; it ends
on its timeout, when the kiosk is idle, or when the supervisor locks it."""

from __future__ import annotations

import json
import sqlite3

import pytest

from biometrix.gui.context import AppContext
from biometrix.gui.kiosk import KioskWindow, PinDialog
from biometrix.gui.kiosk_supervisor import SupervisorDialog
from biometrix.gui.qt import QTimer
from biometrix.gui.settings import GuiSettings
from tests.gui.conftest import WAIT_MS, call_service, shown

ADMIN_PW, TELLER_PW = "admin-pw-12345", "teller-pw-12345"


@pytest.fixture
def kiosk(qtbot, gui_settings: GuiSettings, att_video):
    """A face kiosk logged in as the teller "desk", with att-1 enrolled; "root" is the database's admin."""
    settings = gui_settings.replace(kiosk_modality="face", kiosk_idle_s=600.0,
                                    camera=str(att_video(1, [6]))).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 600))

    def setup(bx):
        bx.add_operator("root", "admin", ADMIN_PW)
        bx.login("root", ADMIN_PW)
        bx.add_operator("desk", "teller", TELLER_PW)
        k.ctx.login(bx, "desk", TELLER_PW)
        bx.enroll("att-1", faces=[att_video.photo(1, n) for n in (1, 2, 4, 5)])

    call_service(qtbot, k.ctx, setup)
    yield k
    k.unlock_and_close()
    k.ctx.shutdown()


def rows(kiosk, sql: str) -> list:
    with sqlite3.connect(kiosk.ctx.settings.db_path) as conn:
        return conn.execute(sql).fetchall()


def supervisor(qtbot, name: str, password: str):
    """A supervisor-dialog hook: type an admin's name and password, press Start test mode, wait for the answer."""
    def hook(dialog: SupervisorDialog) -> int:
        dialog.name_edit.setText(name)
        dialog.password_edit.setText(password)
        dialog.test_button.click()
        qtbot.waitUntil(lambda: dialog.result() != 0 or "not started" in dialog.status.text(), timeout=WAIT_MS)
        return dialog.result()

    return hook


def with_pin(qtbot, kiosk, pin: str, hook) -> None:
    """Press Supervisor and type ``pin`` into the real PIN dialog (then Cancel if it stays open)."""
    def answer() -> None:
        dialog = next(d for d in kiosk.findChildren(PinDialog) if d.isVisible())
        if not dialog.try_unlock(pin):
            dialog.reject()

    QTimer.singleShot(50, answer)
    kiosk.ask_pin(supervisor_hook=hook)


def test_a_customer_never_gets_a_file_and_a_teller_cannot_unlock(qtbot, kiosk) -> None:
    asked = []
    kiosk.file_hook = lambda: asked.append(1) or ""
    assert kiosk.test_file_button is None
    assert kiosk.load_test_file() is False and asked == []  # nothing opened outside test mode
    assert kiosk.camera.load_photo(__file__) is False  # the camera takes no file

    reached = []
    with_pin(qtbot, kiosk, "0000", lambda d: reached.append(d) or 0)  # a wrong PIN: no supervisor screen
    assert reached == [] and kiosk.test_mode_by is None

    with_pin(qtbot, kiosk, "2468", supervisor(qtbot, "desk", TELLER_PW))  # a teller is not an admin
    assert kiosk.test_mode_by is None and kiosk.test_file_button is None
    with_pin(qtbot, kiosk, "2468", supervisor(qtbot, "root", "wrong-password-1"))
    assert kiosk.test_mode_by is None
    assert call_service(qtbot, kiosk.ctx, lambda bx: bx.test_mode) is None
    assert rows(kiosk, "SELECT decision FROM audit_log WHERE event='settings' AND decision LIKE 'test-mode%'") \
        == [("test-mode-refused",)]
    assert kiosk.load_test_file() is False and asked == []


def test_an_admin_unlocked_test_mode_is_audited_and_ends_on_timeout(qtbot, kiosk, att_video) -> None:
    with_pin(qtbot, kiosk, "2468", supervisor(qtbot, "root", ADMIN_PW))
    assert kiosk.test_mode_by == "root" and kiosk.test_banner.isVisible() and "TEST MODE" in kiosk.test_banner.text()

    kiosk.id_edit.setText("att-1")
    kiosk.to_capture()
    assert kiosk.test_file_button is not None and kiosk.test_file_button.isVisible()
    kiosk.file_hook = lambda: str(att_video.photo(1, 7))  # a photo file of the enrolled person
    assert kiosk.load_test_file()
    qtbot.waitUntil(lambda: kiosk.screen_name == "result", timeout=WAIT_MS)
    (details,) = rows(kiosk, "SELECT details FROM audit_log WHERE event='verify'")[0]
    assert json.loads(details)["test_mode"] == {"unlocked_by": "root"}
    from biometrix.gui.audit_view import audit_row
    from biometrix.service import Biometrix

    auditor = Biometrix(kiosk.ctx.settings.db_path)  # an admin reads the audit (the kiosk's teller may not)
    auditor.login("root", ADMIN_PW)
    (entry,) = auditor.audit(event="verify")
    auditor.close()
    assert audit_row(entry).event == "Verification (face) — TEST MODE"  # what the Audit page shows
    (on,) = rows(kiosk, "SELECT details FROM audit_log WHERE event='settings' AND decision='test-mode-on'")[0]
    assert json.loads(on) == {"kiosk_test_mode": "on", "unlocked_by": "root", "operator": "desk"}

    kiosk.test_timer.start(100)  # the test mode's timeout, shortened
    qtbot.waitUntil(lambda: kiosk.test_mode_by is None, timeout=10_000)
    qtbot.waitUntil(lambda: len(rows(kiosk, "SELECT 1 FROM audit_log WHERE decision='test-mode-off'")) == 1,
                    timeout=WAIT_MS)
    (off,) = rows(kiosk, "SELECT details FROM audit_log WHERE decision='test-mode-off'")[0]
    assert json.loads(off) == {"kiosk_test_mode": "off", "unlocked_by": "root", "why": "timeout", "operator": "desk"}
    assert not kiosk.test_banner.isVisible() and kiosk.test_file_button is None
    assert kiosk.load_test_file() is False

    # after it: a decision is not a test
    kiosk.reset()
    kiosk.id_edit.setText("att-1")
    kiosk.to_capture()
    qtbot.waitUntil(lambda: kiosk.camera.frame is not None, timeout=WAIT_MS)
    kiosk.camera.capture_button.click()
    qtbot.waitUntil(lambda: len(rows(kiosk, "SELECT 1 FROM audit_log WHERE event='verify'")) == 2, timeout=WAIT_MS)
    (last,) = rows(kiosk, "SELECT details FROM audit_log WHERE event='verify' ORDER BY event_id DESC LIMIT 1")[0]
    assert "test_mode" not in json.loads(last)


def test_idle_and_the_supervisor_end_the_test_mode(qtbot, kiosk) -> None:
    with_pin(qtbot, kiosk, "2468", supervisor(qtbot, "root", ADMIN_PW))
    assert kiosk.test_mode_by == "root"
    with_pin(qtbot, kiosk, "2468", lambda d: SupervisorDialog.TEST_OFF if d.end_button.isVisibleTo(d) else 0)
    assert kiosk.test_mode_by is None
    with_pin(qtbot, kiosk, "2468", supervisor(qtbot, "root", ADMIN_PW))
    kiosk.ctx.settings = kiosk.ctx.settings.replace(kiosk_idle_s=0.3)
    kiosk.touch_activity()
    qtbot.waitUntil(lambda: kiosk.test_mode_by is None, timeout=10_000)
    qtbot.waitUntil(lambda: len(rows(kiosk, "SELECT 1 FROM audit_log WHERE decision='test-mode-off'")) == 2,
                    timeout=WAIT_MS)
    whys = [json.loads(d)["why"] for (d,) in rows(kiosk, "SELECT details FROM audit_log "
                                                          "WHERE decision='test-mode-off' ORDER BY event_id")]
    assert whys == ["locked", "idle"]
