"""Hostile requests over real HTTPS, each refused with its status code and NOTHING written: the audit log, the
subjects and the operators are read from the database file before and after (the oracle)."""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from biometrix.capture.files import encode_png
from biometrix.server.app import AppOptions
from biometrix.server.limits import LoginLimits
from biometrix.store import open_store
from tests.server.conftest import PASSWORDS, Running, bank_server, bearer, https, start_server
from tests.test_access_control import drawn, make_bank

MAX_BODY = 256 * 1024


def state(db: Path) -> tuple[int, list[str], list[tuple[str, str, bool]]]:
    """What a refused request must not change: the audit rows, the subjects, the operator accounts."""
    with open_store(db, create=False) as store:
        return (len(store.audit()), sorted(s.subject_id for s in store.subjects()),
                [(o.name, o.role, o.disabled) for o in store.operators()])


def b64png(seed: int) -> str:
    return base64.b64encode(encode_png(drawn(seed))).decode("ascii")


def make_token(db: Path, payload: dict[str, object], *, signer: Path | None = None) -> str:
    """A session token in the service's format, signed by the database ``signer`` (default ``db``)."""
    text = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    with open_store(signer or db, create=False) as store:
        return f"{text}.{store.sign('session', text.encode('ascii'))}"


@pytest.fixture(scope="module")
def served(tmp_path_factory, certs) -> Iterator[tuple[Running, Path]]:
    with bank_server(tmp_path_factory.mktemp("hostile"), certs, app=AppOptions(max_body=MAX_BODY)) as served:
        yield served


@pytest.fixture
def http(served, certs) -> Iterator[httpx.Client]:
    with https(served[0].url, certs) as c:
        yield c


@pytest.fixture
def tom(http) -> dict[str, str]:
    return bearer(http.post("/v1/login", json={"name": "tom", "password": PASSWORDS["tom"]}).json()["token"])


def test_oversized_bodies_are_refused_with_413(http, served, tom):
    before = state(served[1])
    huge = {"subject_id": "mallory", "signatures": [{"image": "A" * MAX_BODY}]}
    r = http.post("/v1/enroll", json=huge, headers=tom)
    assert r.status_code == 413, r.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as soon as the limit is passed
        yield b'{"subject_id": "mallory", "signatures": [{"image": "'
        for _ in range(64):
            yield b"A" * 16384
        yield b'"}]}'

    r = http.post("/v1/enroll", content=chunks(), headers={**tom, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert state(served[1]) == before


def test_malformed_json_and_unknown_fields_are_refused(http, served, tom):
    before = state(served[1])
    r = http.post("/v1/enroll", content=b'{"subject_id": "mallory", "signatures": [', headers={
        **tom, "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["type"] == "InvalidInput"
    for smuggled in ({"threshold": 0.99}, {"models_dir": "/tmp/evil"}, {"model_id": "other"}):
        body = {"subject_id": "alice", "signature": {"image": b64png(1)}, **smuggled}
        r = http.post("/v1/verify", json=body, headers=tom)
        assert r.status_code == 422, (smuggled, r.text)
        assert list(smuggled)[0] in r.json()["error"]
    r = http.post("/v1/verify", json={"subject_id": "alice", "signature": {"image": "not base64!"}}, headers=tom)
    assert r.status_code == 422
    r = http.post("/v1/verify", json={"subject_id": "alice", "signature": {"image": b64png(1), "strokes": "[]"}},
                  headers=tom)
    assert r.status_code == 422
    assert state(served[1]) == before


def test_wrong_content_types_are_refused_with_415(http, served, tom):
    before = state(served[1])
    body = json.dumps({"subject_id": "mallory", "signatures": [{"image": b64png(2)}] * 2}).encode()
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {**tom, **({"Content-Type": media} if media else {})}
        r = http.post("/v1/enroll", content=body, headers=headers)
        assert r.status_code == 415, (media, r.text)
    assert state(served[1]) == before


def test_expired_forged_and_foreign_tokens_are_refused_with_401(http, served, tmp_path):
    db = served[1]
    before = state(db)
    other = make_bank(tmp_path / "other.db")
    now = int(time.time())
    good = make_token(db, {"op": "tom", "exp": now + 600, "nonce": "00"})
    head, _, tag = good.partition(".")
    tampered_text = base64.urlsafe_b64encode(json.dumps({"op": "root", "exp": now + 600, "nonce": "00"},
                                                        separators=(",", ":")).encode()).decode().rstrip("=")
    tokens = {
        "expired": make_token(db, {"op": "tom", "exp": now - 1, "nonce": "01"}),
        "forged": f"{tampered_text}.{tag}",  # tom's signature on a payload naming root
        "other database": make_token(db, {"op": "tom", "exp": now + 600, "nonce": "02"}, signer=other),
        "garbage": "not-a-token",
    }
    verify = {"subject_id": "alice", "signature": {"image": b64png(3)}}
    assert http.post("/v1/verify", json=verify, headers=bearer(good)).status_code == 200  # the format is right
    after_good = state(db)
    for what, token in tokens.items():
        for method, path, body in (("POST", "/v1/verify", verify), ("GET", "/v1/operators", None),
                                   ("POST", "/v1/subjects/erase", {"subject_id": "alice"})):
            r = http.request(method, path, json=body, headers=bearer(token))
            assert r.status_code == 401, (what, path, r.text)
    assert http.post("/v1/verify", json=verify).status_code == 401  # no token at all
    assert http.post("/v1/verify", json=verify, headers={"Authorization": f"Basic {good}"}).status_code == 401
    assert state(db) == after_good and after_good[1:] == before[1:]


def test_a_teller_token_on_admin_endpoints_is_refused_with_403(http, served, tom):
    before = state(served[1])
    for method, path, body in (("GET", "/v1/operators", None),
                               ("POST", "/v1/operators", {"name": "eve", "role": "admin", "password": "pw-eve-123456"}),
                               ("PATCH", "/v1/operators/tom", {"role": "admin"}),
                               ("GET", "/v1/audit", None),
                               ("POST", "/v1/audit/verify", {}),
                               ("POST", "/v1/subjects/erase", {"subject_id": "alice"}),
                               ("POST", "/v1/referrals/1/resolve", {"accept": True})):
        r = http.request(method, path, json=body, headers=tom)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["type"] == "AccessDenied"
    assert state(served[1]) == before


def test_a_thousand_rapid_failed_logins_are_rate_limited(tmp_path, certs):
    """1,000 wrong passwords for one operator, then 100 for made-up names from the same address: after the limit
    each is refused with 429 and Retry-After, without checking the password or writing a row; each limit that
    trips is audited once (login_failed, rate-limited). The right password is refused while the limit holds."""
    db = make_bank(tmp_path / "bank.db")
    limits = LoginLimits(per_address=20, per_name=10, window_s=3600)  # no failure ages out on a slow machine
    run = start_server(db, certs, app=AppOptions(login_limits=limits))
    try:
        with https(run.url, certs) as http:
            rows_before = state(db)[0]
            codes = Counter(http.post("/v1/login", json={"name": "tom", "password": f"guess-{i}"}).status_code
                            for i in range(1000))
            assert codes == {401: 10, 429: 990}
            refused = http.post("/v1/login", json={"name": "tom", "password": PASSWORDS["tom"]})
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            codes = Counter(http.post("/v1/login", json={"name": f"user{i}", "password": "x"}).status_code
                            for i in range(100))
            assert codes == {401: 10, 429: 90}  # the address's limit (20) is reached after 10 more failures
    finally:
        run.stop()
    with open_store(db, create=False) as store:
        new = store.audit()[rows_before:]
    assert Counter((e.event, e.decision) for e in new if e.decision == "rate-limited") == \
        {("login_failed", "rate-limited"): 2}  # one per limit tripped: the name's, then the address's
    assert len(new) == 20 + 2  # the 20 passwords checked (each audited by the store) and the 2 limits
