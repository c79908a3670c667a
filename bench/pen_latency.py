"""One pen verify (5 references, ~3 s signatures) on one core: pen-dtw-v2 as the app runs it, pen-dtw-v1 beside it,
and the DTW itself, dtaidistance's C code against our numpy ``core.dtw``, on the same sequences and band.

The signatures are real SVC2004 recordings: the user whose genuine signatures' pen-down time is nearest 3 s
(references genuine 1-5, probe genuine 6). The process is pinned to one CPU and must run with OMP_NUM_THREADS=1.
Prints the median and 90th percentile milliseconds of ``--repeats`` calls after a warm-up.

    OMP_NUM_THREADS=1 python bench/pen_latency.py [--data ../shared/data] [--repeats 50]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from biometrix.capture.pen import stroke_arrays
from biometrix.core.dtw import dtw_distance
from biometrix.core.types import SubjectId
from biometrix.evaluation.datasets import iter_svc2004_strokes
from biometrix.preprocess.pen_dynamics import LOCAL_FEATURES, local_features, pen_features, pen_time_ms
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import load_pen_card, pen_verify
from biometrix.runtime.pen_scoring import dtaidistance_c, dtw_window

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, 90th percentile) milliseconds of ``repeats`` calls after 3 warm-up calls."""
    for _ in range(3):
        fn()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append(1000 * (time.perf_counter() - t0))
    return float(np.median(ms)), float(np.percentile(ms, 90))


def v1_verify(probe: list[np.ndarray], references: list[list[np.ndarray]]) -> float:
    """pen-dtw-v1's arithmetic (as shipped until pen-dtw-v2): the mean ``core.dtw`` distance of its features to
    the references over the references' mean distance to each other."""
    refs = [pen_features(r) for r in references]
    x = pen_features(probe)
    per_ref = [dtw_distance(r, x) for r in refs]
    spread = np.mean([dtw_distance(a, b) for i, a in enumerate(refs) for b in refs[i + 1 :]])
    return float(np.mean(per_ref) / spread)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        raise SystemExit("run with OMP_NUM_THREADS=1 (one core)")
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    recs = {(r.subject, r.index): stroke_arrays(s) for r, s in iter_svc2004_strokes(args.data, range(1, 41))
            if r.index <= 6}
    user = min(range(1, 41), key=lambda u: abs(np.median([pen_time_ms(recs[(u, i)]) for i in range(1, 7)]) - 3000))
    refs, probe = [recs[(user, i)] for i in range(1, 6)], recs[(user, 6)]
    card = load_pen_card(models_dir())
    if card is None:
        raise SystemExit(f"no pen comparator card in {models_dir()}")
    model = card.model
    print(f"# one pen verify on CPU {cpu} (pinned), OMP_NUM_THREADS=1; SVC2004 user {user}: pen-down times "
          f"{', '.join(f'{pen_time_ms(s) / 1000:.2f}' for s in refs)} s (references), "
          f"{pen_time_ms(probe) / 1000:.2f} s (probe); {args.repeats} calls")
    subject = SubjectId("bench")
    rows = {
        f"{card.model_id} pen_verify (the card's model)": lambda: pen_verify(probe, refs, subject_id=subject,
                                                                            threshold=card.threshold, model=model),
        f"{card.model_id} pen_verify (the service's call: reads the installed card)":
            lambda: pen_verify(probe, refs, subject_id=subject, threshold=card.threshold),
        "pen-dtw-v1 (core.dtw, its features and aggregate)": lambda: v1_verify(probe, refs),
    }
    for name, fn in rows.items():
        med, p90 = timed(fn, args.repeats)
        print(f"{name:75s} median {med:7.2f} ms  p90 {p90:7.2f} ms")
    dtw = dtaidistance_c()
    pair = [probe, refs[0]]
    joint = [local_features(s) for s in pair]
    print(f"# one DTW of the probe against reference 1 ({len(joint[0])} x {len(joint[1])} points)")
    for dims, (a, b) in ((f"{len(LOCAL_FEATURES)} features (every local feature)", joint),
                         ("2 features (velocity)", [local_features(s, ("vx", "vy")) for s in pair])):
        for band in (None, 0.1):
            w = dtw_window(band, len(a), len(b))
            c_ms, _ = timed(lambda a=a, b=b, w=w: dtw.distance_fast(a, b, window=w, inner_dist="euclidean"),
                            args.repeats)
            np_ms, _ = timed(lambda a=a, b=b, w=w: dtw_distance(a, b, window=w), max(5, args.repeats // 5))
            same = dtw.distance_fast(a, b, window=w, inner_dist="euclidean") / (len(a) + len(b))
            print(f"{dims:52s} band {band!s:4s}: dtaidistance C {c_ms:7.3f} ms, core.dtw (numpy) {np_ms:7.3f} ms "
                  f"({np_ms / c_ms:5.1f}x); equal: {np.isclose(same, dtw_distance(a, b, window=w), rtol=1e-9)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
