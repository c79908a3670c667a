"""What the security checks cost a verify: warm ``Biometrix.verify`` latency of this tree beside a baseline revision
(default: the last commit before model pinning, the database-held policy and the MACed audit), in one run.

Each side runs in its own process on its own scratch database with an admin and a logged-in teller: CEDAR signer 46
(genuine 1-5, scans; decided by the image model) and SVC2004 user 31 (genuine 1-5, pen files; decided by the pen
comparator) are enrolled, then genuine 6 of each is verified ``--n`` times after a warm-up. The two sides alternate
``--rounds`` times (the machine is shared and noisy); the figure is the median over all calls, and the ratio
current / baseline. One thread each (OMP_NUM_THREADS=1).

    python bench/verify_overhead.py [--baseline-rev 9a66835] [--rounds 3] [--n 40]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from biometrix.evaluation.datasets import CEDAR_ZIP, SVC_ZIP, default_data_root

REPO = Path(__file__).resolve().parents[1]
BASELINE_REV = "9a66835"

CHILD = r"""
import json, sys, time
from biometrix import Biometrix
db, n = sys.argv[1], int(sys.argv[2])
scans, pens = sys.argv[3:10], sys.argv[10:17]
bx = Biometrix(db, prefer_gpu=False)
bx.add_operator("root", "admin", "admin-password-1")
bx.login("root", "admin-password-1")
bx.add_operator("tom", "teller", "teller-password-3")
bx.login("tom", "teller-password-3")
bx.enroll("scan", signatures=scans[:5])
bx.enroll("pen", signatures=pens[:5])
out = {}
for subject, probe in (("scan", scans[5]), ("pen", pens[5])):
    for _ in range(3):
        bx.verify(subject, signature=probe)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        bx.verify(subject, signature=probe)
        times.append(time.perf_counter() - t0)
    out[subject] = times
print(json.dumps(out))
"""


def _files(data: Path, tmp: Path) -> tuple[list[str], list[str]]:
    scans, pens = [], []
    with zipfile.ZipFile(data / CEDAR_ZIP) as zf:
        for n in range(1, 8):
            p = tmp / f"original_46_{n}.png"
            p.write_bytes(zf.read(f"CEDAR_half/full_org/original_46_{n}.png"))
            scans.append(str(p))
    with zipfile.ZipFile(data / SVC_ZIP) as zf:
        for n in range(1, 8):
            p = tmp / f"U31S{n}.TXT"
            p.write_bytes(zf.read(f"Task2/U31S{n}.TXT"))
            pens.append(str(p))
    return scans, pens


def _run(tree: Path, tmp: Path, tag: str, n: int, files: list[str]) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(tree), OMP_NUM_THREADS="1", BIOMETRIX_KEY_DIR=str(tmp / f"keys-{tag}"))
    env.pop("BIOMETRIX_MODELS_DIR", None)
    db = tmp / f"{tag}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-c", CHILD, str(db), str(n), *files], env=env, cwd=tmp,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{tag} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--data", type=Path, default=default_data_root())
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        baseline = tmp / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(baseline),
                        args.baseline_rev], check=True)
        try:
            scans, pens = _files(args.data, tmp)
            results: dict[str, dict[str, list[float]]] = {"current": {}, "baseline": {}}
            for r in range(args.rounds):
                for tag, tree in (("baseline", baseline), ("current", REPO)) if r % 2 else (
                        ("current", REPO), ("baseline", baseline)):
                    for subject, times in _run(tree, tmp, tag, args.n, scans + pens).items():
                        results[tag].setdefault(subject, []).extend(times)
                print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    print(f"warm verify, median of {args.rounds * args.n} calls each (baseline {args.baseline_rev})")
    print(f"{'probe':<28} {'baseline ms':>12} {'current ms':>11} {'ratio':>6}")
    names = {"scan": "scan (image model)", "pen": "pen file (pen comparator)"}
    for subject in ("scan", "pen"):
        b, c = (statistics.median(results[t][subject]) * 1000 for t in ("baseline", "current"))
        print(f"{names[subject]:<28} {b:>12.2f} {c:>11.2f} {c / b:>6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
