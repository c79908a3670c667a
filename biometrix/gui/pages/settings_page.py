"""Settings in sections (Decisions, Devices, Kiosk, Operators, Models): the database's decision policy (thresholds,
the Refer band; DET curves for admins; an admin's to change, applied and audited by the service), the camera, the
database and the language, the kiosk and its PIN, who is logged in and the operators, the models."""

from __future__ import annotations

from typing import Any

from biometrix.core.errors import BiometrixError
from biometrix.core.types import Modality
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.i18n import LANGUAGES, QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Page
from biometrix.gui.pages.settings_boxes import ADMIN_NOTE, READ_ONLY_NOTE, ModalityBox, PinDialog
from biometrix.gui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QObject,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    Qt,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    Signal,
)
from biometrix.gui.settings import MODALITIES, GuiSettings
from biometrix.gui.tasks import error_message

__all__ = ["ADMIN_NOTE", "READ_ONLY_NOTE", "SECTIONS", "SettingsPage"]
#: The sections, in the order of their tabs.
SECTIONS = (QT_TRANSLATE_NOOP("settings_page", "Decisions"), QT_TRANSLATE_NOOP("settings_page", "Devices"),
            QT_TRANSLATE_NOOP("settings_page", "Kiosk"), QT_TRANSLATE_NOOP("settings_page", "Operators"),
            QT_TRANSLATE_NOOP("settings_page", "Models"))
#: The labels of the sections' rows, for the catalogue (shown through ``translate``).
ROW_LABELS = (
    QT_TRANSLATE_NOOP("settings_page", "Refer band"), QT_TRANSLATE_NOOP("settings_page", "Decision policy"),
    QT_TRANSLATE_NOOP("settings_page", "Three zones"), QT_TRANSLATE_NOOP("settings_page", "In force"),
    QT_TRANSLATE_NOOP("settings_page", "Camera"), QT_TRANSLATE_NOOP("settings_page", "References to enroll"),
    QT_TRANSLATE_NOOP("settings_page", "Database file"), QT_TRANSLATE_NOOP("settings_page", "In use"),
    QT_TRANSLATE_NOOP("settings_page", "Language"),
    QT_TRANSLATE_NOOP("settings_page", "Kiosk verifies by"),
    QT_TRANSLATE_NOOP("settings_page", "Kiosk resets after idle"),
    QT_TRANSLATE_NOOP("settings_page", "Kiosk PIN"), QT_TRANSLATE_NOOP("settings_page", "Logged in"),
    QT_TRANSLATE_NOOP("settings_page", "Operators"), QT_TRANSLATE_NOOP("settings_page", "Models folder"),
    QT_TRANSLATE_NOOP("settings_page", "Signature model"), QT_TRANSLATE_NOOP("settings_page", "Face model"),
    QT_TRANSLATE_NOOP("settings_page", "Pen comparator"), QT_TRANSLATE_NOOP("settings_page", "Templates"),
)


def form(*rows: tuple[str, Any]) -> QFormLayout:
    """A form of (label, field) rows; a field is a widget or a layout."""
    out = QFormLayout()
    for label, field in rows:
        out.addRow(label, field)
    return out


def beside(first: QWidget, second: QWidget, *, stretch_first: bool = True) -> QHBoxLayout:
    """Two widgets in a row; the first (else the second) takes the room left."""
    row = QHBoxLayout()
    row.addWidget(first, 1 if stretch_first else 0)
    row.addWidget(second, 0 if stretch_first else 1)
    return row


def scrolled(*parts: Any) -> QScrollArea:
    """A section: its parts (widgets or layouts) one below the other, scrolling up and down only when the screen
    is too low, never sideways."""
    content = QWidget()
    col = QVBoxLayout(content)
    col.setContentsMargins(4, 4, 4, 4)
    for part in parts:
        (col.addLayout if isinstance(part, QHBoxLayout | QVBoxLayout | QFormLayout) else col.addWidget)(part)
    col.addStretch(1)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # fits 1024 px wide
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(content)
    return area

class Progress(QObject):
    """Carries ``progress(done, total)`` calls from the worker thread to the UI thread (a queued signal)."""

    changed = Signal(int, int)

    def __call__(self, done: int, total: int) -> None:
        self.changed.emit(done, total)


def retemplate_summary(reports: list) -> tuple[str, str]:
    """A one-line message for the message bar, and its level, from ``Biometrix.retemplate``'s reports."""
    if not reports:
        return translate("settings_page", "Nobody is enrolled yet: there are no templates to re-make."), "info"
    parts, failures = [], []
    for r in reports:
        parts.append(translate("settings_page", "{modality} ({model_id}): {made} made, {up_to_date} already up to date")
                     .format(modality=r.modality.value, model_id=r.model_id, made=len(r.made), up_to_date=r.up_to_date))
        failures += [f"{subject} ({why})" for subject, why in r.failed]
    text = translate("settings_page", "Templates re-made. ") + "; ".join(parts) + "."
    if failures:
        return translate("settings_page", "{text} Not re-made: {failures}").format(text=text,
                                                                                  failures="; ".join(failures)), "warn"
    return text, "ok"


def operators_text(operators: tuple[Any, ...] | None) -> str:
    """The operator accounts, one a line (admins only: None shows how they are managed)."""
    if operators is None:
        return translate("settings_page", "Only an admin sees the operator accounts.")
    if not operators:
        return translate("settings_page", "None yet: the first one is the admin, made at the first start.")
    lines = []
    for o in operators:
        state = (translate("settings_page", " — disabled") if o.disabled
                 else translate("settings_page", " — locked") if o.locked_until is not None else "")
        lines.append(f"{o.name}: {o.role}{state}")
    return "\n".join(lines) + "\n" + translate("settings_page", "(Add, change or lock them with 'biometrix operator "
                                                              "add / set'.)")


class SettingsPage(Page):
    """Edit and apply ``GuiSettings``; applying saves the file and re-creates the service when needed."""

    title = QT_TRANSLATE_NOOP("pages", "Settings")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.db_edit = QLineEdit()
        self.db_edit.setPlaceholderText(translate("settings_page", "default location"))
        self.db_browse = QPushButton(translate("settings_page", "Browse…"))
        self.db_in_use = QLabel()
        self.db_in_use.setWordWrap(True)
        self.models_edit = QLineEdit()
        self.models_edit.setPlaceholderText(translate("settings_page", "bundled models (assets/models)"))
        self.retemplate_button = QPushButton(translate("settings_page", "Re-make templates"))
        self.retemplate_button.setToolTip(translate("settings_page", "After a model change: make every subject's "
                                                                     "templates for the models in use from the samples "
                                                                     "kept in the database (admin)"))
        self.retemplate_bar = QProgressBar()
        self.retemplate_bar.setVisible(False)
        self._progress = Progress(self)
        self._progress.changed.connect(self._show_progress)
        self.boxes = {m: ModalityBox(m) for m in (Modality.SIGNATURE, Modality.FACE)}
        self.pen_label = QLabel()
        self.pen_label.setWordWrap(True)
        self.band = QDoubleSpinBox()
        self.band.setRange(0.0, 50.0)
        self.band.setSuffix(translate("settings_page", " % of threshold"))
        self.band.setDecimals(1)
        self.references = QSpinBox()
        self.references.setRange(3, 20)
        self.camera_edit = QLineEdit()
        self.camera_edit.setPlaceholderText(translate("settings_page", "0 = first camera, or a video file"))
        self.language = QComboBox()
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setToolTip(translate("settings_page", "The app's language: applies at the next start"))
        self.kiosk_modality = QComboBox()
        self.kiosk_modality.addItems(MODALITIES)
        self.kiosk_idle = QSpinBox()
        self.kiosk_idle.setRange(5, 3600)
        self.kiosk_idle.setSuffix(" s")
        self.pin_state = QLabel()
        self.pin_state.setWordWrap(True)
        self.pin_button = QPushButton(translate("settings_page", "Set supervisor PIN…"))
        self.policy_note = QLabel()
        self.policy_note.setWordWrap(True)
        # short: the form must fit 1024 px without scrolling
        self.three_zone = QCheckBox(translate("settings_page", "by the card's zones"))
        self.three_zone.setToolTip(translate(
            "settings_page", "Accept / Refer / Reject by the card's accept and reject thresholds, where the deciding "
                             "card names both (scanned signatures, the pen comparator) and the policy keeps the "
                             "card's own threshold; off: one threshold and the Refer band"))
        self.in_force = QLabel()
        self.in_force.setWordWrap(True)
        self.in_force.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.who_label = QLabel()
        self.who_label.setWordWrap(True)
        self.operators_label = QLabel()
        self.operators_label.setWordWrap(True)
        self.operators_label.setTextFormat(Qt.TextFormat.PlainText)

        def label(text: str) -> str:  # the rows' labels (marked for the catalogue in ROW_LABELS)
            return translate("settings_page", text)

        decisions = form((label("Refer band"), self.band), (label("Three zones"), self.three_zone),
                         (label("Decision policy"), self.policy_note), (label("In force"), self.in_force))
        pair = QHBoxLayout()
        pair.addWidget(self.boxes[Modality.SIGNATURE], 1)
        pair.addWidget(self.boxes[Modality.FACE], 1)
        devices = form((label("Camera"), self.camera_edit), (label("References to enroll"), self.references),
                       (label("Database file"), beside(self.db_edit, self.db_browse)),
                       (label("In use"), self.db_in_use), (label("Language"), self.language))
        kiosk = form((label("Kiosk verifies by"), self.kiosk_modality),
                     (label("Kiosk resets after idle"), self.kiosk_idle),
                     (label("Kiosk PIN"), beside(self.pin_state, self.pin_button)))
        operators = form((label("Logged in"), self.who_label), (label("Operators"), self.operators_label))
        models = form((label("Models folder"), self.models_edit),
                      (label("Signature model"), self.boxes[Modality.SIGNATURE].model_combo),
                      (label("Face model"), self.boxes[Modality.FACE].model_combo),
                      (label("Pen comparator"), self.pen_label),
                      (label("Templates"), beside(self.retemplate_button, self.retemplate_bar, stretch_first=False)))

        self.tabs = QTabWidget()
        self.sections: dict[str, QScrollArea] = {}
        for name, parts in zip(SECTIONS, ((decisions, pair), (devices,), (kiosk,), (operators,), (models,)),
                               strict=True):
            self.sections[name] = scrolled(*parts)
            self.tabs.addTab(self.sections[name], translate("settings_page", name))
        self.scroll = self.sections["Decisions"]  # the longest section
        self.tabs.setAccessibleName(translate("settings_page", "settings sections"))
        for name, area in self.sections.items():
            area.setAccessibleName(translate("settings_page", name))
        self.apply_button = QPushButton(translate("settings_page", "Apply and save"))
        self.apply_button.setStyleSheet("QPushButton { font-weight: 600; padding: 6px 18px; }")
        self.revert_button = QPushButton(translate("settings_page", "Revert"))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        self.outer.addWidget(self.tabs, 1)
        self.outer.addLayout(buttons)
        self._pending_pin: GuiSettings | None = None

        self.db_browse.clicked.connect(self._browse_db)
        self.pin_button.clicked.connect(self._ask_pin)
        self.apply_button.clicked.connect(self.apply)
        self.retemplate_button.clicked.connect(self.retemplate)
        self.revert_button.clicked.connect(self.load)
        self.info: ops.SettingsInfo | None = None
        self._shown_band = -1.0  # the Refer band the policy in force showed (in %)
        self._shown_three_zone: bool | None = None  # the three-zone switch the policy in force showed
        self._fill_form()

    def _fill_form(self) -> None:
        s = self.ctx.settings
        self._pending_pin = None
        self.db_edit.setText(s.db_path or "")
        self.models_edit.setText(s.models_dir or "")
        self.references.setValue(s.references)
        self.camera_edit.setText(s.camera)
        self.kiosk_modality.setCurrentText(s.kiosk_modality)
        self.language.setCurrentIndex(max(self.language.findData(s.language), 0))
        self.kiosk_idle.setValue(int(round(s.kiosk_idle_s)))
        self.pin_state.setText(translate("settings_page", "set") if s.has_pin
                               else translate("settings_page", "not set (the kiosk needs one)"))

    def load(self) -> None:
        """Show the settings in force, then what the service reports (database in use, cards, decision policy)."""
        self._fill_form()

        def done(info: ops.SettingsInfo) -> None:
            self.info = info
            reason = translate("settings_page", "the settings or --db") if info.db_reason == "--db" else info.db_reason
            self.db_in_use.setText(translate("settings_page", "{db_path}\n(chosen by {reason})")
                                   .format(db_path=info.db_path, reason=reason))
            s = self.ctx.settings
            chosen = {Modality.SIGNATURE: s.signature_model, Modality.FACE: s.face_model}
            for mi in info.modalities:
                self.boxes[mi.modality].show_info(mi, info.models.get(mi.modality.value, []), info.policy,
                                                  settings_model=chosen[mi.modality],
                                                  may_set_policy=info.may_set_policy,
                                                  may_trust=info.may_trust_models)
            self.pen_label.setText(info.pen)
            for box in self.boxes.values():
                box.show_det(info.may_set_policy)  # DET curves: for admins, who set the operating point
            who = self.ctx.operator
            self.who_label.setText(f"{who.name} ({who.role.value})" if who is not None
                                   else translate("settings_page", "nobody: this database has no operators yet"))
            self.operators_label.setText(operators_text(info.operators))
            self.band.setValue(info.policy.refer_band * 100)
            self._shown_band = self.band.value()
            self.band.setEnabled(info.may_set_policy)
            self.three_zone.setChecked(info.policy.three_zone)
            self._shown_three_zone = info.policy.three_zone
            self.three_zone.setEnabled(info.may_set_policy)
            self.in_force.setText("\n".join(info.in_force))
            note = ADMIN_NOTE if info.may_set_policy else READ_ONLY_NOTE
            self.policy_note.setText(translate("settings_boxes", note))

        self.call(ops.settings_info, done)

    def form_settings(self) -> GuiSettings:
        """The settings file the form describes (where the database and the models are, capture, kiosk)."""
        base = self._pending_pin or self.ctx.settings
        sig_box, face_box = self.boxes[Modality.SIGNATURE], self.boxes[Modality.FACE]
        return base.replace(
            db_path=self.db_edit.text().strip() or None, models_dir=self.models_edit.text().strip() or None,
            signature_model=sig_box.chosen_model() if sig_box.loaded else base.signature_model,
            face_model=face_box.chosen_model() if face_box.loaded else base.face_model,
            references=self.references.value(), camera=self.camera_edit.text().strip() or "0",
            kiosk_modality=self.kiosk_modality.currentText(), kiosk_idle_s=float(self.kiosk_idle.value()),
            language=str(self.language.currentData()))

    def policy_form(self) -> dict[str, Any]:
        """The decision policy changes the form asks for ({}: none, or the policy was not shown yet)."""
        if self.info is None:
            return {}
        wanted: dict[str, Any] = {}
        for box in self.boxes.values():
            wanted.update(box.policy_choice())
        if self.band.value() != self._shown_band:
            wanted["refer_band"] = self.band.value() / 100.0
        if self.three_zone.isChecked() != self._shown_three_zone:
            wanted["three_zone"] = self.three_zone.isChecked()
        return ops.policy_changes(self.info.policy, wanted)

    def models_form(self) -> dict[str, str | None]:
        """{"signature": id, "face": id} for ``trust_models`` when a model other than a trusted one was chosen
        ({}: no change); the other modality keeps the model it has."""
        chosen = {m.value: box.model_to_trust() for m, box in self.boxes.items()}
        if not any(chosen.values()):
            return {}
        return {m.value: chosen[m.value] or box.trusted or box.chosen_model() for m, box in self.boxes.items()}

    def main_action(self) -> None:
        self.apply()

    def apply(self) -> None:
        """Save the form. A change of the decision policy (thresholds, target FMRs, Refer band) or of the models
        the database trusts is applied by the service first, which lets admins only and audits it ("settings",
        old and new values); only then is the settings file saved."""
        try:
            new = self.form_settings()
        except (BiometrixError, OSError) as err:
            self.messages.show_message(translate("settings_page", "Settings not saved: {err}")
                                       .format(err=error_message(err)), "error")
            return
        policy, models = self.policy_form(), self.models_form()
        if not policy and not models:
            self._adopt(new)
            return
        current = self.ctx.settings
        if (new.db_path, new.models_dir) != (current.db_path, current.models_dir):
            self.messages.show_message(translate(
                "settings_page", "Settings not saved: apply the database or models folder change first; the policy "
                "and models shown are those of the database in use."), "error")
            return
        if models and policy:
            self.messages.show_message(translate(
                "settings_page", "Settings not saved: apply the model change alone first, then choose the "
                "thresholds of the new model's card."), "error")
            return
        if models and not self.confirm_trust(models):
            return
        if models:  # the database now decides which model: the settings file leaves the choice to it
            new = new.replace(**{f"{slot}_model": None for slot in models})

        def done(change: ops.DecisionChange) -> None:
            note = ""
            if change.trusted:
                names = ", ".join(f"{pin.slot} model {pin.model_id}" for pin in change.trusted)
                note = translate("settings_page", " The database now trusts {names}: re-make the templates of "
                                                  "subjects enrolled before.").format(names=names)
            self._adopt(new, note=note)

        self.call(lambda bx: ops.change_decisions(bx, policy=policy, models=models), done,
                  on_error=lambda err: self.messages.show_message(translate("settings_page", "Settings not saved: "
                                                                                             "{err}")
                                                                  .format(err=error_message(err)),
                                                                  "error"))

    def confirm_trust(self, models: dict[str, str | None]) -> bool:
        """Ask the admin to confirm that the database trusts other models from now on."""
        names = ", ".join(f"{slot}: {model}" for slot, model in models.items() if model)
        answer = QMessageBox.question(
            self, translate("settings_page", "Trust other models"),
            translate("settings_page", "Make this database decide with these models ({names})? The change is audited; "
                                       "subjects enrolled under the previous model need their templates re-made (the "
                                       "button beside Templates).")
            .format(names=names))
        return answer == QMessageBox.StandardButton.Yes

    def _adopt(self, new: GuiSettings, *, note: str = "") -> None:
        if new.language != self.ctx.settings.language:
            note += translate("settings_page", " The language changes at the next start.")
        try:
            self.ctx.apply_settings(new)
        except (BiometrixError, OSError) as err:
            self.messages.show_message(translate("settings_page", "Settings not saved: {err}")
                                       .format(err=error_message(err)), "error")
            return
        text = (translate("settings_page", "Settings saved to {path}.").format(path=self.ctx.settings_path)
                if self.ctx.settings_path else translate("settings_page", "Settings saved."))
        self.messages.show_message(text + note, "ok")
        self.load()

    def retemplate(self) -> None:
        """Re-make templates for the models in use (``Biometrix.retemplate``), with a progress bar."""
        self.retemplate_bar.setRange(0, 0)  # busy until the first subject is done
        self.retemplate_bar.setVisible(True)
        progress = self._progress

        def done(reports: list) -> None:
            self.retemplate_bar.setVisible(False)
            self.messages.show_message(*retemplate_summary(reports))

        def failed(err: BaseException) -> None:
            self.retemplate_bar.setVisible(False)
            self.messages.show_message(translate("settings_page", "Templates not re-made: {err}")
                                       .format(err=error_message(err)), "error")

        self.call(lambda bx: bx.retemplate(progress=progress), done, on_error=failed,
                  working=translate("settings_page", "Re-making templates from the kept samples…"))

    def _show_progress(self, done: int, total: int) -> None:
        self.retemplate_bar.setRange(0, total)
        self.retemplate_bar.setValue(done)
        self.retemplate_bar.setFormat(translate("settings_page", "%v / %m subjects"))

    def set_pin(self, pin: str) -> None:
        try:
            self._pending_pin = (self._pending_pin or self.ctx.settings).with_pin(pin)
        except BiometrixError as err:
            self.messages.show_message(error_message(err), "warn")
            return
        self.pin_state.setText(translate("settings_page", "new PIN set (press Apply and save)"))

    def _ask_pin(self) -> None:
        dialog = PinDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if dialog.first.text() != dialog.second.text():
            self.messages.show_message(translate("settings_page", "The two PINs differ."), "warn")
            return
        self.set_pin(dialog.first.text())

    def _browse_db(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, translate("settings_page", "Enrollment database"),
                                              self.db_edit.text() or "biometrix.db",
                                              translate("settings_page", "SQLite database (*.db *.sqlite);;All files "
                                                                         "(*)"),
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.db_edit.setText(path)

    def show_section(self, name: str) -> QScrollArea:
        """Bring the section ``name`` (one of SECTIONS) to the front."""
        self.tabs.setCurrentWidget(self.sections[name])
        return self.sections[name]

    def on_shown(self) -> None:
        self.load()

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.apply_button.setEnabled(not busy)
        self.retemplate_button.setEnabled(not busy)


