"""The enrollment wizard: subject id and name, N reference signatures checked for consistency, an optional face."""

from __future__ import annotations

from typing import Any

from biometrix.core.consistency import ReferenceCheck
from biometrix.core.distances import format_distance
from biometrix.core.errors import BiometrixError
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Page, Thumbnails, service_detector, tab_chain
from biometrix.gui.qt import (
    QCheckBox,
    QColor,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
)
from biometrix.gui.scan import ScanImport
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.camera_view import CameraView, parse_camera
from biometrix.gui.widgets.images import to_pixmap
from biometrix.gui.widgets.signature_pad import SignaturePad


class EnrollPage(Page):
    """Enroll one subject in one ``service.enroll`` call (atomic over signatures and face).

    Each reference signature is drawn on the pad and added; once N are there they are embedded off the
    UI thread and an outlying one is flagged (``core.consistency``) before anything is saved. Saving with
    a flagged reference needs "Save anyway" ticked. A face without any signature enrolls the face only.

    The samples belong to one subject: the subject ID typed when the first of them was taken (``samples_for``).
    Editing the ID to another subject, or saving, clears every sample, the pad, the face and the camera's
    preview, so nothing of one customer is enrolled for the next.
    """

    title = QT_TRANSLATE_NOOP("pages", "Enroll a subject")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.references: list[Any] = []  # per reference: a capture.pen.Stroke list (pad) or a grey array (scan)
        self.checks: list[ReferenceCheck] | None = None
        self.face: Any = None  # RGB array
        self.samples_for: str | None = None  # the subject ID the samples were taken for (None: not bound yet)
        self._generation = 0

        self.subject_edit = QLineEdit()
        self.subject_edit.setPlaceholderText(translate("enroll_page", "customer or employee number"))
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(translate("enroll_page", "as shown to tellers"))
        self.n_spin = QSpinBox()
        self.n_spin.setRange(3, 20)
        self.n_spin.setValue(ctx.settings.references)
        self.replace_box = QCheckBox(translate("enroll_page", "Replace an existing enrollment"))
        form = QGridLayout()  # two fields a row: the page fits a 1024x600 screen
        form.addWidget(QLabel(translate("enroll_page", "Subject ID")), 0, 0)
        form.addWidget(self.subject_edit, 0, 1)
        form.addWidget(QLabel(translate("enroll_page", "Name")), 0, 2)
        form.addWidget(self.name_edit, 0, 3)
        form.addWidget(QLabel(translate("enroll_page", "References")), 1, 0)
        form.addWidget(self.n_spin, 1, 1)
        form.addWidget(self.replace_box, 1, 2, 1, 2)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        self.pad = SignaturePad(placeholder=translate("enroll_page", "Sign here (or drop a scan here), then press Add "
                                                                     "reference"))
        self.scans = ScanImport(self, self.pad)
        self.undo_button = QPushButton(translate("enroll_page", "Undo stroke"))
        self.clear_button = QPushButton(translate("enroll_page", "Clear pad"))
        self.add_button = QPushButton(translate("enroll_page", "Add reference"))
        self.add_button.setDefault(True)
        self.progress = QLabel()
        pad_buttons = QHBoxLayout()
        for b in (self.undo_button, self.clear_button, self.scans.button):
            pad_buttons.addWidget(b)
        pad_buttons.addStretch(1)
        pad_buttons.addWidget(self.progress)
        pad_buttons.addWidget(self.add_button)
        self.strip = Thumbnails(size=64)
        self.remove_button = QPushButton(translate("enroll_page", "Remove selected"))
        self.remove_button.setToolTip(translate("enroll_page", "Remove the reference selected in the strip"))
        strip_row = QHBoxLayout()
        strip_row.addWidget(self.strip, 1)
        strip_row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignBottom)
        sig_box = QGroupBox(translate("enroll_page", "Reference signatures"))
        sig_col = QVBoxLayout(sig_box)
        sig_col.addWidget(self.pad, 1)
        sig_col.addLayout(pad_buttons)
        sig_col.addLayout(strip_row)

        self.camera = CameraView(detector=service_detector(ctx, self))
        self.face_label = QLabel(translate("enroll_page", "No face (optional)"))
        self.face_label.setMinimumHeight(96)
        self.remove_face_button = QPushButton(translate("enroll_page", "Remove face"))
        face_box = QGroupBox(translate("enroll_page", "Face (optional)"))
        face_col = QVBoxLayout(face_box)
        face_col.addWidget(self.camera, 1)
        face_row = QHBoxLayout()
        face_row.addWidget(self.face_label, 1)
        face_row.addWidget(self.remove_face_button)
        face_col.addLayout(face_row)

        self.check_button = QPushButton(translate("enroll_page", "Check consistency"))
        self.save_anyway = QCheckBox(translate("enroll_page", "Save anyway (a flagged reference is kept)"))
        self.save_button = QPushButton(translate("enroll_page", "Save enrollment"))
        self.save_button.setStyleSheet("QPushButton { font-weight: 600; padding: 6px 18px; }")
        actions = QHBoxLayout()
        actions.addWidget(self.check_button)
        actions.addWidget(self.save_anyway)
        actions.addStretch(1)
        actions.addWidget(self.save_button)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addWidget(sig_box, 1)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addWidget(face_box, 2)
        self.outer.addLayout(body, 1)
        self.outer.addLayout(actions)

        self.undo_button.clicked.connect(self.pad.undo)
        self.clear_button.clicked.connect(self.pad.clear)
        self.add_button.clicked.connect(self.add_reference)
        self.remove_button.clicked.connect(self.remove_selected)
        self.check_button.clicked.connect(self.run_check)
        self.save_button.clicked.connect(self.save)
        self.camera.captured.connect(self.set_face)
        self.remove_face_button.clicked.connect(lambda: self.set_face(None))
        self.subject_edit.textEdited.connect(self._subject_edited)
        self.n_spin.valueChanged.connect(lambda _v: self._refresh())
        for w, name in ((self.subject_edit, translate("enroll_page", "Subject ID")),
                        (self.name_edit, translate("enroll_page", "Name")),
                        (self.n_spin, translate("enroll_page", "References")),
                        (self.strip, translate("enroll_page", "reference signatures taken"))):
            w.setAccessibleName(name)
        tab_chain(self.subject_edit, self.name_edit, self.n_spin, self.replace_box, self.undo_button,
                  self.clear_button, self.scans.button, self.add_button, self.strip, self.remove_button,
                  self.check_button, self.save_anyway, self.save_button)
        self._refresh()

    def main_action(self) -> None:
        """Enter: add the signature on the pad while references are missing, else save the enrollment."""
        if len(self.references) < self.n_spin.value() and (not self.pad.is_empty or self.pad.scan is not None):
            self.add_reference()
        else:
            self.save()

    # --- references --------------------------------------------------------------------------------

    def add_reference(self) -> None:
        if len(self.references) >= self.n_spin.value():
            self.messages.show_message(translate("enroll_page", "{value} references are already there; remove one "
                                                                "first.")
                                       .format(value=self.n_spin.value()),
                                       "warn")
            return
        try:
            sample: Any = self.pad.scan if self.pad.scan is not None else self.pad.strokes()
            image = self.pad.scan if self.pad.scan is not None else self.pad.image()
        except BiometrixError as err:
            self.messages.show_message(error_message(err), "warn")
            return
        self._bind_samples()
        self.references.append(sample)
        self.strip.add_image(image, self._caption(len(self.references) - 1))
        self.pad.clear()
        self._invalidate()
        if len(self.references) == self.n_spin.value():
            self.run_check()
        else:
            self.messages.show_message(translate("enroll_page", "Reference {references} added.")
                                       .format(references=len(self.references)), "ok")

    def remove_selected(self) -> None:
        row = self.strip.currentRow()
        if row < 0:
            self.messages.show_message(translate("enroll_page", "Select a reference to remove."), "warn")
            return
        del self.references[row]
        self.strip.takeItem(row)
        for i in range(self.strip.count()):
            self.strip.item(i).setText(self._caption(i))
        self._invalidate()

    def _caption(self, i: int) -> str:
        """A reference's caption in the strip: its number and how it was taken (a scan or the pad)."""
        how = "scan" if not isinstance(self.references[i], list) else "pad"
        return f"#{i + 1} {how}"

    def _invalidate(self) -> None:
        self._generation += 1
        self.checks = None
        for i in range(self.strip.count()):
            self.strip.item(i).setBackground(QColor("transparent"))
        self._refresh()

    def run_check(self, then_save: bool = False) -> None:
        if len(self.references) < 3:
            self.messages.show_message(translate("enroll_page", "At least 3 references are needed for the consistency "
                                                                "check."), "warn")
            return
        generation = self._generation
        refs = list(self.references)

        def done(checks: list[ReferenceCheck]) -> None:
            if generation != self._generation:
                return  # the references changed meanwhile
            self._show_checks(checks)
            if then_save:
                self.save()

        self.call(lambda bx: ops.check_signatures(bx, refs), done, working=translate("enroll_page", "Checking the "
                                                                                                    "references…"))

    def _show_checks(self, checks: list[ReferenceCheck]) -> None:
        self.checks = checks
        flagged = [c for c in checks if c.flagged]
        for c in checks:
            item = self.strip.item(c.index)
            item.setBackground(QColor("#ffcdd2") if c.flagged else QColor("#c8e6c9"))
            item.setToolTip(c.reason or translate("enroll_page", "distance to the others {distance}")
                                        .format(distance=format_distance(c.distance, digits=3)))
        if flagged:
            text = "; ".join(f"reference #{c.index + 1}: {c.reason}" for c in flagged)
            self.messages.show_message(translate("enroll_page", "Outlying reference — remove it and sign again. {text}")
                                       .format(text=text), "warn")
        else:
            self.messages.show_message(translate("enroll_page", "The references are consistent."), "ok")
        self._refresh()

    # --- face --------------------------------------------------------------------------------------

    def set_face(self, rgb: Any) -> None:
        if rgb is not None:
            self._bind_samples()
        self.face = rgb
        if rgb is None:
            self.face_label.clear()
            self.face_label.setText(translate("enroll_page", "No face (optional)"))
        else:
            self.face_label.setPixmap(to_pixmap(rgb, size=96))
            self._check_face(rgb)
        self._refresh()

    def _check_face(self, rgb: Any) -> None:
        """The service's own quality gate on the face just taken: its reason, in plain words, at once."""
        def said(hint: Any) -> None:
            if self.face is rgb and not hint.ok:
                self.messages.show_message(translate("enroll_page", "This face photo cannot be enrolled: {reason}")
                                           .format(reason=hint.message), "warn")

        self.ctx.run(self, lambda bx: ops.check_face(bx, rgb), on_success=said,
                     on_error=lambda err: said(ops.FaceHint(None, False, error_message(err))))

    # --- the subject the samples belong to ----------------------------------------------------------

    def _bind_samples(self) -> None:
        if self.samples_for is None:
            self.samples_for = self.subject_edit.text().strip() or None

    def _subject_edited(self, text: str) -> None:
        """The teller typed in the subject ID: samples taken for another subject are cleared, with a message."""
        if self.samples_for is None or text.strip() == self.samples_for:
            return  # nothing taken yet, or taken before any ID was typed: they belong to the ID being typed
        old = self.samples_for
        self.clear_samples()
        self.messages.show_message(translate("enroll_page", "The subject changed: the samples taken for {old} were "
                                                            "cleared.")
                                   .format(old=old), "warn")

    def clear_samples(self) -> None:
        """Forget every sample: the references, the pad, the face and the camera's preview and hint."""
        self.references.clear()
        self.strip.clear()
        self.pad.clear()
        self.set_face(None)
        self.camera.release()
        self.samples_for = None
        self._invalidate()

    # --- save --------------------------------------------------------------------------------------

    def save(self) -> None:
        subject = self.subject_edit.text().strip()
        n = self.n_spin.value()
        if not subject:
            self.messages.show_message(translate("enroll_page", "Enter the subject ID."), "warn")
            self.subject_edit.setFocus()
            return
        if self.samples_for is not None and subject != self.samples_for:  # the ID was set, not typed
            self._subject_edited(subject)
            return
        face_only = not self.references and self.face is not None
        if len(self.references) != n and not face_only:
            self.messages.show_message(translate("enroll_page", "{references} of {n} reference signatures; add "
                                                                "{value} more (or none, to enroll the face only).")
                                       .format(references=len(self.references), n=n, value=n - len(self.references)),
                                       "warn")
            return
        if self.checks is None and not face_only:
            self.run_check(then_save=True)
            return
        checks = self.checks or []
        if any(c.flagged for c in checks) and not self.save_anyway.isChecked():
            self.messages.show_message(translate("enroll_page", "A reference is flagged as outlying: remove it and "
                                                                "sign again, or tick Save anyway."), "warn")
            return
        refs, face, name = list(self.references), self.face, self.name_edit.text().strip() or None
        replace = self.replace_box.isChecked()
        flagged = [c.index for c in checks if c.flagged]

        def enroll(bx: Any) -> Any:
            return bx.enroll(subject, signatures=refs or None, faces=[face] if face is not None else None,
                             display_name=name, replace=replace)

        def done(templates: Any) -> None:
            parts = ", ".join(f"{t.n_references} {t.modality.value}" for t in templates)
            note = f" (kept flagged reference(s) {', '.join(f'#{i + 1}' for i in flagged)})" if flagged else ""
            self.reset(keep_message=True)
            self.messages.show_message(translate("enroll_page", "Enrolled {subject}: {parts}{note}.")
                                       .format(subject=subject, parts=parts, note=note), "ok")

        self.call(enroll, done, working=translate("enroll_page", "Saving {subject}…").format(subject=subject))

    def reset(self, *, keep_message: bool = False) -> None:
        self.subject_edit.clear()
        self.name_edit.clear()
        self.replace_box.setChecked(False)
        self.save_anyway.setChecked(False)
        self.clear_samples()
        if not keep_message:
            self.messages.clear_message()

    def _refresh(self) -> None:
        n = self.n_spin.value()
        self.progress.setText(f"{len(self.references)} / {n}")
        idle = not self.busy
        self.add_button.setEnabled(idle and len(self.references) < n)
        self.check_button.setEnabled(idle and len(self.references) >= 3)
        self.save_button.setEnabled(idle)
        self.remove_face_button.setEnabled(self.face is not None)

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self._refresh()

    def on_shown(self) -> None:
        self.camera.start(parse_camera(self.ctx.settings.camera))

    def on_hidden(self) -> None:
        self.camera.stop()
