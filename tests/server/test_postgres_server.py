"""Servers on PostgreSQL (the throwaway cluster of tests/postgres.py): two server processes on one database, what
one enrolls is verified and identified by the other (its index caught up, its tokens accepted); and PostgreSQL
restarted under load: a clear retryable error meanwhile (503, Retry-After), the server reconnects by itself, and
nothing acknowledged is lost (the oracle: the database, read directly afterwards)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from biometrix.client import RemoteBiometrix
from biometrix.core.errors import BiometrixError, ServerUnavailable
from biometrix.store import open_store
from tests.postgres import PgCluster, PgDatabase
from tests.server.conftest import PASSWORDS, Certs, kill, spawn_server, start_server
from tests.test_access_control import drawn, make_bank, redrawn

pytest.importorskip("psycopg", reason="psycopg is not installed: pip install biometrix[postgres]")


def test_two_server_processes_on_one_database(pg_ready: PgDatabase, certs: Certs, tmp_path) -> None:
    url = pg_ready.server_url
    make_bank(url)  # root, sue, tom; alice enrolled
    one, one_url = spawn_server(url, certs, log=tmp_path / "one.log")
    two, two_url = spawn_server(url, certs, log=tmp_path / "two.log")
    try:
        with RemoteBiometrix(one_url, ca_file=certs.ca) as a, RemoteBiometrix(two_url, ca_file=certs.ca) as b:
            a.login("tom", PASSWORDS["tom"])
            assert b.resume(a.session_token()).name == "tom"  # a token of one server acts on the other
            probe = redrawn(51)
            before = b.identify(signature=probe, top_k=3)  # two's index is built now, without "pat"
            assert "pat" not in {c.subject_id for c in before}
            a.enroll("pat", signatures=[drawn(50 + i) for i in range(3)])
            decision = b.verify("pat", signature=probe)
            assert decision.accepted, decision
            after = b.identify(signature=probe, top_k=3)
            assert after[0].subject_id == "pat" and after[0].below_threshold  # caught up from the change log
            assert a.identify(signature=probe, top_k=3) == after  # both servers give the same ranking
    finally:
        kill(one)
        kill(two)
    with open_store(url, create=False) as store:
        rows = [e for e in store.audit() if e.event in ("enroll", "verify", "identify")]
        assert [e.event for e in rows[-5:]] == ["identify", "enroll", "verify", "identify", "identify"]
        assert store.verify_audit().ok


def test_postgresql_restart_under_load(pg_cluster: PgCluster, pg_ready: PgDatabase, certs: Certs) -> None:
    url = pg_ready.server_url
    make_bank(url)
    run = start_server(url, certs)
    acknowledged: list[str] = []
    outcomes: Counter[str] = Counter()
    retry_after: set[float | None] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def counter(k: int) -> None:
        with RemoteBiometrix(run.url, ca_file=certs.ca, timeout=60) as bx:
            bx.login("tom", PASSWORDS["tom"])
            n = 0
            while not stop.is_set():
                subject = f"k{k}-{n}"
                n += 1
                try:
                    bx.enroll(subject, signatures=[drawn(3000 + 100 * k + n), drawn(3050 + 100 * k + n)])
                    bx.verify("alice", signature=redrawn(0))
                except ServerUnavailable as err:
                    with lock:
                        outcomes["unavailable"] += 1
                        retry_after.add(err.retry_after)
                    time.sleep(0.2)
                    continue
                except BiometrixError as err:
                    with lock:
                        outcomes[type(err).__name__] += 1
                    continue
                with lock:
                    outcomes["ok"] += 1
                    acknowledged.append(subject)

    threads = [threading.Thread(target=counter, args=(k,)) for k in range(3)]
    try:
        for t in threads:
            t.start()
        _wait(lambda: outcomes["ok"] >= 3, 120)
        pg_cluster.stop(mode="immediate")  # a crash of the database, with requests in flight
        try:
            _wait(lambda: outcomes["unavailable"] >= 3, 120)
        finally:
            pg_cluster.start()
        ok_before = outcomes["ok"]
        _wait(lambda: outcomes["ok"] >= ok_before + 3, 120)  # served again, without restarting the server
    finally:
        stop.set()
        for t in threads:
            t.join(120)
        run.stop()
    assert set(outcomes) <= {"ok", "unavailable"}, outcomes  # nothing but answers and the retryable error
    assert 5.0 in retry_after  # the server said when to retry (503, Retry-After)
    with open_store(url, create=False) as store:
        assert set(acknowledged) <= {s.subject_id for s in store.subjects()}
        assert store.verify_audit().ok


def _wait(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
