"""The signature pad: pen-tablet input (x, y, pressure, time) with mouse and touch fallback, clear and undo."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from biometrix.core.errors import EmptySignature
from biometrix.gui.qt import (
    QColor,
    QEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPointF,
    QSize,
    QSizePolicy,
    Qt,
    QTabletEvent,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    import numpy as np

    from biometrix.capture.pen import Stroke

#: Pressure given to mouse and touch points, which have none.
MOUSE_PRESSURE = 0.5
MIN_WIDTH, MAX_WIDTH = 1.0, 6.0

Point = tuple[float, float, float, float]  # x, y (widget pixels), pressure [0, 1], t (ms)


class SignaturePad(QWidget):
    """Collects pen strokes. Each point keeps x, y (widget pixels), pressure in [0, 1] and time in ms.

    Tablet events give the real pressure and timestamp; mouse input (and touch, which Qt turns into
    mouse events when the widget does not take touch itself) gets ``MOUSE_PRESSURE``. Pressure is drawn
    as stroke width. ``strokes()`` returns ``capture.pen.Stroke`` objects and refuses an empty pad.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "Sign here") -> None:
        super().__init__(parent)
        self._strokes: list[list[Point]] = []
        self._current: list[Point] | None = None
        self._t0: float | None = None
        self._placeholder = placeholder
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName("signature pad")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, 240)

    # --- state -------------------------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not any(self._strokes)

    @property
    def n_strokes(self) -> int:
        return len(self._strokes)

    def clear(self) -> None:
        self._strokes.clear()
        self._current = None
        self._t0 = None
        self.update()
        self.changed.emit()

    def undo(self) -> None:
        """Remove the last stroke."""
        if self._strokes:
            self._strokes.pop()
            self.update()
            self.changed.emit()

    def points(self) -> list[list[Point]]:
        """A copy of the raw strokes: [[(x, y, pressure, t_ms), ...], ...]."""
        return [list(s) for s in self._strokes]

    def strokes(self) -> list[Stroke]:
        """The strokes as ``capture.pen.Stroke``; ``EmptySignature`` when nothing has been drawn."""
        if self.is_empty:
            raise EmptySignature("the signature pad is empty: sign on the pad first")
        from biometrix.capture.pen import PenPoint, Stroke

        return [Stroke(tuple(PenPoint(x, y, p, t) for x, y, p, t in s)) for s in self._strokes if s]

    def strokes_json(self) -> str:
        """The strokes as ``capture.pen`` stroke JSON (with pressure and time)."""
        from biometrix.capture.pen import strokes_to_json

        return strokes_to_json(self.strokes())

    def image(self) -> np.ndarray:
        """The signature drawn by ``capture.pen.rasterize`` (the same renderer the encoder was trained with)."""
        from biometrix.capture.pen import rasterize

        return rasterize(self.strokes())

    # --- input -------------------------------------------------------------------------------------

    def _time_ms(self, event_ms: int) -> float:
        t = float(event_ms) if event_ms else time.monotonic() * 1000.0
        if self._t0 is None:
            self._t0 = t
        return t - self._t0

    def _add(self, pos: QPointF, pressure: float, event_ms: int, *, start: bool) -> None:
        point = (float(pos.x()), float(pos.y()), min(max(float(pressure), 0.0), 1.0), self._time_ms(event_ms))
        if start or self._current is None:
            self._current = [point]
            self._strokes.append(self._current)
        else:
            self._current.append(point)
        self.update()

    def _end(self) -> None:
        if self._current is not None:
            self._current = None
            self.changed.emit()

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._add(event.position(), event.pressure(), event.timestamp(), start=True)
        elif kind == QEvent.Type.TabletMove and self._current is not None:
            self._add(event.position(), event.pressure(), event.timestamp(), start=False)
        elif kind == QEvent.Type.TabletRelease:
            if self._current is not None:
                self._add(event.position(), event.pressure(), event.timestamp(), start=False)
            self._end()
        event.accept()  # no synthesised mouse event follows

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._add(event.position(), MOUSE_PRESSURE, event.timestamp(), start=True)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.buttons() & Qt.MouseButton.LeftButton and self._current is not None:
            self._add(event.position(), MOUSE_PRESSURE, event.timestamp(), start=False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._end()

    # --- drawing -----------------------------------------------------------------------------------

    def paintEvent(self, _event: object) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        p.setPen(QPen(QColor("#bbbbbb"), 1, Qt.PenStyle.DashLine))
        base = int(self.height() * 0.75)
        p.drawLine(24, base, self.width() - 24, base)
        if self.is_empty:
            p.setPen(QColor("#999999"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
        ink = QColor("#10224a")
        for stroke in self._strokes:
            if len(stroke) == 1:
                x, y, pr, _ = stroke[0]
                p.setPen(QPen(ink, MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * pr, Qt.PenStyle.SolidLine,
                              Qt.PenCapStyle.RoundCap))
                p.drawPoint(QPointF(x, y))
                continue
            for (x0, y0, p0, _), (x1, y1, p1, _) in zip(stroke, stroke[1:], strict=False):
                width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * (p0 + p1) / 2
                p.setPen(QPen(ink, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
                p.drawLine(QPointF(x0, y0), QPointF(x1, y1))
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        p.end()
