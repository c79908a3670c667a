"""Signature verification accuracy on the held-out subjects: the shipped ONNX model against baselines.

Prints skilled- and random-forgery EER (with counts) on CEDAR signers 46-55 and SVC2004 users 31-40
under the fixed protocol of ../shared/design/EVALUATION.md (5 references, binarized images), for:
  - the shipped signature model (run through the app's own runtime pipeline), with its card's aggregate;
  - a raw-pixel baseline: the binarized, cropped, resized signature (96x192) flattened, cosine distance;
  - a HOG baseline: OpenCV HOG descriptor of the same image, cosine distance;
  - for SVC2004, the pen comparator (``pen-dtw-v2``): DTW statistics of the pen recordings' motion, which the
    app uses for a pen probe against pen references (``runtime.pen_comparator``).
Baselines use the mean distance to the references. All rows are measured in this same run. Each EER has a
95 % confidence interval from a subject-level bootstrap (``evaluation.protocol.subject_bootstrap_eer``: 2,000
resamples of the subjects; with 10 subjects per source the intervals are wide).

    python bench/signature_eval.py [--data ../shared/data] [--split heldout|validation]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from biometrix.core.types import Modality
from biometrix.evaluation.datasets import HELDOUT, VALIDATION, default_data_root
from biometrix.evaluation.pen import svc2004_pen_scores
from biometrix.evaluation.protocol import ProtocolScores, subject_bootstrap_eer, summarize
from biometrix.evaluation.report import evaluate_pipeline
from biometrix.preprocess.signature import preprocess_signature
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PEN_MODEL_ID, load_pen_card


def raw_pixels(img: np.ndarray) -> np.ndarray:
    return preprocess_signature(img, height=96, width=192).ravel() + 1e-6


_HOG = cv2.HOGDescriptor((192, 96), (16, 16), (8, 8), (8, 8), 9)


def hog(img: np.ndarray) -> np.ndarray:
    x = (preprocess_signature(img, height=96, width=192) * 255).astype(np.uint8)
    return _HOG.compute(x).ravel() + 1e-6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--split", choices=("heldout", "validation"), default="heldout")
    ap.add_argument("--model", default=None, help="model_id (default: the app's signature model)")
    args = ap.parse_args()
    folder = models_dir()
    card = load_card_for(folder, model_id=args.model, modality=Modality.SIGNATURE,
                         prefer=PREFERRED_MODELS[Modality.SIGNATURE])
    from biometrix.runtime.pipelines import SignaturePipeline

    pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False))
    splits = HELDOUT if args.split == "heldout" else VALIDATION
    methods = [
        (f"{card.model_id} (ONNX, {card.aggregate})", pipe.embed, card.embedding_dim, card.aggregate),
        ("baseline: raw pixels", raw_pixels, 96 * 192, "mean"),
        ("baseline: HOG", hog, _HOG.getDescriptorSize(), "mean"),
    ]
    print(f"# signature verification, {args.split} subjects, 5 references, cosine distance; model sha256 "
          f"{card.sha256[:16]}...")
    print(f"{'source':8s} {'method':34s} {'skilled EER':>11s} {'random EER':>10s} {'FNMR@FMR1% sk':>13s} "
          f"{'FNMR@FMR1% rd':>13s}  counts (genuine/skilled/random)  FTA  time   95% CI skilled / random")
    for source, subjects in splits.items():
        for name, fn, dim, agg in methods:
            t0 = time.perf_counter()
            rep, scores = evaluate_pipeline(fn, dim, model_id=name, source=source, root=args.data, subjects=subjects,
                                            aggregate=agg, progress=False)
            row(source, name, rep.summary, subjects, rep.fta, time.perf_counter() - t0, scores, agg)
        if source == "svc2004":
            # the pen comparator: what the app uses for a pen probe against pen references (the motion, not the ink)
            t0 = time.perf_counter()
            pen_card = load_pen_card(models_dir())
            if pen_card is None:
                raise SystemExit(f"no pen comparator card in {models_dir()}")
            scores = svc2004_pen_scores(args.data, subjects, pen_card.model)
            row(source, f"{PEN_MODEL_ID} (pen DTW, {PEN_AGGREGATE})", summarize(scores, PEN_AGGREGATE), subjects, 0,
                time.perf_counter() - t0, scores, PEN_AGGREGATE)
        sys.stdout.flush()
    return 0


def row(source: str, name: str, s: dict[str, float], subjects: Sequence[int], fta: int, seconds: float,
        scores: ProtocolScores, aggregate: str) -> None:
    print(f"{source:8s} {name:34s} {100 * s['skilled_eer']:10.2f}% {100 * s['random_eer']:9.2f}% "
          f"{100 * s['skilled_fnmr_at_fmr1']:12.1f}% {100 * s['random_fnmr_at_fmr1']:12.1f}%  "
          f"{s['n_genuine']}/{s['n_skilled']}/{s['n_random']} ({subjects[0]}-{subjects[-1]})"
          f"{'':10s} {fta:3d}  {seconds:.1f}s   "
          + " / ".join("{:.1f}-{:.1f}%".format(*(100 * v for v in subject_bootstrap_eer(scores, aggregate, kind)))
                       for kind in ("skilled", "random")))


if __name__ == "__main__":
    raise SystemExit(main())
