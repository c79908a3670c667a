"""The match strength of a decision as a bar: how close the probe is to the references, on the threshold's scale."""

from __future__ import annotations

from biometrix.gui.i18n import QT_TRANSLATE_NOOP, translate
from biometrix.gui.qt import QColor, QPainter, QPen, QRectF, QSize, QSizePolicy, Qt, QWidget

GREEN, AMBER, RED, TRACK = QColor("#2e7d32"), QColor("#f9a825"), QColor("#c62828"), QColor("#e0e0e0")
#: The strength at the threshold: a probe at the threshold's distance fills half the bar.
AT_THRESHOLD = 0.5
TOOLTIP = QT_TRANSLATE_NOOP("strength_bar", "How close the probe is to the enrolled references: 100 % is identical, "
                                           "the mark is the decision threshold (50 %), 0 % is twice the threshold's "
                                           "distance or further. It is not a probability.")


def match_strength(distance: float, threshold: float) -> float:
    """1 - distance / (2 * threshold), within [0, 1]: 1 identical, 0.5 at the threshold, 0 at twice it."""
    if threshold <= 0:
        return 0.0
    return min(max(1.0 - distance / (2.0 * threshold), 0.0), 1.0)


class StrengthBar(QWidget):
    """A horizontal bar filled to ``strength`` in the verdict's colour, a mark at the threshold (half way) and
    the percentage at its right; empty (no fill, no text) until a decision is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.strength: float | None = None
        self._colour = GREEN
        self.setMinimumHeight(26)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(translate("strength_bar", TOOLTIP))
        self.setAccessibleName(translate("strength_bar", "match strength"))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(300, 26)

    def set_strength(self, strength: float | None, label: str = "") -> None:
        """``label`` (Accept, Refer, Reject) picks the colour."""
        self.strength = strength
        self._colour = {"Accept": GREEN, "Refer": AMBER}.get(label, RED)
        self.setAccessibleDescription("" if strength is None else self.text())
        self.update()

    def text(self) -> str:
        return "" if self.strength is None else f"{round(100 * self.strength)} %"

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        text_w = 52.0
        track = QRectF(1, 4, max(self.width() - text_w - 8, 10.0), self.height() - 8)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(TRACK)
        p.drawRoundedRect(track, 4, 4)
        if self.strength is not None:
            p.setBrush(self._colour)
            p.drawRoundedRect(QRectF(track.x(), track.y(), track.width() * self.strength, track.height()), 4, 4)
            p.setPen(QColor("#000000"))
            p.drawText(QRectF(track.right() + 6, 0, text_w, self.height()),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self.text())
        x = track.x() + track.width() * AT_THRESHOLD
        p.setPen(QPen(QColor("#212121"), 2))
        p.drawLine(int(x), 1, int(x), self.height() - 1)
        p.end()
