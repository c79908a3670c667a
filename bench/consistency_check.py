"""How often the enrollment consistency check (biometrix.core.consistency) flags a reference, on real signatures.

For each subject, three enrollment sets of five references go through the check exactly as the Enroll page
runs it (the app's SignaturePipeline, the card's aggregate, the card's ``random_fmr1`` threshold):

  - genuine:  the subject's genuine 1-5; every flag is a false alarm (out of 5 per subject);
  - intruder: genuine 1-4 and the next subject's genuine 1 as the fifth; flagged = the intruder is caught;
  - forgery:  genuine 1-4 and the subject's skilled forgery 1 as the fifth; flagged = the forgery is caught.

    python bench/consistency_check.py [--model signature-v5] [--source svc2004] [--subjects 1-10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from biometrix.core.consistency import CONSISTENCY_THRESHOLD, check_references
from biometrix.core.distances import format_distance
from biometrix.core.types import Modality
from biometrix.evaluation.datasets import default_data_root, iter_source, parse_subjects
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pipelines import SignaturePipeline


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="signature model id (default: the preferred one)")
    ap.add_argument("--source", default="svc2004", choices=("cedar", "svc2004"))
    ap.add_argument("--subjects", default="1-10", help="subject numbers, e.g. 1-10 or 46-55")
    ap.add_argument("--data", default=None)
    args = ap.parse_args()
    subjects = parse_subjects(args.subjects)
    if len(subjects) < 2:
        raise SystemExit("--subjects needs at least two subjects (the intruder is the next subject's signature)")
    card = load_card_for(models_dir(), model_id=args.model, modality=Modality.SIGNATURE,
                         prefer=PREFERRED_MODELS[Modality.SIGNATURE])
    pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(models_dir()), prefer_gpu=False))
    threshold = card.threshold(CONSISTENCY_THRESHOLD)
    root = Path(args.data) if args.data else default_data_root()

    wanted = {(s, g, i) for s in subjects for g, i in [(True, 1), (True, 2), (True, 3), (True, 4), (True, 5),
                                                       (False, 1)]}
    emb: dict[tuple[int, bool, int], np.ndarray] = {}
    for rec, img in tqdm(iter_source(args.source, root, subjects), desc=f"embedding {args.source}",
                         disable=not sys.stderr.isatty(), leave=False):
        index = rec.index - 20 if args.source == "svc2004" and not rec.genuine else rec.index
        if (rec.subject, rec.genuine, index) in wanted:
            emb[(rec.subject, rec.genuine, index)] = pipe.embed(img)

    def flags(rows: list[np.ndarray]) -> list[bool]:
        return [c.flagged for c in check_references(np.stack(rows), threshold=threshold, aggregate=card.aggregate)]

    false_alarms = intruders = forgeries = 0
    for k, s in enumerate(subjects):
        genuine = [emb[(s, True, i)] for i in range(1, 6)]
        false_alarms += sum(flags(genuine))
        intruders += flags(genuine[:4] + [emb[(subjects[(k + 1) % len(subjects)], True, 1)]])[4]
        forgeries += flags(genuine[:4] + [emb[(s, False, 1)]])[4]
    n = len(subjects)
    print(f"{card.model_id}, {args.source} subjects {args.subjects}, threshold {CONSISTENCY_THRESHOLD} "
          f"{format_distance(threshold.value)}, aggregate {card.aggregate}:")
    print(f"  genuine references flagged: {false_alarms} of {5 * n}")
    print(f"  another signer's signature as the fifth reference, flagged: {intruders} of {n}")
    print(f"  a skilled forgery as the fifth reference, flagged: {forgeries} of {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
