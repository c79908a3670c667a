"""Fault runs against the real SqliteStore with real processes: kill -9 during enrollments, and 4 processes at once.

No ONNX model is loaded: each enrollment stores random float32 embeddings (and fake PNG bytes) straight through
``SqliteStore.enroll``, so one operation costs what the database costs.

* crash run: a child process enrolls subjects in a tight loop; after each ``enroll`` returns it appends the subject
  id to a log file (flush + fsync): that is what it reported as committed. The parent SIGKILLs it at a random
  moment after N commits, reopens the database and checks that every reported id is there with its template,
  that ``PRAGMA integrity_check`` is ok, that the audit chain verifies and that the store opens normally. The runs
  share one database, so each run also starts on the WAL that the previous kill left behind.
* concurrency run: W processes each do a mix of enrollments (unique ids), verifications (template read + matcher +
  audit record), identifications (gallery read + matcher + audit record) and plain template reads; each counts
  operations attempted, committed and errors by kind. The parent then checks that every committed enrollment is
  there, that the audit log has exactly the expected number of rows and verifies, and that no "database is
  locked" (or busy) error reached a worker.

    python bench/reliability.py [--crash-runs 5] [--workers 4] [--ops 1000]

The functions here are reused by tests/store/test_faults.py; the child processes run this file itself
(``python bench/reliability.py _crash-child ...`` / ``_worker ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from biometrix.core.errors import StoreError  # noqa: E402
from biometrix.core.matcher import Matcher  # noqa: E402
from biometrix.core.types import Modality, Threshold  # noqa: E402
from biometrix.store import SampleIn, SqliteStore  # noqa: E402

MODALITY = Modality.FACE
MODEL_ID = "reliability-bench"
DIM = 32
K = 2  # references per enrollment
THRESHOLD = Threshold(value=0.4, model_id=MODEL_ID)
SCRIPT = Path(__file__).resolve()

#: Workers' operation mix (weights).
MIX = {"enroll": 3, "verify": 3, "identify": 2, "read": 2}


# ---------------------------------------------------------------- helpers


def embeddings_for(subject_id: str) -> np.ndarray:
    """The (K, DIM) float32 embeddings enrolled for ``subject_id`` (a function of the id, so they can be checked)."""
    rng = np.random.default_rng(zlib.crc32(subject_id.encode()))
    return rng.normal(size=(K, DIM)).astype(np.float32)


def samples_for(subject_id: str) -> list[SampleIn]:
    rng = np.random.default_rng(zlib.crc32(subject_id.encode()) ^ 0x5A5A)
    return [
        SampleIn(data=b"\x89PNG\r\n\x1a\n" + rng.bytes(48), media_type="image/png", meta={"i": i})
        for i in range(K)
    ]


def enroll(store: SqliteStore, subject_id: str) -> None:
    store.enroll(subject_id, modality=MODALITY, model_id=MODEL_ID, samples=samples_for(subject_id),
                 embeddings=embeddings_for(subject_id))


def error_kind(e: BaseException) -> str:
    """The exception's type name, prefixed with ``locked:`` when it is a "database is locked"/busy error."""
    name = type(e).__name__
    text = str(e).lower()
    if isinstance(e, sqlite3.OperationalError | StoreError) and ("locked" in text or "busy" in text):
        return f"locked:{name}"
    return name


def template_matches(store: SqliteStore, subject_id: str) -> bool:
    """True when ``subject_id``'s stored template holds the (normalised) embeddings it was enrolled with."""
    t = store.template(subject_id, modality=MODALITY, model_id=MODEL_ID)
    want = embeddings_for(subject_id)
    want = want / np.linalg.norm(want, axis=1, keepdims=True)
    return t.references.shape == want.shape and bool(np.allclose(t.references, want, atol=1e-5))


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` through a plain sqlite3 connection ("ok" when sound)."""
    conn = sqlite3.connect(path)
    try:
        return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def _fsync_line(fh, line: str) -> None:  # type: ignore[no-untyped-def]
    fh.write(line + "\n")
    fh.flush()
    os.fsync(fh.fileno())


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


# ---------------------------------------------------------------- crash run


def crash_child(db: Path, log_path: Path, prefix: str) -> None:
    """Enroll ``prefix-000000``, ``prefix-000001``... until killed; log ``A id`` before and ``C id`` after each."""
    store = SqliteStore(db)
    with open(log_path, "a", encoding="utf-8") as fh:
        _fsync_line(fh, "R")  # ready: imports done, store open
        i = 0
        while True:
            sid = f"{prefix}-{i:06d}"
            _fsync_line(fh, f"A {sid}")
            try:
                enroll(store, sid)
            except Exception as e:  # noqa: BLE001 - counted, the storm goes on
                _fsync_line(fh, f"E {sid} {error_kind(e)}")
            else:
                _fsync_line(fh, f"C {sid}")
            i += 1


@dataclass
class CrashResult:
    run: int
    killed_after: int  # commits the parent waited for before the kill
    attempted: int
    committed: int  # reported as committed by the child
    lost: int  # reported as committed, missing (or wrong) after reopening
    committed_unreported: int  # in the database, but the child was killed before it could report it
    errors: dict[str, int]
    integrity: str
    audit_ok: bool
    audit_rows: int
    opens: bool
    lost_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.integrity == "ok" and self.audit_ok and self.opens
                and not self.problems)


def _read_log(log_path: Path) -> list[str]:
    try:
        return log_path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def crash_run(db: Path, workdir: Path, *, run: int, min_commits: int, max_commits: int,
              rng: random.Random, timeout: float = 60.0) -> CrashResult:
    """One kill -9 run on ``db`` (which may hold earlier runs' data); see the module docstring."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"crash{run}.log"
    prefix = f"crash{run}"
    target = rng.randint(min_commits, max_commits)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "_crash-child", "--db", str(db), "--log", str(log_path), "--prefix", prefix],
        env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            lines = _read_log(log_path)
            if sum(1 for ln in lines if ln.startswith("C ")) >= target:
                break
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"crash child exited early ({proc.returncode}): {err[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"crash child did not reach {target} commits in {timeout:.0f} s")
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.02))  # land somewhere inside a later enrollment
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
    lines = _read_log(log_path)
    attempted = [ln.split()[1] for ln in lines if ln.startswith("A ")]
    reported = [ln.split()[1] for ln in lines if ln.startswith("C ")]
    errors = Counter(ln.split()[2] for ln in lines if ln.startswith("E "))
    problems: list[str] = []
    integ = integrity(db)
    lost_ids: list[str] = []
    opens, audit_ok, audit_rows, unreported = False, False, 0, 0
    try:
        store = SqliteStore(db, create=False)
    except Exception as e:  # noqa: BLE001 - reported
        problems.append(f"the store does not open: {type(e).__name__}: {e}")
    else:
        with store:
            opens = True
            check = store.verify_audit()
            audit_ok, audit_rows = check.ok, check.n_rows
            if not check.ok:
                problems.extend(p.message for p in check.problems)
            present = {t.subject_id for t in store.gallery(modality=MODALITY, model_id=MODEL_ID)}
            for sid in reported:
                if sid not in present or not template_matches(store, sid):
                    lost_ids.append(sid)
            reported_set = set(reported)
            unreported = sum(1 for sid in present if sid.startswith(prefix + "-") and sid not in reported_set)
            n_enroll_rows = len(store.audit(event="enroll"))
            if n_enroll_rows != len(present):
                problems.append(f"{n_enroll_rows} enroll audit rows for {len(present)} enrolled subjects")
    return CrashResult(run=run, killed_after=target, attempted=len(attempted), committed=len(reported),
                       lost=len(lost_ids), committed_unreported=unreported, errors=dict(errors), integrity=integ,
                       audit_ok=audit_ok, audit_rows=audit_rows, opens=opens, lost_ids=lost_ids[:20],
                       problems=problems)


def crash_runs(db: Path, workdir: Path, *, runs: int, min_commits: int = 5, max_commits: int = 60,
               seed: int = 0) -> list[CrashResult]:
    """``runs`` kill -9 runs in a row on the same database, each killed after a random number of commits."""
    rng = random.Random(seed)
    results = []
    for run in range(runs):
        results.append(crash_run(db, workdir, run=run, min_commits=min_commits, max_commits=max_commits, rng=rng))
    return results


# ---------------------------------------------------------------- concurrency run


def worker(db: Path, wid: int, ops: int, seed: int, go: Path, out: Path) -> None:
    """Wait for ``go``, do ``ops`` mixed operations on ``db``, write the counts to ``out`` as JSON."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    matcher = Matcher(THRESHOLD)
    attempted: Counter[str] = Counter()
    committed: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    messages: list[str] = []
    enrolled: list[str] = []
    audit_writes = 0
    store = SqliteStore(db)
    known = [t.subject_id for t in store.gallery(modality=MODALITY, model_id=MODEL_ID)]
    deadline = time.monotonic() + 60
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    started = time.perf_counter()
    kinds, weights = list(MIX), list(MIX.values())
    for i in range(ops):
        kind = rng.choices(kinds, weights)[0]
        attempted[kind] += 1
        try:
            if kind == "enroll":
                sid = f"w{wid}-{i:06d}"
                enroll(store, sid)
                enrolled.append(sid)
                known.append(sid)
            elif kind == "verify":
                sid = rng.choice(known)
                template = store.template(sid, modality=MODALITY, model_id=MODEL_ID)
                probe = np_rng.normal(size=DIM).astype(np.float32)
                decision = matcher.verify(probe, template)
                store.record("verify", subject_id=sid, modality=MODALITY, model_id=MODEL_ID,
                             distance=decision.distance, threshold=THRESHOLD.value,
                             decision="accept" if decision.accepted else "reject")
                audit_writes += 1
            elif kind == "identify":
                gallery = store.gallery(modality=MODALITY, model_id=MODEL_ID)
                probe = np_rng.normal(size=DIM).astype(np.float32)
                best = matcher.identify(probe, gallery, top_k=3)
                store.record("identify", subject_id=best[0].subject_id if best else None, modality=MODALITY,
                             model_id=MODEL_ID, decision="candidates", details={"n": len(best)})
                audit_writes += 1
            else:
                sid = rng.choice(known)
                store.template(sid, modality=MODALITY, model_id=MODEL_ID)
            committed[kind] += 1
        except Exception as e:  # noqa: BLE001 - counted by kind
            errors[error_kind(e)] += 1
            if len(messages) < 5:
                messages.append(f"{kind}: {type(e).__name__}: {e}")
    elapsed = time.perf_counter() - started
    store.close()
    out.write_text(json.dumps({
        "worker": wid, "attempted": dict(attempted), "committed": dict(committed), "errors": dict(errors),
        "messages": messages, "enrolled": enrolled, "audit_writes": audit_writes, "seconds": elapsed,
    }), encoding="utf-8")


@dataclass
class ConcurrencyResult:
    workers: int
    ops_per_worker: int
    attempted: dict[str, int]
    committed: dict[str, int]
    errors: dict[str, int]
    locked_errors: int
    lost: int  # committed enrollments missing + committed audit rows missing
    audit_rows: int
    audit_rows_expected: int
    audit_ok: bool
    integrity: str
    seconds: float
    messages: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.lost == 0 and self.locked_errors == 0 and self.audit_ok and self.integrity == "ok"
                and self.audit_rows == self.audit_rows_expected and not self.problems)


def concurrency_run(db: Path, workdir: Path, *, workers: int = 4, ops: int = 1000, seed: int = 0,
                    seed_subjects: int = 20, timeout: float = 600.0) -> ConcurrencyResult:
    """``workers`` processes doing ``ops`` mixed operations each on a fresh ``db``; see the module docstring."""
    workdir.mkdir(parents=True, exist_ok=True)
    with SqliteStore(db) as store:
        for i in range(seed_subjects):
            enroll(store, f"seed-{i:04d}")
        base_rows = store.verify_audit().n_rows
    go = workdir / "go"
    go.unlink(missing_ok=True)
    outs = [workdir / f"worker{w}.json" for w in range(workers)]
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "_worker", "--db", str(db), "--id", str(w), "--ops", str(ops),
             "--seed", str(seed * 1000 + w), "--go", str(go), "--out", str(outs[w])],
            env=_child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for w in range(workers)
    ]
    time.sleep(0.2)
    started = time.perf_counter()
    go.touch()
    problems: list[str] = []
    deadline = time.monotonic() + timeout
    for w, p in enumerate(procs):
        try:
            _, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            problems.append(f"worker {w} timed out")
        if p.returncode != 0:
            problems.append(f"worker {w} exited {p.returncode}: {err.decode(errors='replace')[-1500:]}")
    seconds = time.perf_counter() - started
    attempted: Counter[str] = Counter()
    committed: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    messages: list[str] = []
    enrolled: list[str] = []
    audit_writes = 0
    for w, out in enumerate(outs):
        if not out.exists():
            problems.append(f"worker {w} wrote no result")
            continue
        r = json.loads(out.read_text(encoding="utf-8"))
        attempted.update(r["attempted"])
        committed.update(r["committed"])
        errors.update(r["errors"])
        messages.extend(f"worker {w}: {m}" for m in r["messages"])
        enrolled.extend(r["enrolled"])
        audit_writes += r["audit_writes"]
    integ = integrity(db)
    with SqliteStore(db, create=False) as store:
        check = store.verify_audit()
        present = {t.subject_id for t in store.gallery(modality=MODALITY, model_id=MODEL_ID)}
        missing = [sid for sid in enrolled if sid not in present or not template_matches(store, sid)]
    expected_rows = base_rows + len(enrolled) + audit_writes
    if missing:
        problems.append(f"{len(missing)} committed enrollments missing, e.g. {missing[:5]}")
    if check.n_rows != expected_rows:
        problems.append(f"audit log has {check.n_rows} rows, expected {expected_rows}")
    problems.extend(p.message for p in check.problems)
    lost = len(missing) + max(0, expected_rows - check.n_rows)
    locked = sum(n for k, n in errors.items() if k.startswith("locked:"))
    return ConcurrencyResult(workers=workers, ops_per_worker=ops, attempted=dict(attempted),
                             committed=dict(committed), errors=dict(errors), locked_errors=locked, lost=lost,
                             audit_rows=check.n_rows, audit_rows_expected=expected_rows, audit_ok=check.ok,
                             integrity=integ, seconds=seconds, messages=messages, problems=problems)


# ---------------------------------------------------------------- command line


def _fmt_errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(errors.items())) or "none"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_crash-child":
        p = argparse.ArgumentParser()
        p.add_argument("--db", type=Path, required=True)
        p.add_argument("--log", type=Path, required=True)
        p.add_argument("--prefix", required=True)
        a = p.parse_args(argv[1:])
        crash_child(a.db, a.log, a.prefix)
        return 0
    if argv and argv[0] == "_worker":
        p = argparse.ArgumentParser()
        for name in ("--db", "--go", "--out"):
            p.add_argument(name, type=Path, required=True)
        for name in ("--id", "--ops", "--seed"):
            p.add_argument(name, type=int, required=True)
        a = p.parse_args(argv[1:])
        worker(a.db, a.id, a.ops, a.seed, a.go, a.out)
        return 0
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--crash-runs", type=int, default=5)
    p.add_argument("--min-commits", type=int, default=5, help="fewest commits before a kill")
    p.add_argument("--max-commits", type=int, default=60, help="most commits before a kill")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--ops", type=int, default=1000, help="operations per worker")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="biometrix-reliability-") as tmp:
        work = a.dir or Path(tmp)
        crash = crash_runs(work / "crash.db", work / "crash", runs=a.crash_runs, min_commits=a.min_commits,
                           max_commits=a.max_commits, seed=a.seed)
        conc = concurrency_run(work / "concurrency.db", work / "concurrency", workers=a.workers, ops=a.ops,
                               seed=a.seed)
    if a.json:
        print(json.dumps({"crash": [asdict(r) for r in crash], "concurrency": asdict(conc)}, indent=2))
    else:
        print(f"crash runs (kill -9 during enrollments, {a.crash_runs} runs on one database)")
        print(f"{'run':>3} {'kill@':>5} {'attempted':>9} {'committed':>9} {'lost':>4} {'unreported':>10} "
              f"{'integrity':>9} {'audit':>5} {'rows':>5}  errors")
        for r in crash:
            print(f"{r.run:>3} {r.killed_after:>5} {r.attempted:>9} {r.committed:>9} {r.lost:>4} "
                  f"{r.committed_unreported:>10} {r.integrity:>9} {'ok' if r.audit_ok else 'BAD':>5} "
                  f"{r.audit_rows:>5}  {_fmt_errors(r.errors)}")
            for msg in r.problems:
                print(f"      problem: {msg}")
        tot = Counter[str]()
        for r in crash:
            tot.update(r.errors)
        print(f"total: attempted {sum(r.attempted for r in crash)}, committed {sum(r.committed for r in crash)}, "
              f"lost {sum(r.lost for r in crash)}, errors {_fmt_errors(dict(tot))}")
        print()
        print(f"concurrency run ({conc.workers} processes x {conc.ops_per_worker} operations, "
              f"{conc.seconds:.1f} s, {sum(conc.attempted.values()) / max(conc.seconds, 1e-9):.0f} ops/s)")
        print(f"{'operation':>9} {'attempted':>9} {'committed':>9}")
        for kind in MIX:
            print(f"{kind:>9} {conc.attempted.get(kind, 0):>9} {conc.committed.get(kind, 0):>9}")
        print(f"{'total':>9} {sum(conc.attempted.values()):>9} {sum(conc.committed.values()):>9}")
        print(f"lost: {conc.lost}; audit rows {conc.audit_rows} (expected {conc.audit_rows_expected}), "
              f"chain {'ok' if conc.audit_ok else 'BROKEN'}; integrity_check: {conc.integrity}")
        print(f"errors: {_fmt_errors(conc.errors)} (database locked/busy: {conc.locked_errors})")
        for msg in conc.messages[:10]:
            print(f"  {msg}")
        for msg in conc.problems:
            print(f"  problem: {msg}")
    ok = all(r.ok for r in crash) and conc.ok
    print("RESULT:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
