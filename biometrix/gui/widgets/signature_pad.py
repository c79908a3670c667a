"""The signature pad: pen-tablet input (x, y, pressure, time) with mouse and touch fallback, clear and undo."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from biometrix.capture.pen import MAX_PEN_POINTS, MAX_PEN_STROKES
from biometrix.core.errors import EmptySignature, PenDataTooLarge
from biometrix.gui.i18n import translate
from biometrix.gui.qt import (
    QColor,
    QEvent,
    QEventPoint,
    QMouseEvent,
    QPainter,
    QPen,
    QPointF,
    QSize,
    QSizePolicy,
    Qt,
    QTabletEvent,
    QTouchEvent,
    QWidget,
    Signal,
)

if TYPE_CHECKING:
    import numpy as np

    from biometrix.capture.pen import Stroke

#: Pressure given to mouse points, which have none.
MOUSE_PRESSURE = 0.5
#: Pressure given to touch points: the pen renderer (stroke width, ``capture.pen.rasterize``) needs one, and touch
#: screens report none (or a contact size that is not pen pressure), so every touch point gets this mid value.
TOUCH_PRESSURE = 0.5
#: Synthesised mouse events (``source()`` other than ``MouseEventNotSynthesized``) are ignored while a touch stroke
#: is drawn and for this long after it ends: some platforms deliver the system-made mouse events late.
TOUCH_MOUSE_GRACE_S = 0.5
_SYNTHESISED = (Qt.MouseEventSource.MouseEventSynthesizedByQt, Qt.MouseEventSource.MouseEventSynthesizedBySystem)
_TOUCH_TYPES = (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel)
MIN_WIDTH, MAX_WIDTH = 1.0, 6.0

Point = tuple[float, float, float, float]  # x, y (widget pixels), pressure [0, 1], t (ms)


class SignaturePad(QWidget):
    """Collects pen strokes. Each point keeps x, y (widget pixels), pressure in [0, 1] and time in ms.

    Tablet events give the real pressure and timestamp; mouse input gets ``MOUSE_PRESSURE``. Touch is taken
    as touch events (``WA_AcceptTouchEvents``): one finger draws a stroke with the event time and
    ``TOUCH_PRESSURE``; other fingers down at the same time are ignored, and the mouse events a platform
    synthesises from the touch are dropped so a touch never makes a second stroke. Pressure is drawn as stroke
    width. ``strokes()`` returns ``capture.pen.Stroke`` objects and refuses an empty pad.

    The pad holds at most ``capture.pen.MAX_PEN_POINTS`` points in ``MAX_PEN_STROKES`` strokes (a pen left on
    it, or a flood of events, cannot grow it further): input beyond is dropped, and ``strokes()`` then refuses
    the drawing (PenDataTooLarge) until the pad is cleared or the last stroke undone.
    """

    changed = Signal()
    started = Signal()  # a new stroke began (the first point of it is down)

    def __init__(self, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self._strokes: list[list[Point]] = []
        self._current: list[Point] | None = None
        self._n_points = 0
        self._overflow = False  # input was dropped at the limits: the drawing is incomplete
        self._t0: float | None = None
        self._event_clock = True  # set at the first point: see _time_ms
        self._placeholder = placeholder or translate("signature_pad", "Sign here")
        self._touch_id: int | None = None  # the id of the finger drawing, while a touch stroke is on
        self._touch_until = 0.0  # time.monotonic() until which synthesised mouse events are dropped
        self.setAttribute(Qt.WidgetAttribute.WA_StaticContents)
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 160)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName(translate("signature_pad", "signature pad"))
        self.scan: np.ndarray | None = None  # a scanned signature shown instead of strokes (see ``show_scan``)
        self._scan_pixmap = None
        self._scan_caption = ""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(600, 240)

    # --- state -------------------------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not any(self._strokes)

    @property
    def n_strokes(self) -> int:
        return len(self._strokes)

    def _recount(self) -> None:
        """After strokes are removed: what is left is whole again."""
        self._n_points = sum(len(s) for s in self._strokes)
        self._overflow = False

    def show_scan(self, img: np.ndarray | None, caption: str = "") -> None:
        """Show a scanned signature (grey array) on the pad, labelled ``caption``, in place of any strokes; None
        removes it. Drawing a stroke or clearing the pad removes it too: the pad holds one signature."""
        from biometrix.gui.widgets.images import to_pixmap

        if img is not None:
            self._strokes.clear()
            self._recount()
            self._current = None
        self.scan = img
        self._scan_pixmap = None if img is None else to_pixmap(img)
        self._scan_caption = caption
        self.update()
        if img is not None:
            self.started.emit()  # another signature is being taken
        self.changed.emit()

    def clear(self) -> None:
        self.scan, self._scan_pixmap = None, None
        self._strokes.clear()
        self._recount()
        self._current = None
        self._touch_id = None
        self._t0 = None
        self.update()
        self.changed.emit()

    def undo(self) -> None:
        """Remove the last stroke."""
        if self._strokes:
            self._strokes.pop()
            self._recount()
            self.update()
            self.changed.emit()

    def points(self) -> list[list[Point]]:
        """A copy of the raw strokes: [[(x, y, pressure, t_ms), ...], ...]."""
        return [list(s) for s in self._strokes]

    def strokes(self) -> list[Stroke]:
        """The strokes as ``capture.pen.Stroke``; ``EmptySignature`` when nothing has been drawn."""
        if self.is_empty:
            raise EmptySignature(translate("signature_pad", "the signature pad is empty: sign on the pad first"))
        if self._overflow:
            raise PenDataTooLarge(translate("signature_pad", "the signature is too long for the pad (more than "
                                            "{points} points or {strokes} strokes): clear the pad and sign again")
                                  .format(points=MAX_PEN_POINTS, strokes=MAX_PEN_STROKES))
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
        """Milliseconds since the drawing's first point, on one clock for the whole drawing: the events' own
        timestamps when the first event has one, else this process's monotonic clock (a device that stamps
        nothing). Mixing the two would put points hours apart, and the pen comparator compares the timing."""
        if self._t0 is None:
            self._event_clock = bool(event_ms)
        t = float(event_ms) if self._event_clock else time.monotonic() * 1000.0
        if self._t0 is None:
            self._t0 = t
        return t - self._t0

    def _add(self, pos: QPointF, pressure: float, event_ms: int, *, start: bool) -> None:
        new_stroke = start or self._current is None
        if self._n_points >= MAX_PEN_POINTS or (new_stroke and len(self._strokes) >= MAX_PEN_STROKES):
            self._overflow = True
            return
        self._n_points += 1
        point = (float(pos.x()), float(pos.y()), min(max(float(pressure), 0.0), 1.0), self._time_ms(event_ms))
        if new_stroke:
            if self.scan is not None:  # drawing replaces a scan shown on the pad
                self.scan, self._scan_pixmap = None, None
            self._current = [point]
            self._strokes.append(self._current)
            self.started.emit()
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

    def event(self, event: QEvent) -> bool:
        if event.type() in _TOUCH_TYPES:
            self._touch(event)  # type: ignore[arg-type]
            return True
        return super().event(event)

    def _touch(self, event: QTouchEvent) -> None:
        """One finger draws: the first one down (or the next one pressed once it is lifted); others are ignored."""
        event.accept()  # taken as touch: Qt synthesises no mouse events from it
        self._touch_until = time.monotonic() + TOUCH_MOUSE_GRACE_S
        if event.type() == QEvent.Type.TouchCancel:  # the system took the touch back: drop the unfinished stroke
            if self._touch_id is not None and self._current is not None and self._strokes \
                    and self._strokes[-1] is self._current:
                self._strokes.pop()
                self._recount()
                self._current = None
                self.update()
                self.changed.emit()
            self._touch_id = None
            return
        for point in event.points():
            state = point.state()
            if self._touch_id is None:
                if state == QEventPoint.State.Pressed:
                    self._touch_id = point.id()
                    self._add(point.position(), TOUCH_PRESSURE, event.timestamp(), start=True)
                continue
            if point.id() != self._touch_id:
                continue
            if state == QEventPoint.State.Updated:
                self._add(point.position(), TOUCH_PRESSURE, event.timestamp(), start=False)
            elif state == QEventPoint.State.Released:
                self._add(point.position(), TOUCH_PRESSURE, event.timestamp(), start=False)
                self._touch_id = None
                self._end()
        if event.type() == QEvent.Type.TouchEnd and self._touch_id is not None:  # every finger is up
            self._touch_id = None
            self._end()

    def _synthesised_from_touch(self, event: QMouseEvent) -> bool:
        return event.source() in _SYNTHESISED and (self._touch_id is not None or time.monotonic() < self._touch_until)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._synthesised_from_touch(event):
            event.accept()
            return
        if event.button() == Qt.MouseButton.LeftButton:
            self._add(event.position(), MOUSE_PRESSURE, event.timestamp(), start=True)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._synthesised_from_touch(event):
            event.accept()
            return
        if event.buttons() & Qt.MouseButton.LeftButton and self._current is not None:
            self._add(event.position(), MOUSE_PRESSURE, event.timestamp(), start=False)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._synthesised_from_touch(event):
            event.accept()
            return
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
        if self._scan_pixmap is not None:
            self._paint_scan(p)
        elif self.is_empty:
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

    def _paint_scan(self, p: QPainter) -> None:
        """The scan scaled to fit under a caption band that says it is a scan, not a drawing."""
        band = max(22, self.fontMetrics().height() + 8)
        area = self.rect().adjusted(6, band + 4, -6, -6)
        pm = self._scan_pixmap.scaled(area.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
        p.drawPixmap(area.x() + (area.width() - pm.width()) // 2, area.y() + (area.height() - pm.height()) // 2, pm)
        p.fillRect(0, 0, self.width(), band, QColor("#1565c0"))
        p.setPen(QColor("white"))
        p.drawText(self.rect().adjusted(8, 0, -8, 0).intersected(self.rect().adjusted(0, 0, 0, band - self.height())),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, self._scan_caption)
