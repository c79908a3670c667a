"""The enrollment database and its audit log: db info / migrate / retemplate / backup / restore, audit verify, erase."""

from __future__ import annotations

import argparse
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for annotations: the handlers import the service lazily so startup stays fast
    from biometrix.service import Biometrix


from biometrix.cli.common import EXIT_OK, EXIT_REJECT, _open, _print_json

log = logging.getLogger(__name__)


def add_commands(commands: Any, parents: dict[str, argparse.ArgumentParser]) -> None:
    verbose, db, model, out, remote = (parents[k] for k in ("verbose", "db", "model", "out", "remote"))

    p = commands.add_parser("db", parents=[verbose], help="the enrollment database",
                            description="Inspect or prepare the enrollment database.")
    p.set_defaults(group_parser=p)
    db_commands = p.add_subparsers(title="db commands", metavar="COMMAND")
    q = db_commands.add_parser("info", parents=[verbose, db, out], help="where the database is and what it holds")
    q.set_defaults(handler=_cmd_db_info)
    q = db_commands.add_parser("migrate", parents=[verbose, db, out],
                               help="create the database if missing and bring its schema up to date")
    q.set_defaults(handler=_cmd_db_migrate, creates_db=True)
    q = db_commands.add_parser("retemplate", parents=[verbose, db, model, out],
                               help="make templates for the models in use from the kept samples (admin)",
                               description="After a model change: every subject with templates of other models "
                                           "but none of the model in use gets one, made from the raw samples kept "
                                           "in the database (old templates are kept). Exit status: 0 all made, 1 "
                                           "some subjects' samples were refused (listed; nothing written for "
                                           "them), 2 error.")
    q.add_argument("--modality", choices=("signature", "face"), default=None,
                   help="only this modality (default: both)")
    q.set_defaults(handler=_cmd_db_retemplate)
    q = db_commands.add_parser("backup", parents=[verbose, db, out],
                               help="online backup to a new file (checked; never overwrites)",
                               description="Copy the database with SQLite's online backup (safe while biometrix "
                                           "runs) to a new file, then check the copy: integrity, schema, audit chain.")
    q.add_argument("--to", required=True, metavar="FILE", help="backup file to create (must not exist)")
    q.set_defaults(handler=_cmd_db_backup)
    q = db_commands.add_parser("restore", parents=[verbose, db, out],
                               help="replace the database with a checked backup (stop biometrix first)",
                               description="Check the backup (integrity, schema version), copy it beside the "
                                           "database and swap it in atomically. The old database is kept as "
                                           "DB.bak-<UTC timestamp>. No other biometrix may be running.")
    q.add_argument("--from", required=True, dest="source", metavar="FILE", help="backup file to restore")
    q.add_argument("--expect-head", metavar="ID:HASH", default=None,
                   help="the backup's audit log must contain this head (printed by 'db backup' / 'audit verify')")
    q.add_argument("--force", action="store_true",
                   help="restore a backup whose audit check fails (admin; the restore row says so)")
    q.set_defaults(handler=_cmd_db_restore)

    q = db_commands.add_parser("setup-postgres", parents=[verbose, out],
                               help="create or migrate a PostgreSQL enrollment database and grant its server role",
                               description="Run as the database's OWNER role (it owns the tables and runs the "
                                           "migrations); the SERVER role the biometrix server logs in as gets only "
                                           "what it needs: on the audit log only SELECT and INSERT, so not even "
                                           "the server can edit history. Safe to run again (after an upgrade: it "
                                           "migrates). A password is best given by PGPASSWORD or ~/.pgpass, not in "
                                           "the URL. See docs/deploy.md.")
    q.add_argument("--owner-url", required=True, metavar="URL",
                   help="postgresql://OWNER@HOST:PORT/DBNAME, the role that owns the database")
    q.add_argument("--server-role", required=True, metavar="NAME",
                   help="the existing role the server connects as (CREATE ROLE NAME LOGIN ...)")
    q.set_defaults(handler=_cmd_db_setup_postgres)

    p = commands.add_parser("audit", parents=[verbose], help="the audit log",
                            description="Check the hash-chained audit log.")
    p.set_defaults(group_parser=p)
    audit_commands = p.add_subparsers(title="audit commands", metavar="COMMAND")
    q = audit_commands.add_parser("verify", parents=[verbose, db, remote, out],
                                  help="re-compute the audit hash chain; exit 1 when rows were tampered with",
                                  description="Find edited, deleted and reordered audit rows, rows written without "
                                              "the database's key (MAC) and rows cut from the end. Exit status: 0 "
                                              "intact, 1 problems found, 2 error. Keep the printed head (ID:HASH) "
                                              "elsewhere, or set an anchor file ('audit anchor'): a chain rewritten "
                                              "by someone holding the key is found only against it.")
    q.add_argument("--expect-head", metavar="ID:HASH", default=None, help="a head exported earlier: it must be in "
                                                                          "the chain")
    q.add_argument("--anchor-file", metavar="FILE", default=None,
                   help="every head this file recorded for the database must be in the chain")
    q.set_defaults(handler=_cmd_audit_verify)

    p = commands.add_parser("erase", parents=[verbose, db, remote, out],
                            help="right to erasure: remove a subject's data",
                            description="Remove the subject's raw samples, templates and record. The audit log gets "
                                        "an 'erase' row naming a pseudonym; earlier audit rows are kept as written "
                                        "(append-only, hash-chained). Backups still hold the subject.")
    p.add_argument("--subject", required=True, metavar="ID", help="subject id to erase")
    p.set_defaults(handler=_cmd_erase)

    parents["db_commands"], parents["audit_commands"] = db_commands, audit_commands


def _db_summary(bx: Biometrix) -> dict[str, Any]:
    info = bx.info()
    return {"path": bx.location.shown, "reason": bx.location.reason, "schema_version": info.schema_version,
            "subjects": info.n_subjects, "templates": dict(info.templates), "samples": info.n_samples,
            "audit_rows": info.n_audit, "encryption": info.encryption, "operators": info.n_operators}


def _cmd_db_info(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        summary = _db_summary(bx)
    if args.json:
        _print_json(summary)
        return EXIT_OK
    print(f"Database:       {summary['path']}")
    print(f"Chosen by:      {summary['reason']}")
    print(f"Schema version: {summary['schema_version']}")
    print(f"Subjects:       {summary['subjects']}")
    templates = summary["templates"]
    if templates:
        print("Templates:")
        for key in sorted(templates):
            print(f"  {key}: {templates[key]}")
    else:
        print("Templates:      none")
    print(f"Samples:        {summary['samples']}")
    print(f"Audit rows:     {summary['audit_rows']}")
    print(f"Encryption:     {summary['encryption']}")
    print(f"Operators:      {summary['operators'] or 'none yet (no login needed until the first admin exists)'}")
    return EXIT_OK


def _cmd_db_migrate(args: argparse.Namespace) -> int:
    with _open(args, create=True) as bx:
        summary = _db_summary(bx)
    if args.json:
        _print_json(summary)
    else:
        print(f"Database {summary['path']} is at schema version {summary['schema_version']}")
    return EXIT_OK


def _cmd_db_setup_postgres(args: argparse.Namespace) -> int:
    from biometrix.core.errors import InvalidInput
    from biometrix.service import setup_postgres
    from biometrix.store import is_postgres_url

    if not is_postgres_url(args.owner_url):
        raise InvalidInput(f"--owner-url must be a postgresql:// URL, got {args.owner_url[:40]!r}")
    done = setup_postgres(args.owner_url, server_role=args.server_role)
    if args.json:
        _print_json({"migrations_run": done, "server_role": args.server_role})
    else:
        ran = f"migrations run: {', '.join(map(str, done))}" if done else "schema already up to date"
        print(f"PostgreSQL enrollment database ready ({ran}); role {args.server_role} granted the server's rights")
    return EXIT_OK


def _cmd_db_retemplate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from biometrix.core.types import Modality

    with _open(args, create=False) as bx, tqdm(desc="retemplate", unit="subject", disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        reports = bx.retemplate(None if args.modality is None else Modality(args.modality), progress=progress)
    if args.json:
        _print_json([{"modality": r.modality.value, "model_id": r.model_id, "made": list(r.made),
                      "failed": [{"subject_id": s, "reason": why} for s, why in r.failed],
                      "up_to_date": r.up_to_date} for r in reports])
    else:
        for r in reports:
            print(f"{r.modality.value} ({r.model_id}): {len(r.made)} templates made, {r.up_to_date} subjects "
                  f"already had one, {len(r.failed)} failed")
            for subject_id, why in r.failed:
                print(f"  {subject_id}: {why}")
    return EXIT_REJECT if any(r.failed for r in reports) else EXIT_OK


def _cmd_db_backup(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        check = bx.backup(args.to)
        source = bx.location.shown
    if args.json:
        _print_json({"db": str(source), "backup": args.to, "audit_rows": check.n_rows, "audit_head": check.anchor,
                     "audit_ok": check.ok})
    else:
        print(f"Backed up {source} to {args.to}: integrity ok, {check.n_rows} audit rows, "
              f"audit chain {'intact' if check.ok else 'BROKEN'} (head {check.anchor})")
    return EXIT_OK


def _cmd_db_restore(args: argparse.Namespace) -> int:
    from biometrix.cli.access import OPERATOR_ENV, PASSWORD_ENV, key_source, secret
    from biometrix.core.errors import AccessDenied, KeyUnavailable, StoreError, TamperDetected, WrongKey
    from biometrix.service import restore_db

    try:
        bx = _open(args, create=False)
    except (WrongKey, KeyUnavailable, TamperDetected, AccessDenied):
        raise
    except StoreError as err:  # missing or damaged: nobody can log in to it, so an admin of the backup restores
        name = getattr(args, "operator", None) or os.environ.get(OPERATOR_ENV, "").strip()
        if not name:
            raise AccessDenied(f"the database cannot be opened ({err}); restoring over it needs --operator, an "
                               "admin of the backup") from None
        log.info("restoring over a database that cannot be opened (%s)", err)
        password = secret(PASSWORD_ENV, f"Password for {name}: ")
        report = restore_db(args.db, args.source, operator=name, password=password, key=key_source(args),
                            expect_head=args.expect_head, force=args.force)
    else:
        with bx:
            report = bx.restore(args.source, expect_head=args.expect_head, force=args.force)
    kept = None if report.kept is None else str(report.kept)
    if args.json:
        _print_json({"db": str(report.path), "from": args.source, "kept": kept,
                     "schema_version": report.schema_version, "audit_ok": report.audit.ok})
    else:
        print(f"Restored {report.path} from {args.source} (schema version {report.schema_version})")
        if kept:
            print(f"The previous database is kept as {kept}")
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from biometrix.cli.access import key_source
    from biometrix.core.errors import TamperDetected
    from biometrix.service import check_audit_unattended

    try:
        with _open(args, create=False) as bx:
            check = bx.verify_audit(expect_head=args.expect_head, anchor_file=args.anchor_file)
    except TamperDetected as err:  # no login can even be recorded: check it with the key alone, write nothing
        if getattr(args, "server", None):
            raise  # the server's database: never a local one in its place
        log.warning("%s; checking the audit log without a login", err)
        check = check_audit_unattended(args.db, key=key_source(args), expect_head=args.expect_head,
                                       anchor_file=args.anchor_file)
        if check.ok:
            raise
    if args.json:
        _print_json({"ok": check.ok, "rows": check.n_rows, "head": check.anchor, "keyed": check.keyed,
                     "problems": [{"event_id": p.event_id, "kind": p.kind, "message": p.message}
                                  for p in check.problems]})
    elif check.ok:
        keyed = ", MACs and protected head checked" if check.keyed else ""
        print(f"Audit log intact: {check.n_rows} rows{keyed}, head {check.anchor}")
    else:
        for p in check.problems:
            print(f"{p.kind:<10} row {p.event_id}: {p.message}")
        print(f"Audit log TAMPERED: {len(check.problems)} problem(s) in {check.n_rows} rows")
    return EXIT_OK if check.ok else EXIT_REJECT


def _cmd_erase(args: argparse.Namespace) -> int:
    with _open(args, create=False) as bx:
        pseudonym = bx.erase(args.subject)
    if args.json:
        _print_json({"subject_id": args.subject, "erased": True, "audit_pseudonym": pseudonym})
    else:
        print(f"Erased {args.subject}: samples, templates and record removed; audited as {pseudonym}")
    return EXIT_OK
