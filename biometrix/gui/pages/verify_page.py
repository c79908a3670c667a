"""1:1 verification: find the subject, capture a signature or a face, show Accept / Refer / Reject on a gauge."""

from __future__ import annotations

from typing import Any

from biometrix.core.errors import BiometrixError
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Page, own_enter, service_detector, tab_chain
from biometrix.gui.pages.verdict import ResultPanel
from biometrix.gui.qt import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    Qt,
    QVBoxLayout,
    QWidget,
    Signal,
)
from biometrix.gui.scan import ScanImport
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.camera_view import CameraView, parse_camera
from biometrix.gui.widgets.signature_pad import SignaturePad

NAME_ROLE = Qt.ItemDataRole.UserRole + 1


def subject_text(info: Any) -> str:
    name = f" — {info.display_name}" if info.display_name else ""
    return f"{info.subject_id}{name}  ({', '.join(info.modalities) or 'no templates'})"


class SubjectFinder(QWidget):
    """Search by id or name; ``selected_id`` is the chosen subject, ``changed`` says it changed."""

    changed = Signal()

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self._page = page
        self.query = QLineEdit()
        self.query.setPlaceholderText(translate("verify_page", "subject ID or name"))
        self.find_button = QPushButton(translate("verify_page", "Find"))
        self.results = QListWidget()
        self.results.setMaximumHeight(120)
        row = QHBoxLayout()
        row.addWidget(self.query, 1)
        row.addWidget(self.find_button)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(row)
        col.addWidget(self.results)
        self.find_button.clicked.connect(self.search)
        self.query.returnPressed.connect(self.search)
        own_enter(self.query)  # Enter in the search field finds; elsewhere on the page it verifies
        self.query.setAccessibleName(translate("verify_page", "subject ID or name"))
        self.results.setAccessibleName(translate("verify_page", "subjects found"))
        self.results.currentItemChanged.connect(lambda *_: self.changed.emit())

    def search(self) -> None:
        text = self.query.text().strip()

        def done(subjects: list[Any]) -> None:
            self.results.clear()
            for s in subjects:
                item = QListWidgetItem(subject_text(s))
                item.setData(Qt.ItemDataRole.UserRole, s.subject_id)
                item.setData(NAME_ROLE, s.display_name)
                self.results.addItem(item)
            if len(subjects) == 1:
                self.results.setCurrentRow(0)
            if not subjects:
                self._page.messages.show_message(translate("verify_page", "No subject matches {text!r}.")
                                                 .format(text=text), "warn")
            else:
                self._page.messages.clear_message()

        self._page.call(lambda bx: bx.subjects(text or None), done)

    @property
    def selected_id(self) -> str | None:
        item = self.results.currentItem()
        return None if item is None else str(item.data(Qt.ItemDataRole.UserRole))

    @property
    def selected_name(self) -> str | None:
        """The chosen subject's display name, else its id (None: none chosen)."""
        item = self.results.currentItem()
        if item is None:
            return None
        return str(item.data(NAME_ROLE) or item.data(Qt.ItemDataRole.UserRole))


class ProbeInput(QWidget):
    """Signature pad or camera, chosen by two radio buttons; ``probe()`` returns what to send to the service.
    ``new_probe`` says that another probe is being taken: a stroke begun, a capture, the other modality."""

    new_probe = Signal()

    def __init__(self, page: Page, ctx: AppContext) -> None:
        super().__init__(page)
        self.ctx = ctx
        self.sig_radio = QRadioButton(translate("verify_page", "Signature"))
        self.face_radio = QRadioButton(translate("verify_page", "Face"))
        self.sig_radio.setChecked(True)
        self.pad = SignaturePad(placeholder=translate("verify_page", "Sign here, or import or drop a scan"))
        self.scans = ScanImport(page, self.pad)
        self.undo_button = QPushButton(translate("verify_page", "Undo stroke"))
        self.clear_button = QPushButton(translate("verify_page", "Clear pad"))
        pad_page = QWidget()
        pad_col = QVBoxLayout(pad_page)
        pad_col.setContentsMargins(0, 0, 0, 0)
        pad_col.addWidget(self.pad, 1)
        pad_row = QHBoxLayout()
        pad_row.addWidget(self.undo_button)
        pad_row.addWidget(self.clear_button)
        pad_row.addWidget(self.scans.button)
        pad_row.addStretch(1)
        pad_col.addLayout(pad_row)
        # a capture (or a photo) is held as the probe until it is decided on or retaken: it is not decided at once
        self.camera = CameraView(detector=service_detector(ctx, page), hold_on_capture=True)
        self.stack = QStackedWidget()
        self.stack.addWidget(pad_page)
        self.stack.addWidget(self.camera)
        radios = QHBoxLayout()
        radios.addWidget(QLabel(translate("verify_page", "Probe:")))
        radios.addWidget(self.sig_radio)
        radios.addWidget(self.face_radio)
        radios.addStretch(1)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addLayout(radios)
        col.addWidget(self.stack, 1)
        self.undo_button.clicked.connect(self.pad.undo)
        self.clear_button.clicked.connect(self.pad.clear)
        self.sig_radio.toggled.connect(self._switch)
        self.pad.started.connect(self.new_probe)
        self.camera.captured.connect(lambda _frame: self.new_probe.emit())
        self.camera.retaken.connect(self.new_probe)

    @property
    def modality(self) -> Modality:
        return Modality.SIGNATURE if self.sig_radio.isChecked() else Modality.FACE

    def set_modality(self, modality: Modality) -> None:
        (self.sig_radio if modality is Modality.SIGNATURE else self.face_radio).setChecked(True)

    def _switch(self) -> None:
        self.new_probe.emit()
        face = self.modality is Modality.FACE
        self.stack.setCurrentIndex(1 if face else 0)
        if face and self.isVisible():
            self.camera.start(parse_camera(self.ctx.settings.camera))
        elif not face:
            self.camera.stop()

    def probe(self) -> Any:
        """The scan shown on the pad (a grey array: decided as a scan), else the pad's strokes (EmptySignature
        when empty), or the camera's current frame."""
        if self.modality is Modality.SIGNATURE:
            return self.pad.scan.copy() if self.pad.scan is not None else self.pad.strokes()
        if self.camera.frame is None:
            raise _NoFrame(translate("verify_page", "no face image yet: start the camera or load a photo"))
        return self.camera.frame.copy()

    def start(self) -> None:
        if self.modality is Modality.FACE:
            self.camera.start(parse_camera(self.ctx.settings.camera))

    def stop(self) -> None:
        self.camera.stop()

    def discard(self) -> None:
        """Forget the probe being taken: the pad's strokes and the camera's still (back to the live camera)."""
        self.pad.clear()
        self.camera.release()

    def consumed(self) -> None:
        """The probe was decided on: the pad is cleared, a held face let go, so that the same probe is never
        decided (and audited) twice; the next decision needs a new signature or a new capture."""
        if self.modality is Modality.SIGNATURE:
            self.pad.clear()
        else:
            self.camera.release()


class _NoFrame(BiometrixError):
    pass


class VerifyPage(Page):
    """Find a subject, capture a probe, verify (audited by the service), show the three-way label. One press of
    Verify is one decision and one audit row: capturing or loading a photo only takes the probe, and a probe
    decided on is used up (``ProbeInput.consumed``).

    A verdict is shown only beside the subject and the probe it was decided for: choosing another subject clears
    it and the probe being taken; a new probe (a stroke begun, a capture, the other modality) clears it; and a
    verification that finishes after either changed is not shown (it is in the audit log)."""

    title = QT_TRANSLATE_NOOP("pages", "Verify a subject")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.finder = SubjectFinder(self)
        self.input = ProbeInput(self, ctx)
        self.verify_button = QPushButton(translate("verify_page", "Verify"))
        self.verify_button.setStyleSheet("QPushButton { font-weight: 600; padding: 8px 24px; }")
        self.result = ResultPanel()
        self.last: ops.VerifyOutcome | None = None
        left = QVBoxLayout()
        left.addWidget(QLabel(translate("verify_page", "Subject")))
        left.addWidget(self.finder)
        left.addWidget(self.input, 1)
        left.addWidget(self.verify_button)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addWidget(self.result, 1)
        self.outer.addLayout(body, 1)
        self._generation = 0  # bumped when the subject or the probe changes: an older verdict is not shown
        self.verify_button.clicked.connect(self.verify)
        tab_chain(self.finder.query, self.finder.find_button, self.finder.results, self.input.sig_radio,
                  self.input.face_radio, self.input.undo_button, self.input.clear_button, self.input.scans.button,
                  self.verify_button)
        self.finder.changed.connect(self._subject_changed)
        self.input.new_probe.connect(self._probe_changed)

    def _probe_changed(self) -> None:
        self._generation += 1
        self.last = None
        self.result.clear()

    def _subject_changed(self) -> None:
        self._probe_changed()
        self.input.discard()

    def verify(self) -> None:
        subject = self.finder.selected_id
        if subject is None:
            self.messages.show_message(translate("verify_page", "Find and select the subject first."), "warn")
            return
        try:
            probe = self.input.probe()
        except BiometrixError as err:
            self.messages.show_message(error_message(err), "warn")
            return
        modality = self.input.modality
        generation = self._generation

        def done(outcome: ops.VerifyOutcome) -> None:
            if generation != self._generation:
                self.messages.show_message(translate("verify_page", "The verification of {subject} finished after the "
                                                                    "subject or the probe changed: its decision is in "
                                                                    "the audit log, not shown here.")
                                           .format(subject=subject),
                                           "info")
                return
            self.last = outcome  # the label and band shown are the service's, as audited
            self.result.show_outcome(outcome, who=self.finder.selected_name)
            self.messages.clear_message()
            self.input.consumed()

        self.result.clear()
        self.call(lambda bx: ops.verify(bx, subject, modality, probe), done,
                  working=translate("verify_page", "Verifying {subject}…").format(subject=subject))

    def main_action(self) -> None:
        self.verify()

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.verify_button.setEnabled(not busy)

    def on_shown(self) -> None:
        self.input.start()

    def on_hidden(self) -> None:
        self.input.stop()
