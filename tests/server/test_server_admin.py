"""The rest of the API over real HTTPS, each checked against the database afterwards: enrollment, subjects and
search, referral resolution, erasure, the audit log and its check, operators (and a disabled operator's token)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.files import encode_png
from biometrix.store import open_store
from tests.server.conftest import PASSWORDS, Running, bank_server, bearer, https
from tests.test_access_control import drawn, redrawn


def png(img: np.ndarray) -> dict[str, str]:
    return {"image": base64.b64encode(encode_png(img)).decode("ascii")}


def referred() -> np.ndarray:
    """alice's first signature drawn with a much thicker pen: referred under a Refer band of half the threshold."""
    return cv2.erode(drawn(0), np.ones((7, 7), np.uint8))


def _refer_band(db: Path) -> None:
    with Biometrix(db) as bx:
        bx.login("root", PASSWORDS["root"])
        bx.set_policy(refer_band=0.5, three_zone=False)  # a scan's Refer by the band, not the card's zones


@pytest.fixture(scope="module")
def served(tmp_path_factory, certs) -> Iterator[tuple[Running, Path]]:
    with bank_server(tmp_path_factory.mktemp("admin"), certs, prepare=_refer_band) as served:
        yield served


@pytest.fixture
def http(served, certs) -> Iterator[httpx.Client]:
    with https(served[0].url, certs) as c:
        yield c


def token(http: httpx.Client, name: str, password: str | None = None) -> dict[str, str]:
    r = http.post("/v1/login", json={"name": name, "password": password or PASSWORDS[name]})
    assert r.status_code == 200, r.text
    return bearer(r.json()["token"])


def test_enroll_then_subjects_search_and_verify(http, served):
    tom = token(http, "tom")
    r = http.post("/v1/enroll", json={"subject_id": "bob", "display_name": "Bob Builder",
                                      "signatures": [png(drawn(40 + i)) for i in range(3)]}, headers=tom)
    assert r.status_code == 200, r.text
    assert r.json()["templates"][0]["n_references"] == 3
    again = http.post("/v1/enroll", json={"subject_id": "bob", "signatures": [png(drawn(41))] * 2}, headers=tom)
    assert again.status_code == 409, again.text  # already enrolled, and nothing replaced
    with open_store(served[1], create=False) as store:
        assert "bob" in {s.subject_id for s in store.subjects()}
        assert store.audit(event="enroll")[-1].details["operator"] == "tom"
    listed = http.get("/v1/subjects", headers=tom).json()
    assert {"alice", "bob"} <= {s["subject_id"] for s in listed}
    found = http.get("/v1/subjects", params={"query": "Builder"}, headers=tom).json()
    assert [s["subject_id"] for s in found] == ["bob"] and found[0]["display_name"] == "Bob Builder"
    d = http.post("/v1/verify", json={"subject_id": "bob", "signature": png(redrawn(40))}, headers=tom).json()
    assert d["label"] == "Accept"
    missing = http.post("/v1/verify", json={"subject_id": "nobody", "signature": png(drawn(1))}, headers=tom)
    assert missing.status_code == 404 and missing.json()["type"] == "NotEnrolled"


def test_pen_strokes_travel_as_stroke_json(http):
    from biometrix.capture.pen import PenPoint, Stroke, strokes_to_json

    rng = np.random.default_rng(3)
    strokes = [Stroke(points=tuple(PenPoint(float(x), float(y), 0.5, 10.0 * t) for t, (x, y) in
                                   enumerate(np.cumsum(rng.normal(0, 4, size=(60, 2)), axis=0) + 50)))]
    sample = {"strokes": strokes_to_json(strokes)}
    r = http.post("/v1/identify", json={"signature": sample}, headers=token(http, "tom"))
    assert r.status_code in (200, 422), r.text  # decided, or refused as unreadable pen data: never a 5xx
    bad = http.post("/v1/identify", json={"signature": {"strokes": "[1, 2"}}, headers=token(http, "tom"))
    assert bad.status_code == 422 and bad.json()["type"] == "InvalidInput"


def test_a_supervisor_resolves_a_referral_once(http, served):
    tom, sue = token(http, "tom"), token(http, "sue")
    d = http.post("/v1/verify", json={"subject_id": "alice", "signature": png(referred())}, headers=tom).json()
    assert d["label"] == "Refer" and d["accepted"] is False
    row = http.get("/v1/audit", params={"event": "verify", "limit": 1}, headers=sue).json()[-1]
    assert row["decision"] == "refer"
    assert http.post(f"/v1/referrals/{row['event_id']}/resolve", json={"accept": True}, headers=tom).status_code == 403
    ok = http.post(f"/v1/referrals/{row['event_id']}/resolve", json={"accept": True, "note": "ID card seen"},
                   headers=sue)
    assert ok.status_code == 200, ok.text
    with open_store(served[1], create=False) as store:
        settled = store.audit_entry(ok.json()["audit_row"])
    assert settled.event == "resolve" and settled.details["refers_to"] == row["event_id"]
    twice = http.post(f"/v1/referrals/{row['event_id']}/resolve", json={"accept": False}, headers=sue)
    assert twice.status_code == 422


def test_erasure_audit_check_and_operators(http, served):
    tom, sue, root = token(http, "tom"), token(http, "sue"), token(http, "root")
    http.post("/v1/enroll", json={"subject_id": "carol", "signatures": [png(drawn(60 + i)) for i in range(3)]},
              headers=tom).raise_for_status()
    assert http.post("/v1/subjects/erase", json={"subject_id": "carol"}, headers=tom).status_code == 403
    erased = http.post("/v1/subjects/erase", json={"subject_id": "carol"}, headers=sue)
    assert erased.status_code == 200 and erased.json()["pseudonym"] != "carol"
    with open_store(served[1], create=False) as store:
        assert "carol" not in {s.subject_id for s in store.subjects()}
        expected = store.verify_audit()
    check = http.post("/v1/audit/verify", json={}, headers=sue).json()
    assert check["ok"] is True and check["n_rows"] >= expected.n_rows and not check["problems"]
    names = {o["name"]: o["role"] for o in http.get("/v1/operators", headers=root).json()}
    assert names == {"root": "admin", "sue": "supervisor", "tom": "teller"}
    added = http.post("/v1/operators", json={"name": "tim", "role": "teller", "password": "teller-pw-tim-4"},
                      headers=root)
    assert added.status_code == 200, added.text
    tim = token(http, "tim", "teller-pw-tim-4")
    assert http.get("/v1/session", headers=tim).json() == {"operator": "tim", "role": "teller"}
    assert http.patch("/v1/operators/tim", json={"disabled": True}, headers=root).status_code == 200
    refused = http.post("/v1/verify", json={"subject_id": "alice", "signature": png(drawn(1))}, headers=tim)
    assert refused.status_code == 401, refused.text  # the disabled account's token no longer acts
    with open_store(served[1], create=False) as store:
        assert next(o for o in store.operators() if o.name == "tim").disabled
