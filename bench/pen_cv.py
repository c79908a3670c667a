"""Issue 27: the pen comparator cross-validated over all 40 SVC2004 users, beside today's pen-dtw-v1 in the same run.

Four folds of 10 users (1-10, 11-20, 21-30, 31-40). In each fold every choice is made on the other 30 users: the
channel set, band, length normalisation and statistics of ``pen-dtw-v2`` by a 3-fold inner cross-validation over
those 30 (``training.pen_score``), the logistic score model fitted on all 30, and the thresholds set on their scores
(default at FMR 1 % against skilled forgeries; three-zone accept where <= 3 % of skilled forgeries fall at or below,
reject where <= 3 % of genuine signatures fall above). ``pen-dtw-v1`` has no trained part; its thresholds are set
on the same 30 users. The 10 held-out users are then scored once: skilled and random EER (one global threshold per
fold), each user's EER and their mean (a threshold per user, as SVC2004 reported), the rates at the default
threshold, and the three-zone table. 5 references per user (genuine 1-5), genuine probes 6-20, skilled forgeries
21-40, random forgeries: genuine 20 of the fold's other users.

    OMP_NUM_THREADS=1 python bench/pen_cv.py [--data ../shared/data] [--json out.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.pen import FUSED_ON, PenRecordings, comparator_scores, v1_scores, v1_table
from biometrix.evaluation.pen_cv import SVC2004_FOLDS, ZONES, FoldFigures, Thresholds, fold_figures, mean_figures
from biometrix.runtime.pen_comparator import PEN_AGGREGATE
from biometrix.training.pen_score import BANDS, CHANNEL_SETS, build_tables, grid, select

ALL_USERS = tuple(range(1, 41))


def show(name: str, f: FoldFigures) -> None:
    users = " ".join(f"{s.split(':')[1]}:{100 * e:.1f}" for s, e in f.per_user_skilled.items())
    z = f.zones
    print(f"  {name:11s} skilled EER {100 * f.skilled_eer:6.2f} %  random EER {100 * f.random_eer:5.2f} %  "
          f"per-user mean: skilled {100 * f.mean_user_skilled_eer:5.2f} %, random {100 * f.mean_user_random_eer:5.2f}"
          f" %  at default: FNMR {100 * f.at_default['fnmr']:5.1f} %, skilled FMR "
          f"{100 * f.at_default['skilled_fmr']:4.1f} %, random FMR {100 * f.at_default['random_fmr']:4.1f} %")
    print(f"  {'':11s} per-user skilled EER % {users}")
    print(f"  {'':11s} three zones (accepted/referred/rejected %): " + "; ".join(
        f"{k} {'/'.join(f'{100 * z[k][zn]:.1f}' for zn in ZONES)}" for k in ("genuine", "skilled", "random")))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--quick", action="store_true", help="a reduced grid (joint and pos-vel-acc, band 0.1), to try")
    args = ap.parse_args()
    started = time.perf_counter()
    recordings = PenRecordings.read(args.data, ALL_USERS)
    candidates = grid()
    bands = BANDS
    if args.quick:
        bands = (0.1,)
        candidates = [c for c in candidates if c.band == 0.1 and c.channel_set in ("joint", "pos-vel-acc")]
    channels = sorted({ch for c in candidates for ch in CHANNEL_SETS[c.channel_set]})
    print(f"# pen comparators, 4-fold CV over SVC2004 users 1-40; {len(candidates)} candidates for pen-dtw-v2")
    tables = build_tables(recordings, channels, bands, log=lambda line: print(line, flush=True))
    v1 = v1_table(recordings)
    print(f"  tables done ({time.perf_counter() - started:.0f} s)", flush=True)
    results: dict[str, list[FoldFigures]] = {"pen-dtw-v2": [], "pen-dtw-v1": []}
    chosen: list[dict[str, object]] = []
    for test in SVC2004_FOLDS:
        train = [u for u in ALL_USERS if u not in test]
        sel = select(recordings, tables, train, candidates)
        own = {ch: tables[(ch, sel.candidate.band, sel.candidate.length_norm)] for ch in sel.candidate.channels}
        thr = Thresholds.fit(comparator_scores(recordings, own, sel.model, train), PEN_AGGREGATE)
        results["pen-dtw-v2"].append(fold_figures(comparator_scores(recordings, own, sel.model, test), PEN_AGGREGATE,
                                                  thr, test))
        thr1 = Thresholds.fit(v1_scores(recordings, v1, train), FUSED_ON)
        results["pen-dtw-v1"].append(fold_figures(v1_scores(recordings, v1, test), FUSED_ON, thr1, test))
        best = sel.inner[sel.candidate.label()]
        chosen.append({"users": list(test), "candidate": sel.candidate.label(), "inner_skilled_eer": best[0],
                       "inner_random_eer": best[1], "weights": list(sel.model.weights), "inputs":
                       list(sel.model.inputs), "thresholds": asdict(thr), "v1_thresholds": asdict(thr1)})
        print(f"fold users {test[0]}-{test[-1]}: chose {sel.candidate.label()} on users "
              f"{', '.join(f'{a}-{a + 9}' for a in range(1, 41, 10) if a not in test)} (inner skilled "
              f"{100 * best[0]:.2f} %, random {100 * best[1]:.2f} %); thresholds default {thr.default:.4f}, "
              f"accept {thr.accept:.4f}, reject {thr.reject:.4f}")
        for name, figs in results.items():
            show(name, figs[-1])
    print(f"\nmean over the 4 folds ({time.perf_counter() - started:.0f} s):")
    means = {name: mean_figures(figs) for name, figs in results.items()}
    for name, m in means.items():
        print(f"  {name:11s} skilled EER {100 * m['skilled_eer']:6.2f} %  random EER {100 * m['random_eer']:5.2f} %  "
              f"per-user mean skilled {100 * m['mean_user_skilled_eer']:5.2f} %, random "
              f"{100 * m['mean_user_random_eer']:5.2f} %  at default: FNMR {100 * m['at_default_fnmr']:5.1f} %, "
              f"skilled FMR {100 * m['at_default_skilled_fmr']:4.1f} %, random FMR "
              f"{100 * m['at_default_random_fmr']:4.1f} %")
        print(f"  {'':11s} three zones (accepted/referred/rejected %): " + "; ".join(
            f"{k} " + "/".join(f"{100 * m[k + '_' + z]:.1f}" for z in ZONES) for k in ("genuine", "skilled", "random")))
    if args.json:
        doc = {"command": "python bench/pen_cv.py", "folds": chosen, "means": means,
               "figures": {name: [asdict(f) for f in figs] for name, figs in results.items()},
               "seconds": time.perf_counter() - started}
        args.json.write_text(json.dumps(doc, indent=1, default=float) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
