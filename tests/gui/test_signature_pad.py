"""The signature pad: tablet strokes keep pressure and time, mouse and touch fallback, undo/clear, empty pad refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biometrix.capture.pen import rasterize
from biometrix.core.errors import EmptySignature
from biometrix.gui.qt import QApplication, QEvent, QInputDevice, QMouseEvent, QPoint, QPointF, Qt
from biometrix.gui.widgets.signature_pad import MOUSE_PRESSURE, TOUCH_PRESSURE, SignaturePad
from tests.gui.conftest import draw_on_pad


@pytest.fixture
def pad(qtbot):
    w = SignaturePad()
    w.resize(600, 240)
    qtbot.addWidget(w)
    w.show()
    return w


def test_empty_pad_is_refused(pad) -> None:
    with pytest.raises(EmptySignature, match="empty"):
        pad.strokes()
    with pytest.raises(EmptySignature):
        pad.image()


def test_tablet_strokes_keep_pressure_and_time(pad, stylus, svc_strokes) -> None:
    strokes = svc_strokes(3, 1)
    draw_on_pad(pad, strokes, stylus)
    got = pad.strokes()
    assert len(got) == len(strokes)
    assert [len(s.points) for s in got] == [len(s.points) for s in strokes]
    want_p = np.array([p.pressure for s in strokes for p in s.points])
    got_p = np.array([p.pressure for s in got for p in s.points])
    np.testing.assert_allclose(got_p, want_p, atol=1e-3)  # QTabletEvent stores pressure as a double
    t0 = strokes[0].points[0].t
    np.testing.assert_allclose([p.t for s in got for p in s.points], [p.t - t0 for s in strokes for p in s.points])
    doc = json.loads(pad.strokes_json())
    assert len(doc["strokes"][0][0]) == 4  # x, y, pressure, t
    img = pad.image()
    ref = rasterize(strokes)
    assert img.dtype == np.uint8 and abs(img.shape[0] / img.shape[1] - ref.shape[0] / ref.shape[1]) < 0.05


def test_mouse_fallback_undo_and_clear(pad, qtbot) -> None:
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    for x in range(40, 200, 20):
        qtbot.mouseMove(pad, QPoint(x, 30 + x // 4))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(220, 90))
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(50, 150))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(50, 150))
    assert pad.n_strokes == 2
    assert {p.pressure for s in pad.strokes() for p in s.points} == {MOUSE_PRESSURE}
    pad.undo()
    assert pad.n_strokes == 1
    pad.clear()
    assert pad.is_empty


@pytest.fixture(scope="module")
def touchscreen():
    """A touch screen registered with QWindowSystemInterface (offscreen Qt has none)."""
    from PySide6.QtTest import QTest

    return QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen, QInputDevice.Capability.Position)


@pytest.fixture
def touch_pad(qtbot):
    w = SignaturePad()
    # frameless: offscreen Qt gives a framed window 2 px margins that QTest's touch mapping counts twice
    w.setWindowFlags(Qt.WindowType.FramelessWindowHint)
    w.resize(600, 240)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def _synth_mouse(pad, kind: QEvent.Type, pos: QPoint) -> None:
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
    ev = QMouseEvent(kind, QPointF(pos), QPointF(pos), QPointF(pad.mapToGlobal(pos)), Qt.MouseButton.LeftButton,
                     buttons, Qt.KeyboardModifier.NoModifier, Qt.MouseEventSource.MouseEventSynthesizedByQt)
    QApplication.sendEvent(pad, ev)


def test_touch_strokes_one_finger_no_mouse_duplicates(touch_pad, touchscreen, qtbot) -> None:
    from PySide6.QtTest import QTest

    pad = touch_pad
    assert pad.testAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
    with pytest.raises(EmptySignature, match="empty"):
        pad.strokes()
    first = [QPoint(40 + 30 * k, 60 + 8 * k) for k in range(8)]
    second = [QPoint(80 + 25 * k, 180 - 10 * k) for k in range(5)]
    mouse = []  # touch must not reach the mouse handlers (Qt synthesises no mouse events from accepted touch)
    pad.mousePressEvent = lambda ev, orig=pad.mousePressEvent: (mouse.append(ev.type()), orig(ev))[1]

    def touch():
        qtbot.wait(3)  # event timestamps are in ms: keep them apart
        return QTest.touchEvent(pad, touchscreen)

    # stroke 1: finger 0 draws; finger 1 lands mid-stroke, moves and lifts: it is ignored
    touch().press(0, first[0]).commit()
    for k, p in enumerate(first[1:-1], start=1):
        seq = touch().move(0, p)
        if k == 3:
            seq.press(1, QPoint(500, 200))
        elif k in (4, 5):
            seq.move(1, QPoint(500 + 10 * k, 200))
        elif k == 6:
            seq.release(1, QPoint(560, 200))
        seq.commit()
    # a mouse event the system synthesised from the touch: dropped during the stroke
    _synth_mouse(pad, QEvent.Type.MouseButtonPress, QPoint(300, 30))
    _synth_mouse(pad, QEvent.Type.MouseMove, QPoint(320, 30))
    touch().release(0, first[-1]).commit()
    _synth_mouse(pad, QEvent.Type.MouseButtonRelease, QPoint(320, 30))
    # ... and just after it
    _synth_mouse(pad, QEvent.Type.MouseButtonPress, QPoint(300, 30))
    _synth_mouse(pad, QEvent.Type.MouseButtonRelease, QPoint(300, 30))
    assert pad.n_strokes == 1
    # stroke 2
    touch().press(3, second[0]).commit()
    for p in second[1:-1]:
        touch().move(3, p).commit()
    touch().release(3, second[-1]).commit()

    got = pad.strokes()
    assert len(got) == 2 and pad.n_strokes == 2
    assert [len(s.points) for s in got] == [len(first), len(second)]
    for s, sent in zip(got, (first, second), strict=True):
        np.testing.assert_allclose([(p.x, p.y) for p in s.points], [(q.x(), q.y()) for q in sent], atol=1.0)
    times = [p.t for s in got for p in s.points]
    assert times[0] == 0.0 and np.all(np.diff(times) > 0), times
    assert {p.pressure for s in got for p in s.points} == {TOUCH_PRESSURE}
    assert mouse.count(QEvent.Type.MouseButtonPress) == 2  # only the two sent above (dropped): Qt made none
    img = pad.image()
    assert img.dtype == np.uint8 and img.min() < 64 and (img < 128).mean() > 0.005  # ink on the paper
    pad.clear()
    with pytest.raises(EmptySignature, match="empty"):
        pad.strokes()
    # the mouse still draws (real mouse events are not synthesised)
    qtbot.mousePress(pad, Qt.MouseButton.LeftButton, pos=QPoint(30, 30))
    qtbot.mouseMove(pad, QPoint(90, 60))
    qtbot.mouseRelease(pad, Qt.MouseButton.LeftButton, pos=QPoint(90, 60))
    assert pad.n_strokes == 1 and {p.pressure for p in pad.strokes()[0].points} == {MOUSE_PRESSURE}


def _tablet(pad, stylus, kind, x: float, t: int) -> None:
    from biometrix.gui.qt import QTabletEvent

    pos = QPointF(x, 100.0)
    released = kind == QEvent.Type.TabletRelease
    ev = QTabletEvent(kind, stylus, pos, pad.mapToGlobal(pos), 0.5, 0.0, 0.0, 0.0, 0.0, 0.0,
                      Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                      Qt.MouseButton.NoButton if released else Qt.MouseButton.LeftButton)
    ev.setTimestamp(t)
    QApplication.sendEvent(pad, ev)


def test_one_clock_for_the_whole_drawing(pad, stylus) -> None:
    # the first event unstamped (0): every point on the pad's own clock, even those that carry a stamp, so the
    # drawing does not span the difference between two clocks
    _tablet(pad, stylus, QEvent.Type.TabletPress, 50, 0)
    for i, x in enumerate(range(60, 200, 20)):
        _tablet(pad, stylus, QEvent.Type.TabletMove, x, 5_000_000 + 10 * i)
    _tablet(pad, stylus, QEvent.Type.TabletRelease, 210, 5_000_100)
    times = [p.t for s in pad.strokes() for p in s.points]
    assert times[0] == 0.0 and all(0.0 <= t < 5_000 for t in times) and times == sorted(times)
    # the first event stamped: the events' clock throughout
    pad.clear()
    for i, x in enumerate(range(50, 200, 20)):
        _tablet(pad, stylus, QEvent.Type.TabletPress if i == 0 else QEvent.Type.TabletMove, x, 7_000 + 10 * i)
    _tablet(pad, stylus, QEvent.Type.TabletRelease, 210, 7_100)
    assert [p.t for s in pad.strokes() for p in s.points] == [10.0 * i for i in range(8)] + [100.0]
