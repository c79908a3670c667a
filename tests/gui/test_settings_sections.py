"""Settings in sections (issue 28): Decisions, Devices, Kiosk, Operators, Models, each fitting 1024x600 without
scrolling sideways; the DET curves under Decisions for admins only; the operator accounts for admins only."""

from __future__ import annotations

import pytest

from biometrix import Biometrix
from biometrix.core.types import Modality
from biometrix.gui.context import AppContext
from biometrix.gui.main_window import MainWindow
from biometrix.gui.pages.settings_page import SECTIONS
from tests.gui.conftest import WAIT_MS, call_service, shown

ADMIN_PW, TELLER_PW = "admin-password-1", "teller-password-3"


@pytest.fixture
def logged_in(qtbot, gui_settings, tmp_path):
    """logged_in(name, password) -> the teller window at 1024x600 on a database with root (admin) and tom
    (teller), logged in as that operator."""
    with Biometrix(gui_settings.db_path) as bx:
        bx.add_operator("root", "admin", ADMIN_PW)
        bx.login("root", ADMIN_PW)
        bx.add_operator("tom", "teller", TELLER_PW)
    opened = []

    def open_as(name: str, password: str) -> MainWindow:
        ctx = AppContext(gui_settings, settings_path=tmp_path / "gui.json")
        call_service(qtbot, ctx, lambda bx: ctx.login(bx, name, password))
        w = shown(qtbot, MainWindow(ctx), (1024, 600))
        opened.append(w)
        return w

    yield open_as
    for w in opened:
        w.close()
        w.ctx.shutdown()


def _settings(qtbot, w):
    page = w.show_page("settings")
    qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
    return page


def test_the_sections_in_order_and_what_each_holds(qtbot, logged_in) -> None:
    page = _settings(qtbot, logged_in("root", ADMIN_PW))
    assert [page.tabs.tabText(i) for i in range(page.tabs.count())] == list(SECTIONS)
    where = {"Decisions": (page.band, page.boxes[Modality.SIGNATURE].threshold_combo),
             "Devices": (page.camera_edit, page.db_edit, page.references),
             "Kiosk": (page.kiosk_modality, page.kiosk_idle, page.pin_button),
             "Operators": (page.who_label, page.operators_label),
             "Models": (page.boxes[Modality.FACE].model_combo, page.retemplate_button, page.models_edit)}
    for name, widgets in where.items():
        section = page.sections[name]
        assert all(section.isAncestorOf(x) for x in widgets), name
        page.show_section(name)
        qtbot.wait(50)
        assert all(x.isVisible() for x in widgets), name
        assert section.horizontalScrollBar().maximum() == 0, name
        assert section.widget().width() <= section.viewport().width(), name


def test_det_curves_and_operator_accounts_are_for_admins_only(qtbot, logged_in) -> None:
    admin = _settings(qtbot, logged_in("root", ADMIN_PW))
    admin.show_section("Decisions")
    qtbot.wait(50)
    sig = admin.boxes[Modality.SIGNATURE]
    assert sig.plot.isVisible() and sig.det.isVisible() and sig.curve is not None
    admin.show_section("Operators")
    assert admin.who_label.text() == "root (admin)"
    assert "root: admin" in admin.operators_label.text() and "tom: teller" in admin.operators_label.text()

    teller = _settings(qtbot, logged_in("tom", TELLER_PW))
    teller.show_section("Decisions")
    qtbot.wait(50)
    box = teller.boxes[Modality.SIGNATURE]
    assert not box.plot.isVisible() and not box.det.isVisible() and not box.det_caption.isVisible()
    assert box.threshold_combo.isVisible()  # the threshold in force is shown to everyone, not editable
    teller.show_section("Operators")
    assert teller.who_label.text() == "tom (teller)"
    assert "tom: teller" not in teller.operators_label.text() and "admin" in teller.operators_label.text()
