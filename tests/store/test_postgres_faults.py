"""PostgreSQL restarted under a running store (pg_ctl stop/start of the test cluster): calls meanwhile raise the
retryable StoreUnavailable, the pool reconnects by itself, and every write that was acknowledged is there."""

from __future__ import annotations

import threading
import time

import pytest

from biometrix.core.errors import StoreUnavailable
from biometrix.core.types import Modality
from biometrix.store.postgres import PostgresStore
from tests.postgres import PgDatabase

pytest.importorskip("psycopg", reason="psycopg is not installed: pip install biometrix[postgres]")

FACE = Modality.FACE


def _record(store: PostgresStore, i: int) -> int:
    return store.record("verify", subject_id=f"c-{i}", modality=FACE, model_id="f1", distance=0.25, threshold=0.3,
                        decision="Accept")


def _until_back(store: PostgresStore, *, within: float) -> float:
    """Seconds until a write succeeds again (the pool reconnecting by itself)."""
    start = time.monotonic()
    while True:
        try:
            _record(store, -1)
            return time.monotonic() - start
        except StoreUnavailable:
            if time.monotonic() - start > within:
                raise
            time.sleep(0.2)


def test_a_restart_is_a_retryable_error_then_the_pool_reconnects(pg_ready: PgDatabase) -> None:
    store = PostgresStore(pg_ready.server_url, timeout=1.0)
    try:
        acknowledged = [_record(store, i) for i in range(3)]
        pg_ready.cluster.stop(mode="fast")
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="retry"):
                _record(store, 99)
            with pytest.raises(StoreUnavailable, match="cannot be reached"):
                store.subjects()
            assert time.monotonic() - started < 10  # a clear error after the timeout, not a hang
        finally:
            pg_ready.cluster.start()
        assert _until_back(store, within=20) < 20  # the same store object: no reopening
        check = store.verify_audit()
        assert check.ok and check.n_rows == 4
        assert [e.event_id for e in store.audit()][:3] == acknowledged
    finally:
        store.close()


def test_nothing_acknowledged_is_lost_when_postgres_dies_during_writes(pg_ready: PgDatabase) -> None:
    """A writer thread keeps appending while the cluster is killed (immediate stop: no shutdown checkpoint) and
    started again: every row whose append returned is there afterwards, and the chain is intact."""
    store = PostgresStore(pg_ready.server_url, timeout=1.0)
    acknowledged: list[int] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            try:
                acknowledged.append(_record(store, i))
            except StoreUnavailable:
                time.sleep(0.05)
            except BaseException as e:  # anything but the retryable error fails the test
                failures.append(e)
                return
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.5)
        pg_ready.cluster.stop(mode="immediate")
        before = len(acknowledged)
        time.sleep(1.0)
        pg_ready.cluster.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) <= before + 5 and time.monotonic() < deadline and not failures:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    try:
        assert failures == []
        assert len(acknowledged) > before + 5  # it wrote again after the restart, by itself
        kept = {e.event_id for e in store.audit()}
        assert set(acknowledged) <= kept
        assert store.verify_audit().ok
    finally:
        store.close()
