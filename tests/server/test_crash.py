"""kill -9 of a server process in the middle of an enrollment storm: every enrollment a client saw acknowledged is
in the database after a restart, and the audit chain is intact (the oracle: the database file, read directly)."""

from __future__ import annotations

import threading
import time

import httpx

from biometrix.client import RemoteBiometrix
from biometrix.core.errors import BiometrixError
from biometrix.store import open_store
from tests.server.conftest import PASSWORDS, kill, spawn_server
from tests.test_access_control import drawn, make_bank


def test_every_acknowledged_enrollment_survives_kill_9(tmp_path, certs):
    db = make_bank(tmp_path / "bank.db")
    log = tmp_path / "server.log"
    proc, url = spawn_server(db, certs, log=log)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def storm(worker: int) -> None:
        bx = RemoteBiometrix(url, ca_file=certs.ca, timeout=30)
        bx.login("tom", PASSWORDS["tom"])
        n = 0
        while not stop.is_set():
            subject = f"w{worker}-{n}"
            refs = [drawn(1000 * worker + 10 * n + i) for i in range(2)]
            try:
                bx.enroll(subject, signatures=refs)
            except (BiometrixError, httpx.HTTPError):
                return  # the server is gone: what was not acknowledged may or may not be there
            with lock:
                acknowledged.append(subject)
            n += 1

    threads = [threading.Thread(target=storm, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 12 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    kill(proc)  # SIGKILL with enrollments in flight
    stop.set()
    for t in threads:
        t.join(60)
    seen = list(acknowledged)
    assert len(seen) >= 12, log.read_text(errors="replace")[-2000:]

    proc, url = spawn_server(db, certs, log=log)
    try:
        with RemoteBiometrix(url, ca_file=certs.ca) as bx:
            bx.login("sue", PASSWORDS["sue"])
            assert set(seen) <= {s.subject_id for s in bx.subjects()}
            assert bx.verify_audit().ok
    finally:
        kill(proc)
    with open_store(db, create=False) as store:
        assert set(seen) <= {s.subject_id for s in store.subjects()}
        enrolled = {e.subject_id for e in store.audit(event="enroll")}
        assert set(seen) <= enrolled and store.verify_audit().ok
