"""The limits on pen input (capture/pen.py MAX_PEN_*) beside the longest real recordings: SVC2004 task 2, all
1600 files (40 users x 40 signatures, genuine and forged), each read by the app's own reader.

    python bench/pen_limits.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from biometrix.capture.pen import (
    MAX_PEN_DURATION_MS,
    MAX_PEN_FILE_BYTES,
    MAX_PEN_POINTS,
    MAX_PEN_STROKES,
    read_svc2004,
    stroke_arrays,
)
from biometrix.evaluation.datasets import SVC_ZIP, default_data_root


def longest(data: Path) -> dict[str, tuple[float, str]]:
    """For each measure, the largest value over SVC2004 task 2 and the file it comes from."""
    best: dict[str, tuple[float, str]] = {"bytes": (0, ""), "points": (0, ""), "strokes": (0, ""),
                                          "duration_ms": (0, "")}
    with zipfile.ZipFile(data / SVC_ZIP) as zf:
        for name in sorted(n for n in zf.namelist() if n.upper().endswith(".TXT")):
            raw = zf.read(name)
            strokes = read_svc2004(raw.decode("ascii"), name=name)
            t = [p.t for s in strokes for p in s.points]
            measures = {"bytes": len(raw), "points": sum(len(a) for a in stroke_arrays(strokes)),
                        "strokes": len(strokes), "duration_ms": max(t) - min(t)}
            for key, value in measures.items():
                if value > best[key][0]:
                    best[key] = (value, name)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_root())
    args = parser.parse_args()
    best = longest(args.data)
    limits = {"bytes": MAX_PEN_FILE_BYTES, "points": MAX_PEN_POINTS, "strokes": MAX_PEN_STROKES,
              "duration_ms": MAX_PEN_DURATION_MS}
    print(f"{'measure':<12} {'SVC2004 longest':>16} {'file':<18} {'limit':>10} {'limit / longest':>16}")
    for key, (value, name) in best.items():
        print(f"{key:<12} {value:>16.0f} {name:<18} {limits[key]:>10.0f} {limits[key] / value:>15.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
