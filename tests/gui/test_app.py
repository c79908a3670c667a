"""The teller window without shared data: navigation, empty pad refused, missing camera, settings, CLI errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.distances import format_distance
from biometrix.core.types import Modality
from biometrix.gui.main_window import PAGES
from biometrix.gui.qt import Qt
from biometrix.gui.settings import load_settings
from tests.gui.conftest import REPO, WAIT_MS, call_service


def test_pages_and_shortcuts(window, qtbot) -> None:
    assert [window.nav.item(i).text() for i in range(window.nav.count())] == [label for _, label in PAGES]
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    for i in (3, 5, 1):
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{i}"), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentIndex() == i - 1


def test_fits_1366x768(window) -> None:
    hint = window.sizeHint()
    assert hint.width() <= 1366 and hint.height() <= 768
    for page in window.pages.values():
        assert page.minimumSizeHint().width() <= 1366 - window.nav.width()
        assert page.minimumSizeHint().height() <= 700


def test_empty_pad_is_refused_with_a_message(window, qtbot) -> None:
    page = window.show_page("enroll")
    qtbot.mouseClick(page.add_button, Qt.MouseButton.LeftButton)
    assert page.messages.kind == "warn" and "empty" in page.messages.text()
    assert page.references == []
    verify = window.show_page("verify")
    verify.finder.results.addItem("x")
    verify.finder.results.item(0).setData(Qt.ItemDataRole.UserRole, "someone")
    verify.finder.results.setCurrentRow(0)
    qtbot.mouseClick(verify.verify_button, Qt.MouseButton.LeftButton)
    assert "empty" in verify.messages.text()


def test_missing_camera_offers_a_photo(window, qtbot, tmp_path: Path) -> None:
    page = window.show_page("enroll")
    cam = page.camera
    qtbot.waitUntil(lambda: cam.stack.currentIndex() == 1, timeout=5_000)
    assert "No camera" in cam.no_camera_label.text() and "photo" in cam.no_camera_label.text()
    assert not cam.capture_button.isEnabled() and cam.load_button.isEnabled()
    import cv2

    photo = tmp_path / "face.png"
    cv2.imwrite(str(photo), np.full((120, 100, 3), 128, np.uint8))
    with qtbot.waitSignal(cam.captured, timeout=5_000):
        assert cam.load_photo(photo)
    assert page.face is not None and page.face.shape == (120, 100, 3)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert not cam.load_photo(bad)
    assert "cannot be used" in cam.no_camera_label.text()


def test_errors_are_messages_not_tracebacks(window, qtbot) -> None:
    page = window.show_page("verify")
    page.finder.query.setText("nobody")
    qtbot.mouseClick(page.finder.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.messages.text() != "" and not page.busy, timeout=WAIT_MS)
    assert "Traceback" not in page.messages.text()
    assert page.messages.kind in ("warn", "error")


def window_card_thresholds(box) -> dict[str, float]:
    return {t.name: t.value for t in box.thresholds}


def test_settings_page_shows_cards_and_saves(window, qtbot) -> None:
    page = window.show_page("settings")
    qtbot.waitUntil(lambda: page.info is not None, timeout=WAIT_MS)
    sig = page.boxes[Modality.SIGNATURE]
    assert sig.threshold_combo.count() >= 1 and "FMR" in sig.threshold_combo.itemText(0)
    # the default entry says that pen probes use the card's stricter pen threshold (read from the card here)
    card = window_card_thresholds(sig)
    default_text = sig.threshold_combo.itemText(sig.threshold_combo.findData("default"))
    if card["pen"] < card["default"]:
        assert f"pen probes: pen {format_distance(card['pen'])}" in default_text
    assert "scan probes" not in default_text  # the shipped scan threshold is looser: not used
    assert "DET" in sig.det.text()
    # a database without operators is being set up: anyone may change its policy (the band is the policy's)
    assert page.band.isEnabled() and sig.threshold_combo.isEnabled() and sig.model_combo.isEnabled()
    assert page.band.value() == 0.0  # the policy's default: no band
    page.band.setValue(25.0)
    page.set_pin("2468")
    qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)  # the band goes to the database, then the file
    qtbot.waitUntil(lambda: window.ctx.settings_path.exists(), timeout=WAIT_MS)
    assert call_service(qtbot, window.ctx, lambda bx: bx.policy().refer_band) == pytest.approx(0.25)
    saved = load_settings(window.ctx.settings_path)
    assert saved.pin_matches("2468") and not saved.pin_matches("1357")
    assert "2468" not in window.ctx.settings_path.read_text()


def test_cli_gui_without_pyside6_is_one_line(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['PySide6'] = None; sys.modules['shiboken6'] = None\n"
            "from biometrix.cli import main; raise SystemExit(main(['gui', '--db', 'x.db']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["biometrix: error: 'biometrix gui' needs PySide6: "
                                                "pip install PySide6-Essentials"]
