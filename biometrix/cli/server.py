"""``biometrix server``: the HTTPS JSON API (extra 'server'), run as its own service account (packaging/systemd)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from biometrix.cli.common import PROG, _positive_int, _unavailable

MIB = 1024 * 1024


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser]) -> None:
    from biometrix.cli.access import KEY_STORES, PASSPHRASE_ENV

    p = commands.add_parser("server", parents=[parents["verbose"]], help="serve the HTTPS JSON API (extra 'server')",
                            description="Serve enroll, verify, identify, referrals, subjects, erasure, the audit "
                                        "log and operators over HTTPS (OpenAPI at /docs). The server alone holds "
                                        "the database, its key and the models; counters and kiosks connect with "
                                        "--server URL. Run several on one PostgreSQL database behind a load "
                                        "balancer (docs/deploy.md).")
    p.add_argument("--db", metavar="PATH_OR_URL", default=None,
                   help="the enrollment database: a file, or postgresql://... (default as for every command)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_positive_int, default=8443, help="port (default 8443)")
    p.add_argument("--certfile", metavar="PEM", type=Path, default=None, help="TLS certificate chain (PEM)")
    p.add_argument("--keyfile", metavar="PEM", type=Path, default=None, help="TLS private key (PEM)")
    p.add_argument("--insecure-http", action="store_true",
                   help="plain HTTP instead of TLS, refused unless --host is a loopback address (tests, or a "
                        "TLS-terminating proxy on the same machine)")
    p.add_argument("--key-store", choices=KEY_STORES, default=None,
                   help=f"where the database's key is kept (default: what the database records; a passphrase "
                        f"comes from ${PASSPHRASE_ENV})")
    p.add_argument("--models-dir", metavar="DIR", default=None,
                   help="folder of the models the database trusts (default: $BIOMETRIX_MODELS_DIR or the bundled "
                        "assets/models)")
    p.add_argument("--gpu", action="store_true", help="run the models on a GPU when one is available")
    p.add_argument("--max-body-mb", type=_positive_int, default=32, metavar="MB",
                   help="largest request body accepted, in MiB (default 32; larger is refused with 413)")
    p.add_argument("--login-limit", type=_positive_int, default=10, metavar="N",
                   help="failed logins per operator name per minute before 429 (default 10; 2N per client address)")
    p.add_argument("--trusted-proxy", metavar="IPS", default=None,
                   help="the load balancer's addresses (comma-separated): their X-Forwarded-For names the client "
                        "for the login rate limit")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.set_defaults(handler=_cmd_server)


def _cmd_server(args: argparse.Namespace) -> int:
    try:
        from biometrix.server.limits import LoginLimits
        from biometrix.server.run import AppOptions, ServerOptions, serve
    except ModuleNotFoundError as err:
        if err.name and err.name.split(".")[0] in ("fastapi", "uvicorn", "starlette", "pydantic"):
            from biometrix.cli.common import CommandUnavailable

            raise CommandUnavailable(f"'{PROG} server' needs the server extra: pip install 'biometrix[server]'") \
                from None
        raise _unavailable("server", err) from err
    from biometrix.cli.access import key_source

    limits = LoginLimits(per_name=args.login_limit, per_address=2 * args.login_limit)
    options = ServerOptions(db=args.db, host=args.host, port=args.port, certfile=args.certfile, keyfile=args.keyfile,
                            insecure_http=args.insecure_http,
                            models_dir=Path(args.models_dir) if args.models_dir else None, prefer_gpu=args.gpu,
                            key=key_source(args), app=AppOptions(max_body=args.max_body_mb * MIB,
                                                                 login_limits=limits),
                            trusted_proxies=args.trusted_proxy, access_log=args.access_log)
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    return serve(options)
