"""Cold-start time of ``biometrix verify``: a fresh process that enrolls nothing, loads the model and decides.

Enrolls CEDAR signer 46 (genuine 1-5, from ../shared/data) into a temporary database once, then times
fresh ``python -m biometrix verify`` processes (genuine 6 as the probe) against a bare ``python -c pass``
baseline measured in the same run, and checks that torch was never imported. Prints the median wall time.

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

from biometrix.evaluation.datasets import CEDAR_ZIP, default_data_root

PROBE = """
import sys, runpy
sys.argv = ["biometrix", "verify", "--db", sys.argv[1], "--subject", "s46", "--signature", sys.argv[2]]
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
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(args.data / CEDAR_ZIP) as zf:
        paths = []
        for n in range(1, 7):
            p = Path(tmp) / f"original_46_{n}.png"
            p.write_bytes(zf.read(f"CEDAR_half/full_org/original_46_{n}.png"))
            paths.append(str(p))
        db = str(Path(tmp) / "bench.db")
        subprocess.run([sys.executable, "-m", "biometrix", "enroll", "--db", db, "--subject", "s46",
                        "--signature", *paths[:5]], check=True, stdout=subprocess.DEVNULL)
        base, verify = [], []
        for _ in range(args.runs):
            base.append(timed([sys.executable, "-c", "pass"])[0])
            t, rc = timed([sys.executable, "-c", PROBE, db, paths[5]])
            if rc not in (0, 1):
                print(f"verify failed with exit code {rc}", file=sys.stderr)
                return 2
            verify.append(t)
    b, v = statistics.median(base), statistics.median(verify)
    print(f"# median of {args.runs} fresh processes each; torch never imported")
    print(f"python -c pass (baseline)      {b:6.3f} s")
    print(f"biometrix verify (cold start)  {v:6.3f} s   target <= 1.5 s   ({v / b:.1f}x the bare interpreter)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
