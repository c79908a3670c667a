"""The Settings page's parts: one modality's decision box (threshold, target FMR, operating point, DET curve) and
the supervisor PIN dialog."""

from __future__ import annotations

from typing import Any

from biometrix.core.det import TARGET_FMRS, DetCurve, point_at_fmr, point_at_threshold
from biometrix.core.distances import format_distance
from biometrix.core.policy import DecisionPolicy
from biometrix.core.types import CAPTURES, Modality
from biometrix.gui import ops
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import name_controls
from biometrix.gui.qt import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QWidget,
)
from biometrix.gui.widgets.det_plot import DetPlot

NO_DET = QT_TRANSLATE_NOOP("settings_boxes", "This model card holds no DET points, so no DET curve is drawn and no "
                                             "target FMR can be chosen; the card records the FMR each threshold was "
                                             "set at.")
MODALITY_TITLE = {"signature": QT_TRANSLATE_NOOP("settings_boxes", "Signature"),
                  "face": QT_TRANSLATE_NOOP("settings_boxes", "Face")}
CARD_THRESHOLD = QT_TRANSLATE_NOOP("settings_boxes", "the card's threshold above")
TRUSTED_MODEL = QT_TRANSLATE_NOOP("settings_boxes", "(the model this database trusts{})")
ADMIN_NOTE = QT_TRANSLATE_NOOP("settings_boxes", "These are this database's decision policy: your changes are "
                                                 "applied to the database and audited (old and new values).")
READ_ONLY_NOTE = QT_TRANSLATE_NOOP("settings_boxes", "Only an admin changes the models, thresholds and the Refer "
                                                     "band: they are this database's decision policy (biometrix "
                                                     "policy set / models trust).")


def threshold_text(t: ops.CardThresholdInfo, all_thresholds: tuple[ops.CardThresholdInfo, ...] = ()) -> str:
    """One entry of the threshold list. Choosing ``default`` lets each signature probe use its capture's
    threshold where the card's is stricter (``ModelCard.capture_threshold``): its entry says so."""
    fmr = (translate("settings_boxes", "FMR {fmr:.2%}").format(fmr=t.target_fmr) if t.target_fmr is not None
           else translate("settings_boxes", "set by hand"))
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
        self.setWindowTitle(translate("settings_boxes", "Kiosk supervisor PIN"))
        self.first, self.second = QLineEdit(), QLineEdit()
        for e in (self.first, self.second):
            e.setEchoMode(QLineEdit.EchoMode.Password)
        form = QFormLayout(self)
        form.addRow(translate("settings_boxes", "New PIN (4-12 digits)"), self.first)
        form.addRow(translate("settings_boxes", "Repeat"), self.second)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        name_controls(self)


class ModalityBox(QGroupBox):
    """One modality: the card threshold or a target FMR on the card's validation DET curve (as the database's
    policy says; editable by an admin only), the curve (shown to admins only: ``show_det``). Its model entry
    (``model_combo``) is laid out by the page, in the Models section."""

    def __init__(self, modality: Modality, parent: QWidget | None = None) -> None:
        super().__init__(translate("settings_boxes", MODALITY_TITLE[modality.value]), parent)
        self.modality = modality
        self.model_combo = QComboBox()
        self.threshold_combo = QComboBox()
        self.fmr_combo = QComboBox()
        for combo in (self.model_combo, self.threshold_combo, self.fmr_combo):  # long entries do not widen the page
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        self.fmr_combo.addItem(translate("settings_boxes", CARD_THRESHOLD), None)
        for target in TARGET_FMRS:
            self.fmr_combo.addItem(translate("settings_boxes", "FMR {value:g} %").format(value=100 * target), target)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.det = QLabel()
        self.det.setWordWrap(True)
        self.plot = DetPlot()
        form = QFormLayout(self)
        form.addRow(translate("settings_boxes", "Threshold"), self.threshold_combo)
        form.addRow(translate("settings_boxes", "Target FMR"), self.fmr_combo)
        form.addRow(translate("settings_boxes", "Operating point"), self.source)
        form.addRow(self.plot)
        self.det_caption = QLabel(translate("settings_boxes", "DET curve"))
        form.addRow(self.det_caption, self.det)
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
        self.model_combo.addItem(translate("settings_boxes", TRUSTED_MODEL)
                                 .format(f": {info.trusted}" if info.trusted else ""), None)
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
            self.det.setText(translate("settings_boxes", "Validation DET on {model_id}'s card: {fmr} points, "
                                                         "{n_genuine} genuine / {n_impostor} impostor comparisons "
                                                         "({source}).")
                             .format(model_id=info.model_id, fmr=len(self.curve.fmr), n_genuine=self.curve.n_genuine,
                                     n_impostor=self.curve.n_impostor, source=self.curve.source))
        else:
            self.plot.set_curve((), ())
            self.det.setText(translate("settings_boxes", NO_DET))
        self._show_point()
        if info.error:
            self.source.setText(translate("settings_boxes", "Not available: {error}").format(error=info.error))

    def show_det(self, on: bool) -> None:
        """The DET curve and its caption: for admins, who set the operating point on it."""
        for w in (self.plot, self.det, self.det_caption):
            w.setVisible(on)

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
            state = (translate("settings_boxes", "in force") if target == self.saved_target
                     else translate("settings_boxes", "an admin presses Apply and save"))
            self.source.setText(translate("settings_boxes", "threshold {threshold}: FMR {fmr:.2%}, FNMR {fnmr:.2%} on "
                                                            "the validation comparisons (target FMR {target:.1%}; "
                                                            "{state})")
                                .format(threshold=format_distance(pt.threshold), fmr=pt.fmr, fnmr=pt.fnmr,
                                        target=target, state=state))
            self.plot.set_point(pt.fmr, pt.fnmr)
            return
        if 0 <= index < len(self.thresholds):
            t = self.thresholds[index]
            text = t.source or translate("settings_boxes", "(no source recorded)")
            if self.curve is not None:
                pt = point_at_threshold(self.curve, t.value)
                text += translate("settings_boxes", " (on the validation DET curve: FMR {fmr:.2%}, FNMR "
                                                    "{fnmr:.2%})").format(fmr=pt.fmr, fnmr=pt.fnmr)
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
