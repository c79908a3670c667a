"""Face detection benchmark: how often exactly one face is found, and the mean time per image, per detector.

Detectors: MtcnnDetector (ONNX, the default), HaarDetector (OpenCV cascades) and, as a reference when dlib is
importable, dlib's HOG detector (one upsampling, as face_recognition's default). Data: all 400 AT&T images
and every 4th Extended Yale B cropped image (604), from ../shared/data. The Yale B crops end at the face
edge, so they are run twice: as stored, and with a black border of 25 % of the long side on every side
(the same input for every detector). Single-threaded (onnxruntime, OpenCV).

    python bench/face_detect.py [--data ../shared/data] [--yale-every 4]
"""

from __future__ import annotations

import argparse
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from biometrix.preprocess.face_detect import HaarDetector
from biometrix.runtime.face_detector import MtcnnDetector

REPO = Path(__file__).resolve().parents[1]
ATT = "att_faces/att_faces.zip"
YALE = "extended_yaleb_cropped/extended_yaleb_cropped.zip"


def load(zip_path: Path, every: int, border: float) -> list[np.ndarray]:
    """Every ``every``-th .pgm of the zip (name order) as RGB uint8, with a black border of ``border`` x long side."""
    out = []
    with zipfile.ZipFile(zip_path) as zf:
        for name in sorted(n for n in zf.namelist() if n.endswith(".pgm"))[::every]:
            gray = cv2.imdecode(np.frombuffer(zf.read(name), np.uint8), cv2.IMREAD_GRAYSCALE)
            m = round(border * max(gray.shape))
            gray = cv2.copyMakeBorder(gray, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
            out.append(np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)))
    return out


def dlib_hog() -> Callable[[np.ndarray], list] | None:
    try:
        import dlib
    except ModuleNotFoundError:
        return None
    hog = dlib.get_frontal_face_detector()
    return lambda rgb: list(hog(rgb, 1))


def run(detect: Callable[[np.ndarray], list], images: list[np.ndarray]) -> tuple[int, float]:
    """(images with exactly one face, mean milliseconds per image)."""
    detect(images[0])  # warm-up
    one, t0 = 0, time.perf_counter()
    for img in images:
        one += len(detect(img)) == 1
    return one, 1000 * (time.perf_counter() - t0) / len(images)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--yale-every", type=int, default=4)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    sets = {
        "AT&T": load(args.data / ATT, 1, 0.0),
        "Yale B": load(args.data / YALE, args.yale_every, 0.0),
        "Yale B +border": load(args.data / YALE, args.yale_every, 0.25),
    }
    detectors: dict[str, Callable[[np.ndarray], list]] = {
        "mtcnn": MtcnnDetector(intra_op_threads=1).detect,
        "haar": HaarDetector().detect,
    }
    hog = dlib_hog()
    if hog is not None:
        detectors["dlib HOG (ref)"] = hog
    header = f"{'detector':<16}" + "".join(f"{f'{k} ({len(v)})':>32}" for k, v in sets.items())
    print("exactly one face found (rate), mean ms per image, 1 thread")
    print(header)
    for name, detect in detectors.items():
        cells = []
        for images in sets.values():
            one, ms = run(detect, images)
            cells.append(f"{one:>4}/{len(images)} ({100 * one / len(images):5.1f} %) {ms:7.1f} ms")
        print(f"{name:<16}" + "".join(f"{c:>32}" for c in cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
