"""dlib's face ResNet read from its .dat: the serialization decoding, refusals, and parity of the shipped ONNX
with dlib itself on real face chips (AT&T and Extended Yale B from ../shared/data)."""

from __future__ import annotations

import importlib.util
import math
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from biometrix.core.errors import ModelIntegrityError
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard
from biometrix.training.dlib_resnet import (
    MODEL_FILE_NAME,
    DlibReader,
    decode_float,
    decode_int,
    padded_add,
    parse_dlib_face_resnet,
    read_dlib_face_resnet,
)

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
ATT_ZIP = SHARED_DATA / "att_faces" / "att_faces.zip"
YALE_ZIP = SHARED_DATA / "extended_yaleb_cropped" / "extended_yaleb_cropped.zip"
MODEL_ID = "face-dlib-resnet-v1"
CARD_PATH = REPO / "assets" / "models" / f"{MODEL_ID}.json"
MIN_COSINE = 0.999


def _models_folder() -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@pytest.fixture(scope="module")
def dat_path() -> Path:
    folder = _models_folder()
    if folder is None or not (folder / MODEL_FILE_NAME).is_file():
        pytest.skip(f"{MODEL_FILE_NAME} not found (pip install face-recognition-models)")
    return folder / MODEL_FILE_NAME


# --- an independent encoder of dlib's format, the oracle for the decoder -------------------------


def pack_int(value: int) -> bytes:
    """dlib's pack_int: control byte (byte count | 0x80 if negative), magnitude little-endian, at least 1 byte."""
    magnitude = abs(value)
    body = magnitude.to_bytes(max(1, (magnitude.bit_length() + 7) // 8), "little")
    return bytes([len(body) | (0x80 if value < 0 else 0)]) + body


def pack_float(value: float, digits: int = 53) -> bytes:
    """dlib's float_details: mantissa = frexp fraction * 2**digits, exponent shifted while low bytes are zero."""
    fraction, exp = math.frexp(value)
    mantissa, exponent = int(fraction * (1 << digits)), exp - digits
    for _ in range(8):
        if mantissa & 0xFF:
            break
        mantissa >>= 8
        exponent += 8
    return pack_int(mantissa) + pack_int(exponent)


def test_integers_decode_from_hand_made_bytes() -> None:
    assert decode_int(b"\x01\x00") == 0
    assert decode_int(b"\x01\x05") == 5
    assert decode_int(b"\x81\x05") == -5
    assert decode_int(b"\x02\x00\x01") == 256
    assert decode_int(b"\x02\x80\x12") == 4736  # the stem convolution's parameter count in the .dat
    assert decode_int(b"\x08" + b"\xff" * 7 + b"\x7f") == 2**63 - 1
    rng = np.random.default_rng(0)
    for v in [int(x) for x in rng.integers(-(2**62), 2**62, 200)] + [1, -1, 255, 256, -65536]:
        assert decode_int(pack_int(v)) == v


def test_floats_decode_from_hand_made_bytes() -> None:
    assert decode_float(b"\x03\x9a\x99\x99\x81\x18") == np.float32(0.6)  # loss_metric's distance threshold
    assert decode_float(b"\x01\x10\x81\x04") == 1.0  # 16 * 2**-4
    assert decode_float(b"\x01\x00\x01\x0b") == 0.0  # dlib's zero (double)
    assert decode_float(b"\x81\x03\x81\x01") == -1.5
    assert decode_float(b"\x01\x00\x02\x00\x7d") == math.inf  # exponent 32000
    assert decode_float(b"\x01\x00\x02\x01\x7d") == -math.inf
    assert math.isnan(decode_float(b"\x01\x00\x02\x02\x7d"))
    rng = np.random.default_rng(1)
    for v in list(rng.standard_normal(200) * 10.0 ** rng.integers(-30, 30, 200)) + [122.782, -1e-300, 3.0]:
        assert decode_float(pack_float(float(v))) == float(v)
    for v in rng.standard_normal(50).astype(np.float32):  # dlib's float (24-bit mantissa) flavour
        assert decode_float(pack_float(float(v), digits=24)) == float(v)


def test_strings_bools_and_tensors_decode() -> None:
    values = np.arange(6, dtype="<f4") - 2.5
    v2 = pack_int(2) + b"".join(pack_int(d) for d in (1, 2, 1, 3)) + values.tobytes()
    v1 = pack_int(1) + b"".join(pack_int(d) for d in (2, 1, 1, 1)) + pack_float(0.5) + pack_float(-4.0)
    r = DlibReader(pack_int(4) + b"con_" + b"10" + v2 + v1)
    assert r.read_string() == "con_"
    assert (r.read_bool(), r.read_bool()) == (True, False)
    np.testing.assert_array_equal(r.read_tensor(), values.reshape(1, 2, 1, 3))
    np.testing.assert_array_equal(r.read_tensor(), np.array([0.5, -4.0], np.float32).reshape(2, 1, 1, 1))
    assert r.at_end()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\x02\x00", "truncated"),
        (b"\x71\x00", "does not start a dlib integer"),
        (b"\x09" + b"\x00" * 9, "does not start a dlib integer"),
        (b"\x01\x00\x01", "trailing"),
    ],
)
def test_malformed_integers_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ModelIntegrityError, match=message):
        decode_int(data)


def test_truncated_or_foreign_headers_are_refused() -> None:
    with pytest.raises(ModelIntegrityError, match="truncated"):
        parse_dlib_face_resnet(pack_int(1) + pack_int(13) + b"loss_metric_2" + b"\x03\x9a")
    with pytest.raises(ModelIntegrityError, match="expected loss layer type 'loss_metric_2'"):
        parse_dlib_face_resnet(pack_int(1) + pack_int(9) + b"loss_mmod" + b"\x00" * 20)
    with pytest.raises(ModelIntegrityError, match="bool"):
        DlibReader(b"x").read_bool()


def test_padded_add_matches_dlib_add_prev() -> None:
    """add_prev adds tensors of different shapes as if the smaller were zero-padded at the end."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    b = rng.standard_normal((2, 5, 3, 3)).astype(np.float32)
    expected = np.zeros((2, 5, 4, 4), np.float32)
    expected[:, :3] += a
    expected[:, :, :3, :3] += b
    np.testing.assert_array_equal(padded_add(torch.from_numpy(a), torch.from_numpy(b)).numpy(), expected)


# --- the real .dat ----------------------------------------------------------------------------------


def test_real_file_parses(dat_path: Path) -> None:
    w = read_dlib_face_resnet(dat_path)
    np.testing.assert_allclose(w.input_means, (122.782, 117.001, 104.298), atol=1e-4)
    assert w.input_size == (150, 150)
    assert w.stem_conv.weight.shape == (32, 3, 7, 7) and w.stem_conv.stride == (2, 2)
    assert len(w.blocks) == 14 and sum(b[4] is not None for b in w.blocks) == 4
    assert w.fc_weight.shape == (128, 256)
    assert w.loss_distance_threshold == pytest.approx(0.6)


def test_truncated_or_wrong_dat_raises(dat_path: Path, tmp_path: Path) -> None:
    data = dat_path.read_bytes()
    for cut in (10, 5000, len(data) // 2, len(data) - 3):
        bad = tmp_path / f"cut{cut}.dat"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelIntegrityError, match="truncated"):
            read_dlib_face_resnet(bad)
    extra = tmp_path / "extra.dat"
    extra.write_bytes(data + b"\x00")
    with pytest.raises(ModelIntegrityError, match="after the last layer"):
        read_dlib_face_resnet(extra)
    landmarks = dat_path.parent / "shape_predictor_5_face_landmarks.dat"
    if landmarks.is_file():
        with pytest.raises(ModelIntegrityError):
            read_dlib_face_resnet(landmarks)
    with pytest.raises(ModelIntegrityError, match="cannot read"):
        read_dlib_face_resnet(tmp_path / "absent.dat")


# --- parity of the shipped ONNX with dlib --------------------------------------------------------


def _grey_images() -> list[tuple[str, np.ndarray]]:
    """40 AT&T subjects (image 1) and 20 Extended Yale B subjects (frontal light), as grey uint8."""
    out = []
    with zipfile.ZipFile(ATT_ZIP) as z:
        out += [(f"att s{s}/1", z.read(f"att_faces/s{s}/1.pgm")) for s in range(1, 41)]
    with zipfile.ZipFile(YALE_ZIP) as z:
        subjects = [s for s in range(1, 40) if s != 14][:20]
        out += [(f"yaleB{s:02d}", z.read(f"CroppedYale/yaleB{s:02d}/yaleB{s:02d}_P00A+000E+00.pgm")) for s in subjects]
    return [(name, cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_GRAYSCALE)) for name, raw in out]


def _chips(dlib: object, models: Path) -> tuple[list[np.ndarray], int]:
    """150x150 RGB chips: dlib's HOG detector + 5 landmarks + get_face_chip(padding 0.25) where a face is
    found, else the whole image resized. Returns the chips and how many were aligned by dlib."""
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    chips, aligned = [], 0
    for _, grey in _grey_images():
        rgb = np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
        faces = detector(rgb, 1)
        if faces:
            chips.append(np.asarray(dlib.get_face_chip(rgb, predictor(rgb, faces[0]), size=150, padding=0.25)))
            aligned += 1
        else:
            chips.append(cv2.resize(rgb, (150, 150), interpolation=cv2.INTER_AREA))
    return chips, aligned


def test_shipped_onnx_matches_dlib_on_face_chips(dat_path: Path, record_property: pytest.RecordProperty) -> None:
    dlib = pytest.importorskip("dlib", reason="dlib is not installed (pip install dlib-bin)")
    if not (ATT_ZIP.is_file() and YALE_ZIP.is_file()):
        pytest.skip(f"AT&T / Extended Yale B faces not found under {SHARED_DATA}")
    if not (dat_path.parent / "shape_predictor_5_face_landmarks.dat").is_file():
        pytest.skip("shape_predictor_5_face_landmarks.dat not found beside the ResNet .dat")
    chips, aligned = _chips(dlib, dat_path.parent)
    assert len(chips) >= 50

    card = ModelCard.load(CARD_PATH)
    encoder = OnnxEncoder(card, card.onnx_path(CARD_PATH.parent), prefer_gpu=False, intra_op_threads=1)
    batch = np.stack([c.transpose(2, 0, 1) for c in chips]).astype(np.float32)  # RGB 0..255, as the card says
    ours = encoder.embed(batch)

    reference = dlib.face_recognition_model_v1(str(dat_path))
    theirs = np.array([np.asarray(reference.compute_face_descriptor(c)) for c in chips])
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = np.sum(ours * theirs, axis=1)

    summary = (
        f"dlib vs shipped ONNX on {len(chips)} chips ({aligned} aligned by dlib, {len(chips) - aligned} "
        f"resized): cosine min {cosine.min():.9f}, mean {cosine.mean():.9f}"
    )
    print(summary)
    record_property("dlib_parity", summary)
    assert cosine.min() >= MIN_COSINE, summary
