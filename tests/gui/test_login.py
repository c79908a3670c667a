"""The login dialog: the first start creates the admin, later starts log in; a teller cannot change thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.roles import Role
from biometrix.gui.context import AppContext
from biometrix.gui.login import LoginDialog
from biometrix.gui.main_window import MainWindow
from biometrix.gui.qt import QDialog, Qt
from biometrix.gui.settings import GuiSettings, load_settings
from tests.gui.conftest import WAIT_MS

ADMIN_PW, TELLER_PW = "admin-password-1", "teller-password-3"


def _dialog(qtbot, ctx: AppContext) -> LoginDialog:
    dialog = LoginDialog(ctx)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.create_admin is not None, timeout=WAIT_MS)
    return dialog


def _fill(qtbot, dialog: LoginDialog, name: str, password: str, again: str | None = None) -> None:
    dialog.name.setText(name)
    dialog.password.setText(password)
    dialog.again.setText(password if again is None else again)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)


def test_first_start_creates_the_admin_then_logs_in(qtbot, gui_settings: GuiSettings, tmp_path: Path) -> None:
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    try:
        dialog = _dialog(qtbot, ctx)
        assert dialog.create_admin and dialog.again.isVisible()
        _fill(qtbot, dialog, "root", ADMIN_PW, again="something else")
        assert "differ" in dialog.message.text() and dialog.result() != QDialog.DialogCode.Accepted
        _fill(qtbot, dialog, "root", ADMIN_PW)
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
        assert ctx.operator is not None and (ctx.operator.name, ctx.operator.role) == ("root", Role.ADMIN)
    finally:
        ctx.shutdown()

    with Biometrix(gui_settings.db_path) as bx:  # a teller, added by the admin
        bx.login("root", ADMIN_PW)
        bx.add_operator("tom", "teller", TELLER_PW)

    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    try:
        dialog = _dialog(qtbot, ctx)
        assert not dialog.create_admin and not dialog.again.isVisible()
        _fill(qtbot, dialog, "tom", "not-the-password")
        qtbot.waitUntil(lambda: "wrong operator name or password" in dialog.message.text(), timeout=WAIT_MS)
        assert ctx.operator is None and dialog.password.text() == ""
        _fill(qtbot, dialog, "tom", TELLER_PW)
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
        assert ctx.operator is not None and ctx.operator.role is Role.TELLER
    finally:
        ctx.shutdown()


@pytest.fixture
def teller_window(qtbot, gui_settings: GuiSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with Biometrix(gui_settings.db_path) as bx:
        bx.add_operator("root", "admin", ADMIN_PW)
        bx.login("root", ADMIN_PW)
        bx.add_operator("tom", "teller", TELLER_PW)
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    monkeypatch.setenv("BIOMETRIX_OPERATOR", "tom")  # an unattended start: logged in without a click
    monkeypatch.setenv("BIOMETRIX_PASSWORD", TELLER_PW)
    dialog = LoginDialog(ctx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()
    ctx.shutdown()


def test_a_teller_cannot_change_the_refer_band(teller_window, qtbot) -> None:
    page = teller_window.show_page("settings")
    qtbot.waitUntil(lambda: page.info is not None, timeout=WAIT_MS)
    page.band.setValue(40.0)
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Settings not saved" in page.messages.text(), timeout=WAIT_MS)
    assert "needs an admin" in page.messages.text()
    assert teller_window.ctx.settings.refer_band != pytest.approx(0.40)
    path = teller_window.ctx.settings_path
    assert not path.exists() or load_settings(path).refer_band != pytest.approx(0.40)


def _window_as(qtbot, ctx: AppContext, name: str, password: str) -> MainWindow:
    dialog = LoginDialog(ctx)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.create_admin is False, timeout=WAIT_MS)
    _fill(qtbot, dialog, name, password)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.show()
    return w


def test_a_supervisor_settles_a_refer_on_the_audit_page(qtbot, gui_settings: GuiSettings, tmp_path: Path) -> None:
    from tests.test_access_control import drawn, redrawn

    with Biometrix(gui_settings.db_path) as bx:
        bx.add_operator("root", "admin", ADMIN_PW)
        bx.login("root", ADMIN_PW)
        bx.add_operator("sue", "supervisor", "supervisor-pw-2")
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
        assert bx.verify("alice", signature=redrawn(1), refer_band=0.99).refer
        bx.verify("alice", signature=drawn(2))
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    w = _window_as(qtbot, ctx, "sue", "supervisor-pw-2")
    try:
        page = w.show_page("audit")
        page.event_combo.setCurrentText("verify")
        qtbot.waitUntil(lambda: len(page.entries) == 2 and not page.busy, timeout=WAIT_MS)
        page.table.selectRow(0)  # newest first: the plain verification
        assert not page.accept_button.isEnabled()
        page.table.selectRow(1)  # the referred one
        assert page.accept_button.isEnabled()
        refer_id = page.entries[1].event_id
        qtbot.mouseClick(page.reject_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "rejected" in page.messages.text(), timeout=WAIT_MS)
        assert f"Referred verification {refer_id} rejected" in page.messages.text()
    finally:
        w.close()
        ctx.shutdown()
    with Biometrix(gui_settings.db_path) as bx:
        bx.login("root", ADMIN_PW)
        (row,) = bx.audit(event="resolve")
    assert (row.decision, row.operator, row.details["refers_to"]) == ("reject", "sue", refer_id)
