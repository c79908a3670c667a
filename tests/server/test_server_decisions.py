"""The server over real HTTPS: login for a signed session token, then verify and identify give the decision the
in-process service gives on the same inputs (the oracle: ``Biometrix`` on the same database file)."""

from __future__ import annotations

import base64
import ssl

import httpx
import pytest

from biometrix import Biometrix
from biometrix.capture.files import encode_png
from biometrix.core.types import Modality
from tests.server.conftest import PASSWORDS, bearer
from tests.test_access_control import drawn, redrawn


def _png(img) -> dict[str, str]:
    return {"image": base64.b64encode(encode_png(img)).decode("ascii")}


def login(client: httpx.Client, name: str) -> str:
    r = client.post("/v1/login", json={"name": name, "password": PASSWORDS[name]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["operator"] == name
    return body["token"]


@pytest.fixture
def client(running, certs):
    with httpx.Client(base_url=running.url, verify=ssl.create_default_context(cafile=str(certs.ca)), timeout=60) as c:
        yield c


def test_health_ready_and_openapi(client):
    assert client.get("/v1/health").json() == {"status": "ok"}
    ready = client.get("/v1/ready")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["models"]["signature"] is True  # loaded at start: alice is enrolled by signature
    schema = client.get("/openapi.json").json()
    assert {"/v1/login", "/v1/enroll", "/v1/verify", "/v1/identify"} <= set(schema["paths"])
    assert client.get("/docs").status_code == 200


def test_verify_over_https_is_the_in_process_decision(client, bank):
    token = login(client, "tom")
    for probe in (redrawn(0), drawn(7)):  # a close one and another writer's
        r = client.post("/v1/verify", json={"subject_id": "alice", "signature": _png(probe)}, headers=bearer(token))
        assert r.status_code == 200, r.text
        assert r.headers["X-Biometrix-Token"]  # renewed with every answer
        with Biometrix(bank) as bx:
            bx.login("tom", PASSWORDS["tom"])
            expected = bx.verify("alice", signature=probe)
        got = r.json()
        assert got["label"] == expected.label
        assert got["distance"] == expected.distance
        assert got["threshold"]["value"] == expected.threshold.value
        assert got["reference_distances"] == list(expected.reference_distances)


def test_identify_over_https_is_the_in_process_ranking(client, bank):
    token = login(client, "tom")
    probe = redrawn(1)
    r = client.post("/v1/identify", json={"signature": _png(probe), "top_k": 3}, headers=bearer(token))
    assert r.status_code == 200, r.text
    with Biometrix(bank) as bx:
        bx.login("tom", PASSWORDS["tom"])
        expected = bx.identify(signature=probe, top_k=3)
        threshold = bx.identify_threshold(Modality.SIGNATURE, capture="scan")  # a candidate's bar
    got = r.json()
    assert [(c["subject_id"], c["distance"]) for c in got["candidates"]] == \
        [(c.subject_id, c.distance) for c in expected]
    assert got["threshold"]["value"] == threshold.value


def test_every_decision_is_audited_under_the_token_operator(client, bank):
    token = login(client, "tom")
    r = client.post("/v1/verify", json={"subject_id": "alice", "signature": _png(redrawn(2))}, headers=bearer(token))
    assert r.status_code == 200
    sue = login(client, "sue")
    rows = client.get("/v1/audit", params={"event": "verify", "limit": 1}, headers=bearer(sue)).json()
    assert rows[-1]["subject_id"] == "alice" and rows[-1]["details"]["operator"] == "tom"
    assert rows[-1]["distance"] == r.json()["distance"]


def test_concurrent_requests_each_act_for_their_own_token(client, running, bank):
    """One shared service, requests of two operators in flight at once: every audit row names the operator whose
    token sent that probe (the probe's sha256 says which), never the other one's."""
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    from biometrix.capture.files import encode_png

    tokens = {"tom": login(client, "tom"), "sue": login(client, "sue")}
    jobs = [(name, drawn(seed + i)) for i in range(12) for name, seed in (("tom", 100), ("sue", 200))]
    sent = {hashlib.sha256(encode_png(img)).hexdigest(): name for name, img in jobs}

    def one(job):
        name, img = job
        r = client.post("/v1/verify", json={"subject_id": "alice", "signature": _png(img)},
                        headers=bearer(tokens[name]))
        return r.status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, jobs)) == {200}
    rows = client.get("/v1/audit", params={"event": "verify"}, headers=bearer(tokens["sue"])).json()
    seen = {r["details"]["probe_sha256"]: r["details"]["operator"] for r in rows
            if r["details"]["probe_sha256"] in sent}
    assert seen == sent and set(seen.values()) == {"tom", "sue"}
