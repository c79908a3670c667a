"""Derive DLIB_CHIP_150: where our MTCNN finds the five landmarks inside dlib's 150 px face chips.

dlib's ResNet face encoder expects chips made by ``dlib.get_face_chip(img, shape_5pt, size=150, padding=0.25)``.
To make the same chips from our own detector, this script makes dlib chips of AT&T and Yale B faces
(each with a black border; ``dlib.get_frontal_face_detector`` with one upsampling,
``shape_predictor_5_face_landmarks`` from face_recognition_models), runs ``MtcnnDetector`` on each chip,
keeps chips with exactly one detection, and prints the
per-coordinate median of the landmarks: the template for ``face_align.DLIB_CHIP_150``.
It also prints how far (mean px) each chip's landmarks lie from that template.

    python bench/research/derive_face_template.py [--data ../shared/data] [--every 1]
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

from biometrix.runtime.face_detector import MtcnnDetector

REPO = Path(__file__).resolve().parents[2]
SETS = {"att": "att_faces/att_faces.zip", "yaleb": "extended_yaleb_cropped/extended_yaleb_cropped.zip"}


def images(zip_path: Path, every: int):
    """Yield (name, grey uint8) for every ``every``-th .pgm in the zip, in name order."""
    with zipfile.ZipFile(zip_path) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".pgm"))[::every]
        for name in names:
            gray = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
            if gray is not None:
                yield name, gray


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--every", type=int, default=1, help="use every n-th image of each set")
    ap.add_argument("--border", type=float, default=0.25, help="black border added to each side, x the long side")
    args = ap.parse_args()
    import dlib
    import face_recognition_models

    cv2.setNumThreads(1)
    hog = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    mtcnn = MtcnnDetector(intra_op_threads=1)
    points, counts = [], {}
    for key, rel in SETS.items():
        used = seen = 0
        for _, gray in images(args.data / rel, args.every):
            seen += 1
            # A black border: Yale B crops end at the face edge, where dlib's HOG window finds nothing.
            m = round(args.border * max(gray.shape))
            gray = cv2.copyMakeBorder(gray, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
            rgb = np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
            rects = hog(rgb, 1)
            if len(rects) != 1:
                continue
            chip = np.asarray(dlib.get_face_chip(rgb, shape(rgb, rects[0]), size=150, padding=0.25))
            dets = mtcnn.detect(chip)
            if len(dets) != 1:
                continue
            points.append(dets[0].landmarks5)
            used += 1
        counts[key] = (used, seen)
    pts = np.stack(points)
    template = np.median(pts, axis=0)
    spread = np.linalg.norm(pts - template, axis=2).mean(axis=0)
    for key, (used, seen) in counts.items():
        print(f"{key}: {used} chips used of {seen} images (dlib found one face and MTCNN one face in its chip)")
    print(f"chips used: {len(pts)}")
    print("DLIB_CHIP_150 (x, y) in a 150 px chip, order left eye, right eye, nose, mouth left, mouth right:")
    print(np.array2string(template.round(1), separator=", "))
    print(
        "mean distance of a chip's landmark from the template (px):", np.array2string(spread.round(2), separator=", ")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
