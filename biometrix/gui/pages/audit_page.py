"""The audit log: filter by subject and event, read the rows in words (the raw entry in a details pane), settle a
referral with a note, export the rows as CSV."""

from __future__ import annotations

from typing import Any

from biometrix.gui import ops
from biometrix.gui.audit_view import COLUMNS, EVENT_WORDS, audit_row
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Page
from biometrix.gui.qt import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message

EVENTS = ("enroll", "verify", "identify", "resolve", "delete", "erase", "login", "login_failed", "logout",
          "operator", "settings", "key", "backup", "restore")
NOTE_MAX = 500  # the service's limit for a resolution note


class AuditPage(Page):
    """Most recent audit rows first (up to ``limit``), read off the UI thread: local time, event and decision in
    words, operator, subject; the selected row's raw entry (UTC time, distances, model, details JSON) below."""

    title = QT_TRANSLATE_NOOP("pages", "Audit log")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.subject_edit = QLineEdit()
        self.subject_edit.setPlaceholderText(translate("audit_page", "subject ID (exact), empty for all"))
        self.event_combo = QComboBox()
        self.event_combo.addItem(translate("audit_page", "All events"), None)
        for event in EVENTS:
            self.event_combo.addItem(translate("audit_view", EVENT_WORDS[event]), event)
        self.limit = QSpinBox()
        self.limit.setRange(10, 100_000)
        self.limit.setValue(500)
        self.refresh_button = QPushButton(translate("audit_page", "Refresh"))
        self.export_button = QPushButton(translate("audit_page", "Export CSV…"))
        self.accept_button = QPushButton(translate("audit_page", "Accept referred"))
        self.reject_button = QPushButton(translate("audit_page", "Reject referred"))
        for b in (self.accept_button, self.reject_button):
            b.setToolTip(translate("audit_page", "A supervisor settles the selected Refer decision; the settlement is "
                                                 "a new audit row"))
            b.setEnabled(False)
        filters = QHBoxLayout()
        for label, w in ((translate("audit_page", "Subject"), self.subject_edit),
                         (translate("audit_page", "Event"), self.event_combo),
                         (translate("audit_page", "Last"), self.limit)):
            filters.addWidget(QLabel(label))
            filters.addWidget(w)
        filters.addWidget(self.refresh_button)
        filters.addStretch(1)
        filters.addWidget(self.accept_button)
        filters.addWidget(self.reject_button)
        filters.addWidget(self.export_button)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([translate("audit_view", c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText(translate("audit_page", "Select a row to see the entry as stored (UTC time, "
                                                                "distance, threshold, model, details)."))
        self.details.setMaximumHeight(150)
        self.outer.addLayout(filters)
        self.outer.addWidget(self.table, 3)
        self.outer.addWidget(self.details, 1)
        self.entries: list[Any] = []
        self.resolve_dialog: ResolveDialog | None = None  # open while a supervisor confirms a settlement
        self._note = ""  # shown instead of the row count after the next refresh
        self.refresh_button.clicked.connect(self.refresh)
        self.subject_edit.returnPressed.connect(self.refresh)
        for w, name in ((self.subject_edit, translate("audit_page", "Subject")),
                        (self.limit, translate("audit_page", "Last")),
                        (self.table, translate("audit_page", "audit rows")),
                        (self.details, translate("audit_page", "the selected row as stored"))):
            w.setAccessibleName(name)
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
        rows = {i.row() for i in self.table.selectedIndexes()}
        self.details.setPlainText(audit_row(self.entries[min(rows)]).details if len(rows) == 1 else "")
        refer = self.selected_refer() is not None
        self.accept_button.setEnabled(refer and not self.busy)
        self.reject_button.setEnabled(refer and not self.busy)

    def resolve_selected(self, *, accept: bool) -> None:
        entry = self.selected_refer()
        if entry is None:
            self.messages.show_message(translate("audit_page", "Select a verification whose decision is "
                                                               "'refer'."), "warn")
            return
        self.resolve_dialog = ResolveDialog(entry, accept=accept, parent=self)
        self.resolve_dialog.accepted.connect(
            lambda d=self.resolve_dialog: self._resolve(entry.event_id, accept=accept, note=d.note()))
        self.resolve_dialog.open()

    def _resolve(self, event_id: int, *, accept: bool, note: str) -> None:
        """Settle the referral (the service audits it with the note)."""
        self.resolve_dialog = None

        def done(row: int) -> None:
            text = (QT_TRANSLATE_NOOP("audit_page", "Referred verification {event_id} accepted (audit row {row}).")
                    if accept else
                    QT_TRANSLATE_NOOP("audit_page", "Referred verification {event_id} rejected (audit row {row})."))
            self._note = translate("audit_page", text).format(event_id=event_id, row=row)
            self.refresh()

        self.call(lambda bx: bx.resolve(event_id, accept=accept, note=note), done)

    def main_action(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        subject = self.subject_edit.text().strip() or None
        event = self.event_combo.currentData()
        limit = self.limit.value()

        def done(entries: list[Any]) -> None:
            self.entries = list(reversed(entries))  # newest first
            rows = [audit_row(e) for e in self.entries]
            self.table.clearSelection()
            self.details.clear()
            self.table.setRowCount(len(rows))
            for i, row in enumerate(rows):
                for j, text in enumerate(row.cells):
                    item = QTableWidgetItem(text)
                    item.setToolTip(text)
                    self.table.setItem(i, j, item)
            note, self._note = self._note, ""
            rows_text = translate("audit_page", "{rows} audit rows.").format(rows=len(rows))
            self.messages.show_message(note or rows_text, "ok" if note else "info")

        self.call(lambda bx: bx.audit(subject_id=subject, event=event, limit=limit), done)

    def export_to(self, path: str) -> None:
        try:
            written = ops.export_csv(self.entries, path)
        except OSError as err:
            self.messages.show_message(translate("audit_page", "Export failed: {err}")
                                       .format(err=error_message(err)), "error")
            return
        self.messages.show_message(translate("audit_page", "Exported {entries} rows to {written}.")
                                   .format(entries=len(self.entries), written=written), "ok")

    def _choose_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, translate("audit_page", "Export the audit rows"), "audit.csv",
                                              translate("audit_page", "CSV (*.csv)"))
        if path:
            self.export_to(path)

    def on_shown(self) -> None:
        self.refresh()


class ResolveDialog(QDialog):
    """Confirm the settlement of one referred verification, with a note (required) that goes into the audit."""

    def __init__(self, entry: Any, *, accept: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        verdict = translate("audit_page", "Accept") if accept else translate("audit_page", "Reject")
        self.setWindowTitle(translate("audit_page", "{verdict} the referred verification").format(verdict=verdict))
        row = audit_row(entry)
        question = QLabel(translate("audit_page", "{verdict} the verification of {value} referred at {time}? The "
                                                  "settlement is audited under your name with this note.")
                          .format(verdict=verdict, value=row.subject or 'this subject', time=row.time))
        question.setWordWrap(True)
        self.note_edit = QPlainTextEdit()
        self.note_edit.setAccessibleName(translate("audit_page", "Note"))
        self.note_edit.setPlaceholderText(translate("audit_page", "Why (for example: identity document checked)"))
        self.count = QLabel()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.addButton(verdict, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        col = QVBoxLayout(self)
        col.addWidget(question)
        col.addWidget(QLabel(translate("audit_page", "Note")))
        col.addWidget(self.note_edit)
        col.addWidget(self.count)
        col.addWidget(self.buttons)
        self.note_edit.textChanged.connect(self._check)
        self._check()

    def note(self) -> str:
        return self.note_edit.toPlainText().strip()

    def _check(self) -> None:
        n = len(self.note())
        self.ok_button.setEnabled(0 < n <= NOTE_MAX)
        text = (QT_TRANSLATE_NOOP("audit_page", "{n} / {max} characters") if n
                else QT_TRANSLATE_NOOP("audit_page", "{n} / {max} characters (a note is required)"))
        self.count.setText(translate("audit_page", text).format(n=n, max=NOTE_MAX))
