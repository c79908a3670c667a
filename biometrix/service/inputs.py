"""What the use cases take in: signatures and faces in every accepted form (the pipeline's input and the raw
sample kept), and subject ids checked."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix import identifiers
from biometrix.capture.files import decode_gray, decode_rgb, encode_png, load_gray, load_rgb
from biometrix.capture.pen import (
    Stroke,
    load_strokes,
    rasterize,
    stroke_arrays,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.core.errors import (
    InvalidInput,
)
from biometrix.core.types import Modality, SubjectId
from biometrix.preprocess.face_detect import to_rgb
from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline
from biometrix.store import (
    SampleIn,
    StoredSample,
)

log = logging.getLogger("biometrix.service")

#: A signature: an image file, an SVC2004 ``.txt`` / stroke ``.json`` pen file, an image array, or strokes.
SignatureInput = str | os.PathLike | np.ndarray | Sequence[Stroke]

#: A face: an image file (any format and depth the loader reads: grey, 16-bit, alpha) or an image array.
FaceInput = str | os.PathLike | np.ndarray

Pipeline = SignaturePipeline | FacePipeline

PEN_SUFFIXES = (".txt", ".json")
STROKES_MEDIA_TYPE = "application/vnd.biometrix.strokes+json"

def load_signature(sample: SignatureInput) -> tuple[np.ndarray, SampleIn]:
    """A signature in any accepted form -> (grey image, the raw sample to keep in the store)."""
    if isinstance(sample, np.ndarray):
        gray = np.asarray(sample)
        return gray, SampleIn(data=encode_png(gray), media_type="image/png", meta={"source": "array"})
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        if path.suffix.lower() in PEN_SUFFIXES:
            strokes = load_strokes(path)
            raw = strokes_to_json(strokes).encode("utf-8")
            meta = {"source": "pen-file", "filename": path.name}
            return rasterize(strokes), SampleIn(data=raw, media_type=STROKES_MEDIA_TYPE, meta=meta)
        gray = load_gray(path)
        return gray, SampleIn(data=encode_png(gray), media_type="image/png",
                              meta={"source": "image-file", "filename": path.name})
    if isinstance(sample, Sequence) and sample and all(isinstance(s, Stroke) for s in sample):
        strokes = list(sample)
        return rasterize(strokes), SampleIn(data=strokes_to_json(strokes).encode("utf-8"),
                                            media_type=STROKES_MEDIA_TYPE, meta={"source": "pen"})
    raise InvalidInput(f"a signature must be a file path, an image array or pen strokes, got {type(sample).__name__}")


def load_face(sample: FaceInput) -> tuple[np.ndarray, SampleIn]:
    """A face photo in any accepted form -> (RGB uint8 image, the raw sample to keep in the store)."""
    if isinstance(sample, np.ndarray):
        img = np.asarray(sample)
        if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3, 4)):
            raise InvalidInput(f"a face image array must be uint8 (H, W) or (H, W, 3), got {img.dtype} {img.shape}")
        rgb = to_rgb(img)
        return rgb, SampleIn(data=encode_png(rgb), media_type="image/png", meta={"source": "array"})
    if isinstance(sample, (str, os.PathLike)):
        path = Path(sample)
        rgb = load_rgb(path)
        return rgb, SampleIn(data=encode_png(rgb), media_type="image/png",
                             meta={"source": "image-file", "filename": path.name})
    raise InvalidInput(f"a face must be an image file path or an image array, got {type(sample).__name__}")


def signature_capture(sample: SignatureInput) -> str:
    """How a signature given to ``load_signature`` was captured: "pen" for a pen file or strokes, else "scan"
    (what ``capture_of`` says of the sample it loads, known before loading it)."""
    if isinstance(sample, (str, os.PathLike)):
        return "pen" if Path(sample).suffix.lower() in PEN_SUFFIXES else "scan"
    return "scan" if isinstance(sample, np.ndarray) else "pen"


def capture_of(modality: Modality, raw: SampleIn) -> str | None:
    """How a probe was captured, which picks its threshold (``ModelCard.capture_threshold``): "pen" for pen
    strokes, "scan" for a signature image (a scan or a photo of paper); None for a face."""
    if modality is not Modality.SIGNATURE:
        return None
    return "pen" if raw.media_type == STROKES_MEDIA_TYPE else "scan"


def _stroke_arrays(data: bytes) -> list[np.ndarray]:
    """A stored or probe pen sample (stroke JSON) as the pen comparator's stroke arrays."""
    return stroke_arrays(strokes_from_json(data.decode("utf-8")))


def stored_sample_input(sample: StoredSample) -> np.ndarray:
    """A raw sample kept in the store as its pipeline's input: pen strokes drawn as the signature pad draws
    them, images decoded (grey for signatures, RGB for faces) as the loaders decode files."""
    if sample.media_type == STROKES_MEDIA_TYPE:
        return rasterize(strokes_from_json(sample.data.decode("utf-8")))
    if sample.modality is Modality.FACE:
        return decode_rgb(sample.data)
    return decode_gray(sample.data)



def _check_subject_id(subject_id: str) -> SubjectId:
    """Every subject id that comes in, in the one form it is stored in (``identifiers.subject_id``: NFC, no
    invisible or bidi-control characters, no cross-script look-alikes)."""
    return identifiers.subject_id(subject_id)
