"""A horizontal distance gauge: the threshold and the supervisor band around it, or the three zones between the
accept and reject thresholds, and where the distance falls."""

from __future__ import annotations

from biometrix.core.distances import format_distance
from biometrix.gui.i18n import translate
from biometrix.gui.qt import QColor, QFont, QFontMetrics, QPainter, QPen, QRectF, QSize, QSizePolicy, Qt, QWidget

ACCEPT, REFER, REJECT = QColor("#2e7d32"), QColor("#f9a825"), QColor("#c62828")


class DistanceGauge(QWidget):
    """Distance 0 on the left; green up to the band, amber inside it, red beyond; a marker at the distance. Under
    three zones (``reject`` given; the threshold is then the accept one): green up to the accept threshold, amber
    up to the reject threshold, red beyond.

    The scale runs to twice the threshold, past the reject threshold, and past the distance (so the marker stays
    visible).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._distance: float | None = None
        self._threshold = 1.0
        self._band = 0.0
        self._reject: float | None = None
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName(translate("gauge", "distance gauge"))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(400, 64)

    @property
    def distance(self) -> float | None:
        return self._distance

    @property
    def band(self) -> float:
        return self._band

    @property
    def reject(self) -> float | None:
        return self._reject

    def set_values(self, distance: float | None, threshold: float, band: float = 0.0, *,
                   reject: float | None = None) -> None:
        self._distance, self._threshold, self._band = distance, float(threshold), max(float(band), 0.0)
        self._reject = None if reject is None else float(reject)
        if self._reject is not None:
            self._band = 0.0
        self.update()

    def _zones(self) -> tuple[float, float]:
        """Where the amber zone starts and ends."""
        if self._reject is not None:
            return self._threshold, max(self._reject, self._threshold)
        return self._threshold - self._band, self._threshold + self._band

    def label_font(self) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.9, 7.0))
        return font

    def _full(self) -> float:
        return max(2.0 * self._threshold, (self._reject or 0.0) * 1.25, (self._distance or 0.0) * 1.1, 1e-6)

    def _x(self, v: float) -> float:
        left, width = 8.0, max(self.width() - 16.0, 10.0)
        return left + width * min(max(v / self._full(), 0.0), 1.0)

    def labels(self) -> list[tuple[str, QRectF]]:
        """The texts drawn and their rectangles: each is as wide as its text and kept inside the widget (a
        threshold near either end is labelled in full, never as "eshold 0.00124")."""
        fm = QFontMetrics(self.label_font())
        out = []
        top, h = 8.0, 22.0
        if self._reject is None:
            text = f"threshold {format_distance(self._threshold, digits=3)}"
            out.append((text, self._inside(self._x(self._threshold), fm.horizontalAdvance(text) + 4, top + h + 4, 18,
                                           centre=True)))
        else:  # the accept label ends at its line, the reject label starts at its own: they never overlap
            text = f"accept ≤ {format_distance(self._threshold, digits=3)}"
            w = fm.horizontalAdvance(text) + 4
            out.append((text, self._inside(self._x(self._threshold) - w, w, top + h + 4, 18, centre=False)))
            text = f"reject > {format_distance(self._reject, scale=self._threshold, digits=3)}"
            w = fm.horizontalAdvance(text) + 4
            out.append((text, self._inside(self._x(self._reject), w, top + h + 4, 18, centre=False)))
        if self._distance is not None:
            text = f"distance {format_distance(self._distance, scale=self._threshold, digits=3)}"
            x, w = self._x(self._distance), fm.horizontalAdvance(text) + 4
            right_side = x < 8.0 + max(self.width() - 16.0, 10.0) / 2
            out.append((text, self._inside(x + 6 if right_side else x - 6 - w, w, top, h, centre=False)))
        return out

    def _inside(self, x: float, w: float, y: float, h: float, *, centre: bool) -> QRectF:
        left = x - w / 2 if centre else x
        left = min(max(left, 0.0), max(self.width() - w, 0.0))
        return QRectF(left, y, w, h)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        top, h = 8.0, 22.0
        full, x = self._full(), self._x
        lo, hi = self._zones()
        p.setPen(Qt.PenStyle.NoPen)
        for a, b, colour in ((0.0, lo, ACCEPT), (lo, hi, REFER), (hi, full, REJECT)):
            if b > a:
                c = QColor(colour)
                c.setAlpha(90)
                p.setBrush(c)
                p.drawRect(QRectF(x(a), top, x(b) - x(a), h))
        p.setPen(QPen(QColor("#222222"), 2))
        for line in (self._threshold,) if self._reject is None else (lo, hi):
            p.drawLine(int(x(line)), int(top - 4), int(x(line)), int(top + h + 4))
        p.setFont(self.label_font())
        labels = self.labels()
        marks = 1 if self._reject is None else 2
        for text, rect in labels[:marks]:
            p.drawText(rect, Qt.AlignmentFlag.AlignHCenter, text)
        if self._distance is not None:
            d = self._distance
            colour = ACCEPT if d < lo else REJECT if d > hi else REFER
            if self._reject is not None:
                colour = ACCEPT if d <= lo else REJECT if d > hi else REFER
            elif self._band == 0:
                colour = ACCEPT if d <= self._threshold else REJECT
            p.setPen(QPen(colour.darker(130), 4))
            p.drawLine(int(x(d)), int(top - 6), int(x(d)), int(top + h + 6))
            p.setPen(QColor("#000000"))
            text, rect = labels[marks]
            p.drawText(rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, text)
        p.end()
