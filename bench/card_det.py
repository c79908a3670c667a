"""Write the validation DET curve into a shipped model card, recomputed through the app's runtime.

Only ``evaluation.validation_det`` changes; the encoder, its sha256, the thresholds and every other figure
stay as they are. The validation scores are those the card's default threshold was set on:

  - signature models: the validation signers (CEDAR 36-45, SVC2004 26-30) through SignaturePipeline, the
    card's aggregate, genuine probes against the subject's references as genuine, the subject's skilled
    forgeries as impostors (as biometrix.training.release does);
  - trained face models (face-siamese-v1): the validation subjects AT&T s26-30 and Extended Yale B
    yaleB24-28 through FacePipeline, comparisons between acquired samples only (as
    biometrix.training.face_release does). face-dlib-resnet-v1 is written by ``biometrix calibrate``.

As a check, the threshold at the card's default target FMR is recomputed from the same impostor scores
(core.metrics.threshold_at_fmr) and compared with the card's; so is the DET threshold at that FMR.

    python bench/card_det.py --model signature-v4 [--models-dir assets/models] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrix.core.errors import InvalidInput, LowQuality
from biometrix.core.metrics import det_points, threshold_at_fmr
from biometrix.core.types import Modality
from biometrix.evaluation.datasets import CEDAR_VALIDATION, SVC_VALIDATION, default_data_root
from biometrix.evaluation.faces import FaceSet, score_faces
from biometrix.evaluation.protocol import ProtocolScores, protocol_scores
from biometrix.evaluation.report import embed_source, validation_det
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard
from biometrix.runtime.pipelines import FacePipeline, SignaturePipeline

FACE_VALIDATION = {"att": tuple(range(26, 31)), "yaleb": tuple(range(24, 29))}


def signature_scores(card: ModelCard, onnx: Path, root: Path) -> list[ProtocolScores]:
    """The validation signers' comparisons through the app's SignaturePipeline, as biometrix export scores them."""
    pipe = SignaturePipeline(OnnxEncoder(card, onnx, prefer_gpu=False))
    scores = []
    for source, subjects in (("cedar", CEDAR_VALIDATION), ("svc2004", SVC_VALIDATION)):
        emb = embed_source(pipe.embed, card.embedding_dim, source, root, subjects, progress=sys.stderr.isatty())
        scores.append(protocol_scores(emb.records, emb.embeddings, source=source, failed=frozenset(emb.failures)))
    return scores


def _face_embeddings(pipe: FacePipeline, faces: FaceSet) -> list[np.ndarray | None]:
    """As biometrix.training.face_release: detect + chip each image, embed the accepted chips in one batch."""
    chips, accepted = [], []
    for i, img in enumerate(faces.load_all()):
        try:
            chips.append(pipe.chip(img, pipe.detect(img)))
            accepted.append(i)
        except LowQuality:
            pass
    emb = pipe.embed_chips(chips) if chips else np.zeros((0, pipe.card.embedding_dim), np.float32)
    out: list[np.ndarray | None] = [None] * len(faces.records)
    for row, i in enumerate(accepted):
        out[i] = emb[row]
    return out


def face_scores(card: ModelCard, onnx: Path, root: Path, subjects: dict[str, Sequence[int]]
                ) -> tuple[np.ndarray, np.ndarray, str]:
    from biometrix.runtime.face_detector import make_detector

    threads = int(card.training.get("config", {}).get("threads", 1) or 1)
    pipe = FacePipeline(OnnxEncoder(card, onnx, prefer_gpu=False, intra_op_threads=threads),
                        make_detector(card.preprocessing.get("detector", "mtcnn")))
    genuine, impostor, named = [], [], []
    for source, subs in subjects.items():
        faces = FaceSet(source, root, subs)
        s = score_faces(faces.records, _face_embeddings(pipe, faces), aggregate=card.aggregate)
        genuine.append(s.genuine[np.isfinite(s.genuine)])
        impostor.append(s.impostor[np.isfinite(s.impostor)])
        prefix = "AT&T s" if source == "att" else "Extended Yale B yaleB"
        named.append(f"{prefix}{subs[0]}-{subs[-1]}")
    src = (f"validation subjects ({', '.join(named)}) through the app's FacePipeline, aggregate {card.aggregate}; "
           "comparisons between acquired samples only (bench/card_det.py)")
    return np.concatenate(genuine), np.concatenate(impostor), src


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--models-dir", default=str(Path(__file__).resolve().parents[1] / "assets" / "models"))
    ap.add_argument("--data", default=None)
    ap.add_argument("--max-points", type=int, default=200)
    ap.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    args = ap.parse_args(argv)
    folder = Path(args.models_dir)
    path = folder / f"{args.model}.json"
    card = ModelCard.load(path)
    root = Path(args.data) if args.data else default_data_root()
    onnx = card.onnx_path(folder)
    keep = [t.value for t in card.thresholds]
    if card.modality is Modality.SIGNATURE:
        scores = signature_scores(card, onnx, root)
        genuine = np.concatenate([s.scores("genuine", card.aggregate) for s in scores])
        impostor = np.concatenate([s.scores("skilled", card.aggregate) for s in scores])
        det = validation_det(scores, card.aggregate, cedar=CEDAR_VALIDATION, svc=SVC_VALIDATION,
                             keep_thresholds=keep, max_points=args.max_points)
    elif card.model_id == "face-dlib-resnet-v1":
        raise SystemExit("face-dlib-resnet-v1: run `biometrix calibrate --model face-dlib-resnet-v1` instead")
    else:
        subjects = card.training.get("validation_subjects") or FACE_VALIDATION
        genuine, impostor, src = face_scores(card, onnx, root, {s: tuple(v) for s, v in subjects.items()})
        det = det_points(genuine=genuine, impostor=impostor, max_points=args.max_points, keep_thresholds=keep)
        det["source"] = src
    default = card.default_threshold()
    print(f"{card.model_id}: {genuine.size} genuine / {impostor.size} impostor comparisons; "
          f"{len(det['fmr'])} DET points")
    if default.target_fmr is not None:
        again = threshold_at_fmr(impostor=impostor, target_fmr=default.target_fmr)
        fmr = np.array(det["fmr"])
        j = int(np.flatnonzero(fmr <= default.target_fmr + 1e-12)[-1])
        print(f"  card default threshold {default.value!r} (FMR {default.target_fmr:g}); recomputed "
              f"threshold_at_fmr {again!r} (difference {again - default.value:+.3g}); DET threshold at that FMR "
              f"{det['thresholds'][j]!r} (FMR {det['fmr'][j]:.4g}, FNMR {det['fnmr'][j]:.4g})")
    if args.dry_run:
        return 0
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["evaluation"]["validation_det"] = det
    new = ModelCard.from_dict(raw, source=str(path))
    before = card.to_dict()
    after = new.to_dict()
    after["evaluation"].pop("validation_det")
    before["evaluation"].pop("validation_det", None)
    if before != after:
        raise InvalidInput("refusing to write: something besides evaluation.validation_det would change")
    new.save(path)
    print(f"  wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
