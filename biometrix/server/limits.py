"""What a request is refused for before any use case runs: its size (413), its content type (415), and failed
logins too many and too fast from one address or for one operator name (429)."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Methods whose body must be JSON.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed within ``window_s`` seconds from one client address and for one operator name; the
    next attempt is refused (429, Retry-After) until the oldest failure leaves the window. ``max_keys`` bounds the
    memory the limiter holds (the least recently failing keys are forgotten first)."""

    per_address: int = 20
    per_name: int = 10
    window_s: float = 60.0
    max_keys: int = 10_000


@dataclass(frozen=True)
class Refusal:
    """A rate-limited login: which key tripped (``scope`` "address" or "operator"), the failures counted in the
    window, how long to wait, and whether this is the first refusal of that key in its window (the one audited)."""

    scope: str
    failures: int
    retry_after_s: int
    first: bool


class LoginLimiter:
    """Sliding-window counts of failed logins per client address and per operator name, in this process's memory
    (N servers behind a load balancer each allow the limit: the operator's lockout in the database is shared)."""

    def __init__(self, limits: LoginLimits | None = None) -> None:
        self.limits = limits or LoginLimits()
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._audited: dict[tuple[str, str], float] = {}

    def check(self, address: str, name: str) -> Refusal | None:
        """None when a login may be tried now; else the Refusal."""
        now = time.monotonic()
        with self._lock:
            for scope, key, limit in (("address", address, self.limits.per_address),
                                      ("operator", name, self.limits.per_name)):
                times = self._recent((scope, key), now)
                if len(times) >= limit:
                    wait = max(1, int(times[0] + self.limits.window_s - now + 0.999))
                    audited_until = self._audited.get((scope, key), 0.0)
                    first = audited_until <= now
                    if first:
                        self._audited[(scope, key)] = times[0] + self.limits.window_s
                    return Refusal(scope=scope, failures=len(times), retry_after_s=wait, first=first)
        return None

    def failed(self, address: str, name: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (("address", address), ("operator", name)):
                times = self._recent(key, now)
                times.append(now)
                self._failures[key] = times
                self._failures.move_to_end(key)
            while len(self._failures) > self.limits.max_keys:
                old, _ = self._failures.popitem(last=False)
                self._audited.pop(old, None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.limits.window_s:
            times.popleft()
        return times


class RequestGuard:
    """ASGI middleware: a body over ``max_body`` bytes is refused with 413 (by its Content-Length, or as soon as
    more arrives), a POST/PUT/PATCH whose Content-Type is not JSON with 415; in both cases before the application
    sees the request, so nothing is written. The body is buffered (at most ``max_body``) and replayed."""

    def __init__(self, app: ASGIApp, *, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            await _refuse(send, 415, f"the body must be JSON (Content-Type: application/json), got {media or 'none'}")
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _drain(receive)
            await _refuse(send, 413, f"the body is larger than this server accepts ({self.max_body} bytes)")
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                if message.get("more_body", False):
                    await _drain(receive)
                await _refuse(send, 413, f"the body is larger than this server accepts ({self.max_body} bytes)")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _drain(receive: Receive, *, seconds: float = 2.0, limit: int = 256 * 1024 * 1024) -> None:
    """Read and drop what the client still sends of a refused body (at most ``limit`` bytes, for ``seconds``) before
    answering, so that closing the connection does not reset it before the client reads the answer (a client sends
    its whole body before reading); nothing is kept."""
    import anyio

    dropped = 0
    with anyio.move_on_after(seconds):
        while dropped < limit:
            message = await receive()
            dropped += len(message.get("body", b""))
            if message["type"] != "http.request" or not message.get("more_body", False):
                return


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "type": "RequestRefused"}).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
