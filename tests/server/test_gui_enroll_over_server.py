"""The teller app's Enroll page over ``--server`` (pytest-qt, offscreen; real HTTPS, uvicorn, ONNX models, SVC2004 pen
data drawn on the pad): five drawn signatures are checked by the server's model, another signer's is flagged as in
local mode (the in-process check on the same strokes), and once replaced the five are enrolled on the server."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

pytest.importorskip("PySide6", reason="the GUI tests need PySide6 (pip install PySide6-Essentials)")
pytest.importorskip("pytestqt", reason="the GUI tests need pytest-qt")

from biometrix import Biometrix  # noqa: E402
from biometrix.capture.pen import read_svc2004  # noqa: E402
from biometrix.client import RemoteBiometrix  # noqa: E402
from biometrix.core.types import Modality  # noqa: E402
from biometrix.gui import ops  # noqa: E402
from biometrix.gui.context import AppContext  # noqa: E402
from biometrix.gui.main_window import MainWindow  # noqa: E402
from biometrix.gui.qt import Qt  # noqa: E402
from biometrix.gui.replay import replay_strokes, synthetic_stylus  # noqa: E402
from biometrix.gui.settings import GuiSettings  # noqa: E402
from tests.gui.conftest import SVC_ZIP, WAIT_MS, call_service, shown  # noqa: E402
from tests.server.conftest import PASSWORDS  # noqa: E402

#: SVC2004 user 1's S1-S4, then user 2's S1 as the fifth (flagged in local mode: tests/gui/test_consistency.py)
OWN, OTHER = [(1, n) for n in range(1, 5)], (2, 1)


def _click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_the_enroll_page_checks_and_enrolls_drawn_signatures_on_the_server(qtbot, running, certs, bank, tmp_path):
    if not SVC_ZIP.is_file():
        pytest.skip(f"{SVC_ZIP} is absent (the shared data sets live in ../shared/data beside the repository)")
    with zipfile.ZipFile(SVC_ZIP) as zf:
        svc = {(u, n): read_svc2004(zf.read(f"Task2/U{u}S{n}.TXT").decode("ascii"), name=f"U{u}S{n}")
               for u, n in (*OWN, OTHER, (1, 5), (1, 6))}
    stylus = synthetic_stylus()
    settings = GuiSettings(server_url=running.url, ca_file=str(certs.ca), db_path=str(tmp_path / "unused.db"))
    w = shown(qtbot, MainWindow(AppContext(settings, settings_path=tmp_path / "gui.json")), (1366, 740))
    try:
        who = call_service(qtbot, w.ctx, lambda bx: (w.ctx.login(bx, "tom", PASSWORDS["tom"]), type(bx))[1])
        assert who is RemoteBiometrix  # the page's service is the server's
        enroll = w.show_page("enroll")
        enroll.subject_edit.setText("svc-1")
        for key in (*OWN, OTHER):
            replay_strokes(enroll.pad, svc[key], stylus)
            _click(qtbot, enroll.add_button)
        qtbot.waitUntil(lambda: enroll.checks is not None and not enroll.busy, timeout=WAIT_MS)
        drawn = list(enroll.references)
        with Biometrix(bank) as local:  # local mode's answer on the same strokes: the oracle
            local.login("tom", PASSWORDS["tom"])
            assert enroll.checks == local.check_references(signatures=drawn)
        assert [c.index for c in enroll.checks if c.flagged] == [4]
        assert enroll.messages.text().startswith("Outlying reference") and "reference #5" in enroll.messages.text()
        assert enroll.strip.item(4).background().color().name() == "#ffcdd2"  # shown red, as in local mode
        assert "NotOnServer" not in enroll.messages.text() and "not available" not in enroll.messages.text()

        enroll.strip.setCurrentRow(4)
        _click(qtbot, enroll.remove_button)
        replay_strokes(enroll.pad, svc[(1, 5)], stylus)
        _click(qtbot, enroll.add_button)
        qtbot.waitUntil(lambda: enroll.checks is not None and not enroll.busy, timeout=WAIT_MS)
        assert not any(c.flagged for c in enroll.checks)
        _click(qtbot, enroll.save_button)
        qtbot.waitUntil(lambda: enroll.messages.text().startswith("Enrolled"), timeout=WAIT_MS)
        assert "5 signature" in enroll.messages.text()
        # the Identify and Verify pages' ops over the server: what they show (candidates, names, thumbnails of the
        # enrolled samples, the threshold's scale; the references beside a decision) is local mode's
        probe = svc[(1, 6)]
        rows = call_service(qtbot, w.ctx, lambda bx: ops.identify(bx, Modality.SIGNATURE, probe, 3))
        outcome = call_service(qtbot, w.ctx, lambda bx: ops.verify(bx, "svc-1", Modality.SIGNATURE, probe))
    finally:
        w.close()
        w.ctx.shutdown()
    with Biometrix(bank) as local:  # enrolled in the server's database, by the teller
        local.login("sue", PASSWORDS["sue"])
        assert len(local.samples("svc-1", modality=Modality.SIGNATURE)) == 5
        events = [e.event for e in local.audit(subject_id="svc-1")]
        assert events.count("enroll") == 1 and events.count("verify") == 1  # the teller's, through the server
        local_rows = ops.identify(local, Modality.SIGNATURE, probe, 3)
        local_outcome = ops.verify(local, "svc-1", Modality.SIGNATURE, probe)
    assert rows[0].candidate.subject_id == "svc-1" and outcome.decision.accepted
    assert [(r.candidate, r.display_name, r.threshold) for r in rows] == \
        [(r.candidate, r.display_name, r.threshold) for r in local_rows]
    for remote_row, local_row in zip(rows, local_rows, strict=True):
        np.testing.assert_array_equal(remote_row.thumbnail, local_row.thumbnail)
    assert outcome.decision == local_outcome.decision and len(outcome.references) == 5
    for a, b in zip(outcome.references, local_outcome.references, strict=True):
        np.testing.assert_array_equal(a, b)
