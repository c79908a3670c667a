"""Finding 6: the database, its -wal/-shm, backups, .bak copies and the temporary files of backup and restore
were created 0644 (every local user could read the operators' hashes, subject ids and the audit). Under the
usual umask 022 each of them must now be created owner-only: 0600 files, 0700 folders."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from biometrix.store import SqliteStore, restore_database
from biometrix.store import backup as backup_module
from tests.security.conftest import enroll

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes; Windows uses the folder's ACL"),
              pytest.mark.usefixtures("umask_022")]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(path: Path) -> None:
    """Nobody but the owner can read, write or list it (the oracle: the mode bits the kernel enforces)."""
    expected = 0o700 if path.is_dir() else 0o600
    assert mode(path) == expected, f"{path.name} is {oct(mode(path))}, expected {oct(expected)}"


def test_a_new_database_its_wal_shm_and_folders_are_owner_only(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    db = existing / "made" / "by" / "biometrix" / "bank.db"
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert mode(plain) == 0o644  # the umask the attack needs is in force
    with SqliteStore(db) as store:
        store.add_operator("root", "admin", "admin-password-1", first=True)
        enroll(store, "alice")
        wal, shm = db.with_name("bank.db-wal"), db.with_name("bank.db-shm")
        assert wal.exists() and shm.exists()  # open in WAL mode: both side files are there to check
        for path in (db, wal, shm, db.parent, db.parent.parent, db.parent.parent.parent):
            assert_private(path)
    assert mode(existing) == 0o755  # a folder that was already there keeps its mode


def test_backups_bak_copies_and_their_temporary_files_are_owner_only(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "bank.db"
    with SqliteStore(db) as store:
        enroll(store, "alice")
        seen: list[tuple[str, int]] = []
        real_inspect = backup_module.inspect

        def watching_inspect(path: Path, *, supported: int):  # type: ignore[no-untyped-def]
            seen.append((path.name, mode(path)))  # the temporary copy, while it exists
            return real_inspect(path, supported=supported)

        monkeypatch.setattr(backup_module, "inspect", watching_inspect)
        store.backup(tmp_path / "copy.db")
    assert_private(tmp_path / "copy.db")
    restore_database(db, tmp_path / "copy.db")
    kept = sorted(tmp_path.glob("bank.db.bak-*"))
    assert len(kept) == 1
    assert_private(kept[0])
    assert_private(db)
    temps = [(name, m) for name, m in seen if name.endswith(".tmp")]
    assert {name.split("-")[0] for name, _ in temps} == {".copy.db.backup", ".bank.db.restore"}
    assert all(m == 0o600 for _, m in temps), temps


def test_the_raw_copy_of_a_damaged_database_is_owner_only(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    with SqliteStore(good) as store:
        enroll(store, "alice")
        store.backup(tmp_path / "backup.db")
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"not a database at all " * 200)  # the online backup of it fails: raw files are kept
    os.chmod(damaged, 0o600)
    report = restore_database(damaged, tmp_path / "backup.db")
    assert report.kept is not None and report.kept.read_bytes() == b"not a database at all " * 200
    assert_private(report.kept)
    assert_private(damaged)
