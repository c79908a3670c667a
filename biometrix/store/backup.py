"""Backing up and restoring the enrollment database file: SQLite online backup, checked, written atomically."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from biometrix.core.errors import SchemaTooNew, StoreError
from biometrix.store import audit
from biometrix.store.base import AuditCheck
from biometrix.store.db import check_integrity, stored_version
from biometrix.store.files import create_private, make_private_dirs

log = logging.getLogger(__name__)


def _temp_beside(target: Path, what: str) -> Path:
    return target.with_name(f".{target.name}.{what}-{uuid.uuid4().hex}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a folder for fsync; NTFS journals the rename
        return
    _fsync(folder)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def copy_into(source: sqlite3.Connection, destination: Path) -> None:
    """Online-backup ``source`` (a consistent snapshot, WAL included) into the new file ``destination``, created
    owner-only (0600) before SQLite writes to it."""
    create_private(destination)
    dest = sqlite3.connect(destination)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file, no -wal beside it
    finally:
        dest.close()
    _fsync(destination)


def inspect(path: Path, *, supported: int) -> tuple[int, AuditCheck]:
    """Open ``path`` read-only, run a full integrity check and the audit chain check; (schema version, check).

    StoreError when it is missing, damaged or not a biometrix database; SchemaTooNew when it is newer.
    """
    if not path.is_file():
        raise StoreError(f"no database file at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise StoreError(f"cannot open {path}: {e}") from e
    try:
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{path} is not a SQLite enrollment database ({e})") from e
        check_integrity(conn, path, full=True)
        version = stored_version(conn)
        if version < 1:
            raise StoreError(f"{path} is not a biometrix enrollment database (no schema version)")
        if version > supported:
            raise SchemaTooNew(f"{path} has schema version {version}, newer than this biometrix supports "
                               f"({supported}); upgrade biometrix")
        has_chain = conn.execute(
            "SELECT 1 FROM pragma_table_info('audit_log') WHERE name = 'hash'").fetchone() is not None
        check = audit.verify(conn) if has_chain else AuditCheck(ok=True, n_rows=0, problems=(), head=audit.GENESIS)
        return version, check
    except sqlite3.Error as e:
        raise StoreError(f"cannot read {path}: {e}") from e
    finally:
        conn.close()


def backup(source: sqlite3.Connection, destination: str | Path, *, supported: int) -> tuple[int, AuditCheck]:
    """Write a checked copy of the open database to the new file ``destination``; refuses to overwrite one."""
    destination = Path(destination)
    if destination.exists():
        raise StoreError(f"{destination} already exists; a backup never overwrites a file")
    if not destination.parent.is_dir():
        raise StoreError(f"the folder {destination.parent} does not exist")
    temp = _temp_beside(destination, "backup")
    try:
        copy_into(source, temp)
        result = inspect(temp, supported=supported)
        if destination.exists():
            raise StoreError(f"{destination} appeared while the backup was written; not overwritten")
        os.replace(temp, destination)
        _fsync_dir(destination.parent)
    finally:
        _remove(temp)
    log.info("backed up the enrollment database to %s", destination)
    return result


def _keep_old(target: Path, kept: Path) -> None:
    """Save the database about to be replaced: an online backup, or the raw files when it is too damaged."""
    try:
        old = sqlite3.connect(target)
        try:
            copy_into(old, kept)
        finally:
            old.close()
    except sqlite3.Error as e:
        log.warning("cannot back up the damaged %s (%s); keeping its files as they are", target, e)
        _remove(kept)
        for suffix in ("", "-wal"):
            part = target.with_name(target.name + suffix)
            if part.exists():
                copy = kept.with_name(kept.name + suffix)
                create_private(copy)  # copyfile keeps the mode of the file it writes into
                shutil.copyfile(part, copy)


def restore(target: str | Path, source: str | Path, *, supported: int,
            check: Callable[[Path], None] | None = None) -> tuple[Path | None, int, AuditCheck]:
    """Replace the database ``target`` with a checked copy of the backup ``source``; (old kept as, version, check).

    The source must pass a full integrity check and have a schema this biometrix supports. The copy is written
    beside the target, checked, and moved into place with os.replace, so the target is either the old file or the
    whole backup. The old database (with anything still in its WAL) is kept as ``<target>.bak-<UTC timestamp>``.
    No other biometrix process may have the target open meanwhile.
    """
    target, source = Path(target), Path(source)
    inspect(source, supported=supported)
    if target.exists() and target.resolve() == source.resolve():
        raise StoreError(f"{source} is the database itself; restore from a backup file")
    make_private_dirs(target.parent)
    temp = _temp_beside(target, "restore")
    kept: Path | None = None
    try:
        src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            copy_into(src, temp)
        finally:
            src.close()
        version, result = inspect(temp, supported=supported)
        if check is not None:
            check(temp)
            conn = sqlite3.connect(temp)  # the check may have opened it in WAL mode: self-contained again
            try:
                conn.execute("PRAGMA journal_mode = DELETE")
            finally:
                conn.close()
            version, result = inspect(temp, supported=supported)
        if target.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
            kept = target.with_name(f"{target.name}.bak-{stamp}")
            _keep_old(target, kept)
        os.replace(temp, target)
        for suffix in ("-wal", "-shm"):  # the old file's; the restored copy is self-contained
            _remove(target.with_name(target.name + suffix))
        _fsync_dir(target.parent)
    except sqlite3.Error as e:
        raise StoreError(f"cannot restore {target} from {source}: {e}") from e
    finally:
        for suffix in ("", "-wal", "-shm"):
            _remove(temp.with_name(temp.name + suffix))
    log.info("restored %s from %s (old database kept as %s)", target, source, kept)
    return kept, version, result
