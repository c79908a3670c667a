"""Finding 9: a zero-byte database file was quietly rebuilt as a new database with a new key and no operators
(so nobody could log in). It must be refused with a clear error and left as it was, by the store and by every
command, `db migrate` and a first enrollment included; only a path where no file is gets a new database."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix.core.errors import StoreError
from biometrix.store import SqliteStore
from tests.security.conftest import Run, enroll, error_line


def _key_files() -> list[Path]:
    return sorted(Path(os.environ["BIOMETRIX_KEY_DIR"]).glob("*.key"))


def test_the_store_refuses_an_empty_file_and_leaves_it_alone(tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    db.write_bytes(b"")
    keys = _key_files()
    for create in (True, False):
        with pytest.raises(StoreError, match=r"empty file \(0 bytes\)") as err:
            SqliteStore(db, create=create)
        assert "restore" in str(err.value) and str(db) in str(err.value)
    assert db.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.db"]  # no -wal, -shm or journal beside it
    assert _key_files() == keys  # and no new key was made for it


def test_an_empty_file_with_a_wal_beside_it_is_refused_and_the_wal_kept(tmp_path: Path) -> None:
    db, wal = tmp_path / "bank.db", tmp_path / "bank.db-wal"
    db.write_bytes(b"")
    wal.write_bytes(b"\x37\x7f\x06\x82" + bytes(4092))  # what a crash may leave: SQLite would delete it
    digest = hashlib.sha256(wal.read_bytes()).hexdigest()
    with pytest.raises(StoreError, match="empty file"):
        SqliteStore(db)
    assert hashlib.sha256(wal.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("argv", [["db", "migrate"], ["db", "info"], ["enroll", "--subject", "alice", "--signature",
                                                                      "ref1.png"], ["operator", "list"]])
def test_every_command_refuses_an_empty_file(argv: list[str], tmp_path: Path, cli: Callable[..., Run]) -> None:
    db = tmp_path / "bank.db"
    db.write_bytes(b"")
    run = cli(*argv, "--db", db)
    assert "empty file (0 bytes)" in error_line(run) and run.out == ""
    assert db.read_bytes() == b"" and sorted(p.name for p in tmp_path.iterdir()) == ["bank.db"]


def test_db_migrate_creates_a_database_only_where_no_file_is(tmp_path: Path, cli: Callable[..., Run]) -> None:
    db = tmp_path / "new" / "bank.db"
    run = cli("db", "migrate", "--db", db)
    assert run.rc == 0, run.err
    with SqliteStore(db, create=False) as store:
        assert store.info().schema_version >= 3


def test_many_first_openers_at_once_never_see_an_empty_file(tmp_path: Path) -> None:
    """The file appears whole (made beside it and linked into place), so a second process opening the path while
    the first creates it never meets the zero-byte file that the refusal above would stop."""
    db = tmp_path / "bank.db"
    n = 8
    start = threading.Barrier(n)
    errors: list[BaseException] = []

    def first_open(i: int) -> None:
        start.wait()
        try:
            with SqliteStore(db) as store:
                enroll(store, f"subject-{i}", seed=i)
        except BaseException as e:  # noqa: BLE001 - collected and shown below
            errors.append(e)

    threads = [threading.Thread(target=first_open, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with SqliteStore(db, create=False) as store:
        assert [s.subject_id for s in store.subjects()] == [f"subject-{i}" for i in range(n)]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left beside it
