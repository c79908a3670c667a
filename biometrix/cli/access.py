"""The command line's access control: logging in (--operator), the database key (--key-store), and the
commands that manage operators, Refer decisions, the audit log listing and the data key.

Secrets never come from the command line (other users see it in ``ps``): the password is read from
``$BIOMETRIX_PASSWORD`` or typed at a prompt, a new password from ``$BIOMETRIX_NEW_PASSWORD`` or typed twice,
the database passphrase from ``$BIOMETRIX_PASSPHRASE`` and a new one from ``$BIOMETRIX_NEW_PASSPHRASE``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from biometrix.core.errors import AccessDenied, InvalidInput, KeyUnavailable

if TYPE_CHECKING:
    from biometrix.service import Biometrix

OPERATOR_ENV = "BIOMETRIX_OPERATOR"
PASSWORD_ENV = "BIOMETRIX_PASSWORD"
NEW_PASSWORD_ENV = "BIOMETRIX_NEW_PASSWORD"
PASSPHRASE_ENV = "BIOMETRIX_PASSPHRASE"
NEW_PASSPHRASE_ENV = "BIOMETRIX_NEW_PASSPHRASE"
KEY_STORES = ("passphrase", "keyring", "keyfile")


def access_parent() -> argparse.ArgumentParser:
    """``--operator`` and ``--key-store``, for every command that opens the database."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--operator", metavar="NAME", default=None,
                   help=f"log in as this operator (default ${OPERATOR_ENV}); the password comes from "
                        f"${PASSWORD_ENV} or a prompt. On a database without operators this creates the first "
                        "admin")
    p.add_argument("--key-store", choices=KEY_STORES, default=None,
                   help="where the database's key is kept (default: what the database records; a key file "
                        f"for a new one, or a passphrase when ${PASSPHRASE_ENV} is set)")
    return p


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def secret(env: str, prompt: str, *, twice: bool = False) -> str:
    """A secret from ``env``, else typed (twice when ``twice``); InvalidInput when neither is possible."""
    value = os.environ.get(env)
    if value:
        return value
    if not _interactive():
        raise InvalidInput(f"{prompt.rstrip(': ').lower()} needed: set ${env} or run in a terminal")
    value = getpass.getpass(prompt)
    if twice and getpass.getpass("Again: ") != value:
        raise InvalidInput("the two entries differ")
    return value


def key_source(args: argparse.Namespace, passphrase: str | None = None) -> Any:
    from biometrix.store import KeySource

    kind = getattr(args, "key_store", None) or "auto"
    return KeySource(kind, passphrase=passphrase or os.environ.get(PASSPHRASE_ENV) or None)


def open_service(args: argparse.Namespace, factory: Callable[[Any], Biometrix], *, create: bool) -> Biometrix:
    """The service for ``args``: its database opened (a typed passphrase when it needs one) and the operator
    logged in. On a database without operators, ``--operator`` first creates that operator as the admin."""
    bx = factory(key_source(args))
    try:
        if bx.location.exists():
            try:
                bx.open()  # now, so that a missing passphrase can be asked for here
            except KeyUnavailable:
                if not _interactive() or os.environ.get(PASSPHRASE_ENV):
                    raise
                bx.close()
                bx = factory(key_source(args, getpass.getpass("Database passphrase: ")))
                bx.open()
        name = getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV, "").strip() or None
        if name is not None:
            if not bx.access_control():
                password = secret(NEW_PASSWORD_ENV if os.environ.get(NEW_PASSWORD_ENV) else PASSWORD_ENV,
                                  f"New admin password for {name}: ", twice=True)
                bx.add_operator(name, "admin", password)
                print(f"biometrix: created the first operator, admin {name!r}; from now on every command "
                      "needs --operator", file=sys.stderr)
            else:
                password = secret(PASSWORD_ENV, f"Password for {name}: ")
            bx.login(name, password)
        return bx
    except BaseException:
        bx.close()
        raise


def open_remote(args: argparse.Namespace) -> Any:
    """A ``RemoteBiometrix`` on ``--server`` with ``--operator`` logged in (the password as for a database)."""
    try:
        from biometrix.client import RemoteBiometrix
    except ModuleNotFoundError as err:
        if err.name != "httpx":
            raise
        from biometrix.cli.common import CommandUnavailable

        raise CommandUnavailable("--server needs httpx: pip install 'biometrix[client]'") from None

    name = getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV, "").strip() or None
    if name is None:
        raise AccessDenied(f"--server needs --operator NAME (or ${OPERATOR_ENV}): the server's operator to act as")
    bx = RemoteBiometrix(args.server, ca_file=getattr(args, "ca_file", None))
    try:
        bx.open()  # an unreachable server is said before a password is asked for
        bx.login(name, secret(PASSWORD_ENV, f"Password for {name}: "))
        return bx
    except BaseException:
        bx.close()
        raise


# --- commands -------------------------------------------------------------------------------------


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser],
                 opener: Callable[..., Biometrix]) -> None:
    """Register ``operator``, ``resolve``, ``audit list`` (via ``parents['audit_commands']``) and ``db rekey``."""
    verbose, db, out, remote = parents["verbose"], parents["db"], parents["out"], parents["remote"]

    p = commands.add_parser("operator", parents=[verbose], help="operator accounts (admins)",
                            description="Operator accounts and roles: teller (enroll, verify), supervisor (also "
                                        "resolve Refer, erase subjects, audit, backup), admin (also thresholds, "
                                        "restore, operators, keys). 5 failed logins lock a teller or supervisor 15 "
                                        "minutes, and make an admin wait (15 s, doubling up to 5 minutes).")
    p.set_defaults(group_parser=p)
    ops = p.add_subparsers(title="operator commands", metavar="COMMAND")
    q = ops.add_parser("add", parents=[verbose, db, remote, out], help="create an operator (the first one: the admin)",
                       description=f"The password comes from ${NEW_PASSWORD_ENV} or is typed twice. On a "
                                   "database without operators no login is needed and the role must be admin.")
    q.add_argument("--name", required=True, metavar="NAME")
    q.add_argument("--role", required=True, choices=("teller", "supervisor", "admin"))
    q.set_defaults(handler=lambda a: _operator_add(a, opener), creates_db=True)
    q = ops.add_parser("list", parents=[verbose, db, remote, out], help="list operators")
    q.set_defaults(handler=lambda a: _operator_list(a, opener))
    q = ops.add_parser("set", parents=[verbose, db, remote, out], help="change an operator's role, lock or password",
                       description=f"--reset-password takes the new password from ${NEW_PASSWORD_ENV} or a prompt.")
    q.add_argument("--name", required=True, metavar="NAME")
    q.add_argument("--role", choices=("teller", "supervisor", "admin"), default=None)
    state = q.add_mutually_exclusive_group()
    state.add_argument("--disable", action="store_true", help="refuse this operator's logins")
    state.add_argument("--enable", action="store_true", help="allow this operator's logins again")
    q.add_argument("--unlock", action="store_true", help="clear a lockout after failed logins")
    q.add_argument("--reset-password", action="store_true", help="set a new password")
    q.set_defaults(handler=lambda a: _operator_set(a, opener))
    q = ops.add_parser("passwd", parents=[verbose, db, out], help="change your own password",
                       description=f"Log in with --operator; the new password comes from ${NEW_PASSWORD_ENV} or a "
                                   "prompt.")
    q.set_defaults(handler=lambda a: _operator_passwd(a, opener))

    p = commands.add_parser("resolve", parents=[verbose, db, remote, out], help="settle a Refer decision (supervisor)",
                            description="Record a supervisor's accept or reject for a verification that was "
                                        "referred (audit row N, see 'biometrix audit list --event verify').")
    p.add_argument("--event", required=True, type=int, metavar="N", help="audit row of the referred verification")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--accept", action="store_true")
    choice.add_argument("--reject", action="store_true")
    p.add_argument("--note", default="", metavar="TEXT", help="why (kept in the audit log)")
    p.set_defaults(handler=lambda a: _resolve(a, opener))

    q = parents["audit_commands"].add_parser("list", parents=[verbose, db, remote, out],
                                             help="show audit rows (supervisor)",
                                             description="The most recent audit rows, oldest first, with the "
                                                         "operator of each.")
    q.add_argument("--subject", default=None, metavar="ID")
    q.add_argument("--event", default=None, metavar="EVENT")
    q.add_argument("--limit", type=int, default=50, metavar="N")
    q.set_defaults(handler=lambda a: _audit_list(a, opener))

    q = parents["db_commands"].add_parser(
        "rekey", parents=[verbose, db, out], help="encrypt with a fresh data key (admin): rotate, or encrypt an old db",
        description="Re-encrypt every template, raw sample and display name under a fresh AES-256-GCM data key, "
                    "wrapped by the key store given (--to): a passphrase (from $BIOMETRIX_NEW_PASSPHRASE or typed "
                    "twice), the OS keyring, or a key file. One transaction: all or nothing. The retired key is "
                    "kept, for backups made before.")
    q.add_argument("--to", required=True, choices=KEY_STORES, dest="new_store", help="where the new key is kept")
    q.set_defaults(handler=lambda a: _rekey(a, opener))


def _print(args: argparse.Namespace, obj: Any, text: str) -> None:
    print(json.dumps(obj, ensure_ascii=False) if getattr(args, "json", False) else text)


def _operator_add(args: argparse.Namespace, opener: Callable[..., Biometrix]) -> int:
    with opener(args, create=True) as bx:  # the first run: the database may not exist yet
        password = secret(NEW_PASSWORD_ENV, f"Password for {args.name}: ", twice=True)
        bx.add_operator(args.name, args.role, password)
    _print(args, {"name": args.name, "role": args.role}, f"Added operator {args.name} ({args.role})")
    return 0


def _operator_list(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    with opener(args) as bx:
        rows = bx.operators()
    if getattr(args, "json", False):
        print(json.dumps([{"name": o.name, "role": o.role, "disabled": o.disabled, "failed_logins": o.failed_logins,
                           "locked_until": o.locked_until.isoformat() if o.locked_until else None} for o in rows]))
        return 0
    for o in rows:
        state = "disabled" if o.disabled else f"locked until {o.locked_until:%H:%M} UTC" if o.locked_until else "active"
        print(f"{o.name:<24} {o.role:<10} {state}")
    return 0


def _operator_set(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    password = secret(NEW_PASSWORD_ENV, f"New password for {args.name}: ", twice=True) if args.reset_password else None
    disabled = True if args.disable else False if args.enable else None
    if args.role is None and disabled is None and not args.unlock and password is None:
        raise InvalidInput("nothing to change: give --role, --disable/--enable, --unlock or --reset-password")
    with opener(args) as bx:
        bx.update_operator(args.name, role=args.role, password=password, disabled=disabled, unlock=args.unlock)
    _print(args, {"name": args.name, "changed": True}, f"Changed operator {args.name}")
    return 0


def _operator_passwd(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    with opener(args) as bx:
        if bx.operator is None:
            raise AccessDenied("log in with --operator to change your password")
        new = secret(NEW_PASSWORD_ENV, "New password: ", twice=True)
        bx.change_password(secret(PASSWORD_ENV, "Current password: "), new)
        name = bx.operator.name
    _print(args, {"name": name, "changed": True}, f"Password of {name} changed")
    return 0


def _resolve(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    with opener(args) as bx:
        row = bx.resolve(args.event, accept=args.accept, note=args.note)
    verdict = "accepted" if args.accept else "rejected"
    _print(args, {"event": args.event, "resolution": verdict, "audit_row": row},
           f"Referred verification {args.event} {verdict} (audit row {row})")
    return 0


def _audit_list(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    from biometrix.core.distances import format_distance

    with opener(args) as bx:
        rows = bx.audit(subject_id=args.subject, event=args.event, limit=max(0, args.limit))
    if getattr(args, "json", False):
        print(json.dumps([{"event_id": e.event_id, "at": e.at.isoformat(), "event": e.event,
                           "subject_id": e.subject_id, "operator": e.operator, "decision": e.decision,
                           "distance": e.distance, "threshold": e.threshold, "details": e.details} for e in rows],
                         ensure_ascii=False))
        return 0
    for e in rows:
        dist = "" if e.distance is None else f" d={format_distance(e.distance, scale=e.threshold)}"
        print(f"{e.event_id:>6} {e.at:%Y-%m-%d %H:%M:%S} {e.event:<12} {e.operator or '-':<14} "
              f"{e.subject_id or '-':<20} {e.decision or '':<9}{dist}")
    return 0


def _rekey(args: argparse.Namespace, opener: Callable[[argparse.Namespace], Biometrix]) -> int:
    from biometrix.store import KeySource

    new_passphrase = None
    if args.new_store == "passphrase":
        new_passphrase = secret(NEW_PASSPHRASE_ENV, "New database passphrase: ", twice=True)
    with opener(args) as bx:
        counts = bx.rotate_key(KeySource(args.new_store, passphrase=new_passphrase))
    _print(args, {"key_store": args.new_store, **counts},
           f"Re-encrypted {counts['samples']} samples, {counts['references']} template references and "
           f"{counts['display_names']} names under a new data key (kept in a {args.new_store})")
    return 0
