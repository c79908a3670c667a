"""Replay recorded pen strokes on a widget as tablet events (a synthetic stylus; used by tests and screenshots)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biometrix.capture.pen import Stroke
from biometrix.gui.qt import QApplication, QEvent, QInputDevice, QPointF, QPointingDevice, Qt, QTabletEvent

MARGIN = 20.0


def synthetic_stylus(name: str = "synthetic stylus", device_id: int = 4242) -> QPointingDevice:
    """A pen device: offscreen Qt has no tablet, but QTabletEvents built on this device carry pressure."""
    caps = QInputDevice.Capability.Position | QInputDevice.Capability.Pressure
    return QPointingDevice(name, device_id, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                           caps, 1, 1)


def replay_strokes(widget, strokes: Sequence[Stroke], device: QPointingDevice) -> None:
    """Send ``strokes`` to ``widget`` as TabletPress / TabletMove / TabletRelease events, fitted to its size
    (a ``MARGIN`` px border), each event stamped with the recording's time and carrying its pressure."""
    pts = np.array([(p.x, p.y) for s in strokes for p in s.points], dtype=np.float64)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = min((widget.width() - 2 * MARGIN) / max(hi[0] - lo[0], 1),
                (widget.height() - 2 * MARGIN) / max(hi[1] - lo[1], 1))

    def send(kind: QEvent.Type, pos: QPointF, pressure: float, t: float | None) -> None:
        released = kind == QEvent.Type.TabletRelease
        ev = QTabletEvent(kind, device, pos, widget.mapToGlobal(pos), pressure, 0.0, 0.0, 0.0, 0.0, 0.0,
                          Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                          Qt.MouseButton.NoButton if released else Qt.MouseButton.LeftButton)
        if t is not None:
            ev.setTimestamp(int(t) + 1)  # + 1: the pad reads a timestamp of 0 as "none" and uses its own clock
        QApplication.sendEvent(widget, ev)

    for stroke in strokes:
        n = len(stroke.points)
        for k, p in enumerate(stroke.points):
            kind = (QEvent.Type.TabletPress if k == 0 else
                    QEvent.Type.TabletRelease if k == n - 1 and n > 1 else QEvent.Type.TabletMove)
            pos = QPointF(MARGIN + (p.x - lo[0]) * scale, MARGIN + (p.y - lo[1]) * scale)
            send(kind, pos, p.pressure, p.t)
        if n == 1:  # a dot: press, then release where and when it was (an unstamped event has another clock)
            send(QEvent.Type.TabletRelease, pos, 0.0, p.t)
