"""Numbered schema migrations of the enrollment database; the schema changes only here."""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from biometrix.core.errors import StoreError
from biometrix.store import audit
from biometrix.store.db import atomic, check_version, stored_version

log = logging.getLogger(__name__)


def m001_initial(conn: sqlite3.Connection) -> None:
    """Subjects, raw samples, templates with their references, and the append-only audit log."""
    conn.execute(
        """CREATE TABLE subjects (
            subject_id   TEXT PRIMARY KEY,
            display_name TEXT,
            created_at   TEXT NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE samples (
            sample_id  INTEGER PRIMARY KEY,
            subject_id TEXT NOT NULL REFERENCES subjects ON DELETE CASCADE,
            modality   TEXT NOT NULL CHECK (modality IN ('signature', 'face')),
            media_type TEXT NOT NULL,
            data       BLOB NOT NULL,
            meta       TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX samples_subject ON samples (subject_id, modality)")
    conn.execute(
        """CREATE TABLE templates (
            template_id INTEGER PRIMARY KEY,
            subject_id  TEXT NOT NULL REFERENCES subjects ON DELETE CASCADE,
            modality    TEXT NOT NULL,
            model_id    TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            UNIQUE (subject_id, modality, model_id)
        )"""
    )
    conn.execute("CREATE INDEX templates_modality_model ON templates (modality, model_id)")
    conn.execute(
        """CREATE TABLE template_references (
            template_id INTEGER NOT NULL REFERENCES templates ON DELETE CASCADE,
            position    INTEGER NOT NULL,
            sample_id   INTEGER REFERENCES samples ON DELETE SET NULL,
            dim         INTEGER NOT NULL,
            vector      BLOB NOT NULL,
            PRIMARY KEY (template_id, position)
        )"""
    )
    conn.execute("CREATE INDEX template_references_sample ON template_references (sample_id)")
    conn.execute(
        """CREATE TABLE audit_log (
            event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
            at         TEXT NOT NULL,
            event      TEXT NOT NULL CHECK (event IN ('enroll', 'verify', 'identify', 'delete')),
            subject_id TEXT,
            modality   TEXT,
            model_id   TEXT,
            distance   REAL,
            threshold  REAL,
            decision   TEXT,
            details    TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    conn.execute("CREATE INDEX audit_log_subject ON audit_log (subject_id)")
    conn.execute(
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"""
    )
    conn.execute(
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"""
    )


_AUDIT_V2 = """CREATE TABLE audit_log (
    event_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    event      TEXT NOT NULL CHECK (event IN ('enroll', 'verify', 'identify', 'delete', 'erase')),
    subject_id TEXT,
    modality   TEXT,
    model_id   TEXT,
    distance   REAL,
    threshold  REAL,
    decision   TEXT,
    details    TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash       TEXT NOT NULL CHECK (length(hash) = 64)
)"""


def m002_audit_chain(conn: sqlite3.Connection) -> None:
    """Hash-chain the audit log (prev_hash, hash) and allow the 'erase' event.

    SQLite cannot add a CHECK value in place, so the table is rebuilt: the old rows are copied in event_id
    order with their hashes computed here, then the old table (and its triggers) is dropped, the new one
    renamed and the append-only triggers re-created. All inside the migration's transaction.
    """
    old_seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    conn.execute(_AUDIT_V2.replace("CREATE TABLE audit_log", "CREATE TABLE audit_log_v2", 1))
    columns = ", ".join(audit.HASHED_COLUMNS[:-1])
    prev = audit.GENESIS
    for event_id, *fields in conn.execute(f"SELECT event_id, {columns} FROM audit_log ORDER BY event_id").fetchall():
        row = (*fields, prev)
        digest = audit.row_hash(row)
        marks = ", ".join("?" * (len(row) + 2))
        conn.execute(
            f"INSERT INTO audit_log_v2 (event_id, {columns}, prev_hash, hash) VALUES ({marks})",
            (event_id, *row, digest),
        )
        prev = digest
    conn.execute("DROP TABLE audit_log")
    conn.execute("ALTER TABLE audit_log_v2 RENAME TO audit_log")
    if old_seq is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'audit_log'", (old_seq[0],))
        if conn.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'audit_log'").fetchone() is None:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('audit_log', ?)", (old_seq[0],))
    conn.execute("CREATE INDEX audit_log_subject ON audit_log (subject_id)")
    conn.execute(
        """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"""
    )
    conn.execute(
        """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
           BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"""
    )


_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
)

V3_EVENTS = ("enroll", "verify", "identify", "delete", "erase", "resolve", "login", "login_failed", "logout",
             "operator", "settings", "key", "backup", "restore")


#: The operator accounts as migration 3 made them (PostgreSQL's migration 1 makes the same: store/pgschema.py).
OPERATORS_TABLE = """CREATE TABLE operators (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('teller', 'supervisor', 'admin')),
    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
)"""


def m003_operators_and_keys(conn: sqlite3.Connection) -> None:
    """Operators (argon2id hashes, roles, lockout), the wrapped data key of encryption at rest, the database's
    id, a keyed digest column for encrypted samples, and the audit events of operators and keys.

    The audit table is rebuilt only to widen its CHECK list; every row is copied with its hashes unchanged (the
    hash serialisation is the same), so the chain still verifies.
    """
    old_seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    events = ", ".join(f"'{e}'" for e in V3_EVENTS)
    conn.execute(re.sub(r"CHECK \(event IN \([^)]*\)\)", f"CHECK (event IN ({events}))", _AUDIT_V2)
                 .replace("CREATE TABLE audit_log", "CREATE TABLE audit_log_v3", 1))
    conn.execute("INSERT INTO audit_log_v3 SELECT * FROM audit_log ORDER BY event_id")
    conn.execute("DROP TABLE audit_log")
    conn.execute("ALTER TABLE audit_log_v3 RENAME TO audit_log")
    if old_seq is not None:
        conn.execute("INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES ('audit_log', ?)", (old_seq[0],))
    conn.execute("CREATE INDEX audit_log_subject ON audit_log (subject_id)")
    for trigger in _AUDIT_TRIGGERS:
        conn.execute(trigger)
    conn.execute(OPERATORS_TABLE)
    conn.execute("CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    conn.execute("INSERT INTO store_meta (key, value) VALUES ('database_id', ?)", (uuid.uuid4().hex,))
    # A database that already holds data stays readable in plaintext until `db rekey` encrypts it; an empty one
    # is encrypted by the first process that opens it after this migration (SqliteStore._first_key).
    has_data = conn.execute("SELECT EXISTS (SELECT 1 FROM subjects) OR EXISTS (SELECT 1 FROM audit_log)").fetchone()[0]
    conn.execute("INSERT INTO store_meta (key, value) VALUES ('encryption', ?)", ("none" if has_data else "pending",))
    conn.execute(
        """CREATE TABLE data_keys (
            key_id     TEXT PRIMARY KEY,
            kind       TEXT NOT NULL CHECK (kind IN ('passphrase', 'keyring', 'keyfile')),
            params     TEXT NOT NULL,
            wrapped    BLOB NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    conn.execute("ALTER TABLE samples ADD COLUMN digest TEXT")
    conn.execute("CREATE INDEX samples_digest ON samples (subject_id, modality, digest)")


def m004_integrity(conn: sqlite3.Connection) -> None:
    """Integrity: a MAC column on audit rows and on operator accounts, and the protected settings (model pins,
    decision policy, audit anchor and head), each row MACed with the database's integrity key.

    The keyed part of the upgrade (the integrity key, the authenticated key record, and encrypting a database
    that was still plaintext) needs the data key: the store runs it in this migration's transaction
    (``apply(conn, keyed=...)``), so the database is either still version 3 or fully upgraded.
    """
    conn.execute("ALTER TABLE audit_log ADD COLUMN mac TEXT")
    conn.execute("ALTER TABLE operators ADD COLUMN mac TEXT")
    conn.execute(
        """CREATE TABLE protected_settings (
            key        TEXT PRIMARY KEY,
            value      TEXT NOT NULL,
            mac        TEXT NOT NULL CHECK (length(mac) = 64),
            updated_at TEXT NOT NULL
        )"""
    )


#: How many template changes the change log keeps; an index further behind than that rebuilds from the templates.
CHANGES_KEPT = 100_000


def m005_template_changes(conn: sqlite3.Connection) -> None:
    """The templates' change log: triggers append (seq, template_id, modality, model_id) for every template
    inserted or deleted, by any writer (enroll, replace, retemplate, delete, erase, cascades included), so that an
    identification index in any process sharing the file catches up by reading the rows after the last seq it
    saw. No subject id is kept in it. Only the last CHANGES_KEPT rows are kept (AUTOINCREMENT: seqs never
    repeat, so a reader sees when rows it needs were pruned)."""
    conn.execute(
        """CREATE TABLE template_changes (
            seq         INTEGER PRIMARY KEY AUTOINCREMENT,
            template_id INTEGER NOT NULL,
            modality    TEXT NOT NULL,
            model_id    TEXT NOT NULL
        )"""
    )
    for trigger, event, row in (("template_added", "INSERT", "new"), ("template_removed", "DELETE", "old")):
        conn.execute(
            f"""CREATE TRIGGER {trigger} AFTER {event} ON templates BEGIN
                INSERT INTO template_changes (template_id, modality, model_id)
                VALUES ({row}.template_id, {row}.modality, {row}.model_id);
            END"""
        )
    conn.execute(
        f"""CREATE TRIGGER template_changes_pruned AFTER INSERT ON template_changes WHEN new.seq % 1000 = 0 BEGIN
            DELETE FROM template_changes WHERE seq <= new.seq - {CHANGES_KEPT};
        END"""
    )


Migration = tuple[int, str, Callable[[sqlite3.Connection], None]]

# In order; a new migration is appended with the next number and never edited once released.
MIGRATIONS: tuple[Migration, ...] = (
    (1, "initial", m001_initial),
    (2, "audit_chain", m002_audit_chain),
    (3, "operators_and_keys", m003_operators_and_keys),
    (4, "integrity", m004_integrity),
    (5, "template_changes", m005_template_changes),
)

#: The migration after which the store's keyed upgrade runs, in the same transaction.
KEYED_MIGRATION = 4

SCHEMA_VERSION: int = MIGRATIONS[-1][0]


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of the database (0 for a new, empty one)."""
    return stored_version(conn)


def pending(conn: sqlite3.Connection) -> list[Migration]:
    """Migrations not yet applied, in order; SchemaTooNew when the database is ahead of this code."""
    version = check_version(conn, supported=SCHEMA_VERSION)
    if version == 0:
        foreign = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
        ).fetchone()
        if foreign is not None:
            raise StoreError(
                f"this SQLite file is not a biometrix enrollment database (it has a table {foreign[0]!r})"
            )
    return [m for m in MIGRATIONS if m[0] > version]


def apply(conn: sqlite3.Connection, *, keyed: Callable[[sqlite3.Connection], None] | None = None) -> list[int]:
    """Run each pending migration in its own transaction with its schema_migrations row; returns those run.

    ``keyed(conn)`` runs inside the transaction of migration KEYED_MIGRATION (the store's key upgrade)."""
    done: list[int] = []
    for number, name, migrate in pending(conn):
        with atomic(conn):
            # Re-read under the write lock: another process may have migrated meanwhile.
            if check_version(conn, supported=SCHEMA_VERSION) >= number:
                continue
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    INTEGER PRIMARY KEY,
                    name       TEXT NOT NULL,
                    applied_at TEXT NOT NULL
                )"""
            )
            migrate(conn)
            if number == KEYED_MIGRATION and keyed is not None:
                keyed(conn)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat(timespec="microseconds")),
            )
            conn.execute(f"PRAGMA user_version = {int(number)}")
        log.info("applied migration %03d_%s", number, name)
        done.append(number)
    return done
