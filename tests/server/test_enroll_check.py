"""POST /v1/enroll/check: the enrollment consistency check run by the server's models (real HTTPS, uvicorn, ONNX
models, CEDAR scans and AT&T faces): the answer is the in-process ``Biometrix.check_references`` on the same images,
a teller may check, nothing is written, and a request without a token or with an unknown field is refused."""

from __future__ import annotations

import base64
import sqlite3
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.files import decode_gray, encode_png
from biometrix.client import RemoteBiometrix
from biometrix.core.errors import AccessDenied, BiometrixError, InvalidInput, NotOnServer
from tests.server.conftest import PASSWORDS, bearer, https

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CEDAR_ZIP = DATA / "cedar" / "cedar_signatures_half.zip"
ATT_ZIP = DATA / "att_faces" / "att_faces.zip"


def _zip(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        pytest.skip(f"{path} is absent (the shared data sets live in ../shared/data beside the repository)")
    return zipfile.ZipFile(path)


def cedar_references() -> list[np.ndarray]:
    """Held-out CEDAR signer 47's genuine scans 1-4 and, fifth, signer 50's genuine scan 1 (another person)."""
    with _zip(CEDAR_ZIP) as zf:
        names = [f"CEDAR_half/full_org/original_47_{n}.png" for n in (1, 2, 3, 4)]
        names.append("CEDAR_half/full_org/original_50_1.png")
        return [decode_gray(zf.read(n), name=n) for n in names]


def att_faces() -> list[np.ndarray]:
    """AT&T subject 1's photos 1, 2, 4, 5 and, fifth, subject 2's photo 1, as RGB."""
    with _zip(ATT_ZIP) as zf:
        out = []
        for subject, n in ((1, 1), (1, 2), (1, 4), (1, 5), (2, 1)):
            gray = cv2.imdecode(np.frombuffer(zf.read(f"att_faces/s{subject}/{n}.pgm"), np.uint8),
                                cv2.IMREAD_GRAYSCALE)
            out.append(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))
        return out


def audit_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0])


@pytest.mark.parametrize("modality", ["signatures", "faces"])
def test_the_servers_check_is_the_in_process_one_and_writes_nothing(running, certs, bank, modality):
    refs = cedar_references() if modality == "signatures" else att_faces()
    with Biometrix(bank) as local:
        with pytest.raises(AccessDenied):  # nobody logged in: whoever may enroll may check, nobody else
            local.check_references(**{modality: refs})
        local.login("tom", PASSWORDS["tom"])
        oracle = local.check_references(**{modality: refs})
    with RemoteBiometrix(running.url, ca_file=certs.ca) as bx:
        bx.login("tom", PASSWORDS["tom"])  # a teller: whoever may enroll may check (the login is audited)
        before = audit_rows(bank)
        over_https = bx.check_references(**{modality: refs})
    assert over_https == oracle  # the same frozen ReferenceCheck values, field by field
    assert [c.index for c in over_https] == [0, 1, 2, 3, 4]
    assert audit_rows(bank) == before  # a check is not a decision: no audit row, nothing enrolled
    if modality == "signatures":  # another signer's scan as the fifth reference is the outlier, and only it
        assert [c.index for c in over_https if c.flagged] == [4]
        assert "above" in over_https[4].reason


def test_the_endpoint_refuses_no_token_unknown_fields_and_too_few_references(running, certs):
    sample = {"image": base64.b64encode(encode_png(np.full((60, 160), 255, np.uint8))).decode("ascii")}
    with https(running.url, certs) as client:
        token = client.post("/v1/login", json={"name": "tom", "password": PASSWORDS["tom"]}).json()["token"]
        no_token = client.post("/v1/enroll/check", json={"signatures": [sample] * 3})
        forged = client.post("/v1/enroll/check", json={"signatures": [sample] * 3}, headers=bearer("x" * 40))
        extra = client.post("/v1/enroll/check", json={"signatures": [sample] * 3, "threshold": 9.0},
                            headers=bearer(token))
        two = client.post("/v1/enroll/check", json={"signatures": [sample] * 2}, headers=bearer(token))
        both = client.post("/v1/enroll/check", json={"signatures": [sample] * 3, "faces": [sample] * 3},
                           headers=bearer(token))
    assert (no_token.status_code, forged.status_code) == (401, 401)
    assert extra.status_code == 422 and "threshold" in extra.json()["error"]
    assert two.status_code == 422 and "3 or more signatures" in two.json()["error"]
    assert both.status_code == 422 and "one modality" in both.json()["error"]
    with RemoteBiometrix(running.url, ca_file=certs.ca) as bx, pytest.raises(InvalidInput, match="3 or more"):
        bx.login("tom", PASSWORDS["tom"])
        bx.check_references(signatures=[np.full((60, 160), 255, np.uint8)] * 2)
    with RemoteBiometrix(running.url, ca_file=certs.ca) as bx, pytest.raises(NotOnServer, match="kiosk_liveness .off."):
        bx.start_liveness()  # the kiosk's liveness challenge needs the face model here: one line, no decision


def test_a_face_the_server_cannot_use_is_one_line_and_nothing_enrolled(running, certs):
    """A counter has no face detector (its preview says the server checks the face): a photo without a face is
    refused by the server, for the check and for the enrollment, with one line naming it, and nothing is written."""
    blank = np.full((112, 92, 3), 200, np.uint8)
    with RemoteBiometrix(running.url, ca_file=certs.ca) as bx:
        bx.login("tom", PASSWORDS["tom"])
        with pytest.raises(BiometrixError) as checked:
            bx.check_references(faces=[blank] * 3)
        with pytest.raises(BiometrixError) as enrolled:
            bx.enroll("no-face", faces=[blank])
        assert bx.subjects("no-face") == []
    for err in (checked.value, enrolled.value):
        assert "\n" not in str(err) and "face 1 of" in str(err) and "no face was found" in str(err)
