"""The signature pad: tablet strokes keep pressure and time, mouse fallback, undo/clear, empty pad refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biometrix.capture.pen import rasterize
from biometrix.core.errors import EmptySignature
from biometrix.gui.qt import QPoint, Qt
from biometrix.gui.widgets.signature_pad import MOUSE_PRESSURE, SignaturePad
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
