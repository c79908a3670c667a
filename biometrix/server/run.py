"""Starting the server: the service opened and warmed up once (models loaded, identification indexes built), then
uvicorn over TLS. Plain HTTP only where asked for, and only on a loopback address."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biometrix.core.errors import AccessDenied, InvalidInput
from biometrix.server.app import AppOptions, create_app
from biometrix.service import Biometrix

log = logging.getLogger("biometrix.server")


@dataclass(frozen=True)
class ServerOptions:
    """How ``biometrix server`` runs: the database (a file path or a postgresql:// URL), where it listens, its TLS
    certificate and key, and the limits of ``AppOptions``. ``insecure_http`` serves plain HTTP, refused unless
    ``host`` is a loopback address (tests; a TLS-terminating proxy on the same host)."""

    db: str | None
    host: str = "127.0.0.1"
    port: int = 8443
    certfile: Path | None = None
    keyfile: Path | None = None
    insecure_http: bool = False
    models_dir: Path | None = None
    prefer_gpu: bool = False
    key: Any = None
    app: AppOptions = field(default_factory=AppOptions)
    trusted_proxies: str | None = None
    access_log: bool = False


def check_transport(options: ServerOptions) -> None:
    """InvalidInput unless the server will speak TLS, or plain HTTP was asked for on a loopback address."""
    if options.certfile is None or options.keyfile is None:
        if options.certfile is not None or options.keyfile is not None:
            raise InvalidInput("TLS needs both --certfile and --keyfile")
        if not options.insecure_http:
            raise InvalidInput("the server speaks HTTPS only: give --certfile and --keyfile (plain HTTP is for tests "
                               "on a loopback address: --insecure-http)")
        if not _loopback(options.host):
            raise InvalidInput(f"--insecure-http serves on a loopback address only (127.0.0.1, ::1), not "
                               f"{options.host}: give --certfile and --keyfile")
        return
    for path in (options.certfile, options.keyfile):
        if not Path(path).is_file():
            raise InvalidInput(f"no such TLS file: {path}")


def open_core(options: ServerOptions) -> Biometrix:
    """The shared service: the database opened (never created), its operators present, models loaded and
    identification indexes built before the first request."""
    core = Biometrix(options.db, create=False, models_dir=options.models_dir, prefer_gpu=options.prefer_gpu,
                     key=options.key)
    try:
        core.open()
        if not core.access_control():
            raise AccessDenied("this database has no operators: create the first admin ('biometrix operator add "
                               "--role admin') before serving it, or every request would act unattributed")
        sizes = core.warm_up()
        log.info("serving %s: %s", core.location.shown,
                 ", ".join(f"{m.value} gallery of {n}" for m, n in sizes.items()) or "nothing enrolled yet")
        return core
    except BaseException:
        core.close()
        raise


def build_server(options: ServerOptions, core: Biometrix) -> Any:
    """A uvicorn.Server for ``core`` (the caller runs it and closes ``core`` afterwards)."""
    import uvicorn

    check_transport(options)
    app = create_app(core, options.app)
    app.state.warmed = [m for m, loaded in core.readiness().items() if loaded]
    tls: dict[str, Any] = {}
    if options.certfile is not None and options.keyfile is not None:
        tls = {"ssl_certfile": os.fspath(options.certfile), "ssl_keyfile": os.fspath(options.keyfile)}
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning",
                            access_log=options.access_log, proxy_headers=options.trusted_proxies is not None,
                            forwarded_allow_ips=options.trusted_proxies, timeout_graceful_shutdown=10,
                            server_header=False, **tls)
    return uvicorn.Server(config)


def serve(options: ServerOptions, *, sock: socket.socket | None = None) -> int:
    """Run the server until it is stopped (SIGTERM, ^C); returns 0."""
    check_transport(options)
    core = open_core(options)
    try:
        server = build_server(options, core)
        scheme = "https" if options.certfile is not None else "http"
        log.warning("biometrix server on %s://%s:%d (database %s)", scheme, options.host, options.port,
                    core.location.shown)
        server.run(sockets=None if sock is None else [sock])
    finally:
        core.close()
    return 0


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
