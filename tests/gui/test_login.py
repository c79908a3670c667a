"""The login dialog: the first start creates the admin, later starts log in; a teller cannot change the decision
policy or the models from the Settings page (issue 26, finding 1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import AccessDenied, ModelNotTrusted
from biometrix.core.policy import DecisionPolicy
from biometrix.core.roles import Role
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.login import LoginDialog
from biometrix.gui.main_window import MainWindow
from biometrix.gui.pages.settings_page import READ_ONLY_NOTE
from biometrix.gui.qt import QDialog, Qt
from biometrix.gui.settings import GuiSettings, load_settings
from tests.gui.conftest import WAIT_MS, call_service

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


@contextmanager
def as_admin(db: str) -> Iterator[Biometrix]:
    """An independent service on the app's database, logged in as its admin (the oracle of what it holds)."""
    with Biometrix(db) as bx:
        bx.login("root", ADMIN_PW)
        yield bx


def _policy_rows(db: str) -> list:
    with as_admin(db) as bx:
        return [r for r in bx.audit(event="settings") if r.details.get("setting") in ("policy", "model.signature")]


def test_a_teller_cannot_change_the_decision_policy(teller_window, qtbot) -> None:
    """The attack: a teller on the Settings page moves the threshold, the target FMR, the Refer band and the model
    anyway (the controls are disabled, so programmatically) and applies. The service refuses (AccessDenied, the
    app says so) and the database's policy, model pins and audit are unchanged."""
    page = teller_window.show_page("settings")
    qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
    box = page.boxes[Modality.SIGNATURE]
    controls = (page.band, page.three_zone, box.threshold_combo, box.fmr_combo, box.model_combo,
                page.boxes[Modality.FACE].threshold_combo)
    assert not any(c.isEnabled() for c in controls)
    assert page.policy_note.text() == READ_ONLY_NOTE and "admin" in page.policy_note.text()
    assert page.apply_button.isEnabled()  # the teller's own settings (camera...) stay theirs
    db = teller_window.ctx.settings.db_path
    before = _policy_rows(db)
    with as_admin(db) as bx:
        policy, pins = bx.policy(), bx.trusted_models()
    assert policy == DecisionPolicy()

    page.band.setValue(40.0)
    page.three_zone.setChecked(False)
    box.fmr_combo.setCurrentIndex(box.fmr_combo.findData(0.05))
    box.threshold_combo.setCurrentIndex(box.threshold_combo.findData("random_fmr1"))
    assert page.policy_form() == {"signature_threshold": "random_fmr1", "signature_target_fmr": 0.05, "refer_band": 0.4,
                                  "three_zone": False}
    page.apply()
    qtbot.waitUntil(lambda: "Settings not saved" in page.messages.text(), timeout=WAIT_MS)
    assert "needs an admin" in page.messages.text() and page.messages.kind == "error"
    # the model too: another model id chosen in the (disabled) combo is refused by the service
    page.load()
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    box.model_combo.addItem("signature-v6", "signature-v6")
    box.model_combo.setCurrentIndex(box.model_combo.count() - 1)
    page.confirm_trust = lambda _models: True
    page.apply()
    qtbot.waitUntil(lambda: "Settings not saved" in page.messages.text(), timeout=WAIT_MS)
    assert "needs an admin" in page.messages.text()
    with pytest.raises(AccessDenied):  # the page's apply path, called directly with the teller's session
        call_service(qtbot, teller_window.ctx,
                     lambda bx: ops.change_decisions(bx, policy={"refer_band": 0.4}, models={}))

    with as_admin(db) as bx:
        assert (bx.policy(), bx.trusted_models()) == (policy, pins)
    assert _policy_rows(db) == before
    assert not teller_window.ctx.settings_path.exists()  # nothing was saved either


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
        bx.set_policy(three_zone=False, refer_band=0.99)  # one threshold, a band wide enough to refer it
        assert bx.verify("alice", signature=redrawn(1)).refer
        bx.set_policy(refer_band=0.0)
        assert not bx.verify("alice", signature=drawn(2)).refer
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    w = _window_as(qtbot, ctx, "sue", "supervisor-pw-2")
    try:
        page = w.show_page("audit")
        page.event_combo.setCurrentIndex(page.event_combo.findData("verify"))
        qtbot.waitUntil(lambda: len(page.entries) == 2 and not page.busy, timeout=WAIT_MS)
        page.table.selectRow(0)  # newest first: the plain verification
        assert not page.accept_button.isEnabled()
        page.table.selectRow(1)  # the referred one
        assert page.accept_button.isEnabled()
        refer_id = page.entries[1].event_id
        qtbot.mouseClick(page.reject_button, Qt.MouseButton.LeftButton)
        page.resolve_dialog.note_edit.setPlainText("signature differs from the ID card")  # confirmed, with a note
        qtbot.mouseClick(page.resolve_dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "rejected" in page.messages.text(), timeout=WAIT_MS)
        assert f"Referred verification {refer_id} rejected" in page.messages.text()
    finally:
        w.close()
        ctx.shutdown()
    with Biometrix(gui_settings.db_path) as bx:
        bx.login("root", ADMIN_PW)
        (row,) = bx.audit(event="resolve")
    assert (row.decision, row.operator, row.details["refers_to"]) == ("reject", "sue", refer_id)
    assert row.details["note"] == "signature differs from the ID card"


def test_a_teller_naming_another_model_is_refused_but_keeps_their_settings(teller_window, qtbot) -> None:
    """A teller's settings file naming a model the database does not trust: the service refuses to decide with it
    (the page says why), and the teller still saves their own settings without being asked to trust it."""
    ctx = teller_window.ctx
    with as_admin(ctx.settings.db_path) as bx:
        bx.trust_models()  # the admin pins the installation's models
        trusted = bx.card(Modality.SIGNATURE).model_id
    other = next(m for m in ("signature-v6", "signature-v5") if m != trusted)
    ctx.apply_settings(ctx.settings.replace(signature_model=other), save=False)
    page = teller_window.show_page("settings")
    qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
    box = page.boxes[Modality.SIGNATURE]
    assert box.trusted == trusted and box.chosen_model() == other and box.model_to_trust() is None
    assert "not trusted" in box.source.text() and other in box.source.text()
    with pytest.raises(ModelNotTrusted):
        call_service(qtbot, ctx, lambda bx: bx.threshold(Modality.SIGNATURE))
    page.camera_edit.setText("2")
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
    saved = load_settings(ctx.settings_path)
    assert (saved.camera, saved.signature_model) == ("2", other)
    with as_admin(ctx.settings.db_path) as bx:
        assert bx.card(Modality.SIGNATURE).model_id == trusted
