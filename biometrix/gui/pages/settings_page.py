"""Settings: database location, the database's decision policy (each modality's model and threshold, the Refer
band: an admin's to change, applied and audited by the service), camera, kiosk and PIN."""

from __future__ import annotations

from typing import Any

from biometrix.core.det import TARGET_FMRS, DetCurve, point_at_fmr, point_at_threshold
from biometrix.core.distances import format_distance
from biometrix.core.errors import BiometrixError
from biometrix.core.policy import DecisionPolicy
from biometrix.core.types import CAPTURES, Modality
from biometrix.gui import ops
from biometrix.gui.context import AppContext
from biometrix.gui.pages.base import Page
from biometrix.gui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
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
    QVBoxLayout,
    QWidget,
    Signal,
)
from biometrix.gui.settings import MODALITIES, GuiSettings
from biometrix.gui.tasks import error_message
from biometrix.gui.widgets.det_plot import DetPlot

NO_DET = ("This model card holds no DET points, so no DET curve is drawn and no target FMR can be chosen; "
          "the card records the FMR each threshold was set at.")
CARD_THRESHOLD = "the card's threshold above"
TRUSTED_MODEL = "(the model this database trusts{})"
ADMIN_NOTE = ("These are this database's decision policy: your changes are applied to the database and audited "
              "(old and new values).")
READ_ONLY_NOTE = ("Only an admin changes the models, thresholds and the Refer band: they are this database's "
                  "decision policy (biometrix policy set / models trust).")


def threshold_text(t: ops.CardThresholdInfo, all_thresholds: tuple[ops.CardThresholdInfo, ...] = ()) -> str:
    """One entry of the threshold list. Choosing ``default`` lets each signature probe use its capture's
    threshold where the card's is stricter (``ModelCard.capture_threshold``): its entry says so."""
    fmr = f"FMR {t.target_fmr:.2%}" if t.target_fmr is not None else "set by hand"
    text = f"{t.name}: {format_distance(t.value)} ({fmr})"
    if t.name == "default":
        stricter = [c for c in all_thresholds if c.name in CAPTURES and c.value < t.value]
        if stricter:
            text += "; " + ", ".join(f"{c.name} probes: {c.name} {format_distance(c.value)}" for c in stricter)
    return text


class PinDialog(QDialog):
    """Ask for a new supervisor PIN twice."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Kiosk supervisor PIN")
        self.first, self.second = QLineEdit(), QLineEdit()
        for e in (self.first, self.second):
            e.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        form.addRow("New PIN (4-12 digits)", self.first)
        form.addRow("Repeat", self.second)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ModalityBox(QGroupBox):
    """One modality: its model, the card threshold or a target FMR on the card's validation DET curve (as the
    database's policy says; editable by an admin only), the curve."""

    def __init__(self, modality: Modality, parent: QWidget | None = None) -> None:
        super().__init__(f"{modality.value.capitalize()} model", parent)
        self.modality = modality
        self.model_combo = QComboBox()
        self.threshold_combo = QComboBox()
        self.fmr_combo = QComboBox()
        self.fmr_combo.addItem(CARD_THRESHOLD, None)
        for target in TARGET_FMRS:
            self.fmr_combo.addItem(f"FMR {100 * target:g} %", target)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.det = QLabel()
        self.det.setWordWrap(True)
        self.plot = DetPlot()
        form = QFormLayout(self)
        form.addRow("Model", self.model_combo)
        form.addRow("Threshold", self.threshold_combo)
        form.addRow("Target FMR", self.fmr_combo)
        form.addRow("Operating point", self.source)
        form.addRow(self.plot)
        form.addRow("DET curve", self.det)
        self.thresholds: tuple[ops.CardThresholdInfo, ...] = ()
        self.curve: DetCurve | None = None
        self.model_id: str | None = None
        self.loaded = False  # show_info has run: until then the entries do not stand for anything
        self.saved_target: float | None = None
        self.trusted: str | None = None  # the model the database trusts (None: none pinned yet)
        self.editable = False  # the operator may change the policy's threshold and target FMR
        self.may_trust = False  # the operator may change the model the database trusts
        self._shown = (-1, -1, -1)  # the model, threshold and target FMR entries shown for what is in force
        self.threshold_combo.currentIndexChanged.connect(self._show_point)
        self.fmr_combo.currentIndexChanged.connect(self._show_point)

    def show_info(self, info: ops.ModalityInfo, models: list[str], policy: DecisionPolicy, *,
                  settings_model: str | None, may_set_policy: bool, may_trust: bool) -> None:
        """Show the card of the model in use and the policy's threshold for it; the model entry is the settings
        file's choice (None: the one the database trusts)."""
        self.model_combo.clear()
        self.trusted = info.trusted
        self.model_combo.addItem(TRUSTED_MODEL.format(f": {info.trusted}" if info.trusted else ""), None)
        for m in models:
            self.model_combo.addItem(m, m)
        if settings_model is not None:
            self.model_combo.setCurrentIndex(max(self.model_combo.findData(settings_model), 0))
        self.model_combo.setEnabled(may_trust)
        self.may_trust = may_trust
        self.model_id = info.model_id
        self.loaded = True
        self.editable = may_set_policy
        chosen_threshold, chosen_target = policy.threshold_name(self.modality), policy.target_fmr(self.modality)
        self.saved_target = chosen_target if info.det is not None else None
        self.curve = info.det
        self.thresholds = info.thresholds
        for combo in (self.threshold_combo, self.fmr_combo):
            combo.blockSignals(True)
        self.threshold_combo.clear()
        for t in info.thresholds:
            if t.name != "reject":  # the three zones' upper limit is never the one threshold (set_policy refuses it)
                self.threshold_combo.addItem(threshold_text(t, info.thresholds), t.name)
        idx = self.threshold_combo.findData(chosen_threshold)
        self.threshold_combo.setCurrentIndex(idx if idx >= 0 else 0)
        fidx = self.fmr_combo.findData(chosen_target) if chosen_target is not None and self.curve else 0
        self.fmr_combo.setCurrentIndex(max(fidx, 0))
        self.fmr_combo.setEnabled(self.editable and self.curve is not None)
        self._shown = (self.model_combo.currentIndex(), self.threshold_combo.currentIndex(),
                       self.fmr_combo.currentIndex())
        for combo in (self.threshold_combo, self.fmr_combo):
            combo.blockSignals(False)
        if self.curve is not None:
            self.plot.set_curve(self.curve.fmr, self.curve.fnmr)
            self.det.setText(f"Validation DET on {info.model_id}'s card: {len(self.curve.fmr)} points, "
                             f"{self.curve.n_genuine} genuine / {self.curve.n_impostor} impostor comparisons "
                             f"({self.curve.source}).")
        else:
            self.plot.set_curve((), ())
            self.det.setText(NO_DET)
        self._show_point()
        if info.error:
            self.source.setText(f"Not available: {info.error}")

    def target_fmr(self) -> float | None:
        data = self.fmr_combo.currentData()
        return float(data) if data is not None and self.curve is not None else None

    def chosen_value(self) -> float | None:
        """The threshold the current choice stands for (None: no card)."""
        target = self.target_fmr()
        if target is not None and self.curve is not None:
            return point_at_fmr(self.curve, target).threshold
        index = self.threshold_combo.currentIndex()
        return self.thresholds[index].value if 0 <= index < len(self.thresholds) else None

    def _show_point(self, _index: int = -1) -> None:
        target = self.target_fmr()
        self.threshold_combo.setEnabled(self.editable and target is None and bool(self.thresholds))
        index = self.threshold_combo.currentIndex()
        if target is not None and self.curve is not None:
            pt = point_at_fmr(self.curve, target)
            state = "in force" if target == self.saved_target else "an admin presses Apply and save"
            self.source.setText(f"threshold {format_distance(pt.threshold)}: FMR {pt.fmr:.2%}, FNMR {pt.fnmr:.2%} "
                                f"on the validation comparisons (target FMR {target:.1%}; {state})")
            self.plot.set_point(pt.fmr, pt.fnmr)
            return
        if 0 <= index < len(self.thresholds):
            t = self.thresholds[index]
            text = t.source or "(no source recorded)"
            if self.curve is not None:
                pt = point_at_threshold(self.curve, t.value)
                text += f" (on the validation DET curve: FMR {pt.fmr:.2%}, FNMR {pt.fnmr:.2%})"
                self.plot.set_point(pt.fmr, pt.fnmr)
            else:
                self.plot.set_point(None)
            self.source.setText(text)
        else:
            self.plot.set_point(None)
            self.source.setText("")

    def chosen_model(self) -> str | None:
        """The model entry chosen (None: the one the database trusts)."""
        model = self.model_combo.currentData()
        return str(model) if model else None

    def model_to_trust(self) -> str | None:
        """The model chosen when it is not the one the database trusts (a change an admin confirms), else None.
        For an operator who may not change it, only an entry moved away from the one shown counts (their settings
        file may name another model, which the service refuses, without keeping them from saving the rest)."""
        model = self.chosen_model()
        if not self.loaded or model is None or model == self.trusted:
            return None
        return model if self.may_trust or self.model_combo.currentIndex() != self._shown[0] else None

    def policy_choice(self) -> dict[str, Any]:
        """The policy settings whose entries were changed since the policy in force was shown ({}: none)."""
        if not self.loaded or not self.thresholds:
            return {}
        name = self.modality.value
        out: dict[str, Any] = {}
        if self.threshold_combo.currentIndex() != self._shown[1]:
            out[f"{name}_threshold"] = str(self.threshold_combo.currentData() or "default")
        if self.fmr_combo.currentIndex() != self._shown[2] and self.curve is not None:
            out[f"{name}_target_fmr"] = self.target_fmr()
        return out


class Progress(QObject):
    """Carries ``progress(done, total)`` calls from the worker thread to the UI thread (a queued signal)."""

    changed = Signal(int, int)

    def __call__(self, done: int, total: int) -> None:
        self.changed.emit(done, total)


def retemplate_summary(reports: list) -> tuple[str, str]:
    """A one-line message for the message bar, and its level, from ``Biometrix.retemplate``'s reports."""
    if not reports:
        return "Nobody is enrolled yet: there are no templates to re-make.", "info"
    parts, failures = [], []
    for r in reports:
        parts.append(f"{r.modality.value} ({r.model_id}): {len(r.made)} made, {r.up_to_date} already up to date")
        failures += [f"{subject} ({why})" for subject, why in r.failed]
    text = "Templates re-made. " + "; ".join(parts) + "."
    if failures:
        return f"{text} Not re-made: {'; '.join(failures)}", "warn"
    return text, "ok"


class SettingsPage(Page):
    """Edit and apply ``GuiSettings``; applying saves the file and re-creates the service when needed."""

    title = "Settings"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.db_edit = QLineEdit()
        self.db_edit.setPlaceholderText("default location")
        self.db_browse = QPushButton("Browse…")
        self.db_in_use = QLabel()
        self.db_in_use.setWordWrap(True)
        self.models_edit = QLineEdit()
        self.models_edit.setPlaceholderText("bundled models (assets/models)")
        db_box = QGroupBox("Enrollment database and models")
        db_form = QFormLayout(db_box)
        db_row = QHBoxLayout()
        db_row.addWidget(self.db_edit, 1)
        db_row.addWidget(self.db_browse)
        db_form.addRow("Database file", db_row)
        db_form.addRow("In use", self.db_in_use)
        db_form.addRow("Models folder", self.models_edit)
        self.retemplate_button = QPushButton("Re-make templates")
        self.retemplate_button.setToolTip("After a model change: make every subject's templates for the models in "
                                          "use from the samples kept in the database (admin)")
        self.retemplate_bar = QProgressBar()
        self.retemplate_bar.setVisible(False)
        template_row = QHBoxLayout()
        template_row.addWidget(self.retemplate_button)
        template_row.addWidget(self.retemplate_bar, 1)
        db_form.addRow("Templates", template_row)
        self._progress = Progress(self)
        self._progress.changed.connect(self._show_progress)

        self.boxes = {m: ModalityBox(m) for m in (Modality.SIGNATURE, Modality.FACE)}
        self.pen_label = QLabel()
        self.pen_label.setWordWrap(True)
        self.boxes[Modality.SIGNATURE].layout().addRow("Pen comparator", self.pen_label)

        self.band = QDoubleSpinBox()
        self.band.setRange(0.0, 50.0)
        self.band.setSuffix(" % of threshold")
        self.band.setDecimals(1)
        self.references = QSpinBox()
        self.references.setRange(3, 20)
        self.camera_edit = QLineEdit()
        self.camera_edit.setPlaceholderText("0 = first camera, or a video file")
        self.kiosk_modality = QComboBox()
        self.kiosk_modality.addItems(MODALITIES)
        self.kiosk_idle = QSpinBox()
        self.kiosk_idle.setRange(5, 3600)
        self.kiosk_idle.setSuffix(" s")
        self.pin_state = QLabel()
        self.pin_state.setWordWrap(True)
        self.pin_button = QPushButton("Set supervisor PIN…")
        self.policy_note = QLabel()
        self.policy_note.setWordWrap(True)
        self.three_zone = QCheckBox("by the card's zones")  # short: the form must fit 1024 px without scrolling
        self.three_zone.setToolTip("Accept / Refer / Reject by the card's accept and reject thresholds, where the "
                                   "deciding card names both (scanned signatures, the pen comparator) and the "
                                   "policy keeps the card's own threshold; off: one threshold and the Refer band")
        self.in_force = QLabel()
        self.in_force.setWordWrap(True)
        self.in_force.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        flow_box = QGroupBox("Decisions, capture and kiosk")
        flow = QFormLayout(flow_box)
        flow.addRow("Refer band", self.band)
        flow.addRow("Three zones", self.three_zone)
        flow.addRow("Decision policy", self.policy_note)
        flow.addRow("In force", self.in_force)
        flow.addRow("References to enroll", self.references)
        flow.addRow("Camera", self.camera_edit)
        flow.addRow("Kiosk verifies by", self.kiosk_modality)
        flow.addRow("Kiosk resets after idle", self.kiosk_idle)
        pin_row = QHBoxLayout()
        pin_row.addWidget(self.pin_state, 1)
        pin_row.addWidget(self.pin_button)
        flow.addRow("Kiosk PIN", pin_row)

        self.apply_button = QPushButton("Apply and save")
        self.apply_button.setStyleSheet("QPushButton { font-weight: 600; padding: 6px 18px; }")
        self.revert_button = QPushButton("Revert")
        grid = QGridLayout()
        grid.addWidget(db_box, 0, 0)
        grid.addWidget(flow_box, 0, 1)
        grid.addWidget(self.boxes[Modality.SIGNATURE], 1, 0)
        grid.addWidget(self.boxes[Modality.FACE], 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.apply_button)
        # The boxes scroll when they need more height than the window has (long threshold sources wrap to
        # several lines); the buttons stay in view below them.
        content = QWidget()
        inner = QVBoxLayout(content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(grid)
        inner.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # fits 1024 px wide
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(content)
        col = QVBoxLayout()
        col.addWidget(self.scroll, 1)
        col.addLayout(buttons)
        self.outer.addLayout(col, 1)
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
        self.kiosk_idle.setValue(int(round(s.kiosk_idle_s)))
        self.pin_state.setText("set" if s.has_pin else "not set (the kiosk needs one)")

    def load(self) -> None:
        """Show the settings in force, then what the service reports (database in use, cards, decision policy)."""
        self._fill_form()

        def done(info: ops.SettingsInfo) -> None:
            self.info = info
            reason = "the settings or --db" if info.db_reason == "--db" else info.db_reason
            self.db_in_use.setText(f"{info.db_path}\n(chosen by {reason})")
            s = self.ctx.settings
            chosen = {Modality.SIGNATURE: s.signature_model, Modality.FACE: s.face_model}
            for mi in info.modalities:
                self.boxes[mi.modality].show_info(mi, info.models.get(mi.modality.value, []), info.policy,
                                                  settings_model=chosen[mi.modality],
                                                  may_set_policy=info.may_set_policy,
                                                  may_trust=info.may_trust_models)
            self.pen_label.setText(info.pen)
            self.band.setValue(info.policy.refer_band * 100)
            self._shown_band = self.band.value()
            self.band.setEnabled(info.may_set_policy)
            self.three_zone.setChecked(info.policy.three_zone)
            self._shown_three_zone = info.policy.three_zone
            self.three_zone.setEnabled(info.may_set_policy)
            self.in_force.setText("\n".join(info.in_force))
            self.policy_note.setText(ADMIN_NOTE if info.may_set_policy else READ_ONLY_NOTE)

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
            kiosk_modality=self.kiosk_modality.currentText(), kiosk_idle_s=float(self.kiosk_idle.value()))

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

    def apply(self) -> None:
        """Save the form. A change of the decision policy (thresholds, target FMRs, Refer band) or of the models
        the database trusts is applied by the service first, which lets admins only and audits it ("settings",
        old and new values); only then is the settings file saved."""
        try:
            new = self.form_settings()
        except (BiometrixError, OSError) as err:
            self.messages.show_message(f"Settings not saved: {error_message(err)}", "error")
            return
        policy, models = self.policy_form(), self.models_form()
        if not policy and not models:
            self._adopt(new)
            return
        current = self.ctx.settings
        if (new.db_path, new.models_dir) != (current.db_path, current.models_dir):
            self.messages.show_message("Settings not saved: apply the database or models folder change first; "
                                       "the policy and models shown are those of the database in use.", "error")
            return
        if models and policy:
            self.messages.show_message("Settings not saved: apply the model change alone first, then choose the "
                                       "thresholds of the new model's card.", "error")
            return
        if models and not self.confirm_trust(models):
            return
        if models:  # the database now decides which model: the settings file leaves the choice to it
            new = new.replace(**{f"{slot}_model": None for slot in models})

        def done(change: ops.DecisionChange) -> None:
            note = ""
            if change.trusted:
                names = ", ".join(f"{pin.slot} model {pin.model_id}" for pin in change.trusted)
                note = f" The database now trusts {names}: re-make the templates of subjects enrolled before."
            self._adopt(new, note=note)

        self.call(lambda bx: ops.change_decisions(bx, policy=policy, models=models), done,
                  on_error=lambda err: self.messages.show_message(f"Settings not saved: {error_message(err)}",
                                                                  "error"))

    def confirm_trust(self, models: dict[str, str | None]) -> bool:
        """Ask the admin to confirm that the database trusts other models from now on."""
        names = ", ".join(f"{slot}: {model}" for slot, model in models.items() if model)
        answer = QMessageBox.question(
            self, "Trust other models",
            f"Make this database decide with these models ({names})? The change is audited; subjects enrolled "
            "under the previous model need their templates re-made (the button beside Templates).")
        return answer == QMessageBox.StandardButton.Yes

    def _adopt(self, new: GuiSettings, *, note: str = "") -> None:
        try:
            self.ctx.apply_settings(new)
        except (BiometrixError, OSError) as err:
            self.messages.show_message(f"Settings not saved: {error_message(err)}", "error")
            return
        where = f" to {self.ctx.settings_path}" if self.ctx.settings_path else ""
        self.messages.show_message(f"Settings saved{where}.{note}", "ok")
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
            self.messages.show_message(f"Templates not re-made: {error_message(err)}", "error")

        self.call(lambda bx: bx.retemplate(progress=progress), done, on_error=failed,
                  working="Re-making templates from the kept samples…")

    def _show_progress(self, done: int, total: int) -> None:
        self.retemplate_bar.setRange(0, total)
        self.retemplate_bar.setValue(done)
        self.retemplate_bar.setFormat("%v / %m subjects")

    def set_pin(self, pin: str) -> None:
        try:
            self._pending_pin = (self._pending_pin or self.ctx.settings).with_pin(pin)
        except BiometrixError as err:
            self.messages.show_message(error_message(err), "warn")
            return
        self.pin_state.setText("new PIN set (press Apply and save)")

    def _ask_pin(self) -> None:
        dialog = PinDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if dialog.first.text() != dialog.second.text():
            self.messages.show_message("The two PINs differ.", "warn")
            return
        self.set_pin(dialog.first.text())

    def _browse_db(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Enrollment database", self.db_edit.text() or "biometrix.db",
                                              "SQLite database (*.db *.sqlite);;All files (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.db_edit.setText(path)

    def on_shown(self) -> None:
        self.load()

    def set_busy(self, busy: bool) -> None:
        super().set_busy(busy)
        self.apply_button.setEnabled(not busy)
        self.retemplate_button.setEnabled(not busy)


