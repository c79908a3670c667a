"""A DET curve drawn with QPainter: FMR on a log scale (x), FNMR (y), and the operating point in force."""

from __future__ import annotations

import math
from collections.abc import Sequence

from biometrix.gui.i18n import translate
from biometrix.gui.qt import QColor, QFont, QPainter, QPainterPath, QPen, QPointF, QRectF, QSize, Qt, QWidget

CURVE = QColor("#1565c0")
POINT = QColor("#c62828")
GRID = QColor("#d0d0d0")
BACKGROUND = QColor("#ffffff")


class DetPlot(QWidget):
    """``set_curve(fmr, fnmr)`` then ``set_point(fmr, fnmr)``; an FMR of 0 is drawn at the left edge."""

    MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 40.0, 22.0, 8.0, 30.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fmr: tuple[float, ...] = ()
        self.fnmr: tuple[float, ...] = ()
        self.point: tuple[float, float] | None = None
        self.min_decade = -4
        self.setMinimumSize(240, 160)
        self.setAccessibleName(translate("det_plot", "DET curve"))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(320, 200)

    def set_curve(self, fmr: Sequence[float], fnmr: Sequence[float]) -> None:
        self.fmr, self.fnmr = tuple(map(float, fmr)), tuple(map(float, fnmr))
        positive = [f for f in self.fmr if f > 0]
        self.min_decade = min(-1, math.floor(math.log10(min(positive)))) if positive else -4
        self.update()

    def set_point(self, fmr: float | None, fnmr: float | None = None) -> None:
        self.point = None if fmr is None or fnmr is None else (float(fmr), float(fnmr))
        self.update()

    def plot_rect(self) -> QRectF:
        return QRectF(self.MARGIN_LEFT, self.MARGIN_TOP, max(self.width() - self.MARGIN_LEFT - self.MARGIN_RIGHT, 10),
                      max(self.height() - self.MARGIN_TOP - self.MARGIN_BOTTOM, 10))

    def to_pixel(self, fmr: float, fnmr: float) -> QPointF:
        """Where (FMR, FNMR) is drawn in widget coordinates."""
        r = self.plot_rect()
        lx = max(math.log10(fmr), self.min_decade) if fmr > 0 else self.min_decade
        x = r.left() + r.width() * (lx - self.min_decade) / -self.min_decade
        y = r.bottom() - r.height() * min(max(fnmr, 0.0), 1.0)
        return QPointF(x, y)

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), BACKGROUND)
        r = self.plot_rect()
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() * 0.8, 6.0))
        p.setFont(font)
        p.setPen(QPen(GRID, 1))
        for d in range(self.min_decade, 1):
            x = self.to_pixel(10.0**d, 0).x()
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.setPen(QPen(QColor("#555555"), 1))
            label = f"{100 * 10.0**d:g}%"
            p.drawText(QRectF(x - 24, r.bottom() + 2, 48, 14), Qt.AlignmentFlag.AlignHCenter, label)
            p.setPen(QPen(GRID, 1))
        for k in range(0, 5):
            y = r.bottom() - r.height() * k / 4
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(QPen(QColor("#555555"), 1))
            p.drawText(QRectF(0, y - 7, self.MARGIN_LEFT - 4, 14),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{25 * k}%")
            p.setPen(QPen(GRID, 1))
        p.setPen(QPen(QColor("#555555"), 1))
        p.drawText(QRectF(r.left(), r.bottom() + 15, r.width(), 14), Qt.AlignmentFlag.AlignHCenter,
                   "FMR (log)  ·  y: FNMR")
        p.drawRect(r)
        if self.fmr:
            path = QPainterPath()
            for i, (f, n) in enumerate(zip(self.fmr, self.fnmr, strict=True)):
                pt = self.to_pixel(f, n)
                if i == 0:
                    path.moveTo(pt)
                else:
                    path.lineTo(pt)
            p.setPen(QPen(CURVE, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        else:
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, translate("det_plot", "no DET points in this model card"))
        if self.point is not None:
            pt = self.to_pixel(*self.point)
            p.setPen(QPen(POINT, 2))
            p.setBrush(POINT)
            p.drawEllipse(pt, 5.0, 5.0)
        p.end()
