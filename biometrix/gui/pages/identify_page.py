"""1:N identification: the top-k enrolled subjects closest to a signature or a face, with thumbnails."""

from __future__ import annotations

from biometrix.core.distances import format_distance
from biometrix.core.errors import BiometrixError
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Page
from biometrix.gui.pages.verify_page import ProbeInput
from biometrix.gui.qt import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QIcon,
    QLabel,
    QPushButton,
    QSize,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.images import to_pixmap

#: Short headers: every column is in view on a 1024x600 screen (the Name column takes what is left).
COLUMNS = ("#", QT_TRANSLATE_NOOP("identify_page", "Sample"), QT_TRANSLATE_NOOP("identify_page", "Subject"),
           QT_TRANSLATE_NOOP("identify_page", "Name"), QT_TRANSLATE_NOOP("identify_page", "Distance"),
           QT_TRANSLATE_NOOP("identify_page", "Match"))
NAME_COLUMN = 3


class IdentifyPage(Page):
    """Search the whole gallery of one modality (audited by the service as an 'identify' event)."""

    title = QT_TRANSLATE_NOOP("pages", "Identify (search all subjects)")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.input = ProbeInput(self, ctx)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 50)
        self.top_k.setValue(5)
        self.identify_button = QPushButton(translate("identify_page", "Identify"))
        self.identify_button.setStyleSheet("QPushButton { font-weight: 600; padding: 8px 24px; }")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([translate("identify_page", c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(QSize(72, 48))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(54)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeaderItem(5).setToolTip(translate("identify_page", "yes: the distance is below the "
                                                                                 "threshold in force"))
        self.rows: list[ops.IdentifyRow] = []
        self.top_k.setAccessibleName(translate("identify_page", "Candidates"))
        self.table.setAccessibleName(translate("identify_page", "Candidates"))
        row = QHBoxLayout()
        row.addWidget(QLabel(translate("identify_page", "Candidates")))
        row.addWidget(self.top_k)
        row.addStretch(1)
        row.addWidget(self.identify_button)
        left = QVBoxLayout()
        left.addWidget(self.input, 1)
        left.addLayout(row)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.table, 1)
        self.outer.addLayout(body, 1)
        self.identify_button.clicked.connect(self.identify)
        self.input.new_probe.connect(lambda: self.show_rows([]))  # the candidates of the last probe go

    def main_action(self) -> None:
        self.identify()

    def identify(self) -> None:
        try:
            probe = self.input.probe()
        except BiometrixError as err:
            self.messages.show_message(error_message(err), "warn")
            return
        modality, k = self.input.modality, self.top_k.value()

        def done(rows: list[ops.IdentifyRow]) -> None:
            self.input.consumed()  # one search per probe (and one audit row)
            self.show_rows(rows)
            if not rows:
                self.messages.show_message(translate("identify_page", "No subject is enrolled with a {value} template.")
                                           .format(value=modality.value), "warn")
            else:
                hits = sum(r.candidate.below_threshold for r in rows)
                self.messages.show_message(translate("identify_page", "{rows} candidates; {hits} below the threshold.")
                                           .format(rows=len(rows), hits=hits),
                                           "ok" if hits else "info")

        self.call(lambda bx: ops.identify(bx, modality, probe, k), done,
                  working=translate("identify_page", "Searching…"))

    def show_rows(self, rows: list[ops.IdentifyRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            c = r.candidate
            thumb = QTableWidgetItem()
            if r.thumbnail is not None:
                thumb.setIcon(QIcon(to_pixmap(r.thumbnail, size=72)))
            distance = format_distance(c.distance, scale=r.threshold, digits=3)
            cells = [QTableWidgetItem(str(c.rank)), thumb, QTableWidgetItem(c.subject_id),
                     _with_tooltip(r.display_name or ""), QTableWidgetItem(distance),
                     QTableWidgetItem(translate("identify_page", "yes") if c.below_threshold
                                      else translate("identify_page", "no"))]
            for j, cell in enumerate(cells):
                self.table.setItem(i, j, cell)

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.identify_button.setEnabled(not busy)

    def on_shown(self) -> None:
        self.input.start()

    def on_hidden(self) -> None:
        self.input.stop()


def _with_tooltip(text: str) -> QTableWidgetItem:
    """A cell whose whole text is its tooltip (a long name is cut by the column)."""
    item = QTableWidgetItem(text)
    item.setToolTip(text)
    return item
