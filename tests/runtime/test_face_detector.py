"""Tests for biometrix.runtime.face_detector: the shipped MTCNN on real AT&T faces, integrity checks, the registry."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput, ModelIntegrityError
from biometrix.preprocess.face_detect import HaarDetector
from biometrix.runtime.face_detector import MANIFEST_NAME, MTCNN_MODEL_ID, MtcnnDetector, make_detector
from biometrix.runtime.paths import models_dir

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ATT_ZIP = DATA / "att_faces" / "att_faces.zip"
needs_att = pytest.mark.skipif(not ATT_ZIP.is_file(), reason=f"AT&T faces not found at {ATT_ZIP}")
SHIPPED = models_dir() / MTCNN_MODEL_ID


@pytest.fixture(scope="module")
def mtcnn() -> MtcnnDetector:
    return MtcnnDetector(intra_op_threads=1)


@needs_att
def test_mtcnn_finds_one_face_with_sane_landmarks_in_att_images(mtcnn):
    with zipfile.ZipFile(ATT_ZIP) as zf:
        for s in range(1, 41, 2):
            gray = cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{s}/1.pgm"), np.uint8), cv2.IMREAD_GRAYSCALE)
            dets = mtcnn.detect(np.repeat(gray[:, :, None], 3, axis=2))
            assert len(dets) == 1, f"s{s}/1.pgm: {len(dets)} faces"
            d = dets[0]
            x0, y0, x1, y1 = d.bbox
            left_eye, right_eye, nose, mouth_left, mouth_right = d.landmarks5
            assert d.score > 0.9 and 40 < x1 - x0 < 100
            assert ((d.landmarks5 >= (x0, y0)) & (d.landmarks5 <= (x1, y1))).all()
            assert left_eye[0] < nose[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
            assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_mtcnn_finds_nothing_in_a_blank_image(mtcnn):
    assert mtcnn.detect(np.zeros((120, 160, 3), np.uint8)) == []
    assert mtcnn.detect(np.full((120, 160, 3), 200, np.uint8)) == []


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    folder = tmp_path / MTCNN_MODEL_ID
    shutil.copytree(SHIPPED, folder)
    return folder


@pytest.mark.parametrize("name", ["pnet.onnx", "rnet.onnx", "onet.onnx"])
def test_a_tampered_network_is_refused(copied, name):
    data = bytearray((copied / name).read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one weight
    (copied / name).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="does not match its manifest"):
        MtcnnDetector(copied)


def test_a_missing_or_broken_manifest_is_refused(copied):
    manifest = copied / MANIFEST_NAME
    raw = json.loads(manifest.read_text())
    raw["networks"]["onet"]["sha256"] = "abc"
    manifest.write_text(json.dumps(raw))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        MtcnnDetector(copied)
    manifest.unlink()
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        MtcnnDetector(copied)
    with pytest.raises(ModelIntegrityError):
        MtcnnDetector(copied.parent / "nowhere")


def test_the_shipped_manifest_matches_its_files():
    raw = json.loads((SHIPPED / MANIFEST_NAME).read_text())
    assert raw["model_id"] == MTCNN_MODEL_ID
    assert raw["landmarks"] == ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
    assert sorted(raw["networks"]) == ["onet", "pnet", "rnet"]


def test_make_detector_by_name():
    assert isinstance(make_detector("haar"), HaarDetector)
    assert isinstance(make_detector(), MtcnnDetector)
    assert make_detector("mtcnn", min_face_size=40).min_face_size == 40
    with pytest.raises(InvalidInput, match="unknown face detector"):
        make_detector("retinaface")
    with pytest.raises(InvalidInput):
        MtcnnDetector(thresholds=(0.6, 0.7))
