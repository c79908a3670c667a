"""The audit log: filter by subject and event, read the rows, export them as CSV."""

from __future__ import annotations

from typing import Any

from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.pages.base import Page
from biometrix.gui.qt import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)
from biometrix.gui.tasks import error_message

EVENTS = ("all", "enroll", "verify", "identify", "resolve", "delete", "erase", "login", "login_failed", "logout",
          "operator", "settings", "key")


class AuditPage(Page):
    """Most recent audit rows first (up to ``limit``), read off the UI thread."""

    title = "Audit log"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.subject_edit = QLineEdit()
        self.subject_edit.setPlaceholderText("subject ID (exact), empty for all")
        self.event_combo = QComboBox()
        self.event_combo.addItems(EVENTS)
        self.limit = QSpinBox()
        self.limit.setRange(10, 100_000)
        self.limit.setValue(500)
        self.refresh_button = QPushButton("Refresh")
        self.export_button = QPushButton("Export CSV…")
        self.accept_button = QPushButton("Accept referred")
        self.reject_button = QPushButton("Reject referred")
        for b in (self.accept_button, self.reject_button):
            b.setToolTip("A supervisor settles the selected Refer decision; the settlement is a new audit row")
            b.setEnabled(False)
        filters = QHBoxLayout()
        for label, w in (("Subject", self.subject_edit), ("Event", self.event_combo), ("Last", self.limit)):
            filters.addWidget(QLabel(label))
            filters.addWidget(w)
        filters.addWidget(self.refresh_button)
        filters.addStretch(1)
        filters.addWidget(self.accept_button)
        filters.addWidget(self.reject_button)
        filters.addWidget(self.export_button)
        self.table = QTableWidget(0, len(ops.AUDIT_COLUMNS))
        self.table.setHorizontalHeaderLabels([c.replace("_", " ") for c in ops.AUDIT_COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.outer.addLayout(filters)
        self.outer.addWidget(self.table, 1)
        self.entries: list[Any] = []
        self._note = ""  # shown instead of the row count after the next refresh
        self.refresh_button.clicked.connect(self.refresh)
        self.subject_edit.returnPressed.connect(self.refresh)
        self.event_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.export_button.clicked.connect(self._choose_export)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.accept_button.clicked.connect(lambda: self.resolve_selected(accept=True))
        self.reject_button.clicked.connect(lambda: self.resolve_selected(accept=False))

    def selected_refer(self) -> Any | None:
        """The selected row when it is a referred verification, else None."""
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        entry = self.entries[rows.pop()]
        return entry if entry.event == "verify" and entry.decision == "refer" else None

    def _selection_changed(self) -> None:
        refer = self.selected_refer() is not None
        self.accept_button.setEnabled(refer and not self.busy)
        self.reject_button.setEnabled(refer and not self.busy)

    def resolve_selected(self, *, accept: bool) -> None:
        entry = self.selected_refer()
        if entry is None:
            self.messages.show_message("Select a verification whose decision is 'refer'.", "warn")
            return
        event_id = entry.event_id

        def done(row: int) -> None:
            verdict = "accepted" if accept else "rejected"
            self._note = f"Referred verification {event_id} {verdict} (audit row {row})."
            self.refresh()

        self.call(lambda bx: bx.resolve(event_id, accept=accept), done)

    def refresh(self) -> None:
        subject = self.subject_edit.text().strip() or None
        event = self.event_combo.currentText()
        event = None if event == "all" else event
        limit = self.limit.value()

        def done(entries: list[Any]) -> None:
            self.entries = list(reversed(entries))  # newest first
            rows = ops.audit_rows(self.entries)
            self.table.setRowCount(len(rows))
            for i, row in enumerate(rows):
                for j, text in enumerate(row):
                    self.table.setItem(i, j, QTableWidgetItem(text))
            note, self._note = self._note, ""
            self.messages.show_message(note or f"{len(rows)} audit rows.", "ok" if note else "info")

        self.call(lambda bx: bx.audit(subject_id=subject, event=event, limit=limit), done)

    def export_to(self, path: str) -> None:
        try:
            written = ops.export_csv(self.entries, path)
        except OSError as err:
            self.messages.show_message(f"Export failed: {error_message(err)}", "error")
            return
        self.messages.show_message(f"Exported {len(self.entries)} rows to {written}.", "ok")

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the audit rows", "audit.csv", "CSV (*.csv)")
        if path:
            self.export_to(path)

    def on_shown(self) -> None:
        self.refresh()
