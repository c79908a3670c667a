"""The teller window: navigation between the pages (Ctrl+1..5), the database in use and a busy indicator."""

from __future__ import annotations

from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.login import Relogin
from biometrix.gui.pages.audit_page import AuditPage
from biometrix.gui.pages.base import Page, name_controls
from biometrix.gui.pages.enroll_page import EnrollPage
from biometrix.gui.pages.identify_page import IdentifyPage
from biometrix.gui.pages.settings_page import SettingsPage
from biometrix.gui.pages.verify_page import VerifyPage
from biometrix.gui.qt import (
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QListWidget,
    QMainWindow,
    QShortcut,
    QSize,
    QStackedWidget,
    Qt,
    QTimer,
    QWidget,
)

#: (page class, navigation label); Ctrl+1.. follow this order.
PAGES: tuple[tuple[type[Page], str], ...] = (
    (EnrollPage, QT_TRANSLATE_NOOP("main_window", "Enroll")),
    (VerifyPage, QT_TRANSLATE_NOOP("main_window", "Verify")),
    (IdentifyPage, QT_TRANSLATE_NOOP("main_window", "Identify")),
    (AuditPage, QT_TRANSLATE_NOOP("main_window", "Audit")),
    (SettingsPage, QT_TRANSLATE_NOOP("main_window", "Settings")),
)


class MainWindow(QMainWindow):
    """Navigation: a list of pages on the left, the current page on the right. When the session is lost (see
    ``AppContext``) the login is shown again; cancelling it closes the window."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setWindowTitle(translate("main_window", "Biometrix — signature and face verification"))
        self.nav = QListWidget()
        self.nav.setFixedWidth(132)
        self.nav.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setStyleSheet("QListWidget { font-size: 13pt; } QListWidget::item { padding: 10px 8px; }")
        self.stack = QStackedWidget()
        self.pages: dict[str, Page] = {}
        for i, (cls, label) in enumerate(PAGES, start=1):
            page = cls(ctx)
            self.pages[label.lower()] = page
            self.stack.addWidget(page)
            self.nav.addItem(translate("main_window", label))
            shown = translate("main_window", label)
            self.nav.item(i - 1).setToolTip(translate("main_window", "{label} (Ctrl+{i})").format(label=shown, i=i))
            shortcut = QShortcut(QKeySequence(f"Ctrl+{i}"), self)
            shortcut.activated.connect(lambda row=i - 1: self.nav.setCurrentRow(row))
        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.nav)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.busy_label = QLabel()
        self.statusBar().addPermanentWidget(self.busy_label)
        self.statusBar().showMessage(translate("main_window", "Ctrl+1..5 switch pages. Models load on first use."))
        self._current: Page | None = None
        self._shown_once = False
        self.nav.currentRowChanged.connect(self._switch)
        working = translate("main_window", "Working…")
        ctx.tasks.busy_changed.connect(lambda busy: self.busy_label.setText(working if busy else ""))
        self.relogin = Relogin(ctx, self, on_cancel=self.close)
        self.nav.setAccessibleName(translate("main_window", "pages"))
        for page in self.pages.values():
            name_controls(page)
        self.nav.setCurrentRow(0)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override: fits a 1366x768 screen with its task bar
        return QSize(1300, 700)

    def page(self, name: str) -> Page:
        return self.pages[name]

    def show_page(self, name: str) -> Page:
        self.nav.setCurrentRow(list(self.pages).index(name))
        return self.pages[name]

    def _switch(self, row: int) -> None:
        if self._current is not None:
            self._current.on_hidden()
        self.stack.setCurrentIndex(row)
        self._current = self.stack.currentWidget()  # type: ignore[assignment]
        if self.isVisible() and self._current is not None:
            self._current.on_shown()

    def showEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)  # type: ignore[arg-type]
        if not self._shown_once:  # after the first paint: the page may open a camera
            self._shown_once = True
            QTimer.singleShot(0, self._first_shown)

    def _first_shown(self) -> None:
        if self._current is not None and self.isVisible():
            self._current.on_shown()

    def closeEvent(self, event: object) -> None:  # noqa: N802 - Qt override
        for page in self.pages.values():
            page.on_hidden()
        super().closeEvent(event)  # type: ignore[arg-type]
