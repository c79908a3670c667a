"""The database's files on disk: created readable by their owner only (0600, folders 0700 on POSIX).

SQLite gives a database's ``-wal``, ``-shm`` and ``-journal`` files the permission bits of the database file
itself, so a database file created 0600 keeps its side files 0600 too. On Windows the mode bits are not used:
files take the access list of their folder (see enrollment_db/README.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from pathlib import Path

#: Owner read/write only: the database, backups, ``.bak`` copies and the temporary files of backup and restore.
PRIVATE_FILE_MODE = 0o600
#: Owner only: the folders biometrix creates for them.
PRIVATE_DIR_MODE = 0o700
#: The files SQLite keeps beside a database while it is open or after a crash.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each owner-only; folders that exist are left as they are."""
    missing: list[Path] = []
    current = Path(folder)
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process: keep its mode
            part.mkdir(mode=PRIVATE_DIR_MODE)


def create_private(path: Path) -> None:
    """Create the empty file ``path`` readable and writable by its owner only; FileExistsError when it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), PRIVATE_FILE_MODE)
    os.close(fd)


def remove_with_side_files(path: Path) -> None:
    """Delete a database file and the ``-wal`` / ``-shm`` / ``-journal`` files beside it (those that exist)."""
    for suffix in ("", *SIDE_SUFFIXES):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def discard_unused(path: Path) -> bool:
    """Delete the database at ``path``, its side files and its key (key file or keyring entry) when it holds no
    subject and no sample: what a command that failed left where no database was before it. A database with
    anything enrolled in it (another process's, made meanwhile) is kept. Returns whether it was deleted."""
    from biometrix.store.crypto import KeySource, WrappedKey, forget_kek

    try:
        conn = sqlite3.connect(path)
    except sqlite3.Error:
        return False
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ("subjects", "samples"):
            if table in tables and conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
                return False
        keys = conn.execute("SELECT key_id, kind, params, wrapped FROM data_keys").fetchall() \
            if "data_keys" in tables else []
    except sqlite3.Error:
        return False
    finally:
        conn.close()
    remove_with_side_files(path)
    for key_id, kind, params, wrapped in keys:
        forget_kek(WrappedKey(key_id=key_id, kind=kind, params=json.loads(params), wrapped=bytes(wrapped)), KeySource())
    return True
