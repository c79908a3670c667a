"""Liveness through the service: a challenge fed camera frames, its outcome in the verify audit row; a failed
one is audited as a rejection and never compared."""

from __future__ import annotations

import math
import sqlite3
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.core.errors import PresentationRefused
from biometrix.core.types import Modality
from biometrix.evaluation.liveness import attack_frames, live_frames, live_order
from biometrix.preprocess.liveness import Challenge, head_yaw
from biometrix.runtime.model_card import PREFERRED_MODELS

ATT_ZIP = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "att_faces" / "att_faces.zip"


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    if not ATT_ZIP.is_file():
        pytest.skip(f"{ATT_ZIP} is absent (the shared data sets live in ../shared/data beside the repository)")
    with zipfile.ZipFile(ATT_ZIP) as zf:
        return [cv2.cvtColor(cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s1/{n}.pgm"), np.uint8),
                                          cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB) for n in range(1, 11)]


def test_the_liveness_outcome_is_audited_and_a_failed_one_decides_nothing(tmp_path: Path, photos) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db, prefer_gpu=False, face_model=PREFERRED_MODELS[Modality.FACE]) as bx:
        bx.enroll("att-1", faces=[photos[n] for n in (0, 1, 3, 4)])
        challenge = Challenge(("right", "left"))
        pipe = bx.pipeline(Modality.FACE)
        yaws = [head_yaw(d.landmarks5) if (d := pipe.find_face(p)) is not None else math.inf for p in photos]
        order = live_order(yaws, challenge)
        assert order is not None
        outcomes = {}
        for name, frames in (("live", live_frames(photos, order)),
                             ("print", attack_frames(photos[order[0][0]], "perspective", challenge))):
            check = bx.start_liveness(challenge=challenge)
            for i, frame in enumerate(frames):
                if check.feed(frame, t=i / 10) is not None:
                    break
            outcomes[name] = (check.finish(), check.frontal)
        live, frontal = outcomes["live"]
        assert live.passed and frontal is not None
        decision = bx.verify("att-1", face=frontal, liveness=live)
        assert decision.label == "Accept"
        attack, frontal = outcomes["print"]
        assert not attack.passed
        with pytest.raises(PresentationRefused) as err:
            bx.verify("att-1", face=frontal, liveness=attack)
        assert err.value.reasons == (attack.reason,) and "liveness" in str(err.value)
        rows = bx.audit(event="verify")
    assert [(r.decision, r.details["liveness"]["outcome"]) for r in rows] == [("accept", "pass"), ("reject", "fail")]
    assert rows[1].distance is None and rows[1].details["stage"] == "liveness"
    assert rows[0].details["liveness"]["turns"] == ["right", "left"]
    with sqlite3.connect(db) as conn:  # the refused presentation is in the chained log, not only in memory
        assert conn.execute("SELECT COUNT(*) FROM audit_log WHERE event = 'verify'").fetchone()[0] == 2
