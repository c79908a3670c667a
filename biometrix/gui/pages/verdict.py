"""The verdict beside a verification: ACCEPT / REFER / REJECT, one plain sentence of why, the match strength as a
bar; distances, the FMR, the model and the Refer band behind a Details toggle."""

from __future__ import annotations

from functools import partial

from biometrix.core.distances import format_distance
from biometrix.core.types import Decision
from biometrix.gui import ops
from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.pages.base import Thumbnails
from biometrix.gui.qt import QGroupBox, QHBoxLayout, QLabel, QPushButton, Qt, QVBoxLayout, QWidget
from biometrix.gui.widgets.gauge import DistanceGauge
from biometrix.gui.widgets.images import to_pixmap
from biometrix.gui.widgets.strength_bar import StrengthBar, match_strength

LABEL_STYLE = {
    "Accept": "background:#2e7d32; color:white;",
    "Refer": "background:#f9a825; color:black;",
    "Reject": "background:#c62828; color:white;",
}
LABEL_TEXT = {"Accept": QT_TRANSLATE_NOOP("verdict", "ACCEPT"), "Refer": QT_TRANSLATE_NOOP("verdict", "REFER"),
              "Reject": QT_TRANSLATE_NOOP("verdict", "REJECT")}
#: One sentence per verdict and modality, in the teller's words: {who} is the subject.
WHY = {
    ("Accept", "signature"): QT_TRANSLATE_NOOP("verdict", "The signature matches {who}'s enrolled signatures."),
    ("Accept", "face"): QT_TRANSLATE_NOOP("verdict", "The face matches {who}'s enrolled faces."),
    ("Refer", "signature"): QT_TRANSLATE_NOOP("verdict", "The signature is close to {who}'s but not close enough to "
                                                         "decide: ask a supervisor to check the customer's identity."),
    ("Refer", "face"): QT_TRANSLATE_NOOP("verdict", "The face is close to {who}'s but not close enough to decide: ask "
                                                    "a supervisor to check the customer's identity."),
    ("Reject", "signature"): QT_TRANSLATE_NOOP("verdict", "The signature does not match {who}'s enrolled signatures."),
    ("Reject", "face"): QT_TRANSLATE_NOOP("verdict", "The face does not match {who}'s enrolled faces."),
}
#: The probe's caption: how the signature was taken, so a scan is never taken for a pad drawing.
PROBE_CAPTION = {"scan": QT_TRANSLATE_NOOP("verdict", "Probe: SCAN"),
                 "pen": QT_TRANSLATE_NOOP("verdict", "Probe: drawn on pad")}
BANNER = "QLabel {{ font-size: 22pt; font-weight: 700; border-radius: 4px; {} }}"


def why_text(decision: Decision, who: str) -> str:
    return translate("verdict", WHY[decision.label, decision.modality.value]).format(who=who)


def details_text(decision: Decision) -> str:
    """The numbers behind a decision, for the Details toggle."""
    d = decision
    fmt = partial(format_distance, scale=d.threshold.value, digits=3)
    if d.reject_threshold is not None:
        text = translate("verdict", "Distance {distance}. Three zones (model {model}): accepted at or below {accept}, "
                                    "rejected above {reject}, referred to a supervisor between. Audited by the "
                                    "service as '{label}'.")
        return text.format(distance=fmt(d.distance), model=d.model_id, accept=fmt(d.threshold.value),
                           reject=fmt(d.reject_threshold), label=d.label.lower())
    fmr = (translate("verdict", ", set at FMR {fmr:.2%}").format(fmr=d.threshold.target_fmr)
           if d.threshold.target_fmr is not None else "")
    band = (translate("verdict", "; Refer band ±{band}").format(band=fmt(d.band)) if d.band
            else translate("verdict", "; no Refer band"))
    text = translate("verdict", "Distance {distance}, threshold {threshold}{fmr} (model {model}){band}. Audited by "
                                "the service as '{label}'.")
    return text.format(distance=fmt(d.distance), threshold=fmt(d.threshold.value), fmr=fmr, model=d.model_id,
                       band=band, label=d.label.lower())


class ResultPanel(QGroupBox):
    """The decision: the verdict banner, the reason, the match strength; Details (closed at first) holds the
    distance gauge and the numbers; below, the probe beside the enrolled references."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(translate("verdict", "Result"), parent)
        self.label = QLabel("—")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setMinimumHeight(48)
        self.label.setStyleSheet(BANNER.format(""))
        self.why = QLabel()
        self.why.setWordWrap(True)
        self.why.setStyleSheet("QLabel { font-size: 12pt; }")
        self.strength = StrengthBar()
        strength_row = QHBoxLayout()
        strength_row.addWidget(QLabel(translate("verdict", "Match strength")))
        strength_row.addWidget(self.strength, 1)
        self.details_button = QPushButton(translate("verdict", "Details ▸"))
        self.details_button.setCheckable(True)
        self.details_button.setFlat(True)
        self.details_button.setToolTip(translate("verdict", "Distance, threshold, FMR, model and Refer band of this "
                                                            "decision"))
        self.details_box = QWidget()
        self.gauge = DistanceGauge()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details_col = QVBoxLayout(self.details_box)
        details_col.setContentsMargins(0, 0, 0, 0)
        details_col.addWidget(self.gauge)
        details_col.addWidget(self.details)
        self.details_box.setVisible(False)
        self.probe_label = QLabel()
        self.probe_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.probe_label.setFixedSize(130, 96)
        self.references = Thumbnails(size=150, fit=True)  # all of them in view, as large as the room allows
        pics = QHBoxLayout()
        probe_col = QVBoxLayout()
        self.probe_caption = QLabel(translate("verdict", "Probe"))
        probe_col.addWidget(self.probe_caption)
        probe_col.addWidget(self.probe_label)
        probe_col.addStretch(1)
        ref_col = QVBoxLayout()
        ref_col.addWidget(QLabel(translate("verdict", "Enrolled references")))
        ref_col.addWidget(self.references)
        pics.addLayout(probe_col)
        pics.addLayout(ref_col, 1)
        col = QVBoxLayout(self)
        col.addWidget(self.label)
        col.addWidget(self.why)
        col.addLayout(strength_row)
        col.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        col.addWidget(self.details_box)
        col.addLayout(pics, 1)
        self.shown_label = ""
        self._decision: Decision | None = None
        self.details_button.toggled.connect(self._show_details)

    def show_outcome(self, outcome: ops.VerifyOutcome, *, who: str | None = None) -> None:
        """Show the service's decision (as audited); ``who`` names the subject in the sentence (default: its id)."""
        d = outcome.decision
        self._decision = d
        self.shown_label = d.label
        self.label.setText(translate("verdict", LABEL_TEXT[d.label]))
        self.label.setStyleSheet(BANNER.format(LABEL_STYLE[d.label]))
        self.why.setText(why_text(d, who or d.subject_id))
        self.strength.set_strength(match_strength(d.distance, d.threshold.value), d.label)
        self.gauge.set_values(d.distance, d.threshold.value, d.band, reject=d.reject_threshold)
        self.details.setText(details_text(d))
        self.probe_label.setPixmap(to_pixmap(outcome.probe, size=92))
        self.probe_caption.setText(translate("verdict", PROBE_CAPTION.get(outcome.capture, "Probe")))
        self.references.clear()
        for i, img in enumerate(outcome.references):
            self.references.add_image(img, f"#{i + 1}", tooltip=_reference_tooltip(d, i))
        self._show_details(self.details_button.isChecked())

    def _show_details(self, on: bool) -> None:
        self.details_button.setText(translate("verdict", "Details ▾") if on else translate("verdict", "Details ▸"))
        self.details_box.setVisible(on)
        d = self._decision
        if d is None:
            return
        fmt = partial(format_distance, scale=d.threshold.value, digits=3)
        for i in range(self.references.count()):  # each reference's distance, with the other numbers
            has = i < len(d.reference_distances)
            self.references.item(i).setText(f"#{i + 1}" + (f"  d={fmt(d.reference_scores[i])}" if on and has else ""))

    def clear(self) -> None:
        self._decision = None
        self.shown_label = ""
        self.label.setText("—")
        self.label.setStyleSheet(BANNER.format(""))
        self.why.clear()
        self.strength.set_strength(None)
        self.details.clear()
        self.gauge.set_values(None, 1.0)
        self.probe_label.clear()
        self.probe_caption.setText(translate("verdict", "Probe"))
        self.references.clear()


def _reference_tooltip(d: Decision, i: int) -> str:
    """What the i-th reference's figure is: on the threshold's scale, with the raw distance it comes from."""
    if i >= len(d.reference_distances):
        return translate("verdict", "no distance for this reference")
    raw = translate("verdict", "{kind} distance of the probe to this reference").format(kind=d.threshold.distance)
    if d.reference_scale == 1.0:
        return raw
    return translate("verdict", "{raw} ({distance:.3g}) divided by the references' mean distance to each other "
                                "({scale:.3g}), the threshold's scale: the decision's distance is the mean of "
                                "these").format(raw=raw, distance=d.reference_distances[i], scale=d.reference_scale)
