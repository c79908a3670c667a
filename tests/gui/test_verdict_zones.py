"""The verdict of a scanned signature under the default three zones: ACCEPT / REFER / REJECT with its sentence in a
teller's words, the Details naming the accept and reject thresholds, the gauge drawing both zones' edges. Real
held-out CEDAR scans (signer 46), the shipped signature model and card."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.pages.verdict import ResultPanel
from biometrix.gui.qt import QFontMetrics
from biometrix.runtime.paths import bundled_models_dir
from tests.gui.conftest import SHARED_DATA, SIGNATURE_MODEL, _require, shown

CEDAR_ZIP = SHARED_DATA / "cedar" / "cedar_signatures_half.zip"
#: signer 46 against its genuine 1-5 (tests/cli/test_refer.py): genuine 9 at 0.001039, genuine 21 at 0.003027
#: (between the zones), skilled forgery 2 at 0.01504
CASES = {("original", 9): "Accept", ("original", 21): "Refer", ("forgeries", 2): "Reject"}
BANNER = {"Accept": "ACCEPT", "Refer": "REFER", "Reject": "REJECT"}


def _card_threshold(name: str) -> float:
    card = json.loads((bundled_models_dir() / f"{SIGNATURE_MODEL}.json").read_text(encoding="utf-8"))
    return next(float(t["value"]) for t in card["thresholds"] if t["name"] == name)


def _scan(zf: zipfile.ZipFile, kind: str, n: int) -> np.ndarray:
    folder = "full_org" if kind == "original" else "full_forg"
    data = np.frombuffer(zf.read(f"CEDAR_half/{folder}/{kind}_46_{n}.png"), np.uint8)
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], ops.VerifyOutcome]:
    with zipfile.ZipFile(_require(CEDAR_ZIP)) as zf, \
            Biometrix(tmp_path_factory.mktemp("zones") / "bank.db") as bx:
        bx.enroll("s46", signatures=[_scan(zf, "original", n) for n in range(1, 6)])
        return {case: ops.verify(bx, "s46", Modality.SIGNATURE, _scan(zf, *case)) for case in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_a_scan_verdict_shows_the_three_zones(qtbot, outcomes, case: tuple[str, int]) -> None:
    accept, reject = _card_threshold("accept"), _card_threshold("reject")
    outcome = outcomes[case]
    d = outcome.decision
    label = "Accept" if d.distance <= accept else "Reject" if d.distance > reject else "Refer"
    assert (label, d.label) == (CASES[case], CASES[case]), d.distance
    panel = shown(qtbot, ResultPanel(), (700, 520))
    panel.show_outcome(outcome, who="Mr Forty-Six")
    assert panel.label.text() == BANNER[label]
    why = panel.why.text()
    assert "Mr Forty-Six" in why and "threshold" not in why and "distance" not in why  # a teller's words
    if label == "Refer":
        assert "ask a supervisor" in why
    details = panel.details.text()
    assert f"accepted at or below {accept:.5f}" in details and f"rejected above {reject:.5f}" in details, details
    assert "referred to a supervisor between" in details and f"'{label.lower()}'" in details
    gauge = panel.gauge
    assert (gauge.distance, gauge.reject, gauge.band) == (d.distance, reject, 0.0)
    texts = [t for t, _ in gauge.labels()]
    assert texts[0].startswith("accept ≤ ") and texts[1].startswith("reject > ") and texts[2].startswith("distance")
    panel.details_button.setChecked(True)
    (_, a_rect), (_, r_rect) = gauge.labels()[:2]
    assert a_rect.right() <= r_rect.left() + 1e-6  # the two thresholds' labels never overlap
    for text, rect in gauge.labels():
        assert gauge.rect().toRectF().contains(rect), (text, rect)
        assert rect.width() >= QFontMetrics(gauge.label_font()).horizontalAdvance(text), text


def test_a_decision_by_one_threshold_shows_no_zones(qtbot, outcomes) -> None:
    """The gauge and Details of a decision without a reject threshold keep the threshold and the band."""
    d = outcomes[("original", 9)].decision
    one = replace(d, reject_threshold=None, threshold=replace(d.threshold, value=_card_threshold("default")))
    panel = shown(qtbot, ResultPanel(), (700, 520))
    panel.show_outcome(ops.VerifyOutcome(one, outcomes[("original", 9)].probe, ()))
    assert panel.gauge.reject is None
    assert [t for t, _ in panel.gauge.labels()][0].startswith("threshold ")
    assert "Three zones" not in panel.details.text() and "no Refer band" in panel.details.text()

