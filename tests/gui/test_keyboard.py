"""Keyboard (issue 28): every control has an accessible name (as Qt's accessibility layer reports it to a screen
reader), Tab goes through each page's controls in reading order, and Enter runs the page's main action."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QAccessible

from biometrix.gui.context import AppContext
from biometrix.gui.qt import QApplication, Qt, QWidget
from tests.gui.conftest import WAIT_MS, draw_on_pad, each_screen, shown


def unnamed(root: QWidget) -> list[str]:
    """The visible controls of ``root`` that take the keyboard's focus but have no accessible name."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible() or not w.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        iface = QAccessible.queryAccessibleInterface(w)
        if iface is None or not iface.text(QAccessible.Text.Name).strip():
            out.append(f"{type(w).__name__} {w.objectName()!r} {getattr(w, 'placeholderText', lambda: '')()!r}")
    return out


def test_every_control_of_every_page_has_an_accessible_name(window, qtbot) -> None:
    for name, section in each_screen(qtbot, window):
        assert unnamed(window) == [], (name, section)


@pytest.mark.parametrize("modality", ["signature", "face"])
def test_every_control_of_the_kiosk_and_the_dialogs_has_an_accessible_name(qtbot, gui_settings, modality) -> None:
    from biometrix.gui.kiosk import KioskWindow, PinDialog
    from biometrix.gui.kiosk_supervisor import SupervisorDialog
    from biometrix.gui.scan import ScanDialog

    settings = gui_settings.replace(kiosk_modality=modality, kiosk_idle_s=600.0).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 600))
    try:
        for screen in (0, 1, 2):
            k.stack.setCurrentIndex(screen)
            qtbot.wait(20)
            assert unnamed(k) == [], screen
        for d in (PinDialog(k.ctx, k), SupervisorDialog(k.ctx, test_mode_on=False, parent=k),
                  ScanDialog(np.full((60, 120), 255, np.uint8), name="scan.png")):
            qtbot.addWidget(d)
            d.show()
            assert unnamed(d) == [], type(d).__name__
            d.close()
    finally:
        k.unlock_and_close()
        k.ctx.shutdown()


def _focus(qtbot, w: QWidget) -> None:
    w.window().activateWindow()
    w.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (w, w.focusProxy()), timeout=5_000)


def _focused() -> QWidget:
    """The control with the focus (a spin box rather than the text field inside it)."""
    focus = QApplication.focusWidget()
    parent = focus.parentWidget()
    return parent if parent is not None and parent.focusProxy() is focus else focus


def _tab_order(qtbot, first: QWidget, n: int) -> list[QWidget]:
    """The controls Tab visits from ``first``, ``n`` of them."""
    _focus(qtbot, first)
    seen = [first]
    for _ in range(n - 1):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(_focused())
    return seen


def test_tab_goes_through_enroll_and_verify_in_reading_order(window, qtbot) -> None:
    enroll = window.show_page("enroll")
    chain = [enroll.subject_edit, enroll.name_edit, enroll.n_spin, enroll.replace_box, enroll.undo_button,
             enroll.clear_button, enroll.scans.button]
    assert _tab_order(qtbot, chain[0], len(chain)) == chain
    verify = window.show_page("verify")
    chain = [verify.finder.query, verify.finder.find_button, verify.finder.results, verify.input.sig_radio]
    assert _tab_order(qtbot, chain[0], len(chain)) == chain


def test_enter_runs_each_page_s_main_action(window, qtbot, svc_strokes, stylus) -> None:
    # Enroll: Enter adds the signature on the pad as a reference
    enroll = window.show_page("enroll")
    _focus(qtbot, enroll.subject_edit)
    qtbot.keyClicks(enroll.subject_edit, "k1")
    draw_on_pad(enroll.pad, svc_strokes(1, 1), stylus)
    qtbot.keyClick(enroll.subject_edit, Qt.Key.Key_Return)
    assert len(enroll.references) == 1 and enroll.pad.is_empty
    # ... and with the pad empty and references missing, Enter asks to save: it says what is missing
    qtbot.keyClick(enroll.subject_edit, Qt.Key.Key_Return)
    assert "1 of 5 reference signatures" in enroll.messages.text()

    # Verify: Enter in the search field searches (and does not verify); elsewhere it verifies
    verify = window.show_page("verify")
    _focus(qtbot, verify.finder.query)
    qtbot.keyClicks(verify.finder.query, "nobody")
    qtbot.keyClick(verify.finder.query, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "No subject matches" in verify.messages.text(), timeout=WAIT_MS)
    _focus(qtbot, verify.finder.results)
    qtbot.keyClick(verify.finder.results, Qt.Key.Key_Return)
    assert verify.messages.text() == "Find and select the subject first."

    # Identify: Enter searches with the probe (an empty pad says so)
    identify = window.show_page("identify")
    _focus(qtbot, identify.top_k)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Enter)
    assert "pad is empty" in identify.messages.text()

    # Audit: Enter refreshes the rows
    audit = window.show_page("audit")
    qtbot.waitUntil(lambda: not audit.busy, timeout=WAIT_MS)
    audit.messages.clear_message()
    _focus(qtbot, audit.table)
    qtbot.keyClick(audit.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "audit rows" in audit.messages.text(), timeout=WAIT_MS)

    # Settings: Enter applies and saves
    settings = window.show_page("settings")
    qtbot.waitUntil(lambda: settings.info is not None and not settings.busy, timeout=WAIT_MS)
    settings.show_section("Devices")
    _focus(qtbot, settings.camera_edit)
    qtbot.keyClick(settings.camera_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: settings.messages.text().startswith("Settings saved"), timeout=WAIT_MS)
