"""Face verification and identification: our ONNX models against the face_recognition package, in one run.

For each data set (EVALUATION.md protocols; AT&T: all 40 subjects for the pretrained models and s31-s40 for
every model; Extended Yale B: the held-out yaleB29-39), it prints verification EER (with counts), FNMR at
FMR 1 %, rank-1 identification and the failure-to-acquire count for:
  - face-dlib-resnet-v1: dlib's ResNet converted to ONNX, behind our MTCNN detector and 5-point alignment,
    run through the app's own FacePipeline (cosine distance, mean over the 5 references);
  - our trained Siamese face model (every shipped face model other than the dlib one), held-out subjects only;
  - face_recognition (dlib's HOG detector, 5-point landmarks and dlib's ResNet, its own Euclidean distance).
Then the latency per face of detect + align + encode, and of the encoder alone on the same aligned chip,
ours against face_recognition's, single-threaded, as a ratio.

    python bench/face_eval.py [--data ../shared/data] [--latency-images 40]

face_recognition is a benchmark-only dependency: pip install --no-deps face_recognition face-recognition-models
dlib-bin, plus 'setuptools<81' (face_recognition_models imports pkg_resources) -- or pip install -e '.[convert]'
and then pip install --no-deps face_recognition.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrix.core.errors import InvalidInput  # noqa: E402
from biometrix.core.types import Modality  # noqa: E402
from biometrix.evaluation.datasets import default_data_root  # noqa: E402
from biometrix.evaluation.faces import SPLITS, FaceSet, light_angle, score_faces  # noqa: E402
from biometrix.runtime.encoder import OnnxEncoder  # noqa: E402
from biometrix.runtime.face_detector import make_detector  # noqa: E402
from biometrix.runtime.model_card import find_models  # noqa: E402
from biometrix.runtime.paths import models_dir  # noqa: E402
from biometrix.runtime.pipelines import FacePipeline  # noqa: E402

DLIB_ID = "face-dlib-resnet-v1"
Embed = Callable[[np.ndarray], "np.ndarray | None"]


def our_pipelines() -> dict[str, FacePipeline]:
    folder = models_dir()
    detector = make_detector("mtcnn")
    cards = [c for c in find_models(folder) if c.modality is Modality.FACE]
    cards.sort(key=lambda c: (c.model_id != DLIB_ID, c.model_id))
    return {c.model_id: FacePipeline(OnnxEncoder(c, c.onnx_path(folder), prefer_gpu=False, intra_op_threads=1),
                                     detector) for c in cards}


def ours(pipe: FacePipeline, reasons: Counter, found: dict[int, object]) -> Embed:
    """``pipe.embed``, its refusals counted; the face (or the refusal) of each image is found once and kept in
    ``found`` for the next model (every shipped face model has the same detector and quality cuts)."""
    def embed(gray: np.ndarray) -> np.ndarray | None:
        key = id(gray)
        if key not in found:
            try:
                found[key] = pipe.detect(gray)
            except InvalidInput as err:
                found[key] = err
        det = found[key]
        if isinstance(det, InvalidInput):
            reasons.update(getattr(det, "reasons", ()) or ("refused",))
            return None
        return pipe.embed_chips([pipe.chip(gray, det)])[0]  # type: ignore[arg-type]

    return embed


def face_recognition_embed(reasons: Counter) -> Embed:
    import face_recognition

    def embed(gray: np.ndarray) -> np.ndarray | None:
        rgb = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
        boxes = face_recognition.face_locations(rgb)
        if len(boxes) != 1:
            reasons.update(("no_face" if not boxes else "multiple_faces",))
            return None
        return face_recognition.face_encodings(rgb, known_face_locations=boxes)[0]

    return embed


def euclidean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)


#: Yale B lighting bands: the angle between the light and the camera axis (``light_angle``), in degrees.
BANDS = {"att": (("", 0, 180),), "yaleb": (("", 0, 180), (" lit<=50", 0, 50), (" lit>50", 50.001, 180))}


def run_method(name: str, embed: Embed, faces: FaceSet, label: str, images: list[np.ndarray], reasons: Counter,
               *, pairwise: Callable | None = None) -> None:
    """One row per lighting band: the references are always the 5 nearest frontal light; the probes (and
    the failures to acquire counted) are the band's. The reasons are counted over the whole set."""
    t0 = time.perf_counter()
    embs = [embed(img) for img in images]
    angles = [light_angle(r.member) for r in faces.records]
    for band, lo, hi in BANDS[faces.source]:
        keep = [i for i, r in enumerate(faces.records) if r.is_reference or lo <= angles[i] <= hi]
        probes = [i for i in keep if not faces.records[i].is_reference]
        s = score_faces([faces.records[i] for i in keep], [embs[i] for i in keep], pairwise=pairwise).summary()
        fta = sum(embs[i] is None for i in probes)
        why = ", ".join(f"{k} {v}" for k, v in reasons.most_common()) or "-"
        print(f"{faces.source:6s} {label + band:22s} {name:38s} {100 * s['eer']:6.2f}% "
              f"{100 * s['fnmr_at_fmr1']:7.2f}% {100 * s['rank1']:7.2f}%  {s['n_genuine']:5d}/{s['n_impostor']:<6d} "
              f"{fta:3d}/{len(probes):<4d} {100 * fta / max(len(probes), 1):5.1f}% "
              f"{100 * s.get('eer_acquired', float('nan')):8.2f}%  "
              + (f"{time.perf_counter() - t0:5.1f}s  ({why})" if not band else ""))
    sys.stdout.flush()


def latency(pipe: FacePipeline, images: list[np.ndarray]) -> None:
    import dlib
    import face_recognition

    from biometrix.training.dlib_resnet import default_dat_path

    rgbs = [cv2.cvtColor(g, cv2.COLOR_GRAY2RGB) for g in images]
    for rgb in rgbs[:2]:  # warm both up
        pipe.embed(rgb)
        face_recognition.face_encodings(rgb)
    t0 = time.perf_counter()
    n_ours = sum(1 for rgb in rgbs if _try(pipe.embed, rgb))
    t_ours = (time.perf_counter() - t0) / len(rgbs)
    t0 = time.perf_counter()
    n_fr = sum(1 for rgb in rgbs if len(face_recognition.face_encodings(rgb)) == 1)
    t_fr = (time.perf_counter() - t0) / len(rgbs)
    # the encoder alone, on the same aligned 150x150 chips
    chips = [pipe.chip(rgb) for rgb in rgbs if _try(pipe.detect, rgb)]
    dlib_net = dlib.face_recognition_model_v1(str(default_dat_path()))
    t0 = time.perf_counter()
    for c in chips:
        pipe.embed_chips([c])
    e_ours = (time.perf_counter() - t0) / len(chips)
    t0 = time.perf_counter()
    for c in chips:
        dlib_net.compute_face_descriptor(c)
    e_dlib = (time.perf_counter() - t0) / len(chips)
    print(f"# latency per face, 1 thread, {len(rgbs)} AT&T images (faces found: ours {n_ours}, "
          f"face_recognition {n_fr}):")
    print(f"#   detect + align + encode: ours {1000 * t_ours:7.1f} ms   face_recognition {1000 * t_fr:7.1f} ms   "
          f"ratio {t_ours / t_fr:.2f}x")
    print(f"#   encode only ({len(chips)} chips): ours (onnxruntime) {1000 * e_ours:6.1f} ms   "
          f"dlib {1000 * e_dlib:6.1f} ms"
          f"   ratio {e_ours / e_dlib:.2f}x")


def _try(fn: Callable, x: np.ndarray) -> bool:
    try:
        fn(x)
        return True
    except InvalidInput:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--latency-images", type=int, default=40)
    ap.add_argument("--skip-face-recognition", action="store_true")
    args = ap.parse_args()
    pipes = our_pipelines()
    if DLIB_ID not in pipes:
        ap.error(f"{DLIB_ID} is not in {models_dir()}")
    print("# face verification (EER, FNMR at FMR 1 %) and identification (rank-1), 5 references per subject")
    print("# failures to acquire (FTA) count as rejections in EER and FNMR and as misses in rank-1; the last")
    print("# figure is the EER of the comparisons where both sides were acquired (the encoder alone). FTA: of the")
    print("# probes (a failed reference leaves its subject with fewer references). Yale B bands: the angle between")
    print("# the light and the camera axis, arccos(cos A cos E), from the file names")
    print(f"{'set':6s} {'subjects':22s} {'method':38s} {'EER':>7s} {'FNMR@1%':>8s} {'rank-1':>8s}  "
          f"{'gen/imp':>12s} {'FTA':>9s} {'FTA %':>6s} {'EER acq.':>9s}  time   (FTA reasons, whole set)")
    plan = [("att", "all", True), ("att", "heldout", False), ("yaleb", "heldout", False)]
    for source, split, pretrained_only in plan:
        faces = FaceSet(source, args.data, SPLITS[source][split])
        subjects = SPLITS[source][split]
        label = f"{split} {subjects[0]}-{subjects[-1]}"
        images = faces.load_all()
        found: dict[int, object] = {}
        for model_id, pipe in pipes.items():
            if pretrained_only and model_id != DLIB_ID:
                continue
            reasons: Counter = Counter()
            if pipe.cuts != pipes[DLIB_ID].cuts:
                found = {}  # another gate: find the faces again
            run_method(f"ours: {model_id}", ours(pipe, reasons, found), faces, label, images, reasons)
        if not args.skip_face_recognition:
            reasons = Counter()
            run_method("face_recognition 1.3.0 (dlib HOG)", face_recognition_embed(reasons), faces, label, images,
                       reasons, pairwise=euclidean)
    if not args.skip_face_recognition:
        att = FaceSet("att", args.data, SPLITS["att"]["all"])
        step = max(1, len(att) // args.latency_images)
        latency(pipes[DLIB_ID], att.load_all()[::step][: args.latency_images])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
