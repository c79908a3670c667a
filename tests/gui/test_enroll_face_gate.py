"""The Enroll page judges a face photo with the service's own quality gate as soon as it is taken, and tells the
teller why it cannot be enrolled in plain words."""

from __future__ import annotations

import zipfile

import cv2
import numpy as np
import pytest

from biometrix.core.errors import LowQuality
from biometrix.core.types import Modality
from tests.gui.conftest import ATT_ZIP, WAIT_MS, _require, call_service


def test_a_face_the_gate_refuses_is_named_with_its_reason(qtbot, window) -> None:
    with zipfile.ZipFile(_require(ATT_ZIP)) as zf:
        gray = cv2.imdecode(np.frombuffer(zf.read("att_faces/s31/1.pgm"), np.uint8), cv2.IMREAD_GRAYSCALE)
    # burnt out: the gate refuses it (its evidence: such faces matched worse), where a dim one would pass
    burnt = cv2.cvtColor((255 - (255 - gray.astype(np.float32)) * 0.1).astype(np.uint8), cv2.COLOR_GRAY2RGB)
    with pytest.raises(LowQuality) as err:  # the oracle: what the service's pipeline says of this photo
        call_service(qtbot, window.ctx, lambda bx: bx.pipeline(Modality.FACE).detect(burnt))
    enroll = window.show_page("enroll")
    enroll.set_face(burnt)
    qtbot.waitUntil(lambda: "cannot be enrolled" in enroll.messages.text(), timeout=WAIT_MS)
    assert enroll.messages.text() == f"This face photo cannot be enrolled: {err.value}"
    assert "_" not in enroll.messages.text()  # plain words, not reason codes
    good = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    enroll.messages.clear_message()
    enroll.set_face(good)
    qtbot.wait(300)
    call_service(qtbot, window.ctx, lambda bx: bx.pipeline(Modality.FACE).detect(good))  # accepted: no message
    qtbot.wait(300)
    assert "cannot be enrolled" not in enroll.messages.text()
