"""The pen comparator's card: pen-dtw-v2 fitted on SVC2004 development users 1-30, held-out users 31-40 scored once.

On the development users the channel set, band, length normalisation and statistics are chosen by a 3-fold inner
cross-validation (users 1-10, 11-20, 21-30; ``training.pen_score``), the logistic score model is fitted on all 30,
and the thresholds are set on their scores: ``default`` at FMR 1 % against skilled forgeries (as pen-dtw-v1's),
``accept`` where <= 3 % of skilled forgeries fall at or below it, ``reject`` where <= 3 % of genuine signatures fall
above it (the three-zone policy). The held-out users 31-40 are then scored under the protocol (5 references;
skilled forgeries; random forgeries: sample 20 of every other held-out user), with subject-bootstrap 95 % intervals,
the rates at the default threshold and the three-zone table. This is fold 31-40 of ``bench/pen_cv.py``. Printed;
with ``--write`` also written to ``assets/models/pen-dtw-v2/comparator.json`` (what the app reads).

    OMP_NUM_THREADS=1 python bench/pen_dtw_card.py [--data ../shared/data] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from functools import partial
from pathlib import Path

from biometrix.core.metrics import fmr_fnmr
from biometrix.core.types import Threshold
from biometrix.evaluation.datasets import HELDOUT, default_data_root
from biometrix.evaluation.pen import PenRecordings, channel_tables, comparator_scores
from biometrix.evaluation.pen_cv import Thresholds, fold_figures, kind_scores
from biometrix.evaluation.protocol import rates_at, subject_bootstrap_eer, summarize
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PEN_CARD_FILE, PEN_MODEL_ID, PenComparatorCard
from biometrix.training.pen_score import BANDS, CHANNEL_SETS, build_tables, grid, select

TARGET_FMR = 0.01
ZONE_RATE = 0.03
DEVELOPMENT = tuple(range(1, 31))
COMMAND = "OMP_NUM_THREADS=1 python bench/pen_dtw_card.py --write"
REPO = Path(__file__).resolve().parents[1]
#: Held-out comparisons whose distance and decision the card records (tests/test_pen_comparator.py recomputes them
#: through pen_verify): (user, sample), genuine 6 and 15 and skilled 21 and 30 of three held-out users.
EXAMPLES = tuple((u, s) for u in (31, 35, 38) for s in (6, 15, 21, 30))


def figures(summary: dict[str, float]) -> dict[str, float]:
    keys = ("n_subjects", "n_references", "n_genuine", "n_skilled", "n_random", "skilled_eer", "random_eer",
            "skilled_fnmr_at_fmr1", "random_fnmr_at_fmr1")
    return {k: summary[k] for k in keys}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--write", action="store_true", help=f"write assets/models/{PEN_MODEL_ID}/{PEN_CARD_FILE}")
    args = ap.parse_args()
    started = time.perf_counter()
    dev = PenRecordings.read(args.data, DEVELOPMENT)
    candidates = grid()
    tables = build_tables(dev, sorted({ch for c in candidates for ch in CHANNEL_SETS[c.channel_set]}), BANDS)
    sel = select(dev, tables, DEVELOPMENT, candidates)
    model = sel.model
    own = {ch: tables[(ch, model.band, model.length_norm)] for ch in sel.candidate.channels}
    dev_scores = comparator_scores(dev, own, model, DEVELOPMENT)
    thr = Thresholds.fit(dev_scores, PEN_AGGREGATE, target_fmr=TARGET_FMR, rate=ZONE_RATE)
    k = kind_scores(dev_scores, PEN_AGGREGATE)
    dev_fmr, dev_fnmr = fmr_fnmr(genuine=k["genuine"], impostor=k["skilled"], threshold=thr.default)
    dev_summary = summarize(dev_scores, PEN_AGGREGATE)

    users = HELDOUT["svc2004"]
    held = PenRecordings.read(args.data, users)
    held_scores = comparator_scores(held, channel_tables(held, model), model, users)
    held_summary = summarize(held_scores, PEN_AGGREGATE)
    intervals = {kind: subject_bootstrap_eer(held_scores, PEN_AGGREGATE, kind) for kind in ("skilled", "random")}
    at = rates_at(held_scores, PEN_AGGREGATE, thr.default)
    fold = fold_figures(held_scores, PEN_AGGREGATE, thr, users)
    by_probe = {(c.claimed, c.probe): c.distances[PEN_AGGREGATE] for c in held_scores.comparisons}
    examples = []
    for u, s in EXAMPLES:
        d = by_probe[(f"svc2004:{u}", f"svc2004:{u}:{'g' if s <= 20 else 'f'}{s}")]
        examples.append({"user": u, "sample": s, "distance": d, "accepted": d <= thr.default})
    elapsed = time.perf_counter() - started

    best = sel.inner[sel.candidate.label()]
    print(f"# pen comparator {PEN_MODEL_ID} ({elapsed:.0f} s): chose {sel.candidate.label()} on users 1-30 (inner "
          f"3-fold skilled EER {100 * best[0]:.2f} %, random {100 * best[1]:.2f} %)")
    print("score model: " + ", ".join(f"{n} {w:+.3f}" for n, w in zip(model.inputs, model.weights, strict=True))
          + f", intercept {model.intercept:+.3f}")
    print(f"thresholds on users 1-30: default {thr.default:.6f} (skilled FMR {100 * dev_fmr:.2f} %, FNMR "
          f"{100 * dev_fnmr:.2f} %), accept {thr.accept:.6f}, reject {thr.reject:.6f}")
    for name, s in (("development 1-30", dev_summary), ("held-out 31-40", held_summary)):
        print(f"{name:17s} skilled EER {100 * s['skilled_eer']:6.2f} %  random EER {100 * s['random_eer']:6.2f} %  "
              f"({s['n_genuine']} genuine, {s['n_skilled']} skilled, {s['n_random']} random)")
    print(f"held-out 95 % intervals: skilled {100 * intervals['skilled'][0]:.1f}-{100 * intervals['skilled'][1]:.1f} "
          f"%, random {100 * intervals['random'][0]:.1f}-{100 * intervals['random'][1]:.1f} %")
    print(f"held-out at the default threshold: FNMR {100 * at['fnmr']:.2f} %, skilled FMR "
          f"{100 * at['skilled_fmr']:.2f} %, random FMR {100 * at['random_fmr']:.2f} %; per-user mean skilled EER "
          f"{100 * fold.mean_user_skilled_eer:.2f} %")
    print("held-out three zones (accepted/referred/rejected %): " + "; ".join(
        f"{kind} " + "/".join(f"{100 * v:.1f}" for v in fold.zones[kind].values()) for kind in fold.zones))
    if args.write:
        source = (f"SVC2004 users 1-30 (development; the model was fitted on them): {k['skilled'].size} skilled and "
                  f"{k['genuine'].size} genuine comparisons")
        named = partial(Threshold, model_id=PEN_MODEL_ID, distance="dtw")
        thresholds = {
            "default": named(thr.default, target_fmr=TARGET_FMR, source=f"FMR {100 * TARGET_FMR:g} % against skilled "
                             f"forgeries of {source}, FNMR {100 * dev_fnmr:.2f} % there"),
            "accept": named(thr.accept, target_fmr=ZONE_RATE, source=f"three-zone accept: at most "
                            f"{100 * ZONE_RATE:g} % of skilled forgeries at or below it, {source}"),
            "reject": named(thr.reject, source=f"three-zone reject: at most {100 * ZONE_RATE:g} % of genuine "
                            f"signatures above it, {source}")}
        evaluation = {
            "command": COMMAND,
            "method": "DTW (dtaidistance, C) of local pen features per channel; each probe's min, max, mean and "
                      "medoid distance to the 5 references divided by the same statistic among the references; a "
                      "logistic model over their logarithms (the channel set, band, length normalisation and "
                      "statistics chosen by 3-fold inner cross-validation on users 1-30, the weights fitted on all "
                      "30); distance = exp(w.x / sum(w)). bench/pen_cv.py cross-validates the same procedure over "
                      "users 1-40.",
            "selection": {"chosen": sel.candidate.label(), "inner_skilled_eer": best[0],
                          "inner_random_eer": best[1], "candidates": len(candidates)},
            "development": {"svc2004_users": list(DEVELOPMENT), **figures(dev_summary)},
            "heldout": {"svc2004_users": list(users), **figures(held_summary),
                        "skilled_eer_ci95": list(intervals["skilled"]), "random_eer_ci95": list(intervals["random"]),
                        "mean_user_skilled_eer": fold.mean_user_skilled_eer, "at_default_threshold": at,
                        "three_zones": fold.zones, "examples": examples},
        }
        card = PenComparatorCard(model_id=PEN_MODEL_ID, threshold=thresholds["default"], model=model,
                                 thresholds=thresholds, evaluation=evaluation)
        created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        path = REPO / "assets" / "models" / PEN_MODEL_ID / PEN_CARD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(card.document(created_at=created), indent=2) + "\n", encoding="utf-8")
        if PenComparatorCard.load(path) != card:
            raise SystemExit(f"{path} does not read back as the card written")
        path.chmod(0o644)
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
