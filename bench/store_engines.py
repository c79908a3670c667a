"""The store's calls on PostgreSQL beside SQLite, same run: p50/p99 of a template read, an audit append (what each
verify writes), the change counter read and an enrollment, and audit appends per second from several threads.

    python bench/store_engines.py [--n 200] [--threads 8] [--server-url URL]

Without ``--server-url`` (a database set up by ``biometrix db setup-postgres``) it starts a throwaway PostgreSQL
cluster as the tests do (tests/postgres.py: initdb and pg_ctl on PATH), on loopback, fsync off: the figures are the
store's and the driver's cost, not the disk's.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from biometrix.core.types import Modality  # noqa: E402
from biometrix.store import EnrollmentStore, SampleIn, open_store  # noqa: E402

SIG = Modality.SIGNATURE
DIM = 256


def _timed(call: Callable[[int], object], n: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds of ``call(i)`` for i in range(n)."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def _enroll(store: EnrollmentStore, i: int, rng: np.random.Generator) -> None:
    samples = [SampleIn(data=rng.bytes(2048), media_type="image/png") for _ in range(3)]
    store.enroll(f"subject-{i:06d}", modality=SIG, model_id="bench", samples=samples,
                 embeddings=rng.normal(size=(3, DIM)).astype(np.float32))


def _appends_per_second(target: str, threads: int, per_thread: int) -> float:
    stores = [open_store(target) for _ in range(2)]  # two "processes"
    try:
        def work(store: EnrollmentStore) -> None:
            for _ in range(per_thread):
                store.record("verify", subject_id="subject-000001", modality=SIG, model_id="bench", distance=0.1,
                             threshold=0.2, decision="Accept")
        workers = [threading.Thread(target=work, args=(stores[k % 2],)) for k in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        if not stores[0].verify_audit().ok:
            raise SystemExit("the audit chain broke under concurrent appends")
        return threads * per_thread / elapsed
    finally:
        for s in stores:
            s.close()


def measure(name: str, target: str, *, n: int, threads: int) -> None:
    rng = np.random.default_rng(0)
    with open_store(target) as store:
        enroll = _timed(lambda i: _enroll(store, i, rng), n)
        read = _timed(lambda i: store.template(f"subject-{i % n:06d}", modality=SIG, model_id="bench"), n)
        append = _timed(lambda i: store.record("verify", subject_id=f"subject-{i % n:06d}", modality=SIG,
                                               model_id="bench", distance=0.1, threshold=0.2, decision="Accept"), n)
        counter = _timed(lambda i: store.gallery_version(), n)
    rate = _appends_per_second(target, threads, max(1, n // threads))
    print(f"{name:<10} {enroll[0]:7.2f} {enroll[1]:7.2f} {read[0]:7.2f} {read[1]:7.2f} {append[0]:7.2f} "
          f"{append[1]:7.2f} {counter[0]:7.3f} {counter[1]:7.3f} {rate:9.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="subjects enrolled, and calls timed per figure")
    parser.add_argument("--threads", type=int, default=8, help="threads appending audit rows at once")
    parser.add_argument("--server-url", default=None, help="a PostgreSQL database set up for biometrix (server role)")
    args = parser.parse_args()
    print(f"{args.n} subjects of 3 references ({DIM}-d); milliseconds (p50 p99); audit appends/s from {args.threads} "
          "threads in two stores")
    print(f"{'engine':<10} {'enroll':>15} {'template read':>15} {'audit append':>15} {'change counter':>15} "
          f"{'appends/s':>9}")
    with tempfile.TemporaryDirectory() as folder:
        measure("sqlite", str(Path(folder) / "bench.db"), n=args.n, threads=args.threads)
        if args.server_url:
            measure("postgres", args.server_url, n=args.n, threads=args.threads)
            return
        from biometrix.store.postgres import setup
        from tests.postgres import drop_database, new_database, start_cluster

        root = Path(tempfile.mkdtemp(prefix="bx-pg-bench-"))
        try:
            cluster = start_cluster(root)
            try:
                db = new_database(cluster)
                setup(db.owner_url, server_role=db.server_role)
                measure("postgres", db.server_url, n=args.n, threads=args.threads)
                drop_database(db)
            finally:
                cluster.stop(mode="immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
