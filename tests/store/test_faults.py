"""Fault tests with real processes on the real SqliteStore (no models): kill -9 mid-storm, 4 processes at once.

The workers live in bench/reliability.py (also the benchmark that prints the figures); each test here starts
real child processes running that file, so a run takes a few seconds.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from biometrix.store import SqliteStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX SIGKILL")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reliability.py"


def _load_bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("biometrix_bench_reliability", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


rel = _load_bench()


def test_kill_9_during_enrollments_loses_nothing_reported(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    # Three kills on the same database at different moments (each run reopens what the previous kill left).
    results = rel.crash_runs(db, tmp_path / "work", runs=3, min_commits=3, max_commits=25, seed=7)
    assert len({r.killed_after for r in results}) > 1 or len(results) == 1
    total_reported = 0
    for r in results:
        assert r.committed >= r.killed_after >= 3, r
        assert r.lost == 0, f"run {r.run}: reported as committed but missing: {r.lost_ids}"
        assert r.integrity == "ok", r.integrity
        assert r.audit_ok, r.problems
        assert r.opens and not r.problems, r.problems
        assert not any(k.startswith("locked:") for k in r.errors), r.errors
        total_reported += r.committed
    # The store opens normally afterwards and holds every reported enrollment (plus at most one per kill that
    # committed before the child could report it).
    with SqliteStore(db, create=False) as store:
        info = store.info()
        assert total_reported <= info.n_subjects <= total_reported + len(results)
        assert store.verify_audit().ok
    assert rel.integrity(db) == "ok"


def test_four_processes_at_once_lose_nothing_and_never_see_locked(tmp_path: Path) -> None:
    r = rel.concurrency_run(tmp_path / "conc.db", tmp_path / "work", workers=4, ops=150, seed=3)
    assert not r.problems, r.problems
    assert sum(r.attempted.values()) == 4 * 150
    assert r.locked_errors == 0, (r.errors, r.messages)
    assert r.errors == {}, (r.errors, r.messages)
    assert r.committed == r.attempted
    assert r.committed.get("enroll", 0) > 0 and r.committed.get("verify", 0) > 0
    assert r.lost == 0
    assert r.audit_rows == r.audit_rows_expected
    assert r.audit_ok
    assert r.integrity == "ok"
    assert r.ok
