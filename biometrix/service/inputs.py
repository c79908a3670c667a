"""What the use cases take in: signatures and faces in every accepted form (the pipeline's input and the raw
sample kept), and subject ids checked."""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix import identifiers
from biometrix.capture.files import decode_gray, decode_rgb, encode_png, encode_webp_lossless, load_gray, load_rgb
from biometrix.capture.pen import (
    MAX_PEN_FILE_BYTES,
    Stroke,
    load_strokes,
    rasterize,
    stroke_arrays,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.core.errors import (
    InvalidInput,
    StoreError,
)
from biometrix.core.types import Modality, SubjectId
from biometrix.preprocess.face_detect import kept_photo, to_rgb
from biometrix.preprocess.signature import kept_ink
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
#: Pen strokes as ``STROKES_MEDIA_TYPE``, deflated (zlib): how enrolled pen samples are kept (``kept_sample``).
DEFLATED_STROKES_MEDIA_TYPE = "application/vnd.biometrix.strokes+json+deflate"
#: A scan's ink crop at the scan's resolution (``preprocess.signature.kept_ink``, exact), a lossless WebP whose
#: pixels below 255 are the ink mask; a crop that had to be downscaled is kept as plain "image/webp".
INK_CROP_MEDIA_TYPE = "image/vnd.biometrix.ink-crop+webp"

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


def kept_sample(modality: Modality, image: np.ndarray, raw: SampleIn) -> SampleIn:
    """What the store keeps of an enrolled sample for retemplating: enough for future models, no more.

    A signature scan: its ink crop (``preprocess.signature.kept_ink``: the scan's grey ink, cropped to it plus
    16 px, on white; at most 600 x 1200 px) as lossless WebP, a few KB (bench/identify_scale.py measures it); from
    it ``stored_model_input`` gives the signature encoder the very input the scan gave. What is not kept is the
    paper. Pen strokes: the stroke JSON deflated (all of it: positions, pressure and times, which the pen
    comparator needs; a third of its size). A face photo (``preprocess.face_detect.kept_photo``): lossless WebP,
    grey when it is grey, at most 1024 px on its longer side: lossless, so that a retemplate detects and aligns the
    very face that was enrolled (JPEG's artefacts move the detector's landmarks on dark photos)."""
    if modality is Modality.FACE:
        photo = kept_photo(image)
        meta = {**raw.meta, "kept": "photo", "photo_size": [int(image.shape[1]), int(image.shape[0])]}
        return SampleIn(data=encode_webp_lossless(photo), media_type="image/webp", meta=meta)
    if raw.media_type == STROKES_MEDIA_TYPE:
        return SampleIn(data=zlib.compress(bytes(raw.data), 9), media_type=DEFLATED_STROKES_MEDIA_TYPE,
                        meta=raw.meta)
    crop, exact = kept_ink(image)
    meta = {**raw.meta, "kept": "ink crop", "scan_size": [int(image.shape[1]), int(image.shape[0])]}
    return SampleIn(data=encode_webp_lossless(crop), media_type=INK_CROP_MEDIA_TYPE if exact else "image/webp",
                    meta=meta)


def is_strokes(media_type: str) -> bool:
    """Whether a sample of this media type is pen strokes (as captured, or deflated as kept)."""
    return media_type in (STROKES_MEDIA_TYPE, DEFLATED_STROKES_MEDIA_TYPE)


def stroke_text(data: bytes, media_type: str) -> str:
    """The stroke JSON of a pen sample, inflated when it was kept deflated (at most the pen file limit)."""
    if media_type != DEFLATED_STROKES_MEDIA_TYPE:
        return bytes(data).decode("utf-8")
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(bytes(data), MAX_PEN_FILE_BYTES + 1)
    except zlib.error as exc:
        raise StoreError(f"a kept pen sample does not inflate ({exc}): the database may be damaged") from exc
    if len(text) > MAX_PEN_FILE_BYTES or not inflater.eof:
        raise StoreError(f"a kept pen sample inflates past {MAX_PEN_FILE_BYTES} bytes or is cut short: the "
                           "database may be damaged")
    return text.decode("utf-8")


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
    return "pen" if is_strokes(raw.media_type) else "scan"


def _stroke_arrays(data: bytes, media_type: str = STROKES_MEDIA_TYPE) -> list[np.ndarray]:
    """A stored or probe pen sample (stroke JSON, or deflated as kept) as the pen comparator's stroke arrays."""
    return stroke_arrays(strokes_from_json(stroke_text(data, media_type)))


def stored_model_input(sample: StoredSample) -> np.ndarray:
    """A raw sample kept in the store as its pipeline's input (``retemplate``): an exact ink crop as its ink mask
    (bool), which the signature preprocessing takes as made; anything else as ``stored_sample_input``."""
    if sample.media_type == INK_CROP_MEDIA_TYPE:
        return decode_gray(sample.data) < 255
    return stored_sample_input(sample)


def stored_sample_input(sample: StoredSample) -> np.ndarray:
    """A raw sample kept in the store as an image: pen strokes drawn as the signature pad draws them, images
    decoded (grey for signatures, RGB for faces) as the loaders decode files (an ink crop: grey ink on white;
    whole scans kept by an older biometrix alike)."""
    if is_strokes(sample.media_type):
        return rasterize(strokes_from_json(stroke_text(sample.data, sample.media_type)))
    if sample.modality is Modality.FACE:
        return decode_rgb(sample.data)
    return decode_gray(sample.data)



def _check_subject_id(subject_id: str) -> SubjectId:
    """Every subject id that comes in, in the one form it is stored in (``identifiers.subject_id``: NFC, no
    invisible or bidi-control characters, no cross-script look-alikes)."""
    return identifiers.subject_id(subject_id)
