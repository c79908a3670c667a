"""Faces through the CLI: enroll, verify, identify from photo files and from a video file standing in for a
camera; every bad input exits 2 with one line and leaves the database as it was."""

from __future__ import annotations

import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import SHARED_DATA, Cedar, Run, assert_one_error_line, canonical_dump

ATT_ZIP = SHARED_DATA / "att_faces" / "att_faces.zip"
pytestmark = pytest.mark.skipif(not ATT_ZIP.is_file(), reason=f"AT&T faces not found at {ATT_ZIP}")
GALLERY = (31, 32, 33, 34)


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AT&T held-out subjects s31-s40 extracted as PGM files: <root>/s<S>/<n>.pgm."""
    root = tmp_path_factory.mktemp("att")
    with zipfile.ZipFile(ATT_ZIP) as zf:
        for s in range(31, 41):
            for n in range(1, 11):
                out = root / f"s{s}" / f"{n}.pgm"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(zf.read(f"att_faces/s{s}/{n}.pgm"))
    return root


def refs(faces: Path, s: int) -> list[Path]:
    return [faces / f"s{s}" / f"{n}.pgm" for n in range(1, 6)]


@pytest.fixture(scope="module")
def face_db(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from biometrix.cli import main

    db = tmp_path_factory.mktemp("facedb") / "faces.db"
    for s in GALLERY:
        assert main(["enroll", "--db", str(db), "--subject", f"s{s}", "--face", *map(str, refs(faces, s))]) == 0
    return db


def video_of(frames: list[np.ndarray], path: Path) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) if f.ndim == 2 else f)
    writer.release()
    return path


def test_verify_accepts_the_same_person_and_rejects_another(cli: Callable[..., Run], faces: Path,
                                                           face_db: Path) -> None:
    genuine = cli("verify", "--db", face_db, "--subject", "s33", "--face", faces / "s33" / "8.pgm", "--json")
    assert genuine.rc == 0, genuine.err
    doc = genuine.json()
    assert doc["decision"] == "accept" and doc["distance"] <= doc["threshold"]
    assert doc["model_id"] == "face-dlib-resnet-v1" and len(doc["reference_distances"]) == 5
    impostor = cli("verify", "--db", face_db, "--subject", "s33", "--face", faces / "s37" / "8.pgm", "--json")
    assert impostor.rc == 1 and impostor.json()["decision"] == "reject"
    with sqlite3.connect(face_db) as conn:
        rows = conn.execute("SELECT modality, decision FROM audit_log WHERE event = 'verify' ORDER BY rowid DESC "
                            "LIMIT 2").fetchall()
    conn.close()
    assert rows == [("face", "reject"), ("face", "accept")]


def test_identify_ranks_the_right_subject_first(cli: Callable[..., Run], faces: Path, face_db: Path) -> None:
    for s in GALLERY:
        run = cli("identify", "--db", face_db, "--face", faces / f"s{s}" / "9.pgm", "--json", "--top-k", "3")
        assert run.rc == 0, run.err
        ranked = run.json()
        assert ranked[0]["subject_id"] == f"s{s}" and ranked[0]["below_threshold"]
        assert [c["rank"] for c in ranked] == [1, 2, 3]


def test_enroll_and_verify_through_a_video_file_camera(cli: Callable[..., Run], faces: Path,
                                                       tmp_path: Path) -> None:
    db = tmp_path / "cam.db"
    blank = np.full((112, 92), 90, np.uint8)
    first = cv2.imread(str(faces / "s35" / "1.pgm"), cv2.IMREAD_GRAYSCALE)
    later = cv2.imread(str(faces / "s35" / "7.pgm"), cv2.IMREAD_GRAYSCALE)
    # the camera shows an empty scene first: the capture waits for a frame with one good face
    cam1 = video_of([blank, blank, first, first], tmp_path / "enroll.avi")
    cam2 = video_of([blank, later], tmp_path / "verify.avi")
    run = cli("enroll", "--db", db, "--subject", "s35", "--camera", cam1, "--json")
    assert run.rc == 0, run.err
    assert run.json()["templates"] == [{"modality": "face", "n_references": 1, "model_id": "face-dlib-resnet-v1"}]
    assert cli("verify", "--db", db, "--subject", "s35", "--camera", cam2).rc == 0
    empty = video_of([blank] * 3, tmp_path / "empty.avi")
    before = canonical_dump(db)
    assert_one_error_line(cli("verify", "--db", db, "--subject", "s35", "--camera", empty), "no face")
    assert canonical_dump(db) == before


def test_a_missing_camera_is_one_clear_error(cli: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    assert_one_error_line(cli("enroll", "--db", db, "--subject", "a", "--camera", "97"), "camera 97 cannot be opened")
    assert not db.exists()


def bad_face_files(faces: Path, root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, a fragment of the expected error)."""
    empty = root / "empty.png"
    empty.write_bytes(b"")
    text = root / "notes.jpg"
    text.write_text("not an image at all\n")
    blank = root / "blank.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    a, b = (cv2.imread(str(faces / f"s{s}" / "1.pgm"), cv2.IMREAD_GRAYSCALE) for s in (36, 38))
    two = root / "two.png"
    Image.fromarray(np.hstack([a, b])).save(two)
    return {"empty": (empty, "empty"), "not-an-image": (text, "notes.jpg"), "no-face": (blank, "no face"),
            "two-faces": (two, "more than one face"), "missing": (root / "nope.png", "nope.png")}


def test_bad_face_inputs_enroll_nothing(cli: Callable[..., Run], faces: Path, tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert cli("enroll", "--db", db, "--subject", "s39", "--face", *refs(faces, 39)).rc == 0
    before = canonical_dump(db)
    for name, (path, fragment) in bad_face_files(faces, tmp_path).items():
        # a bad photo among good ones: nothing of the enrollment is written
        run = cli("enroll", "--db", db, "--subject", f"new-{name}", "--face", *refs(faces, 40)[:2], path)
        assert_one_error_line(run, fragment)
        assert canonical_dump(db) == before, name
        assert_one_error_line(cli("verify", "--db", db, "--subject", "s39", "--face", path), fragment)
        assert canonical_dump(db) == before, name


def test_grey_16bit_and_alpha_photos_are_accepted(cli: Callable[..., Run], faces: Path, tmp_path: Path) -> None:
    grey = cv2.imread(str(faces / "s36" / "2.pgm"), cv2.IMREAD_GRAYSCALE)
    sixteen = tmp_path / "deep.png"
    cv2.imwrite(str(sixteen), grey.astype(np.uint16) * 257)
    alpha = tmp_path / "alpha.png"
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), "RGBA").save(alpha)
    db = tmp_path / "bank.db"
    assert cli("enroll", "--db", db, "--subject", "s36", "--face", *refs(faces, 36)).rc == 0
    for probe in (sixteen, alpha, faces / "s36" / "2.pgm"):
        run = cli("verify", "--db", db, "--subject", "s36", "--face", probe, "--json")
        assert run.rc == 0 and run.json()["decision"] == "accept", (probe, run.err)


def test_signature_and_face_enroll_in_one_transaction(cli: Callable[..., Run], faces: Path, cedar: Cedar,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "both.db"
    run = cli("enroll", "--db", db, "--subject", "carol", "--signature", *cedar.references(47), "--face",
              *refs(faces, 32), "--json")
    assert run.rc == 0, run.err
    assert sorted(t["modality"] for t in run.json()["templates"]) == ["face", "signature"]
    assert cli("verify", "--db", db, "--subject", "carol", "--face", faces / "s32" / "6.pgm").rc == 0
    assert cli("verify", "--db", db, "--subject", "carol", "--signature", cedar.genuine(47, 10)).rc in (0, 1)
    # a face that fails makes the signatures fail with it: all or nothing
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 120), 200, np.uint8)).save(blank)
    before = canonical_dump(db)
    assert_one_error_line(cli("enroll", "--db", db, "--subject", "dave", "--signature", *cedar.references(48),
                              "--face", blank), "no face")
    assert canonical_dump(db) == before


def test_verify_needs_exactly_one_probe(cli: Callable[..., Run], faces: Path, face_db: Path, cedar: Cedar) -> None:
    run = cli("verify", "--db", face_db, "--subject", "s31", "--face", faces / "s31" / "6.pgm", "--signature",
              cedar.genuine(46, 6))
    assert run.rc == 2 and "not allowed with argument" in run.err
    assert cli("enroll", "--db", face_db, "--subject", "x").rc == 2
