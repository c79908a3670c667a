"""The routes: FastAPI over one shared ``Biometrix``. Each request acts for the operator of its bearer token
(``Biometrix.request`` + ``resume``: signed by the database, 15 minutes); roles, lockout and every decision are the
service's, so the server trusts nothing a client claims. Errors are ``{"error": one line, "type": name}``."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from biometrix.capture.files import decode_gray, decode_rgb
from biometrix.capture.pen import strokes_from_json
from biometrix.core.errors import (
    AccessDenied,
    AlreadyEnrolled,
    BiometrixError,
    InvalidInput,
    KeyUnavailable,
    LoginFailed,
    NotEnrolled,
    SchemaTooNew,
    StoreError,
    TamperDetected,
    WrongKey,
)
from biometrix.core.types import Modality
from biometrix.server.limits import LoginLimiter, LoginLimits, RequestGuard
from biometrix.server.schemas import (
    AuditVerifyIn,
    CheckIn,
    EnrollIn,
    EraseIn,
    IdentifyIn,
    LoginIn,
    OperatorChange,
    OperatorIn,
    ResolveIn,
    Sample,
    VerifyIn,
    candidate_json,
    decision_json,
    iso,
    threshold_json,
)
from biometrix.service import SESSION_TTL_S, Biometrix, SignatureInput, signature_capture

log = logging.getLogger("biometrix.server")

#: The response header carrying a renewed session token after each authenticated request.
TOKEN_HEADER = "X-Biometrix-Token"
#: Seconds a client is told to wait before retrying when the database does not answer (503).
RETRY_AFTER_S = 5


#: The bearer token of a request (``Authorization: Bearer TOKEN``).
Auth = Annotated[str | None, Header(alias="Authorization")]


@dataclass(frozen=True)
class AppOptions:
    """What the routes need besides the service: the body limit (bytes) and the login rate limits."""

    max_body: int = 32 * 1024 * 1024
    login_limits: LoginLimits = field(default_factory=LoginLimits)


class TokenRefused(AccessDenied):
    """No bearer token, or one the database did not issue, expired or of a disabled account (401)."""


def status_of(err: BiometrixError) -> int:
    """The HTTP status of a service error."""
    if isinstance(err, (TokenRefused, LoginFailed)):
        return 401
    if isinstance(err, AccessDenied):
        return 403
    if isinstance(err, InvalidInput):
        return 422
    if isinstance(err, NotEnrolled):
        return 404
    if isinstance(err, AlreadyEnrolled):
        return 409
    if isinstance(err, (TamperDetected, WrongKey, KeyUnavailable, SchemaTooNew)):
        return 500  # the server's own database or key is wrong: not the client's to retry
    if isinstance(err, StoreError):
        return 503  # the database does not answer (restarting, failing over): retry
    return 400


def create_app(core: Biometrix, options: AppOptions | None = None) -> Any:
    """The ASGI application serving ``core`` (opened and warmed up by the caller, closed by it)."""
    opts = options or AppOptions()
    limiter = LoginLimiter(opts.login_limits)
    app = FastAPI(title="biometrix", version="1", docs_url="/docs", redoc_url=None,
                  description="Signature and face enrollment, verification and identification. Log in "
                              "(POST /v1/login) for a session token; send it as 'Authorization: Bearer TOKEN'. "
                              f"Every answer to an authenticated request renews it in the {TOKEN_HEADER} header.")
    app.add_middleware(RequestGuard, max_body=opts.max_body)

    @app.exception_handler(BiometrixError)
    def _service_error(request: Request, err: BiometrixError) -> JSONResponse:
        status = status_of(err)
        if status >= 500:
            log.warning("%s %s: %s: %s", request.method, request.url.path, type(err).__name__, err)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return JSONResponse({"error": " ".join(str(err).split()) or type(err).__name__, "type": type(err).__name__},
                            status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    def _bad_request(request: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        status = 400 if first.get("type") == "json_invalid" else 422
        text = f"{where}: {first.get('msg', 'invalid request')}" if where else str(first.get("msg", "invalid"))
        return JSONResponse({"error": text, "type": "InvalidInput"}, status_code=status)

    @contextmanager
    def acting(authorization: str | None, response: Response) -> Iterator[Biometrix]:
        """The shared service acting, for this request only, as the operator of its bearer token; the answer
        carries the token renewed."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenRefused("log in first: send 'Authorization: Bearer TOKEN' (POST /v1/login)")
        with core.request():
            try:
                core.resume(token.strip())
            except AccessDenied as err:
                raise TokenRefused(str(err)) from None
            yield core
            if core.operator is not None:
                response.headers[TOKEN_HEADER] = core.session_token()

    @app.get("/v1/health", tags=["probes"])
    def health() -> dict[str, str]:
        """Liveness: the process answers (the database is not asked)."""
        return {"status": "ok"}

    @app.get("/v1/ready", tags=["probes"])
    def ready() -> JSONResponse:
        """Readiness: the database answers and the models the database trusts are loaded."""
        try:
            models = core.readiness()
        except StoreError as err:
            return JSONResponse({"ready": False, "error": " ".join(str(err).split())}, status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_S)})
        missing = [m for m in app.state.warmed if not models.get(m)]
        return JSONResponse({"ready": not missing, "store": True, "models": models},
                            status_code=200 if not missing else 503)

    @app.post("/v1/login", tags=["session"])
    def login(body: LoginIn, request: Request) -> JSONResponse:
        """Check an operator's password (argon2id; lockout after repeated failures) for a session token."""
        address = request.client.host if request.client else "unknown"
        refusal = limiter.check(address, body.name)
        if refusal is not None:
            if refusal.first:  # one audit row per key and window, not one per refused attempt
                with core.request():
                    core.login_refused("rate-limited", details={"client": address, "scope": refusal.scope,
                                                                "failures": refusal.failures,
                                                                "window_s": limiter.limits.window_s})
            return JSONResponse({"error": f"too many failed logins from this {refusal.scope}: try again in "
                                          f"{refusal.retry_after_s} s", "type": "RateLimited"},
                                status_code=429, headers={"Retry-After": str(refusal.retry_after_s)})
        with core.request():
            try:
                who = core.login(body.name, body.password)
            except AccessDenied:
                limiter.failed(address, body.name)
                raise
            token = core.session_token()
        return JSONResponse({"token": token, "operator": who.name, "role": who.role.value,
                             "expires_in": SESSION_TTL_S})

    @app.get("/v1/session", tags=["session"])
    def session(response: Response, authorization: Auth = None) -> dict[str, Any]:
        """Who the token acts for (and the token renewed)."""
        with acting(authorization, response) as bx:
            who = bx.operator
        return {"operator": None if who is None else who.name, "role": None if who is None else who.role.value}

    @app.post("/v1/logout", tags=["session"])
    def logout(response: Response, authorization: Auth = None) -> dict[str, bool]:
        """Audit the logout (the token itself stays valid until it expires: keep it secret or let it lapse)."""
        with acting(authorization, response) as bx:
            bx.logout()
        return {"logged_out": True}

    @app.post("/v1/enroll", tags=["decisions"])
    def enroll(body: EnrollIn, response: Response, authorization: Auth = None) -> dict[str, Any]:
        """Enroll reference signatures and/or faces of one subject, in one transaction."""
        with acting(authorization, response) as bx:
            signatures = None if body.signatures is None else [_signature(s) for s in body.signatures]
            faces = None if body.faces is None else [_face(s) for s in body.faces]
            templates = bx.enroll(body.subject_id, display_name=body.display_name, replace=body.replace,
                                  signatures=signatures, faces=faces)
        return {"subject_id": templates[0].subject_id,
                "templates": [{"modality": t.modality.value, "model_id": t.model_id,
                               "n_references": t.n_references} for t in templates]}

    @app.post("/v1/enroll/check", tags=["decisions"])
    def enroll_check(body: CheckIn, response: Response, authorization: Auth = None) -> dict[str, Any]:
        """Before enrolling: which of 3 or more candidate references of one modality does not look like the others
        (one result per reference, in order). A check decides nothing: nothing is written or audited (teller)."""
        with acting(authorization, response) as bx:
            signatures = None if body.signatures is None else [_signature(s) for s in body.signatures]
            checks = bx.check_references(signatures=signatures,
                                         faces=None if body.faces is None else [_face(s) for s in body.faces])
        return {"checks": [{"index": c.index, "distance": c.distance, "robust_z": c.robust_z, "flagged": c.flagged,
                            "reason": c.reason} for c in checks]}

    @app.post("/v1/verify", tags=["decisions"])
    def verify(body: VerifyIn, response: Response, authorization: Auth = None) -> dict[str, Any]:
        """1:1: the decision of the database's policy for this probe and claimed subject (audited)."""
        with acting(authorization, response) as bx:
            signature = None if body.signature is None else _signature(body.signature)
            decision = bx.verify(body.subject_id, signature=signature,
                                 face=None if body.face is None else _face(body.face))
        return decision_json(decision)

    @app.post("/v1/identify", tags=["decisions"])
    def identify(body: IdentifyIn, response: Response, authorization: Auth = None) -> dict[str, Any]:
        """1:N: the top_k closest subjects, best first (audited), and the threshold they were compared with."""
        signature = None if body.signature is None else _signature(body.signature)
        with acting(authorization, response) as bx:
            candidates = bx.identify(signature=signature, face=None if body.face is None else _face(body.face),
                                     top_k=body.top_k)
            threshold = bx.identify_threshold(Modality.FACE) if signature is None else \
                bx.identify_threshold(Modality.SIGNATURE, capture=signature_capture(signature))
        return {"candidates": [candidate_json(c) for c in candidates], "threshold": threshold_json(threshold)}

    @app.get("/v1/threshold", tags=["decisions"])
    def threshold(response: Response, modality: Annotated[str, Query(pattern="^(signature|face)$")],
                  authorization: Auth = None,
                  capture: Annotated[str | None, Query(pattern="^(scan|pen)$")] = None,
                  identify: bool = False) -> dict[str, Any]:
        """The threshold in force for a modality (and a signature's capture) under the database's policy (any
        logged-in operator; as in-process, reading it needs no particular role); with ``identify``, the one a 1:N
        candidate must be at or below (under three zones the card's accept threshold)."""
        with acting(authorization, response) as bx:
            value = (bx.identify_threshold if identify else bx.threshold)(Modality(modality), capture=capture)
        return threshold_json(value)

    @app.post("/v1/referrals/{event_id}/resolve", tags=["administration"])
    def resolve(event_id: int, body: ResolveIn, response: Response, authorization: Auth = None) -> dict[str, int]:
        """A supervisor settles a referred verification (its audit row) as accepted or rejected."""
        with acting(authorization, response) as bx:
            row = bx.resolve(event_id, accept=body.accept, note=body.note)
        return {"event_id": event_id, "audit_row": row}

    @app.get("/v1/subjects", tags=["administration"])
    def subjects(response: Response, authorization: Auth = None,
                 query: Annotated[str | None, Query(max_length=256)] = None) -> list[dict[str, Any]]:
        """Enrolled subjects (whose id or display name contains ``query``), sorted by id."""
        with acting(authorization, response) as bx:
            rows = bx.subjects(query)
        return [{"subject_id": s.subject_id, "display_name": s.display_name, "created_at": iso(s.created_at),
                 "modalities": list(s.modalities)} for s in rows]

    @app.get("/v1/subjects/{subject_id}/samples", tags=["decisions"])
    def samples(subject_id: str, response: Response, modality: Annotated[str, Query(pattern="^(signature|face)$")],
                authorization: Auth = None) -> list[dict[str, Any]]:
        """The subject's enrolled raw samples of a modality (to show the references beside a decision; teller)."""
        with acting(authorization, response) as bx:
            rows = bx.samples(subject_id, modality=Modality(modality))
        return [{"sample_id": s.sample_id, "subject_id": s.subject_id, "modality": s.modality.value,
                 "media_type": s.media_type, "data": base64.b64encode(s.data).decode("ascii"), "meta": s.meta,
                 "created_at": iso(s.created_at)} for s in rows]

    @app.post("/v1/subjects/erase", tags=["administration"])
    def erase(body: EraseIn, response: Response, authorization: Auth = None) -> dict[str, str]:
        """Right to erasure (supervisor): the subject's samples, templates and record; returns the pseudonym."""
        with acting(authorization, response) as bx:
            pseudonym = bx.erase(body.subject_id)
        return {"pseudonym": pseudonym}

    @app.get("/v1/audit", tags=["administration"])
    def audit(response: Response, authorization: Auth = None,
              subject_id: Annotated[str | None, Query(max_length=256)] = None,
              event: Annotated[str | None, Query(max_length=32)] = None,
              limit: Annotated[int | None, Query(ge=0, le=100_000)] = None) -> list[dict[str, Any]]:
        """Audit rows, oldest first (``limit``: the most recent ones); supervisor."""
        with acting(authorization, response) as bx:
            rows = bx.audit(subject_id=subject_id, event=event, limit=limit)
        return [{"event_id": e.event_id, "at": iso(e.at), "event": e.event, "subject_id": e.subject_id,
                 "modality": None if e.modality is None else e.modality.value, "model_id": e.model_id,
                 "distance": e.distance, "threshold": e.threshold, "decision": e.decision,
                 "details": e.details} for e in rows]

    @app.post("/v1/audit/verify", tags=["administration"])
    def audit_verify(body: AuditVerifyIn, response: Response, authorization: Auth = None) -> dict[str, Any]:
        """Re-compute the audit log's hash chain, MACs and protected head (and find ``expect_head`` in it)."""
        with acting(authorization, response) as bx:
            check = bx.verify_audit(expect_head=body.expect_head)
        return {"ok": check.ok, "n_rows": check.n_rows, "head": check.head, "head_id": check.head_id,
                "keyed": check.keyed, "problems": [{"event_id": p.event_id, "kind": p.kind, "message": p.message}
                                                   for p in check.problems]}

    @app.get("/v1/operators", tags=["operators"])
    def operators(response: Response, authorization: Auth = None) -> list[dict[str, Any]]:
        """Operator accounts (admin); never a password hash."""
        with acting(authorization, response) as bx:
            rows = bx.operators()
        return [{"name": o.name, "role": o.role, "disabled": o.disabled, "locked_until": iso(o.locked_until),
                 "failed_logins": o.failed_logins, "created_at": iso(o.created_at)} for o in rows]

    @app.post("/v1/operators", tags=["operators"])
    def add_operator(body: OperatorIn, response: Response, authorization: Auth = None) -> dict[str, str]:
        """Create an operator (admin)."""
        with acting(authorization, response) as bx:
            bx.add_operator(body.name, body.role, body.password)
        return {"name": body.name, "role": body.role}

    @app.patch("/v1/operators/{name}", tags=["operators"])
    def update_operator(name: str, body: OperatorChange, response: Response,
                        authorization: Auth = None) -> dict[str, Any]:
        """Change an operator's role, password or disabled flag, or unlock it (admin)."""
        with acting(authorization, response) as bx:
            bx.update_operator(name, role=body.role, password=body.password, disabled=body.disabled,
                               unlock=body.unlock)
        return {"name": name, "changed": True}

    app.state.warmed = []
    return app


def _signature(sample: Sample) -> SignatureInput:
    if (sample.image is None) == (sample.strokes is None):
        raise InvalidInput("a signature sample is either 'image' (base64) or 'strokes' (stroke JSON)")
    if sample.strokes is not None:
        return strokes_from_json(sample.strokes, name="the signature's strokes")
    return decode_gray(sample.image_bytes(), name="the signature image")


def _face(sample: Sample) -> Any:
    if sample.strokes is not None:
        raise InvalidInput("a face is an image: give 'image', not 'strokes'")
    return decode_rgb(sample.image_bytes(), name="the face image")
