"""The pen comparator's threshold and figures: DTW of pen features on SVC2004, development and held-out users.

The threshold is the ``normalized`` DTW distance at FMR 1 % against skilled forgeries of the development users
(SVC2004 1-30; DTW is not trained, so they are as good a calibration set as any). The held-out users (31-40)
are then scored under the protocol (5 references; skilled forgeries; random forgeries: sample 20 of every
other user), with subject-bootstrap 95 % intervals and the rates at that frozen threshold. Printed; with
``--write`` also written to ``assets/models/pen-dtw-v1/comparator.json`` (what the app reads).

    python bench/pen_dtw_card.py [--data ../shared/data] [--write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from biometrix.core.metrics import fmr_fnmr, threshold_at_fmr
from biometrix.evaluation.datasets import HELDOUT, default_data_root
from biometrix.evaluation.pen import svc2004_pen_scores
from biometrix.evaluation.protocol import rates_at, subject_bootstrap_eer, summarize
from biometrix.preprocess.pen_dynamics import FEATURES, STEP_MS
from biometrix.runtime.pen_comparator import PEN_AGGREGATE as AGGREGATE
from biometrix.runtime.pen_comparator import PEN_CARD_FILE, PEN_CARD_FORMAT, PEN_MODEL_ID

TARGET_FMR = 0.01
DEVELOPMENT = list(range(1, 31))
COMMAND = "python bench/pen_dtw_card.py --write"
REPO = Path(__file__).resolve().parents[1]


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
    dev = svc2004_pen_scores(args.data, DEVELOPMENT)
    genuine, skilled = dev.scores("genuine", AGGREGATE), dev.scores("skilled", AGGREGATE)
    threshold = threshold_at_fmr(impostor=skilled, target_fmr=TARGET_FMR)
    dev_fmr, dev_fnmr = fmr_fnmr(genuine=genuine, impostor=skilled, threshold=threshold)
    held = svc2004_pen_scores(args.data, HELDOUT["svc2004"])
    held_summary = summarize(held, AGGREGATE)
    intervals = {kind: subject_bootstrap_eer(held, AGGREGATE, kind) for kind in ("skilled", "random")}
    at = rates_at(held, AGGREGATE, threshold)
    elapsed = time.perf_counter() - started
    dev_summary = summarize(dev, AGGREGATE)
    print(f"# pen comparator {PEN_MODEL_ID}: DTW of pen features {', '.join(FEATURES)} (every {STEP_MS:g} ms), "
          f"{AGGREGATE} aggregate, 5 references ({elapsed:.0f} s)")
    print(f"threshold at FMR {100 * TARGET_FMR:g} % against skilled forgeries of SVC2004 users 1-30: {threshold:.6f} "
          f"(FMR {100 * dev_fmr:.2f} %, FNMR {100 * dev_fnmr:.2f} %; {genuine.size} genuine, {skilled.size} skilled)")
    for name, s in (("development 1-30", dev_summary), ("held-out 31-40", held_summary)):
        print(f"{name:17s} skilled EER {100 * s['skilled_eer']:6.2f} %  random EER {100 * s['random_eer']:6.2f} %  "
              f"({s['n_genuine']} genuine, {s['n_skilled']} skilled, {s['n_random']} random)")
    print(f"held-out 95 % intervals: skilled {100 * intervals['skilled'][0]:.1f}-{100 * intervals['skilled'][1]:.1f} "
          f"%, random {100 * intervals['random'][0]:.1f}-{100 * intervals['random'][1]:.1f} %")
    print(f"held-out at the threshold: FNMR {100 * at['fnmr']:.2f} %, skilled FMR {100 * at['skilled_fmr']:.2f} %, "
          f"random FMR {100 * at['random_fmr']:.2f} %")
    if args.write:
        card = {
            "format": PEN_CARD_FORMAT,
            "model_id": PEN_MODEL_ID,
            "modality": "signature",
            "capture": "pen",
            "features": list(FEATURES),
            "step_ms": STEP_MS,
            "distance": "dtw",
            "aggregate": AGGREGATE,
            "thresholds": [{
                "name": "default", "value": threshold, "target_fmr": TARGET_FMR,
                "source": f"FMR {100 * TARGET_FMR:g} % against skilled forgeries of SVC2004 users 1-30 (development; "
                          f"DTW is not trained): {skilled.size} impostor and {genuine.size} genuine comparisons, "
                          f"FNMR {100 * dev_fnmr:.2f} % there"}],
            "evaluation": {
                "command": COMMAND,
                "development": {"svc2004_users": DEVELOPMENT, **figures(dev_summary)},
                "heldout": {"svc2004_users": list(HELDOUT["svc2004"]), **figures(held_summary),
                            "skilled_eer_ci95": list(intervals["skilled"]),
                            "random_eer_ci95": list(intervals["random"]),
                            "at_default_threshold": at},
            },
            "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        }
        path = REPO / "assets" / "models" / PEN_MODEL_ID / PEN_CARD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o644)
        print(f"wrote {path.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
