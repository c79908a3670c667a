"""Stage issue 27 part 1's training data for a device run: CEDAR 1-45, SVC2004 1-30 and the Dutch development
writers as exact ink-mask caches in ``.device-data/ink_cache/`` (the archives exceed the 64 MiB tree), size checked."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from biometrix.evaluation.datasets import (
    CEDAR_TRAIN,
    CEDAR_VALIDATION,
    DUTCH,
    DUTCH_DEVELOPMENT,
    SVC_TRAIN,
    SVC_VALIDATION,
)
from biometrix.training.data import load_cedar, load_sigcomp2011_dutch, load_svc2004
from biometrix.training.ink_cache import cache_path, write_ink_cache

REPO = Path(__file__).resolve().parents[2]
#: What travels to a device machine: the working tree, carried folders included (device README, Limits).
TREE_LIMIT = 64 * 2**20


def tree_bytes(repo: Path) -> int:
    """Bytes of the files that travel without ``carry``: tracked and untracked-not-ignored ones."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                           check=True, capture_output=True).stdout.split(b"\0")
    return sum((repo / n.decode()).stat().st_size for n in names if n and (repo / n.decode()).is_file())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    ap.add_argument("--out", type=Path, default=REPO / ".device-data", help="the staged folder (git-ignored)")
    ap.add_argument("--subjects", type=int, default=0,
                    help="stage only the first N subjects of each set (a quick test; 0 = all of part 1)")
    args = ap.parse_args(argv)
    n = args.subjects or None
    sets = {"cedar": (load_cedar, (CEDAR_TRAIN + CEDAR_VALIDATION)[:n]),
            "svc2004": (load_svc2004, (SVC_TRAIN + SVC_VALIDATION)[:n]),
            DUTCH: (load_sigcomp2011_dutch, DUTCH_DEVELOPMENT[:n])}
    sizes = {}
    for source, (load, subjects) in sets.items():
        samples = load(args.data, subjects, progress=False)
        sizes[source] = write_ink_cache(cache_path(args.out, source), samples)
        print(f"{source}: {len(subjects)} subjects, {len(samples)} ink masks, {sizes[source] / 2**20:.2f} MiB")
    staged = sum(sizes.values())
    tree = tree_bytes(REPO)
    total = staged + tree
    record = {"staged_bytes": staged, "by_source": sizes, "tree_bytes": tree, "total_bytes": total,
              "limit_bytes": TREE_LIMIT}
    (args.out / "staged.json").write_text(json.dumps(record, indent=2))
    print(f"staged {staged / 2**20:.2f} MiB in {args.out}; with the working tree ({tree / 2**20:.2f} MiB) "
          f"{total / 2**20:.2f} MiB of the 64 MiB that may travel")
    if total > TREE_LIMIT:
        print(f"over the device tree limit by {(total - TREE_LIMIT) / 2**20:.2f} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
