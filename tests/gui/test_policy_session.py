"""Issue 26 in the desktop app. Finding 1: what decides is the database's policy, not the teller's settings file,
and an admin's change on the Settings page is set and audited by the service. Finding 2: the app carries the
operator over a re-created service with a session token the service issued, never a password or an Operator
object, and a forged or expired token logs nobody in."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import biometrix.service.access as service_module  # where session tokens read the clock
from biometrix import Biometrix
from biometrix.core.errors import AccessDenied, InvalidInput
from biometrix.core.roles import Role
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.app import LaunchOptions, make_context
from biometrix.gui.context import AppContext
from biometrix.gui.main_window import MainWindow
from biometrix.gui.pages.settings_page import ADMIN_NOTE
from biometrix.gui.qt import QDialog, Qt
from biometrix.gui.settings import POLICY_KEYS, GuiSettings
from tests.gui.conftest import FACE_MODEL, REPO, SIGNATURE_MODEL, WAIT_MS, call_service
from tests.gui.test_login import ADMIN_PW, TELLER_PW, as_admin
from tests.test_access_control import drawn, redrawn

CARD = json.loads((REPO / "assets" / "models" / f"{SIGNATURE_MODEL}.json").read_text(encoding="utf-8"))


def card_threshold(name: str) -> float:
    return next(float(t["value"]) for t in CARD["thresholds"] if t["name"] == name)


def det_threshold(target: float) -> float:
    """Independently of biometrix.core.det: the largest threshold of the card's DET curve whose FMR <= target."""
    det = CARD["evaluation"]["validation_det"]
    fmr, thr = np.asarray(det["fmr"]), np.asarray(det["thresholds"])
    return float(thr[fmr <= target].max())


@pytest.fixture
def bank(gui_settings: GuiSettings) -> str:
    """A database with an admin (root) and a teller (tom), alice enrolled by 3 drawn signatures."""
    db = str(gui_settings.db_path)
    with Biometrix(db) as bx:
        bx.add_operator("root", "admin", ADMIN_PW)
        bx.login("root", ADMIN_PW)
        bx.add_operator("tom", "teller", TELLER_PW)
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
    return db


def logged_in(qtbot, ctx: AppContext, name: str, password: str) -> None:
    """Log in as the login dialog does (on the worker, through the context)."""
    who = call_service(qtbot, ctx, lambda bx: ctx.login(bx, name, password))
    assert who.name == name and ctx.token is not None


def logins(db: str, name: str) -> int:
    """How many times ``name`` logged in with a password (audited "login" rows)."""
    with as_admin(db) as bx:
        return sum(r.operator == name for r in bx.audit(event="login"))


def token_payload(token: str) -> dict:
    text = token.partition(".")[0]
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The service's clock ``seconds`` ahead (the test's and Qt's clocks are left alone)."""
    now = time.time() + seconds
    monkeypatch.setattr(service_module, "time", SimpleNamespace(time=lambda: now))


def recreate(ctx: AppContext) -> None:
    """A settings change that re-creates the service (the face model file named explicitly, or not)."""
    face = None if ctx.settings.face_model else FACE_MODEL
    ctx.apply_settings(ctx.settings.replace(face_model=face), save=False)


# --- finding 1: the settings file does not decide ---------------------------------------------------------------


def test_a_teller_editing_gui_json_changes_no_decision(qtbot, gui_settings: GuiSettings, bank: str,
                                                       tmp_path: Path) -> None:
    """The attack: the teller writes the old threshold keys into their gui.json (a much looser card threshold, a
    target FMR of 50 %, a Refer band of 90 %) and starts the app. The threshold in force and the decision are the
    database policy's, as an independent service on the database says."""
    path = tmp_path / "gui.json"
    doc = {"db_path": bank, "camera": gui_settings.camera, "signature_model": SIGNATURE_MODEL,
           "face_model": FACE_MODEL, "signature_threshold": "random_fmr1", "signature_target_fmr": 0.5,
           "face_threshold": "random_fmr1", "face_target_fmr": 0.5, "refer_band": 0.9}
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(TypeError):
        GuiSettings(refer_band=0.9)  # not a setting of the app any more
    ctx = make_context(LaunchOptions(settings_path=str(path)))  # as the app starts
    try:
        logged_in(qtbot, ctx, "tom", TELLER_PW)
        in_force = call_service(qtbot, ctx, lambda bx: bx.threshold(Modality.SIGNATURE, capture="scan"))
        rules = call_service(qtbot, ctx, lambda bx: bx.decision_rules())
        outcome = call_service(qtbot, ctx, lambda bx: ops.verify(bx, "alice", Modality.SIGNATURE, redrawn(1)))
    finally:
        ctx.shutdown()
    with as_admin(bank) as bx:
        oracle = bx.threshold(Modality.SIGNATURE, capture="scan")
        policy = bx.policy()
        (row,) = bx.audit(event="verify")
    assert policy.refer_band == 0.0 and policy.signature_target_fmr is None and policy.three_zone
    assert in_force.value == oracle.value == card_threshold("default")  # the card's, as the policy names
    assert oracle.value not in (card_threshold("random_fmr1"), det_threshold(0.5))  # what gui.json asked for
    # a scan is decided by the card's three zones (the default policy keeps the card's own thresholds)
    (scan,) = [r for r in rules if r.probe == "signature scan"]
    accept, reject = card_threshold("accept"), card_threshold("reject")
    assert (scan.accept, scan.reject, scan.band) == (accept, reject, 0.0)
    d = outcome.decision
    assert (d.threshold.value, d.reject_threshold, d.band) == (accept, reject, 0.0)
    assert d.label == ("Accept" if d.distance <= accept else "Reject" if d.distance > reject else "Refer")
    assert (row.operator, row.threshold, row.details["refer_band"]) == ("tom", accept, 0.0)


def test_an_admin_changes_the_policy_on_the_settings_page(qtbot, gui_settings: GuiSettings, bank: str,
                                                          tmp_path: Path) -> None:
    """An admin's target FMR and Refer band on the Settings page are in the database's policy, audited as one
    "settings" row naming the admin with each old and new value; the settings file holds none of them."""
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    try:
        logged_in(qtbot, ctx, "root", ADMIN_PW)
        w.show()
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
        box = page.boxes[Modality.SIGNATURE]
        assert page.band.isEnabled() and box.fmr_combo.isEnabled() and box.model_combo.isEnabled()
        assert page.policy_note.text() == ADMIN_NOTE
        box.fmr_combo.setCurrentIndex(box.fmr_combo.findData(0.01))
        page.band.setValue(15.0)
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
        assert page.band.value() == 15.0 and box.fmr_combo.currentData() == 0.01  # shown back from the database
    finally:
        w.close()
        ctx.shutdown()
    with as_admin(bank) as bx:
        policy = bx.policy()
        threshold = bx.threshold(Modality.SIGNATURE)
        rows = [r for r in bx.audit(event="settings") if r.details["setting"] == "policy"]
    assert (policy.signature_target_fmr, policy.refer_band) == (0.01, 0.15)
    assert threshold.value == det_threshold(0.01) and threshold.target_fmr == 0.01
    (row,) = rows
    assert row.operator == "root" and row.decision == "changed"
    assert row.details["changes"] == {"signature_target_fmr": [None, 0.01], "refer_band": [0.0, 0.15]}
    assert row.details["new"] == policy.to_dict()  # (old: none stored before, the defaults were in force)
    assert not set(json.loads((tmp_path / "gui.json").read_text())) & set(POLICY_KEYS)


def test_the_settings_page_shows_the_zones_in_force_and_an_admin_switches_them(qtbot, gui_settings: GuiSettings,
                                                                               bank: str, tmp_path: Path) -> None:
    """Issue 27: the Settings page says how a scan is decided (the card's three zones by default) and an admin turns
    the zones off there, set and audited by the service; the card's 'reject' is never offered as one threshold."""
    accept, reject, default = card_threshold("accept"), card_threshold("reject"), card_threshold("default")
    ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
    w = MainWindow(ctx)
    qtbot.addWidget(w)

    def scan_line() -> str:
        return next(ln for ln in page.in_force.text().splitlines() if ln.startswith("signature scan:"))

    try:
        logged_in(qtbot, ctx, "root", ADMIN_PW)
        w.show()
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
        assert page.three_zone.isChecked() and page.three_zone.isEnabled()
        assert f"three zones: Accept at or below {accept:.6g}, Reject above {reject:.6g}, Refer between" in scan_line()
        combo = page.boxes[Modality.SIGNATURE].threshold_combo
        offered = {combo.itemData(i) for i in range(combo.count())}
        assert "accept" in offered and "reject" not in offered
        page.three_zone.setChecked(False)
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not page.busy and "one threshold" in scan_line(), timeout=WAIT_MS)
        assert not page.three_zone.isChecked()
        assert f"one threshold: Accept at or below {default:.6g}" in scan_line()
    finally:
        w.close()
        ctx.shutdown()
    with as_admin(bank) as bx:
        assert not bx.policy().three_zone
        (row,) = [r for r in bx.audit(event="settings") if r.details["setting"] == "policy"]
        with pytest.raises(InvalidInput, match="'reject' threshold is the three zones' upper limit"):
            bx.set_policy(signature_threshold="reject")
    assert (row.operator, row.details["changes"]) == ("root", {"three_zone": [True, False]})


# --- finding 2: the session token -------------------------------------------------------------------------------


def test_a_recreated_service_keeps_the_operator_through_the_token(qtbot, gui_settings: GuiSettings,
                                                                  bank: str) -> None:
    ctx = AppContext(gui_settings, settings_path=None)
    try:
        logged_in(qtbot, ctx, "tom", TELLER_PW)
        assert not any(TELLER_PW in repr(v) for v in vars(ctx).values())  # no password kept
        first = ctx.token
        payload = token_payload(first)
        assert payload["op"] == "tom" and 0 < payload["exp"] - time.time() <= 15 * 60
        before = call_service(qtbot, ctx, lambda bx: bx)  # kept alive, so that no new object can reuse its id
        assert ctx.token != first  # renewed after the op
        assert token_payload(ctx.token)["exp"] >= payload["exp"]
        recreate(ctx)
        who, after = call_service(qtbot, ctx, lambda bx: (bx.operator, bx))
        assert after is not before and (who.name, who.role) == ("tom", Role.TELLER)
        assert [s.subject_id for s in call_service(qtbot, ctx, lambda bx: bx.subjects())] == ["alice"]
        assert logins(bank, "tom") == 1  # resumed, not logged in again
        call_service(qtbot, ctx, ctx.logout)
        assert ctx.token is None and ctx.operator is None
        recreate(ctx)
        with pytest.raises(AccessDenied, match="log in first"):
            call_service(qtbot, ctx, lambda bx: bx.subjects())
    finally:
        ctx.shutdown()


def _forged(token: str) -> str:
    """tom's token rewritten to name root, its tag kept."""
    tag = token.partition(".")[2]
    body = dict(token_payload(token), op="root")
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + tag


def _home_made(_token: str) -> str:
    """A token made by hand for root, valid for a day, with a made-up tag."""
    body = {"op": "root", "exp": int(time.time()) + 86_400, "nonce": "00"}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=") + "." + "0" * 64


def _other_database(token: str, tmp_path: Path) -> str:
    """A valid token of another database with the same operator names."""
    with Biometrix(tmp_path / "other.db") as other:
        other.add_operator("root", "admin", ADMIN_PW)
        other.login("root", ADMIN_PW)
        return other.session_token()


@pytest.mark.parametrize("make", [_forged, _home_made, _other_database], ids=["forged", "home-made", "other-db"])
def test_a_forged_token_logs_nobody_in(qtbot, gui_settings: GuiSettings, bank: str, tmp_path: Path, make) -> None:
    """The attack: whoever can write the app's memory (or a file it would read a token from) puts in a token it
    made, to act as the admin without the password. The re-created service refuses it and acts for nobody."""
    ctx = AppContext(gui_settings, settings_path=None)
    try:
        logged_in(qtbot, ctx, "tom", TELLER_PW)
        args = (ctx.token, tmp_path) if make is _other_database else (ctx.token,)
        ctx.token = make(*args)
        recreate(ctx)
        with qtbot.waitSignal(ctx.login_required, timeout=WAIT_MS) as lost:
            with pytest.raises(AccessDenied, match="not issued by this database|damaged"):
                call_service(qtbot, ctx, lambda bx: bx.set_policy(refer_band=0.5))
        assert "log in" in lost.args[0]
        assert ctx.token is None and ctx.operator is None
        assert call_service(qtbot, ctx, lambda bx: bx.operator) is None
        with pytest.raises(AccessDenied, match="log in first"):
            call_service(qtbot, ctx, lambda bx: bx.set_policy(refer_band=0.5))
    finally:
        ctx.shutdown()
    with as_admin(bank) as bx:
        assert bx.policy().refer_band == 0.0
        assert not [r for r in bx.audit(event="settings") if r.details["setting"] == "policy"]


def test_an_expired_session_asks_for_the_login_again(qtbot, gui_settings: GuiSettings, bank: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """16 minutes without an action, then a settings change: the token has expired, the new service acts for
    nobody and the window shows the login again; the password logs the teller back in."""
    ctx = AppContext(gui_settings, settings_path=None)
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    try:
        logged_in(qtbot, ctx, "tom", TELLER_PW)
        w.show()
        qtbot.waitUntil(lambda: not ctx.tasks.busy, timeout=WAIT_MS)
        later(monkeypatch, 16 * 60)
        recreate(ctx)
        with pytest.raises(AccessDenied, match="expired"):
            call_service(qtbot, ctx, lambda bx: bx.subjects())
        qtbot.waitUntil(lambda: w.relogin.dialog is not None, timeout=WAIT_MS)
        dialog = w.relogin.dialog
        assert ctx.token is None and ctx.operator is None
        assert "expired" in dialog.message.text()
        qtbot.waitUntil(lambda: dialog.create_admin is False, timeout=WAIT_MS)
        dialog.name.setText("tom")
        dialog.password.setText(TELLER_PW)
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=WAIT_MS)
        assert w.relogin.dialog is None and w.isVisible()
        assert ctx.operator is not None and ctx.operator.name == "tom" and w.windowTitle().endswith("tom (teller)")
        assert [s.subject_id for s in call_service(qtbot, ctx, lambda bx: bx.subjects())] == ["alice"]
        assert logins(bank, "tom") == 2
        # the same again, and this time the teller cancels: the window closes
        later(monkeypatch, 32 * 60)
        recreate(ctx)
        with pytest.raises(AccessDenied, match="expired"):
            call_service(qtbot, ctx, lambda bx: bx.subjects())
        qtbot.waitUntil(lambda: w.relogin.dialog is not None, timeout=WAIT_MS)
        w.relogin.dialog.reject()
        qtbot.waitUntil(lambda: not w.isVisible(), timeout=WAIT_MS)
    finally:
        w.close()
        ctx.shutdown()

