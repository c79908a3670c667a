"""Per-modality pipelines: a raw sample in, an L2-normalised embedding out (preprocess, then encode)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import cv2
import numpy as np

from biometrix.core.errors import (
    BiometrixError,
    InvalidInput,
    LowQuality,
    ModelIntegrityError,
    ModelMismatch,
    MultipleFaces,
    NoFaceFound,
    naming,
)
from biometrix.core.types import Modality
from biometrix.preprocess.face_align import TEMPLATES, align_face
from biometrix.preprocess.face_detect import Detection, FaceDetector, to_rgb
from biometrix.preprocess.quality import QualityCuts, face_quality
from biometrix.preprocess.signature import preprocess_signature
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard

T = TypeVar("T")
R = TypeVar("R")


def each_named(step: Callable[[T], R], items: Sequence[T], names: Sequence[str] | None) -> list[R]:
    """``step`` of every item; a BiometrixError of one item names it (``names[i]``), keeping its type."""
    if names is not None and len(names) != len(items):
        raise InvalidInput(f"{len(names)} names were given for {len(items)} items")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(step(item))
        except BiometrixError as err:
            if names is None:
                raise
            raise naming(err, names[i]) from err
    return out


class SignaturePipeline:
    """Signature image (grey or RGB uint8, dark ink on light paper) -> embedding, as the card describes."""

    modality = Modality.SIGNATURE

    def __init__(self, encoder: OnnxEncoder) -> None:
        card = encoder.card
        if card.modality is not Modality.SIGNATURE:
            raise ModelMismatch(f"model {card.model_id!r} is a {card.modality.value} model, not a signature model")
        self.encoder = encoder
        self.card: ModelCard = card

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """image -> float32 (C, H, W) encoder input (binarized ink, normalised as the card says)."""
        _, h, w = self.card.input_shape
        x = preprocess_signature(image, height=h, width=w)
        norm = self.card.normalization
        return ((x - norm.mean) / norm.std).astype(np.float32)[None]

    def embed_many(self, images: Sequence[np.ndarray], *, names: Sequence[str] | None = None) -> np.ndarray:
        """images -> (N, D) embeddings; every image is preprocessed (and can fail) before any is encoded. With
        ``names`` (one per image) the error of a refused image names it."""
        batch = np.stack(each_named(self.prepare, images, names))
        return self.encoder.embed(batch)

    def embed(self, image: np.ndarray) -> np.ndarray:
        """One image -> (D,) embedding."""
        return self.embed_many([image])[0]


#: What each quality reason tells the person in front of the camera.
QUALITY_MESSAGES = {
    "no_face": "no face was found in the image",
    "multiple_faces": "more than one face is in the image; only the subject may be in view",
    "face_too_small": "the face is too small; come closer to the camera or use a larger photo",
    "blurred": "the face is blurred; hold still and check the focus",
    "too_dark": "the face is too dark; add light in front of the face",
    "too_bright": "the face is over-exposed; reduce the light on the face",
    "turned_too_far": "the face is turned or tilted too far; look straight at the camera",
}


def check_face(rgb: np.ndarray, detections: Sequence[Detection], *, cuts: QualityCuts | None = None,
               **quality: float) -> Detection:
    """The subject's detection when exactly one acceptable face is there; else NoFaceFound, MultipleFaces
    or LowQuality carrying every reason (``err.reasons``), with a message naming them."""
    report = face_quality(rgb, detections, cuts=cuts, **quality)
    if report.ok:
        return max(detections, key=lambda d: d.width * d.height)
    message = "; ".join(QUALITY_MESSAGES.get(r, r) for r in report.reasons)
    kind = NoFaceFound if "no_face" in report.reasons else MultipleFaces if "multiple_faces" in report.reasons \
        else LowQuality
    raise kind(message, report.reasons)


#: The border (a fraction of the image's larger side) tried when a face fills the whole image.
BORDER = 0.25


def _clahe(gray: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4)).apply(gray)


#: Illumination normalisations of the grey image, tried in turn (inside the border) when no face was found
#: as the image is: a face lit from the side is half in shadow, which the detector was not trained on. On
#: Extended Yale B's held-out subjects (``python bench/face_eval.py``) 55 of the 704 photos are still not found,
#: against 288 with the border alone. Landmarks found on the normalised image are used on the original.
ILLUMINATION_RETRIES: tuple[Callable[[np.ndarray], np.ndarray], ...] = (_clahe, cv2.equalizeHist)


def find_faces(detector: FaceDetector, rgb: np.ndarray) -> list[Detection]:
    """The faces of ``rgb``: as it is; else inside a border of ``BORDER``; else, inside the border, on each
    of ``ILLUMINATION_RETRIES`` of its grey levels in turn. Boxes and landmarks in ``rgb``'s pixels."""
    found = detector.detect(rgb) or detect_with_border(detector, rgb, BORDER)
    if found:
        return found
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for normalise in ILLUMINATION_RETRIES:
        found = detect_with_border(detector, cv2.cvtColor(normalise(gray), cv2.COLOR_GRAY2RGB), BORDER)
        if found:
            return found
    return []


def detect_with_border(detector: FaceDetector, rgb: np.ndarray, border: float) -> list[Detection]:
    """Detect inside a grey border of ``border`` x the larger side; boxes and landmarks in ``rgb``'s pixels."""
    pad = int(round(border * max(rgb.shape[:2])))
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return [Detection(bbox=(d.bbox[0] - pad, d.bbox[1] - pad, d.bbox[2] - pad, d.bbox[3] - pad),
                      landmarks5=np.asarray(d.landmarks5) - pad, score=d.score) for d in detector.detect(padded)]


class FacePipeline:
    """Face photo (RGB, grey, any size) -> embedding: detect, check quality, align, encode, as the card says.

    The card's ``preprocessing`` names the alignment template (``template``, e.g. "dlib-chip-150") and the
    colour of the chip (``channels``: "rgb" or "grey"); the chip size is the card's input size. Exactly one
    acceptable face must be found: otherwise ``NoFaceFound``, ``MultipleFaces`` or ``LowQuality``, whose
    ``reasons`` say why. The quality cuts are the card's (``preprocessing.quality.cuts``, calibrated on
    matching by bench/face_quality_calibration.py), else ``QualityCuts()``; keyword ``quality`` overrides them.
    """

    modality = Modality.FACE

    def __init__(self, encoder: OnnxEncoder, detector: FaceDetector, **quality: float) -> None:
        card = encoder.card
        if card.modality is not Modality.FACE:
            raise ModelMismatch(f"model {card.model_id!r} is a {card.modality.value} model, not a face model")
        prep = card.preprocessing
        try:
            self.template = TEMPLATES[str(prep.get("template"))]
        except KeyError:
            raise ModelIntegrityError(f"model card {card.model_id!r}: unknown face template "
                                      f"{prep.get('template')!r} (known: {', '.join(TEMPLATES)})") from None
        self.channels = str(prep.get("channels", "rgb")).lower()
        c, h, w = card.input_shape
        if h != w or (self.channels, c) not in (("rgb", 3), ("grey", 1)):
            raise ModelIntegrityError(f"model card {card.model_id!r}: input {card.input_shape} does not fit a "
                                      f"square {self.channels} face chip")
        raw_cuts = prep.get("quality", {}).get("cuts", {}) if isinstance(prep.get("quality"), dict) else {}
        try:
            self.cuts = QualityCuts.from_mapping({**raw_cuts, **quality}, source=f"model card {card.model_id!r}")
        except InvalidInput as err:
            raise ModelIntegrityError(str(err)) from None
        self.encoder, self.card, self.detector = encoder, card, detector

    @property
    def model_id(self) -> str:
        return self.card.model_id

    def detect(self, image: np.ndarray) -> Detection:
        """The one face of ``image``; raises NoFaceFound / MultipleFaces / LowQuality with reasons.

        A photo cropped at the edge of the face (an ID photo, a scan, Yale B's crops) defeats detectors,
        which look for a face with some context around it, and so does a face half in shadow: when nothing is
        found, the search is repeated as ``find_faces`` says (a border, then normalised lighting).
        """
        rgb = to_rgb(image)
        return check_face(rgb, find_faces(self.detector, rgb), cuts=self.cuts)

    def find_face(self, image: np.ndarray) -> Detection | None:
        """The largest face of ``image`` (with the border retry of ``detect``) without the quality checks, or
        None: what a liveness challenge follows frame by frame, where a turned head is what is asked for."""
        found = find_faces(self.detector, to_rgb(image))
        return max(found, key=lambda d: d.width * d.height) if found else None

    def chip(self, image: np.ndarray, detection: Detection | None = None) -> np.ndarray:
        """The aligned uint8 chip (S, S, 3) RGB, or (S, S) grey, that the encoder sees."""
        rgb = to_rgb(image)
        det = detection if detection is not None else self.detect(rgb)
        chip = align_face(rgb, det.landmarks5, size=self.card.input_shape[1], template=self.template)
        return cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY) if self.channels == "grey" else chip

    def prepare_chip(self, chip: np.ndarray) -> np.ndarray:
        """An aligned chip -> float32 (C, S, S) encoder input, normalised as the card says."""
        x = np.asarray(chip, dtype=np.float32)
        x = x[None] if x.ndim == 2 else x.transpose(2, 0, 1)
        if x.shape != self.card.input_shape:
            raise InvalidInput(f"a face chip must be {self.card.input_shape}, got {x.shape}")
        norm = self.card.normalization
        return ((x - norm.mean) / norm.std).astype(np.float32)

    def embed_chips(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """Aligned chips -> (N, D) embeddings."""
        return self.encoder.embed(np.stack([self.prepare_chip(c) for c in chips]))

    def embed_many(self, images: Sequence[np.ndarray], *, names: Sequence[str] | None = None) -> np.ndarray:
        """images -> (N, D); every image is detected and checked (and can fail) before any is encoded. With
        ``names`` (one per image) the error of a refused image names it."""
        return self.embed_chips(each_named(self.chip, images, names))

    def embed(self, image: np.ndarray) -> np.ndarray:
        """One image -> (D,) embedding."""
        return self.embed_many([image])[0]
