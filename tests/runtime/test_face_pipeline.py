"""The face pipeline on real faces: detect, quality, align, encode with the shipped dlib model; refusals."""

from __future__ import annotations

import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import LowQuality, ModelMismatch, MultipleFaces, NoFaceFound
from biometrix.core.types import Modality
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.face_detector import make_detector
from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ATT_ZIP = DATA / "att_faces" / "att_faces.zip"
YALE_ZIP = DATA / "extended_yaleb_cropped" / "extended_yaleb_cropped.zip"
pytestmark = pytest.mark.skipif(not ATT_ZIP.is_file(), reason=f"AT&T faces not found at {ATT_ZIP}")


def att(subject: int, n: int) -> np.ndarray:
    with zipfile.ZipFile(ATT_ZIP) as zf:
        return cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{subject}/{n}.pgm"), np.uint8), cv2.IMREAD_GRAYSCALE)


@pytest.fixture(scope="module")
def pipe() -> FacePipeline:
    card = load_card_for(models_dir(), model_id="face-dlib-resnet-v1", modality=Modality.FACE)
    return FacePipeline(OnnxEncoder(card, card.onnx_path(models_dir()), prefer_gpu=False, intra_op_threads=1),
                        make_detector("mtcnn"))


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_same_person_is_closer_than_anyone_else(pipe: FacePipeline) -> None:
    subjects = (31, 33, 35, 37)
    emb = {s: pipe.embed_many([att(s, 1), att(s, 6)]) for s in subjects}
    for s in subjects:
        genuine = cos(emb[s][0], emb[s][1])
        impostors = [cos(emb[s][0], emb[o][1]) for o in subjects if o != s]
        assert genuine < min(impostors), (s, genuine, impostors)
    # embeddings are unit vectors
    np.testing.assert_allclose(np.linalg.norm(emb[31], axis=1), 1.0, atol=1e-5)


def test_embed_is_chip_then_encoder(pipe: FacePipeline) -> None:
    img = att(32, 2)
    chip = pipe.chip(img)
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    np.testing.assert_allclose(pipe.embed(img), pipe.embed_chips([chip])[0], atol=1e-6)


def test_grey_rgb_16bit_and_alpha_versions_give_the_same_embedding(pipe: FacePipeline) -> None:
    grey = att(34, 3)
    rgb = cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB)
    rgba = np.dstack([rgb, np.full(grey.shape, 255, np.uint8)])
    base = pipe.embed(grey)
    assert cos(base, pipe.embed(rgb)) < 1e-5
    assert cos(base, pipe.embed(rgba)) < 1e-5


def test_no_face_and_several_faces_are_refused_with_reasons(pipe: FacePipeline) -> None:
    with pytest.raises(NoFaceFound, match="no face") as err:
        pipe.embed(np.full((200, 200), 128, np.uint8))
    assert err.value.reasons == ("no_face",)
    two = np.hstack([att(31, 1), att(36, 1)])
    with pytest.raises(MultipleFaces, match="more than one face") as err:
        pipe.embed(two)
    assert "multiple_faces" in err.value.reasons


def test_a_blurred_face_is_refused_and_a_dark_one_kept_because_it_still_matches(pipe: FacePipeline) -> None:
    face = cv2.resize(att(38, 1), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    for sigma in (6, 12):  # blurred past all detail: refused, not taken for sharp
        with pytest.raises(LowQuality) as err:
            pipe.embed(cv2.GaussianBlur(face, (0, 0), sigma))
        assert err.value.reasons and set(err.value.reasons) <= {"blurred", "no_face"}
    # the gate is calibrated on matching: a dim face that still matches is not refused for being dim
    dark = (face.astype(np.float32) * 0.15).astype(np.uint8)
    assert cos(pipe.embed(dark), pipe.embed(face)) < pipe.card.default_threshold().value


@pytest.mark.skipif(not YALE_ZIP.is_file(), reason=f"Extended Yale B not found at {YALE_ZIP}")
def test_a_face_cropped_at_its_edges_is_found_through_the_border_retry(pipe: FacePipeline) -> None:
    with zipfile.ZipFile(YALE_ZIP) as zf:
        data = zf.read("CroppedYale/yaleB30/yaleB30_P00A+000E+00.pgm")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    assert pipe.detector.detect(rgb) == []  # the detector alone misses a face that fills the frame
    det = pipe.detect(img)
    h, w = img.shape
    eyes, mouth = det.landmarks5[:2], det.landmarks5[3:]
    assert (eyes[:, 1] < h / 2).all() and (mouth[:, 1] > h / 2).all()  # landmarks in the image's own pixels
    assert abs(det.landmarks5[2, 0] - w / 2) < w / 5  # a frontal face: the nose near the middle


def test_a_signature_model_is_not_a_face_model(pipe: FacePipeline) -> None:
    sig = load_card_for(models_dir(), modality=Modality.SIGNATURE, prefer=PREFERRED_MODELS[Modality.SIGNATURE])
    with pytest.raises(ModelMismatch, match="not a face model"):
        FacePipeline(OnnxEncoder(sig, sig.onnx_path(models_dir()), prefer_gpu=False), pipe.detector)
    with pytest.raises(ModelMismatch, match="not a signature model"):
        SignaturePipeline(pipe.encoder)


@pytest.mark.skipif(not YALE_ZIP.is_file(), reason=f"Extended Yale B not found at {YALE_ZIP}")
def test_a_face_half_in_shadow_is_found_through_the_lighting_retry(pipe: FacePipeline) -> None:
    from biometrix.runtime.pipelines import BORDER, detect_with_border

    with zipfile.ZipFile(YALE_ZIP) as zf:
        data = zf.read("CroppedYale/yaleB01/yaleB01_P00A+035E-20.pgm")  # lit from 35 degrees right, 20 below
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB)
    assert pipe.detector.detect(rgb) == [] and detect_with_border(pipe.detector, rgb, BORDER) == []
    face = pipe.find_face(rgb)
    assert face is not None
    h, w = rgb.shape[:2]
    assert (face.landmarks5[:2, 1] < h / 2).all() and abs(face.landmarks5[2, 0] - w / 2) < w / 5


def test_the_quality_cuts_come_from_the_card(pipe: FacePipeline, tmp_path: Path) -> None:
    import json
    import shutil

    from biometrix.core.errors import ModelIntegrityError
    from biometrix.preprocess.quality import QualityCuts

    card = pipe.card
    assert card.preprocessing["quality"]["cuts"] == pipe.cuts.to_dict()  # the shipped card carries its cuts
    assert pipe.cuts == QualityCuts()  # and the code's defaults are the card's
    raw = card.to_dict()
    raw["preprocessing"]["quality"]["cuts"]["min_face"] = 500.0  # a card whose gate wants faces 500 px wide
    folder = tmp_path / "models"
    folder.mkdir()
    shutil.copy(card.onnx_path(models_dir()), folder / card.onnx_file)
    (folder / f"{card.model_id}.json").write_text(json.dumps(raw))
    strict = load_card_for(folder, model_id=card.model_id)
    strict_pipe = FacePipeline(OnnxEncoder(strict, strict.onnx_path(folder), prefer_gpu=False), pipe.detector)
    with pytest.raises(LowQuality) as err:
        strict_pipe.detect(att(31, 1))
    assert err.value.reasons == ("face_too_small",)
    pipe.detect(att(31, 1))  # the shipped cuts take it
    raw["preprocessing"]["quality"]["cuts"]["min_brightness"] = 50.0
    with pytest.raises(ModelIntegrityError, match="unknown quality cut 'min_brightness'"):
        FacePipeline(OnnxEncoder(strict, strict.onnx_path(folder), prefer_gpu=False), pipe.detector,
                     **raw["preprocessing"]["quality"]["cuts"])
