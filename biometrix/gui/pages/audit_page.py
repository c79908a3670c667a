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

EVENTS = ("all", "enroll", "verify", "identify", "delete")


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
        filters = QHBoxLayout()
        for label, w in (("Subject", self.subject_edit), ("Event", self.event_combo), ("Last", self.limit)):
            filters.addWidget(QLabel(label))
            filters.addWidget(w)
        filters.addWidget(self.refresh_button)
        filters.addStretch(1)
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
        self.refresh_button.clicked.connect(self.refresh)
        self.subject_edit.returnPressed.connect(self.refresh)
        self.event_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.export_button.clicked.connect(self._choose_export)

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
            self.messages.show_message(f"{len(rows)} audit rows.", "info")

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
