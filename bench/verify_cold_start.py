"""Cold-start time of ``biometrix verify``: a fresh process that enrolls nothing, loads the model and decides.

Enrolls CEDAR signer 46 (genuine 1-5, scans) and SVC2004 user 31 (genuine 1-5, pen files), from ../shared/data,
into a temporary database once, then times fresh ``python -m biometrix verify`` processes (genuine 6 as the
probe: the scan is decided by the image model, the pen file by the pen comparator) against a bare ``python -c
pass`` baseline measured in the same run, and checks that torch was never imported. Prints the median wall
times.

    python bench/verify_cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from biometrix.evaluation.datasets import CEDAR_ZIP, SVC_ZIP, default_data_root

PROBE = """
import sys, runpy
sys.argv = ["biometrix", "verify", "--db", sys.argv[1], "--subject", sys.argv[2], "--signature", sys.argv[3]]
try:
    runpy.run_module("biometrix", run_name="__main__")
except SystemExit as e:
    code = e.code
if "torch" in sys.modules:
    print("TORCH IMPORTED", file=sys.stderr)
    raise SystemExit(3)
raise SystemExit(code)
"""


def timed(cmd: list[str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
    return time.perf_counter() - t0, rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--data", type=Path, default=default_data_root())
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scans, pens = [], []
        with zipfile.ZipFile(args.data / CEDAR_ZIP) as zf:
            for n in range(1, 7):
                p = Path(tmp) / f"original_46_{n}.png"
                p.write_bytes(zf.read(f"CEDAR_half/full_org/original_46_{n}.png"))
                scans.append(str(p))
        with zipfile.ZipFile(args.data / SVC_ZIP) as zf:
            for n in range(1, 7):
                p = Path(tmp) / f"U31S{n}.TXT"
                p.write_bytes(zf.read(f"Task2/U31S{n}.TXT"))
                pens.append(str(p))
        db = str(Path(tmp) / "bench.db")
        for subject, paths in (("s46", scans), ("u31", pens)):
            subprocess.run([sys.executable, "-m", "biometrix", "enroll", "--db", db, "--subject", subject,
                            "--signature", *paths[:5]], check=True, stdout=subprocess.DEVNULL)
        base: list[float] = []
        verify: dict[str, list[float]] = {"scan": [], "pen": []}
        for _ in range(args.runs):
            base.append(timed([sys.executable, "-c", "pass"])[0])
            for kind, subject, probe in (("scan", "s46", scans[5]), ("pen", "u31", pens[5])):
                t, rc = timed([sys.executable, "-c", PROBE, db, subject, probe])
                if rc not in (0, 1):
                    print(f"verify ({kind}) failed with exit code {rc}", file=sys.stderr)
                    return 2
                verify[kind].append(t)
    b = statistics.median(base)
    print(f"# median of {args.runs} fresh processes each; torch never imported")
    print(f"python -c pass (baseline)            {b:6.3f} s")
    for kind, what in (("scan", "a CEDAR scan, image model"), ("pen", "an SVC2004 pen file, pen comparator")):
        v = statistics.median(verify[kind])
        print(f"biometrix verify, cold start, {kind:4s}  {v:6.3f} s   target <= 1.5 s   ({v / b:.1f}x the bare "
              f"interpreter; {what})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
