"""Settings: each modality's validation DET curve drawn from the model card, and its threshold chosen as a
target FMR on that curve, applied to the database's decision policy, used by a verify and kept there."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from biometrix.capture.pen import rasterize
from biometrix.core.det import card_det, point_at_fmr
from biometrix.core.types import Modality
from biometrix.gui.context import AppContext
from biometrix.gui.main_window import MainWindow
from biometrix.gui.qt import QColor, Qt
from biometrix.gui.settings import POLICY_KEYS, GuiSettings, load_settings
from biometrix.gui.widgets.det_plot import BACKGROUND, DetPlot
from biometrix.runtime.pen_comparator import PEN_MODEL_ID
from tests.gui.conftest import REPO, SIGNATURE_MODEL, WAIT_MS
from tests.gui.conftest import call_service as _service

CARD = REPO / "assets" / "models" / f"{SIGNATURE_MODEL}.json"


def card_points(path: Path = CARD) -> dict:
    det = json.loads(path.read_text(encoding="utf-8"))["evaluation"].get("validation_det")
    if not det:
        pytest.skip(f"{path.name} holds no validation_det")
    return det


def oracle_threshold(det: dict, target: float) -> float:
    """Independently of biometrix.core.det: the largest DET threshold whose FMR <= target."""
    fmr, thr = np.asarray(det["fmr"]), np.asarray(det["thresholds"])
    ok = np.flatnonzero(fmr <= target)
    return float(thr[ok].max())


def _open(qtbot, settings: GuiSettings, path: Path) -> MainWindow:
    w = MainWindow(AppContext(settings, settings_path=path))
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    qtbot.waitExposed(w)
    return w


def _close(w: MainWindow) -> None:
    w.close()
    w.ctx.shutdown()


def test_det_plot_draws_the_curve_and_the_point(qtbot) -> None:
    det = card_points()
    plot = DetPlot()
    qtbot.addWidget(plot)
    plot.resize(360, 240)
    plot.set_curve(det["fmr"], det["fnmr"])
    pt = point_at_fmr(card_det({"validation_det": det}), 0.05)
    plot.set_point(pt.fmr, pt.fnmr)
    plot.show()
    qtbot.waitExposed(plot)
    img = plot.grab().toImage()
    background = BACKGROUND.rgb()

    def inked_near(x: float, y: float, radius: int = 2) -> bool:
        return any(img.pixel(min(max(int(x) + dx, 0), img.width() - 1), min(max(int(y) + dy, 0),
                                                                         img.height() - 1)) != background
                   for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1))

    # the middle of every drawn segment of the curve is inked (the grid lines are elsewhere, mostly)
    mids = []
    for k in range(1, len(det["fmr"])):
        a = plot.to_pixel(det["fmr"][k - 1], det["fnmr"][k - 1])
        b = plot.to_pixel(det["fmr"][k], det["fnmr"][k])
        mids.append(((a.x() + b.x()) / 2, (a.y() + b.y()) / 2))
    assert all(inked_near(x, y) for x, y in mids)
    # the curve's colour is there, and the operating point is a red dot
    blue = sum(1 for x, y in mids if QColor(img.pixel(int(x), int(y))).blue() > 150
               and QColor(img.pixel(int(x), int(y))).red() < 120)
    assert blue >= len(mids) // 3
    p = plot.to_pixel(pt.fmr, pt.fnmr)
    c = QColor(img.pixel(int(p.x()), int(p.y())))
    assert c.red() > 150 and c.green() < 90 and c.blue() < 90
    # an empty plot is background inside the axes, apart from the grid and its message
    plot.set_curve((), ())
    plot.set_point(None)
    empty = plot.grab().toImage()
    assert sum(empty.pixel(int(x), int(y)) != background for x, y in mids) < len(mids) // 2


def test_gui_det_agrees_with_the_oracle() -> None:
    det = card_points()
    curve = card_det({"validation_det": det})
    assert curve is not None and len(curve.fmr) <= 200
    for target in (0.001, 0.005, 0.01, 0.02, 0.05, 0.3):
        assert point_at_fmr(curve, target).threshold == oracle_threshold(det, target)
    assert card_det({"validation_det": {"fmr": [0.0, 1.0], "fnmr": [1.0], "thresholds": [0, 1]}}) is None
    assert card_det({}) is None


def test_target_fmr_sets_uses_and_keeps_the_threshold(qtbot, gui_settings: GuiSettings, tmp_path: Path,
                                                      svc_strokes) -> None:
    det = card_points()
    target = 0.05
    expected = oracle_threshold(det, target)
    path = tmp_path / "gui.json"
    w = _open(qtbot, gui_settings, path)
    try:
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None, timeout=WAIT_MS)
        box = page.boxes[Modality.SIGNATURE]
        # the pen comparator, read-only beside the signature model: its id and the threshold its card sets
        pen = json.loads((REPO / "assets" / "models" / PEN_MODEL_ID / "comparator.json").read_text())
        assert page.pen_label.text().startswith(f"{PEN_MODEL_ID} decides a pen probe")
        assert f"threshold {pen['thresholds'][0]['value']:.3f}" in page.pen_label.text()
        assert box.curve is not None and box.plot.fmr == tuple(det["fmr"])
        assert "DET" in box.det.text() and str(det["n_impostor"]) in box.det.text()
        default = box.chosen_value()
        box.fmr_combo.setCurrentIndex(box.fmr_combo.findData(target))
        assert box.chosen_value() == expected != default
        assert box.plot.point is not None and box.plot.point[0] <= target
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)  # set and audited by the service, then saved
        qtbot.waitUntil(lambda: page.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
        policy = _service(qtbot, w.ctx, lambda bx: bx.policy())
        assert (policy.signature_target_fmr, policy.face_target_fmr) == (target, None)
        assert not set(json.loads(path.read_text())) & set(POLICY_KEYS)  # the database keeps it, not the file

        _service(qtbot, w.ctx, lambda bx: bx.enroll("777", signatures=[svc_strokes(3, n) for n in range(1, 6)]))
        # the probe as an image (a scan of the drawing): pen against pen references is the pen comparator's, which
        # keeps its own threshold (the one chosen here is the image model's)
        probe = rasterize(svc_strokes(3, 6))
        decision = _service(qtbot, w.ctx, lambda bx: bx.verify("777", signature=probe))
        assert decision.threshold.value == expected
        assert decision.threshold.target_fmr == target
        assert decision.threshold.model_id == SIGNATURE_MODEL and "validation DET" in decision.threshold.source
        assert decision.accepted == (decision.distance <= expected)
    finally:
        _close(w)

    # a restart of the window reads the target back from the database
    w = _open(qtbot, load_settings(path), path)
    try:
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None, timeout=WAIT_MS)
        box = page.boxes[Modality.SIGNATURE]
        assert box.fmr_combo.currentData() == target and box.chosen_value() == expected
        thr = _service(qtbot, w.ctx, lambda bx: bx.threshold(Modality.SIGNATURE))
        assert (thr.value, thr.target_fmr) == (expected, target)
        # back to the card's own threshold
        box.fmr_combo.setCurrentIndex(0)
        page.messages.clear_message()
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: page.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
        assert _service(qtbot, w.ctx, lambda bx: bx.policy()).signature_target_fmr is None
        thr = _service(qtbot, w.ctx, lambda bx: bx.threshold(Modality.SIGNATURE))
        assert thr.value == json.loads(CARD.read_text())["thresholds"][0]["value"]
    finally:
        _close(w)


def test_long_threshold_sources_scroll_instead_of_overlapping(qtbot, gui_settings: GuiSettings,
                                                               tmp_path: Path) -> None:
    """The shipped signature card's transferred threshold source wraps to several lines: at the window's size the
    page scrolls, and the curve, its caption and the operating point never overlap."""
    w = _open(qtbot, gui_settings, tmp_path / "gui.json")
    try:
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None, timeout=WAIT_MS)

        def laid_out() -> None:  # the layout passes after the labels were filled (slower on a loaded machine)
            for box in page.boxes.values():
                source, plot, det = (x.geometry() for x in (box.source, box.plot, box.det))
                assert source.bottom() < plot.top() and plot.bottom() < det.top(), (source, plot, det)
                assert box.det.height() >= box.det.heightForWidth(box.det.width()) - 1  # the caption is not cut

        qtbot.waitUntil(laid_out, timeout=WAIT_MS)
        assert page.apply_button.isVisible() and page.scroll.widget().height() >= page.scroll.viewport().height()
    finally:
        _close(w)
