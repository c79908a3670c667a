"""What the store keeps of an enrolled sample (``service.inputs.kept_sample``, issue 32 item 4): a scan's ink crop
from which the encoder gets the very input the scan gave, pen strokes deflated and whole; both a fraction of
what they replace, and samples kept whole by an older biometrix still read."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.files import decode_gray, encode_png, load_gray
from biometrix.capture.pen import MAX_PEN_FILE_BYTES, load_strokes, strokes_to_json
from biometrix.core.errors import StoreError
from biometrix.core.types import Modality
from biometrix.evaluation.faces import FaceSet
from biometrix.preprocess.face_detect import kept_photo
from biometrix.preprocess.signature import binarize, denoise, kept_ink, remove_specks
from biometrix.service import (
    DEFLATED_STROKES_MEDIA_TYPE,
    INK_CROP_MEDIA_TYPE,
    stored_model_input,
    stored_sample_input,
)
from biometrix.service.inputs import stroke_text
from biometrix.store import StoredSample
from tests.cli.conftest import Cedar, Svc

SIG = Modality.SIGNATURE


def test_a_scan_is_kept_as_its_ink_crop_and_retemplates_to_the_same_embedding(cedar: Cedar, tmp_path: Path) -> None:
    files = cedar.references(47)
    with Biometrix(tmp_path / "bank.db", prefer_gpu=False) as bx:
        (template,) = bx.enroll("C-47", signatures=files)
        kept = bx._db.samples("C-47", modality=SIG)
        pipe = bx.pipeline(SIG)
        scans = [load_gray(f) for f in files]
        assert [s.media_type for s in kept] == [INK_CROP_MEDIA_TYPE] * 5
        # retemplating from the kept crops: the encoder's input is the scan's, bit for bit (the oracle: the scans
        # prepared again, independently of what the enrollment stored), and so is the template
        for sample, scan in zip(kept, scans, strict=True):
            np.testing.assert_array_equal(pipe.prepare(stored_model_input(sample)), pipe.prepare(scan))
        again = pipe.embed_many([stored_model_input(s) for s in kept])
        np.testing.assert_allclose(again / np.linalg.norm(again, axis=1, keepdims=True), template.references,
                                   atol=1e-6)
    for sample, scan, path in zip(kept, scans, files, strict=True):
        crop = decode_gray(sample.data)
        assert len(sample.data) <= 6_000 and len(sample.data) * 5 < path.stat().st_size
        assert crop.shape[0] <= scan.shape[0] and crop.shape[1] <= scan.shape[1]
        assert sample.meta["scan_size"] == [scan.shape[1], scan.shape[0]]
        # the crop's ink is the scan's ink mask, found in the scan, with the scan's grey levels; the rest is white
        ink = remove_specks(binarize(denoise(scan)))
        diff = cv2.matchTemplate(ink.astype(np.float32), (crop < 255).astype(np.float32), cv2.TM_SQDIFF)
        y, x = np.unravel_index(np.argmin(diff), diff.shape)
        assert diff[y, x] == 0.0 and (crop < 255).sum() == ink.sum()
        under = scan[y:y + crop.shape[0], x:x + crop.shape[1]]
        np.testing.assert_array_equal(crop, np.where(ink[y:y + crop.shape[0], x:x + crop.shape[1]],
                                                     np.minimum(under, 254), 255))


def test_a_crop_beyond_the_bound_is_downscaled_and_still_the_same_signer(cedar: Cedar, tmp_path: Path) -> None:
    """A scan at 4x CEDAR's resolution (a 600 dpi scanner): its crop is downscaled to the bound and kept as a
    plain grey image, preprocessed again on retemplate: the embedding moves, by far less than the distance
    between two genuine signatures of the signer."""
    big = [cv2.resize(load_gray(f), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC) for f in cedar.references(48)]
    crop, exact = kept_ink(big[0])
    assert not exact and crop.shape[0] <= 600 and crop.shape[1] <= 1200
    with Biometrix(tmp_path / "bank.db", prefer_gpu=False) as bx:
        (template,) = bx.enroll("C-48", signatures=big)
        kept = bx._db.samples("C-48", modality=SIG)
        assert {s.media_type for s in kept} == {"image/webp"}
        again = bx.pipeline(SIG).embed_many([stored_model_input(s) for s in kept])
    unit = template.references / np.linalg.norm(template.references, axis=1, keepdims=True)
    moved = 1.0 - np.sum(unit * again / np.linalg.norm(again, axis=1, keepdims=True), axis=1)
    between = 1.0 - unit @ unit.T
    assert moved.max() < 0.25 * between[np.triu_indices(5, 1)].min()


def test_pen_strokes_are_kept_deflated_and_whole(svc: Svc, tmp_path: Path) -> None:
    files = [svc.sample(1, n) for n in range(1, 6)]
    with Biometrix(tmp_path / "bank.db", prefer_gpu=False) as bx:
        bx.enroll("U1", signatures=files)
        kept = bx._db.samples("U1", modality=SIG)
        decision = bx.verify("U1", signature=svc.sample(1, 10))
    assert decision.subject_id == "U1"
    assert [s.media_type for s in kept] == [DEFLATED_STROKES_MEDIA_TYPE] * 5
    for sample, path in zip(kept, files, strict=True):
        text = strokes_to_json(load_strokes(path))
        assert stroke_text(sample.data, sample.media_type) == text  # positions, pressure and times, exactly
        assert len(sample.data) * 2 < len(text.encode())


def test_a_damaged_or_inflating_pen_sample_is_refused() -> None:
    bomb = zlib.compress(b" " * (MAX_PEN_FILE_BYTES + 10), 9)
    with pytest.raises(StoreError, match="inflates past"):
        stroke_text(bomb, DEFLATED_STROKES_MEDIA_TYPE)
    with pytest.raises(StoreError, match="does not inflate"):
        stroke_text(b"not deflate", DEFLATED_STROKES_MEDIA_TYPE)


def test_a_face_photo_is_kept_lossless_grey_when_grey_and_bounded(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (root / "att_faces" / "att_faces.zip").is_file():
        pytest.skip("att_faces is not in ../shared/data")
    faces = FaceSet("att", root, [31])
    greys = [g for g, r in zip(faces.load_all(), faces.records, strict=True) if r.is_reference][:5]
    photos = [np.repeat(g[:, :, None], 3, axis=2) for g in greys]  # grey photos as a camera's RGB
    with Biometrix(tmp_path / "bank.db", prefer_gpu=False) as bx:
        (template,) = bx.enroll("F-31", faces=photos)
        kept = bx._db.samples("F-31", modality=Modality.FACE)
        again = bx.pipeline(Modality.FACE).embed_many([stored_model_input(s) for s in kept])
    for sample, photo, grey in zip(kept, photos, greys, strict=True):
        assert sample.media_type == "image/webp" and len(sample.data) < len(encode_png(photo)) / 2
        np.testing.assert_array_equal(stored_model_input(sample), photo)  # lossless: the same photo comes back
        np.testing.assert_array_equal(decode_gray(sample.data), grey)
    np.testing.assert_allclose(again / np.linalg.norm(again, axis=1, keepdims=True), template.references,
                               atol=1e-6)
    big = np.dstack([cv2.resize(greys[0], None, fx=12, fy=12)] * 2 + [cv2.resize(greys[0], None, fx=12, fy=12) // 2])
    small = kept_photo(big)
    assert small.shape == (1024, round(92 * 12 * 1024 / (112 * 12)), 3)


def test_a_whole_scan_kept_by_an_older_biometrix_is_read_as_before(cedar: Cedar) -> None:
    scan = load_gray(cedar.genuine(49, 1))
    old = StoredSample(sample_id=1, subject_id="C-49", modality=SIG, media_type="image/png", data=encode_png(scan),
                       meta={"source": "image-file"}, created_at=datetime.now(UTC))
    np.testing.assert_array_equal(stored_model_input(old), scan)
    np.testing.assert_array_equal(stored_sample_input(old), scan)
