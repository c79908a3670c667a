"""Translation (issue 28): every string of the catalogue is translated into German, the shipped .qm is the one the
.ts builds and the .ts holds every string of the source; with German selected the pages speak German (the .ts is
the oracle), and no visible English text of the windows is missing from the catalogue."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from biometrix.gui.context import AppContext
from biometrix.gui.i18n import CATALOGUES, install_language
from biometrix.gui.main_window import MainWindow
from biometrix.gui.qt import (
    QAbstractItemView,
    QApplication,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QWidget,
)
from biometrix.gui.settings import load_settings, save_settings
from tests.gui.conftest import REPO, WAIT_MS, each_screen, shown

TS = CATALOGUES / "biometrix_de.ts"
QM = CATALOGUES / "biometrix_de.qm"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def catalogue() -> list[tuple[str, str, str, str | None]]:
    """(context, source, translation, type) of every message of the German .ts."""
    out = []
    for context in ET.parse(TS).getroot().iter("context"):
        name = context.findtext("name") or ""
        for m in context.iter("message"):
            tr = m.find("translation")
            out.append((name, m.findtext("source") or "", (tr.text or "") if tr is not None else "",
                        tr.get("type") if tr is not None else None))
    return out


def pattern(source: str) -> re.Pattern[str]:
    """A source text with each {placeholder} standing for any text: what it looks like on screen."""
    parts = PLACEHOLDER.split(source)
    return re.compile("".join(re.escape(p) + ("(?s:.*)" if i < len(parts) - 1 else "") for i, p in enumerate(parts)))


def test_every_string_is_translated_with_the_same_placeholders() -> None:
    messages = catalogue()
    assert len(messages) > 300
    for context, source, german, kind in messages:
        assert kind is None and german.strip(), (context, source, kind)  # not unfinished, vanished or obsolete
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(german)), (context, source)


def _tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    if not found.is_file() and shutil.which(name) is None:
        pytest.skip(f"{name} is not installed (it ships with PySide6-Essentials)")
    return str(found) if found.is_file() else str(shutil.which(name))


def test_the_catalogue_holds_every_string_of_the_source_and_the_qm_is_built_from_it(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.ts"
    shutil.copy(TS, fresh)
    sources = sorted(str(p.relative_to(REPO)) for p in (REPO / "biometrix" / "gui").rglob("*.py"))
    subprocess.run([_tool("pyside6-lupdate"), *sources, "-no-obsolete", "-locations", "none", "-ts", str(fresh)],
                   cwd=REPO, check=True, capture_output=True)
    assert fresh.read_text(encoding="utf-8") == TS.read_text(encoding="utf-8"), \
        "the .ts is not up to date with the source: run python packaging/translations.py --update"
    run = subprocess.run([sys.executable, str(REPO / "packaging" / "translations.py"), "--out", str(tmp_path)],
                         cwd=REPO, check=True, capture_output=True, text=True)
    assert "biometrix_de.qm" in run.stdout
    assert (tmp_path / "biometrix_de.qm").read_bytes() == QM.read_bytes(), \
        "the shipped .qm is not the one the .ts builds: run python packaging/translations.py"


@pytest.fixture
def german(qapp):
    translator = install_language(qapp, "de")
    yield translator
    qapp.removeTranslator(translator)


def visible_texts(root: QWidget) -> list[tuple[str, str]]:
    """(what, text) of every text a user sees on ``root``'s visible widgets: labels, buttons, group titles,
    placeholders, tabs, list entries and table headers."""
    out = []
    for w in [root, *root.findChildren(QWidget)]:
        if not w.isVisible():
            continue
        if isinstance(w, (QLabel, QPushButton)) and w.text():
            out.append((type(w).__name__, w.text()))
        if isinstance(w, QGroupBox) and w.title():
            out.append(("QGroupBox", w.title()))
        if isinstance(w, QLineEdit) and w.placeholderText():
            out.append(("placeholder", w.placeholderText()))
        if isinstance(w, QTabWidget):
            out += [("tab", w.tabText(i)) for i in range(w.count())]
        if isinstance(w, QAbstractItemView) and hasattr(w, "horizontalHeaderItem"):
            out += [("header", w.horizontalHeaderItem(i).text()) for i in range(w.columnCount())
                    if w.horizontalHeaderItem(i) is not None]
        if type(w).__name__ == "QListWidget":
            out += [("item", w.item(i).text()) for i in range(w.count())]  # type: ignore[attr-defined]
    return out


def _window(qtbot, gui_settings, tmp_path) -> MainWindow:
    return shown(qtbot, MainWindow(AppContext(gui_settings, settings_path=tmp_path / "gui.json")), (1366, 740))


def _walk_pages(qtbot, w: MainWindow) -> list[tuple[str, str, str]]:
    return [(name, what, text) for name, _ in each_screen(qtbot, w) for what, text in visible_texts(w)]


#: Texts on screen that are data, not the app's words: numbers, ids, file paths, model ids and thresholds.
DATA = re.compile(r"^(?:[\d\s.,:/%#—–±+\-]*|.*[/\\].*|[a-z0-9]+(?:-[a-z0-9]+)+.*|default: .*|random_fmr1: .*|"
                  r"(?:pen|scan|accept|reject)\b.*: [\d.]+.*|face|signature|English|Deutsch|.*\(FMR [\d.]+%\).*)$")


def test_no_visible_english_text_is_missing_from_the_catalogue(qtbot, gui_settings, tmp_path) -> None:
    """Walk every page and section of the teller window in English: each text shown is the app's word from the
    catalogue (as it is, or with its placeholders filled in), or data (ids, numbers, paths, model ids)."""
    sources = [pattern(source) for _, source, _, _ in catalogue()]
    w = _window(qtbot, gui_settings, tmp_path)
    try:
        texts = _walk_pages(qtbot, w)
    finally:
        w.close()
        w.ctx.shutdown()
    assert len(texts) > 100
    missing = sorted({(page, what, text) for page, what, text in texts
                      if re.search(r"[A-Za-z]{2}", text) and not DATA.match(text)
                      and not any(p.fullmatch(text) for p in sources)})
    assert missing == [], missing


def test_with_german_the_pages_speak_german(qtbot, gui_settings, tmp_path, german) -> None:
    """The .ts is the oracle: each window text that is a catalogue source in English shows its German translation,
    and no English source (whose German differs) is left on screen."""
    german_of = {(ctx, source): de for ctx, source, de, _ in catalogue()}
    english = {source for (_, source), de in german_of.items() if source != de and len(source) > 3}
    w = _window(qtbot, gui_settings, tmp_path)
    try:
        assert [w.nav.item(i).text() for i in range(w.nav.count())] == \
            [german_of["main_window", s] for s in ("Enroll", "Verify", "Identify", "Audit", "Settings")]
        assert w.page("enroll").save_button.text() == german_of["enroll_page", "Save enrollment"]
        assert w.page("verify").verify_button.text() == german_of["verify_page", "Verify"]
        settings = w.show_page("settings")
        assert [settings.tabs.tabText(i) for i in range(settings.tabs.count())] == \
            [german_of["settings_page", s] for s in ("Decisions", "Devices", "Kiosk", "Operators", "Models")]
        titles = [lab.text() for page in w.pages.values() for lab in page.findChildren(QLabel)
                  if lab.objectName() == "pageTitle"]
        assert titles == [german_of["pages", s] for s in ("Enroll a subject", "Verify a subject",
                                                           "Identify (search all subjects)", "Audit log", "Settings")]
        texts = _walk_pages(qtbot, w)
    finally:
        w.close()
        w.ctx.shutdown()
    left = sorted({(page, text) for page, _, text in texts if text in english})
    assert left == [], left


def test_the_language_is_a_setting_applied_at_the_next_start(qtbot, gui_settings, tmp_path) -> None:
    path = tmp_path / "gui.json"
    save_settings(path, gui_settings)
    w = shown(qtbot, MainWindow(AppContext(load_settings(path), settings_path=path)), (1366, 740))
    try:
        page = w.show_page("settings")
        qtbot.waitUntil(lambda: page.info is not None and not page.busy, timeout=WAIT_MS)
        page.show_section("Devices")
        page.language.setCurrentIndex(page.language.findData("de"))
        page.apply_button.click()
        qtbot.waitUntil(lambda: "next start" in page.messages.text(), timeout=WAIT_MS)
        assert w.page("enroll").save_button.text() == "Save enrollment"  # this run stays in English
    finally:
        w.close()
        w.ctx.shutdown()
    assert load_settings(path).language == "de"
    app = QApplication.instance()
    translator = install_language(app, load_settings(path).language)  # what run_app does at the next start
    try:
        w = shown(qtbot, MainWindow(AppContext(load_settings(path), settings_path=path)), (1366, 740))
        assert w.page("enroll").save_button.text() == "Registrierung speichern"
        w.close()
        w.ctx.shutdown()
    finally:
        app.removeTranslator(translator)


def _missing(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    sources = [pattern(source) for _, source, _, _ in catalogue()]
    return sorted({(what, text) for what, text in texts if re.search(r"[A-Za-z]{2}", text)
                   and not DATA.match(text) and not any(p.fullmatch(text) for p in sources)})


@pytest.mark.parametrize("modality", ["signature", "face"])
def test_the_kiosk_and_the_dialogs_have_no_text_outside_the_catalogue(qtbot, gui_settings, modality) -> None:
    import numpy as np

    from biometrix.gui.kiosk import KioskWindow, PinDialog
    from biometrix.gui.kiosk_supervisor import SupervisorDialog
    from biometrix.gui.login import LoginDialog
    from biometrix.gui.scan import ScanDialog

    settings = gui_settings.replace(kiosk_modality=modality, kiosk_idle_s=600.0).with_pin("2468")
    k = shown(qtbot, KioskWindow(AppContext(settings, settings_path=None)), (1024, 600))
    texts = []
    try:
        for screen in (0, 1, 2):
            k.stack.setCurrentIndex(screen)
            qtbot.wait(20)
            texts += visible_texts(k)
        k.test_mode_started("root")
        k.stack.setCurrentIndex(1)
        qtbot.wait(20)
        texts += visible_texts(k)
        dialogs = [PinDialog(k.ctx, k), SupervisorDialog(k.ctx, test_mode_on=False, parent=k),
                   ScanDialog(np.full((60, 120), 255, np.uint8), name="scan.png"), LoginDialog(k.ctx)]
        for d in dialogs:
            qtbot.addWidget(d)
            d.show()
            texts += visible_texts(d) + [("title", d.windowTitle())]
            d.close()
        k.test_timer.stop()
        k.test_mode_by = None
    finally:
        k.unlock_and_close()
        k.ctx.shutdown()
    assert len(texts) > 30
    assert _missing(texts) == []


def test_a_language_the_app_does_not_ship_is_refused(tmp_path: Path) -> None:
    from biometrix.core.errors import InvalidInput
    from biometrix.gui.settings import GuiSettings

    with pytest.raises(InvalidInput, match="language must be one of en, de"):
        GuiSettings(language="xx")
    (tmp_path / "gui.json").write_text('{"language": 7}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="language must be a string"):
        load_settings(tmp_path / "gui.json")
