"""``RemoteBiometrix``: the use cases of ``Biometrix`` over HTTPS to a biometrix server, returning the same core
types. It holds a session token, never a database, a key, a model or a threshold; an unreachable server is one
ServerUnavailable and no decision (there is no local fallback)."""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import httpx
import numpy as np

from biometrix.client import wire
from biometrix.core.consistency import ReferenceCheck
from biometrix.core.errors import AccessDenied, InvalidInput, NotOnServer, ServerUnavailable
from biometrix.core.records import AuditCheck, AuditEntry, OperatorInfo, StoredSample, SubjectInfo
from biometrix.core.roles import Operator, Role
from biometrix.core.types import Candidate, Decision, Modality, SubjectId, Threshold

log = logging.getLogger("biometrix.client")

#: The header in which the server renews the session token with each answer.
TOKEN_HEADER = "X-Biometrix-Token"


class RemoteBiometrix:
    """The service's use cases on a biometrix server at ``url`` (https://host:port).

    TLS is verified against the system's CAs, or against ``ca_file`` only (the bank's CA) when given; plain
    ``http://`` is refused unless the host is a loopback address (tests). Every call needs ``login`` (or ``resume``
    with a token) first; the server renews the token with each answer (``session_token``). Safe to share between
    threads (one token, updated under a lock).

    >>> bx = RemoteBiometrix("https://biometrix.bank.example:8443", ca_file="bank-ca.pem")  # doctest: +SKIP
    >>> bx.login("tom", password)                                                            # doctest: +SKIP
    >>> bx.verify("alice", signature="probe.png").label                                      # doctest: +SKIP
    """

    def __init__(self, url: str, *, ca_file: str | os.PathLike[str] | None = None, timeout: float = 60.0) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("https", "http") or not parsed.host:
            raise InvalidInput(f"the server must be an https:// URL, got {url!r}")
        if parsed.scheme == "http" and parsed.host not in ("127.0.0.1", "localhost", "::1"):
            raise InvalidInput(f"the server must be reached over https://, not plain http ({url})")
        if ca_file is not None and not Path(ca_file).is_file():
            raise InvalidInput(f"no such CA file: {ca_file}")
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=os.fspath(ca_file)) if ca_file else True
        self.url = str(parsed).rstrip("/")
        self.location = wire.ServerLocation(path=self.url)
        self._http = httpx.Client(base_url=self.url, verify=verify, timeout=timeout)
        self._lock = threading.Lock()
        self._token: str | None = None
        self._operator: Operator | None = None

    # --- session -------------------------------------------------------------------------------------

    @property
    def operator(self) -> Operator | None:
        return self._operator

    def open(self) -> None:
        """Check that the server answers (ServerUnavailable otherwise)."""
        self._call("GET", "/v1/health", auth=False)

    def access_control(self) -> bool:
        return True  # a server refuses to serve a database without operators

    def login(self, name: str, password: str) -> Operator:
        body = self._call("POST", "/v1/login", json={"name": name, "password": password}, auth=False)
        with self._lock:
            self._token = body["token"]
            self._operator = Operator(body["operator"], Role(body["role"]))
        return self._operator

    def session_token(self) -> str:
        if self._token is None:
            raise AccessDenied("log in first: a session token is issued to a logged-in operator")
        return self._token

    def resume(self, token: str) -> Operator:
        with self._lock:
            self._token, self._operator = token, None
        try:
            body = self._call("GET", "/v1/session")
        except AccessDenied:
            with self._lock:
                self._token = None
            raise
        with self._lock:
            self._operator = Operator(body["operator"], Role(body["role"]))
        return self._operator

    def logout(self) -> None:
        if self._token is not None:
            try:
                self._call("POST", "/v1/logout")
            except (AccessDenied, ServerUnavailable) as err:
                log.info("logout: %s", err)
        with self._lock:
            self._token, self._operator = None, None

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RemoteBiometrix:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- use cases -----------------------------------------------------------------------------------

    def enroll(self, subject_id: str, *, signatures: Sequence[Any] | None = None, faces: Sequence[Any] | None = None,
               display_name: str | None = None, replace: bool = False) -> list[wire.EnrolledTemplate]:
        body: dict[str, Any] = {"subject_id": subject_id, "display_name": display_name, "replace": replace}
        if signatures is not None:
            body["signatures"] = [wire.signature_sample(s) for s in _many(signatures, "signature")]
        if faces is not None:
            body["faces"] = [wire.face_sample(s) for s in _many(faces, "face")]
        answer = self._call("POST", "/v1/enroll", json=body)
        return [wire.EnrolledTemplate(subject_id=SubjectId(answer["subject_id"]), modality=Modality(t["modality"]),
                                      model_id=t["model_id"], n_references=int(t["n_references"]))
                for t in answer["templates"]]

    def check_references(self, *, signatures: Sequence[Any] | None = None,
                         faces: Sequence[Any] | None = None) -> list[ReferenceCheck]:
        """Which of 3 or more candidate references of one modality does not look like the others, checked by the
        server's model (``Biometrix.check_references``); nothing is written."""
        if (signatures is None) == (faces is None):
            raise InvalidInput("check the references of one modality: give signatures or faces, not both")
        use = "the consistency check"
        body = ({"signatures": [wire.signature_sample(s) for s in _many(signatures, "signature", use=use)]}
                if signatures is not None else {"faces": [wire.face_sample(s) for s in _many(faces, "face", use=use)]})
        return [wire.reference_check_of(c) for c in self._call("POST", "/v1/enroll/check", json=body)["checks"]]

    def verify(self, subject_id: str, *, signature: Any = None, face: Any = None) -> Decision:
        body = {"subject_id": subject_id, **_probe(signature, face)}
        return wire.decision_of(self._call("POST", "/v1/verify", json=body))

    def identify(self, *, signature: Any = None, face: Any = None, top_k: int = 5) -> list[Candidate]:
        answer = self._call("POST", "/v1/identify", json={**_probe(signature, face), "top_k": top_k})
        return [wire.candidate_of(c) for c in answer["candidates"]]

    def threshold(self, modality: Modality = Modality.SIGNATURE, *, capture: str | None = None) -> Threshold:
        params = {"modality": Modality(modality).value, **({"capture": capture} if capture else {})}
        return wire.threshold_of(self._call("GET", "/v1/threshold", params=params))

    def identify_threshold(self, modality: Modality = Modality.SIGNATURE, *, capture: str | None = None) -> Threshold:
        """The threshold a 1:N candidate must be at or below (``Candidate.below_threshold``), as the server's
        policy says (under three zones the card's accept threshold)."""
        params = {"modality": Modality(modality).value, "identify": "true", **({"capture": capture} if capture else {})}
        return wire.threshold_of(self._call("GET", "/v1/threshold", params=params))

    def resolve(self, event_id: int, *, accept: bool, note: str = "") -> int:
        answer = self._call("POST", f"/v1/referrals/{int(event_id)}/resolve", json={"accept": accept, "note": note})
        return int(answer["audit_row"])

    def subjects(self, query: str | None = None) -> list[SubjectInfo]:
        rows = self._call("GET", "/v1/subjects", params={"query": query} if query else None)
        return [wire.subject_of(r) for r in rows]

    def samples(self, subject_id: str, *, modality: Modality) -> list[StoredSample]:
        """The subject's enrolled raw samples (to show the references beside a decision)."""
        rows = self._call("GET", f"/v1/subjects/{_segment(subject_id)}/samples",
                          params={"modality": Modality(modality).value})
        return [wire.sample_of(r) for r in rows]

    def erase(self, subject_id: str) -> str:
        return str(self._call("POST", "/v1/subjects/erase", json={"subject_id": subject_id})["pseudonym"])

    def audit(self, *, subject_id: str | None = None, event: str | None = None,
              limit: int | None = None) -> list[AuditEntry]:
        params = {k: v for k, v in (("subject_id", subject_id), ("event", event), ("limit", limit)) if v is not None}
        return [wire.audit_entry_of(r) for r in self._call("GET", "/v1/audit", params=params)]

    def verify_audit(self, *, expect_head: str | None = None, anchor_file: Any = None) -> AuditCheck:
        if anchor_file is not None:
            raise NotOnServer("the audit anchor file is the server's: check it on the server ('biometrix audit "
                              "verify --anchor-file' there)")
        return wire.audit_check_of(self._call("POST", "/v1/audit/verify", json={"expect_head": expect_head}))

    def start_liveness(self, **_options: Any) -> NoReturn:
        """The kiosk's liveness challenge follows landmarks frame by frame with the face model, which a client
        does not hold: refused in one line naming the setting, before any decision."""
        raise NotOnServer("the liveness challenge runs only on a kiosk with its own database for now: a kiosk "
                          "connected to a server needs kiosk_liveness 'off' (docs/deploy.md)")

    def operators(self) -> list[OperatorInfo]:
        return [wire.operator_of(r) for r in self._call("GET", "/v1/operators")]

    def add_operator(self, name: str, role: Role | str, password: str) -> None:
        self._call("POST", "/v1/operators", json={"name": name, "role": Role(role).value, "password": password})

    def update_operator(self, name: str, *, role: Role | str | None = None, password: str | None = None,
                        disabled: bool | None = None, unlock: bool = False) -> None:
        body = {"role": None if role is None else Role(role).value, "password": password, "disabled": disabled,
                "unlock": unlock}
        self._call("PATCH", f"/v1/operators/{_segment(name)}", json=body)

    def capture_face(self, camera: int | str | os.PathLike[str], *, max_frames: int = 60) -> np.ndarray:
        """A frame of ``camera`` for the server to decide on (the face checks are the server's: the client has no
        detector); the 10th frame, once the camera's exposure has settled, or the last one of a shorter video."""
        from biometrix.capture.camera import grab_frame

        return grab_frame(camera, skip=min(9, max_frames - 1))

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotOnServer(f"'{name}' is not available from a counter connected to a server: models, policy, backups "
                          "and keys are managed on the server's database")

    # --- the wire ------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: Any = None, params: Any = None, auth: bool = True) -> Any:
        headers = {}
        if auth:
            headers["Authorization"] = f"Bearer {self.session_token()}"
        try:
            r = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as err:
            raise ServerUnavailable(_unreachable(self.url, err)) from None
        renewed = r.headers.get(TOKEN_HEADER)
        if renewed and auth:
            with self._lock:
                self._token = renewed
        if r.is_success:
            return r.json()
        try:
            body = r.json()
        except ValueError:
            body = None
        retry = r.headers.get("Retry-After")
        raise wire.error_of(r.status_code, body, retry_after=float(retry) if retry and retry.isdigit() else None)


def _probe(signature: Any, face: Any) -> dict[str, Any]:
    if (signature is None) == (face is None):
        raise InvalidInput("give exactly one probe: a signature or a face")
    return {"signature": wire.signature_sample(signature)} if signature is not None else \
        {"face": wire.face_sample(face)}


def _many(samples: Any, what: str, *, use: str = "enroll") -> Sequence[Any]:
    if isinstance(samples, (str, os.PathLike, np.ndarray)) or not samples:
        raise InvalidInput(f"{use} needs a list of one or more {what}s")
    return list(samples)


def _segment(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


def _unreachable(url: str, err: httpx.HTTPError) -> str:
    """One line saying why the server did not answer."""
    text = " ".join(str(err).split()) or type(err).__name__
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return (f"the server at {url} presented a TLS certificate this counter does not trust ({text}); give the "
                "bank's CA file (--ca-file)")
    if isinstance(err, httpx.TimeoutException):
        return f"the server at {url} did not answer in time ({type(err).__name__}); no decision was made"
    return f"cannot reach the biometrix server at {url}: {text}; no decision was made"
