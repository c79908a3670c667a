"""What each shipped model is fed and gives back on fixed real samples, computed through the app's own runtime.

For an image model the fed input is its pipeline's preprocessed array (``SignaturePipeline.prepare``, the face
chip of ``FacePipeline.chip``) and the output its embedding; for the pen comparator the input is the probe's
local pen features (``PenScoreModel.features``) and the output what ``pen_verify`` gives for the probe against 5
references (distance, reference scale, per-reference distances). ``record.py`` writes them beside this file
(``<model_id>.json`` and the inputs in ``<model_id>.npz``); ``tests/runtime/test_golden.py`` recomputes and
compares. Inputs are compared by value within a tolerance, not by hash, since another CPU may round a last bit
differently; each input's sha256 is recorded too, to tell an exact match from a near one in a failure.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DATA = REPO.parent / "shared" / "data"
CEDAR = "cedar/cedar_signatures_half.zip"
DUTCH = "sigcomp2011_dutch/sigcomp2011_dutch_half.zip"
SVC = "svc2004_task2/svc2004_task2.zip"
ATT = "att_faces/att_faces.zip"
YALE = "extended_yaleb_cropped/extended_yaleb_cropped.zip"
#: Tolerances: the preprocessed input (float images and pen features; a face chip's grey levels) and the output.
INPUT_ATOL = 1e-5
CHIP_ATOL = 1
OUTPUT_ATOL = 1e-5


@dataclass(frozen=True)
class Sample:
    """One fixed real sample: an entry of an archive in ../shared/data."""

    name: str
    archive: str
    entry: str

    def data(self, root: Path = DATA) -> bytes:
        with zipfile.ZipFile(root / self.archive) as zf:
            return zf.read(self.entry)

    def key(self) -> str:
        return self.name.replace(" ", "_")


SIGNATURE_SAMPLES = (
    Sample("cedar genuine 46-6", CEDAR, "CEDAR_half/full_org/original_46_6.png"),
    Sample("dutch forgery 049 01_0114049", DUTCH, "SigComp2011_Dutch_half/forged/049/01_0114049.png"),
    Sample("svc2004 rendered U31S6", SVC, "Task2/U31S6.TXT"),
)
FACE_SAMPLES = (
    Sample("att s31-1", ATT, "att_faces/s31/1.pgm"),
    Sample("yaleb 29 frontal", YALE, "CroppedYale/yaleB29/yaleB29_P00A+000E+00.pgm"),
)
PEN_REFERENCES = tuple(Sample(f"svc2004 U31S{n}", SVC, f"Task2/U31S{n}.TXT") for n in range(1, 6))
PEN_SAMPLES = (Sample("svc2004 genuine U31S6", SVC, "Task2/U31S6.TXT"),
               Sample("svc2004 skilled U31S21", SVC, "Task2/U31S21.TXT"))
MODELS = {"signature-v6-int8": SIGNATURE_SAMPLES, "signature-v6": SIGNATURE_SAMPLES,
          "signature-v5": SIGNATURE_SAMPLES, "face-dlib-resnet-v1": FACE_SAMPLES, "face-siamese-v1": FACE_SAMPLES,
          "pen-dtw-v2": PEN_SAMPLES}


@dataclass(frozen=True)
class Golden:
    """One sample's values: the fed input (one or more arrays) and the output vector."""

    inputs: dict[str, np.ndarray]
    output: np.ndarray
    output_kind: str


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _image(sample: Sample, root: Path) -> np.ndarray:
    from biometrix.capture.pen import rasterize, read_svc2004

    data = sample.data(root)
    if sample.entry.endswith(".TXT"):  # a pen recording reaches the image model rendered by the app's renderer
        return rasterize(read_svc2004(data.decode("ascii"), name=sample.entry))
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"{sample.entry} is not an image")
    return img


def _strokes(sample: Sample, root: Path) -> list[np.ndarray]:
    from biometrix.capture.pen import read_svc2004, stroke_arrays

    return stroke_arrays(read_svc2004(sample.data(root).decode("ascii"), name=sample.entry))


def model_hash(model_id: str) -> str:
    """The sha256 of what the model's numbers come from: the ONNX file (its card's ``sha256``), or the pen
    comparator's card (its weights are in it)."""
    from biometrix.runtime.model_card import load_card_for
    from biometrix.runtime.paths import models_dir
    from biometrix.runtime.pen_comparator import PEN_CARD_FILE, PEN_MODEL_ID

    if model_id == PEN_MODEL_ID:
        return sha256((models_dir() / PEN_MODEL_ID / PEN_CARD_FILE).read_bytes())
    return load_card_for(models_dir(), model_id=model_id).sha256


def computer(model_id: str, root: Path = DATA) -> Callable[[Sample], Golden]:
    """A function giving each sample's Golden values through the shipped model ``model_id``."""
    from biometrix.core.types import Modality
    from biometrix.runtime.encoder import OnnxEncoder
    from biometrix.runtime.face_detector import make_detector
    from biometrix.runtime.model_card import load_card_for
    from biometrix.runtime.paths import models_dir
    from biometrix.runtime.pen_comparator import PEN_MODEL_ID, load_pen_card, pen_verify
    from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline

    folder = models_dir()
    if model_id == PEN_MODEL_ID:
        card = load_pen_card(folder)
        if card is None:
            raise FileNotFoundError(f"no {PEN_MODEL_ID} card in {folder}")
        refs = [_strokes(s, root) for s in PEN_REFERENCES]

        def pen(sample: Sample) -> Golden:
            from biometrix.core.types import SubjectId

            probe = _strokes(sample, root)
            feats = card.model.features(probe)
            d = pen_verify(probe, refs, subject_id=SubjectId("u31"), threshold=card.threshold, model=card.model)
            out = np.array([d.distance, d.reference_scale, *d.reference_distances], dtype=np.float64)
            names = [c.name for c in card.model.channels]
            return Golden({name: np.asarray(f) for name, f in zip(names, feats, strict=True)}, out,
                          "distance, reference_scale, reference_distances (pen_verify against U31S1-5)")

        return pen
    model = load_card_for(folder, model_id=model_id)
    encoder = OnnxEncoder(model, model.onnx_path(folder), prefer_gpu=False, intra_op_threads=1)
    if model.modality is Modality.SIGNATURE:
        sig = SignaturePipeline(encoder)

        def signature(sample: Sample) -> Golden:
            img = _image(sample, root)
            return Golden({"image": sig.prepare(img)}, sig.embed(img), "embedding")

        return signature
    face = FacePipeline(encoder, make_detector(str(model.preprocessing.get("detector", "mtcnn"))))

    def chip(sample: Sample) -> Golden:
        img = _image(sample, root)
        c = face.chip(img)
        return Golden({"chip": c}, face.embed_chips([c])[0], "embedding")

    return chip


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()
