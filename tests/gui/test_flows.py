"""Whole teller flows on real data: enroll by tablet strokes, verify genuine and forgery, identify, audit; faces
through a video-file camera. Decisions are checked on screen and in the database's audit log."""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.types import Modality
from biometrix.gui.context import AppContext
from biometrix.gui.main_window import MainWindow
from biometrix.gui.qt import Qt
from biometrix.gui.settings import GuiSettings
from tests.gui.conftest import WAIT_MS, call_service, draw_on_pad, shown

#: SVC2004 user 15: references S1-S5; S6 genuine, S26 skilled forgery (signature-v6-int8: distances 0.000864 /
#: 0.001783; pen probes are judged at the pen threshold 0.001240, so the forgery, at 1.44 times it, lies
#: inside a refer band of 0.9)
SIGNER, GENUINE, FORGERY = 15, 6, 26


def _window(qtbot, settings: GuiSettings, tmp_path: Path) -> MainWindow:
    return shown(qtbot, MainWindow(AppContext(settings, settings_path=tmp_path / "gui.json")), (1366, 740))


def _audit(db: str) -> list[tuple[str, str | None, str | None, float | None]]:
    """The audit rows of the use cases (not the "settings" rows of the models pinned and the policy set)."""
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT event, subject_id, decision, distance FROM audit_log WHERE event != 'settings' "
                            "ORDER BY event_id").fetchall()


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _idle(qtbot, page) -> None:
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)


def _select(qtbot, page, query: str) -> None:
    page.finder.query.setText(query)
    _click(qtbot, page.finder.find_button)
    qtbot.waitUntil(lambda: page.finder.selected_id is not None, timeout=WAIT_MS)


def test_signature_enroll_verify_identify_audit(qtbot, tmp_path, gui_settings, stylus, svc_strokes) -> None:
    settings = gui_settings
    w = _window(qtbot, settings, tmp_path)
    try:
        enroll = w.show_page("enroll")
        enroll.subject_edit.setText("svc-15")
        enroll.name_edit.setText("Signer Fifteen")
        for n in range(1, 6):
            draw_on_pad(enroll.pad, svc_strokes(SIGNER, n), stylus)
            _click(qtbot, enroll.add_button)
        qtbot.waitUntil(lambda: enroll.checks is not None, timeout=WAIT_MS)
        assert not any(c.flagged for c in enroll.checks)
        _click(qtbot, enroll.save_button)
        qtbot.waitUntil(lambda: enroll.messages.text().startswith("Enrolled"), timeout=WAIT_MS)
        assert "5 signature" in enroll.messages.text() and enroll.references == []

        # a second subject, through the same service, so that identification has a choice to make
        ctx = w.ctx
        done = []
        ctx.run(None, lambda bx: bx.enroll("svc-1", signatures=[svc_strokes(1, n) for n in range(1, 6)]),
                on_success=done.append)
        qtbot.waitUntil(lambda: bool(done), timeout=WAIT_MS)

        verify = w.show_page("verify")
        _select(qtbot, verify, "fifteen")  # by name, case-insensitive
        assert verify.finder.selected_id == "svc-15"
        verify.result.details_button.setChecked(True)  # the numbers: distances, threshold, FMR, model
        labels = []
        for sample in (GENUINE, FORGERY):
            draw_on_pad(verify.input.pad, svc_strokes(SIGNER, sample), stylus)
            _click(qtbot, verify.verify_button)
            qtbot.waitUntil(lambda: verify.result.shown_label != "" and not verify.busy, timeout=WAIT_MS)
            labels.append(verify.result.shown_label)
            assert verify.result.references.count() == 5  # the enrolled references, drawn from stroke JSON
        assert labels == ["Accept", "Reject"]
        assert verify.result.gauge.distance == pytest.approx(verify.last.decision.distance)
        # each reference's figure is on the threshold's scale (under the normalized aggregate its cosine distance
        # over the references' spread, so the five average to the distance shown), with the threshold's decimals:
        # 3 significant digits of the threshold, whatever the model's scale
        last = verify.last.decision
        items = [verify.result.references.item(i) for i in range(5)]
        texts = [it.text().split("d=")[1] for it in items]
        decimals = max(0, 2 - math.floor(math.log10(last.threshold.value)))  # 3 significant digits of it
        assert {len(t.partition(".")[2]) for t in texts} == {decimals}, texts
        shown = np.array([float(t) for t in texts])
        np.testing.assert_allclose(shown, np.array(last.reference_distances) / last.reference_scale,
                                   rtol=0, atol=0.51 * 10 ** -decimals)
        if last.reference_scale != 1.0:
            assert shown.mean() == pytest.approx(last.distance, rel=5e-3)
            assert f"({last.reference_distances[0]:.3g})" in items[0].toolTip()

        # the supervisor band (the database's policy, one threshold instead of the pen card's three zones): the
        # forgery's distance within threshold x (1 +- 0.9) is referred
        policy = call_service(qtbot, w.ctx, lambda bx: bx.set_policy(refer_band=0.9, three_zone=False))
        assert (policy.refer_band, policy.three_zone) == (0.9, False)
        draw_on_pad(verify.input.pad, svc_strokes(SIGNER, FORGERY), stylus)
        _click(qtbot, verify.verify_button)
        qtbot.waitUntil(lambda: verify.result.shown_label != "" and not verify.busy, timeout=WAIT_MS)
        assert verify.result.shown_label == "Refer"
        decision = verify.last.decision  # the service decided it: the page shows what the audit says
        assert decision.label == "Refer" and decision.refer and not decision.accepted
        assert decision.band == pytest.approx(0.9 * decision.threshold.value)
        assert verify.result.gauge.band == pytest.approx(decision.band)
        with sqlite3.connect(settings.db_path) as conn:
            row = conn.execute("SELECT decision, details FROM audit_log WHERE event = 'verify' "
                               "ORDER BY event_id DESC LIMIT 1").fetchone()
        assert row[0] == "refer"
        assert json.loads(row[1])["refer_band"] == pytest.approx(0.9)

        identify = w.show_page("identify")
        draw_on_pad(identify.input.pad, svc_strokes(SIGNER, 7), stylus)
        _click(qtbot, identify.identify_button)
        qtbot.waitUntil(lambda: bool(identify.rows) and not identify.busy, timeout=WAIT_MS)
        assert [r.candidate.subject_id for r in identify.rows] == ["svc-15", "svc-1"]
        assert identify.rows[0].display_name == "Signer Fifteen" and identify.rows[0].thumbnail is not None
        assert identify.table.rowCount() == 2
        # the distance column on the threshold's scale too: never a row of "0.000" for a small-scale model (1:N is
        # the image encoder's, whose threshold is on another scale than the pen comparator's that verified above)
        for i, r in enumerate(identify.rows):
            text = identify.table.item(i, 4).text()
            id_decimals = max(0, 2 - math.floor(math.log10(r.threshold)))
            assert id_decimals > decimals
            assert len(text.partition(".")[2]) == id_decimals
            assert float(text) == pytest.approx(r.candidate.distance, abs=0.51 * 10 ** -id_decimals)

        rows = _audit(settings.db_path)
        assert [(e, s, d) for e, s, d, _ in rows] == [
            ("enroll", "svc-15", "enrolled"), ("enroll", "svc-1", "enrolled"), ("verify", "svc-15", "accept"),
            ("verify", "svc-15", "reject"), ("verify", "svc-15", "refer"), ("identify", "svc-15", "match")]
        assert rows[2][3] < rows[3][3]

        with sqlite3.connect(settings.db_path) as conn:
            n_rows = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        audit = w.show_page("audit")
        qtbot.waitUntil(lambda: len(audit.entries) == n_rows and not audit.busy, timeout=WAIT_MS)
        audit.event_combo.setCurrentIndex(audit.event_combo.findData("verify"))
        qtbot.waitUntil(lambda: len(audit.entries) == 3 and not audit.busy, timeout=WAIT_MS)
        out = tmp_path / "audit.csv"
        audit.export_to(str(out))
        with out.open(encoding="utf-8") as fh:
            exported = list(csv.DictReader(fh))
        assert [r["decision"] for r in exported] == ["refer", "reject", "accept"]  # newest first
    finally:
        w.close()
        w.ctx.shutdown()


def test_face_enroll_and_verify_through_a_video_camera(qtbot, tmp_path, gui_settings, att_video) -> None:
    settings = gui_settings.replace(camera=str(att_video(1, [1])))
    w = _window(qtbot, settings, tmp_path)
    try:
        enroll = w.show_page("enroll")
        cam = enroll.camera
        qtbot.waitUntil(lambda: cam.hint is not None and cam.hint.ok, timeout=WAIT_MS)
        assert cam.hint.bbox is not None
        _click(qtbot, cam.capture_button)
        assert enroll.face is not None
        enroll.subject_edit.setText("att-1")
        _click(qtbot, enroll.save_button)  # no signatures: the face alone is enrolled
        qtbot.waitUntil(lambda: enroll.messages.text().startswith("Enrolled"), timeout=WAIT_MS)
        assert "1 face" in enroll.messages.text()

        verify = w.show_page("verify")
        _select(qtbot, verify, "att-1")
        labels = []
        for subject, sample in ((1, 2), (3, 1)):  # the same person, another person
            w.ctx.apply_settings(w.ctx.settings.replace(camera=str(att_video(subject, [sample]))), save=False)
            verify.input.camera.stop()
            verify.input.set_modality(Modality.FACE)
            verify.input.start()
            qtbot.waitUntil(lambda: verify.input.camera.frame is not None, timeout=WAIT_MS)
            verify.result.clear()
            _click(qtbot, verify.input.camera.capture_button)  # the probe is taken (and held) ...
            assert verify.input.camera.held and verify.input.camera.capture_button.text() == "Retake"
            _click(qtbot, verify.verify_button)  # ... and decided on by Verify
            qtbot.waitUntil(lambda: verify.result.shown_label != "" and not verify.busy, timeout=WAIT_MS)
            labels.append(verify.result.shown_label)
        assert labels == ["Accept", "Reject"]
        faces = [r for r in _audit(settings.db_path) if r[0] == "verify"]
        assert [r[2] for r in faces] == ["accept", "reject"]
    finally:
        w.close()
        w.ctx.shutdown()
