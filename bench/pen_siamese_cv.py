"""Issue 27's learned arm: a Siamese 1-D CNN over pen features, cross-validated as bench/pen_cv.py cross-validates DTW.

Four folds of 10 SVC2004 users; in each the encoder (``training.pen_encoder``, recipe fixed in ``TrainConfig``) is
trained on the other 30 users' genuine signatures and skilled forgeries (batch-hard triplet loss, forgeries as the
negatives of the writer they imitate) and the 10 held-out users are scored once under the same protocol (5
references, genuine 6-20, skilled 21-40, random: genuine 20 of the fold's other users) by the ``normalized``
aggregate of embedding distances (the mean Euclidean distance to the references over their mean distance to each
other). Prints each fold's skilled and random EER (one threshold per fold) and per-user mean EER, and the means.
CPU, one thread; needs the ``train`` extra.

    OMP_NUM_THREADS=1 python bench/pen_siamese_cv.py [--data ../shared/data] [--epochs 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.pen import PenRecordings, distance_table, v1_scores
from biometrix.evaluation.pen_cv import SVC2004_FOLDS, Thresholds, fold_figures, mean_figures
from biometrix.training.pen_encoder import TrainConfig, embed, encoder_input, train_encoder

ALL_USERS = tuple(range(1, 41))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    recordings = PenRecordings.read(args.data, ALL_USERS)
    inputs = np.stack(recordings.features(encoder_input))
    writer = np.array([r.subject for r in recordings.records])
    genuine = np.array([r.genuine for r in recordings.records])
    cfg = replace(TrainConfig(), epochs=args.epochs)
    figs = []
    for test in SVC2004_FOLDS:
        train = [u for u in ALL_USERS if u not in test]
        rows = np.isin(writer, train)
        t0 = time.perf_counter()
        model = train_encoder(inputs[rows], writer[rows], genuine[rows], cfg)
        emb = list(embed(model, inputs)[:, None, :])
        table = distance_table(recordings, emb, name="v1", cost=lambda a, b: float(np.linalg.norm(a - b)))
        thr = Thresholds.fit(v1_scores(recordings, table, train), "normalized")  # on users the encoder saw
        f = fold_figures(v1_scores(recordings, table, test), "normalized", thr, test)
        figs.append(f)
        print(f"fold users {test[0]}-{test[-1]} (trained {time.perf_counter() - t0:.0f} s): skilled EER "
              f"{100 * f.skilled_eer:6.2f} %  random EER {100 * f.random_eer:5.2f} %  per-user mean skilled "
              f"{100 * f.mean_user_skilled_eer:5.2f} %", flush=True)
        print("    per-user skilled EER % " + " ".join(f"{s.split(':')[1]}:{100 * e:.1f}"
                                                     for s, e in f.per_user_skilled.items()))
    m = mean_figures(figs)
    print(f"mean over the 4 folds ({time.perf_counter() - started:.0f} s): skilled EER {100 * m['skilled_eer']:.2f} %, "
          f"random EER {100 * m['random_eer']:.2f} %, per-user mean skilled {100 * m['mean_user_skilled_eer']:.2f} %")
    if args.json:
        args.json.write_text(json.dumps({"command": "python bench/pen_siamese_cv.py", "config": cfg.__dict__,
                                         "means": m, "folds": [f.__dict__ for f in figs]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
