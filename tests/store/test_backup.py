"""Durability (store/db.py, store/backup.py): integrity check at open, online backup, atomic restore, erasure."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix.core.errors import NotEnrolled, SchemaTooNew, StoreError
from biometrix.core.types import Modality
from biometrix.store import SCHEMA_VERSION, SampleIn, SqliteStore, restore_database

from .conftest import embeddings, raw

MakeSamples = Callable[..., list[SampleIn]]


def _enrolled(path: Path, make_samples: MakeSamples, subjects: tuple[str, ...] = ("alice", "bob")) -> None:
    with SqliteStore(path) as s:
        for i, sid in enumerate(subjects):
            s.enroll(sid, modality=Modality.SIGNATURE, model_id="s1", samples=make_samples(3, i),
                     embeddings=embeddings(3, seed=i))
            s.enroll(sid, modality=Modality.FACE, model_id="f1", samples=make_samples(2, 10 + i),
                     embeddings=embeddings(2, seed=10 + i))


def _corrupt(path: Path) -> None:
    """Overwrite bytes in the middle of a b-tree page of the samples table."""
    root = raw(path, "SELECT rootpage FROM sqlite_master WHERE name = 'samples'")[0][0]
    page_size = raw(path, "PRAGMA page_size")[0][0]
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start: start + page_size // 2] = b"\xa5" * (page_size // 2)
    path.write_bytes(bytes(data))


def test_damaged_file_is_refused_at_open(db_path: Path, make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    assert not db_path.with_name(db_path.name + "-wal").exists()  # everything is in the main file
    _corrupt(db_path)
    with pytest.raises(StoreError, match=r"is damaged \(quick_check: .*\); restore it from a backup"):
        SqliteStore(db_path, create=False)


def test_backup_is_a_checked_copy_and_never_overwrites(tmp_path: Path, db_path: Path,
                                                       make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    dest = tmp_path / "backup.db"
    with SqliteStore(db_path) as s:
        s.record("verify", subject_id="alice", modality=Modality.FACE, model_id="f1")  # still in the WAL
        check = s.backup(dest)
        assert (check.ok, check.n_rows) == (True, 5)
        before = hashlib.sha256(dest.read_bytes()).hexdigest()
        with pytest.raises(StoreError, match="already exists"):
            s.backup(dest)
        assert hashlib.sha256(dest.read_bytes()).hexdigest() == before
    assert raw(dest, "PRAGMA integrity_check") == [("ok",)]
    assert raw(dest, "PRAGMA journal_mode") == [("delete",)]
    assert raw(dest, "SELECT count(*) FROM audit_log") == [(5,)]
    assert list(tmp_path.glob(".*.tmp")) == []
    with SqliteStore(dest, create=False) as b:
        assert [x.subject_id for x in b.subjects()] == ["alice", "bob"]
        assert b.verify_audit().ok


def test_restore_replaces_atomically_and_keeps_the_old_file(tmp_path: Path, db_path: Path,
                                                            make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    dest = tmp_path / "backup.db"
    with SqliteStore(db_path) as s:
        s.backup(dest)
        s.delete_subject("alice")
    report = restore_database(db_path, dest)
    assert report.kept is not None and report.kept.name.startswith("biometrix.db.bak-")
    assert (report.schema_version, report.audit.ok) == (SCHEMA_VERSION, True)
    with SqliteStore(db_path, create=False) as s:
        assert [x.subject_id for x in s.subjects()] == ["alice", "bob"]
    assert raw(report.kept, "SELECT subject_id FROM subjects") == [("bob",)]  # the old one, deletion included
    assert list(db_path.parent.glob(".*.tmp")) == []


def test_restore_over_a_damaged_database(tmp_path: Path, db_path: Path, make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    dest = tmp_path / "backup.db"
    with SqliteStore(db_path) as s:
        s.backup(dest)
    _corrupt(db_path)
    report = restore_database(db_path, dest)
    assert report.kept is not None and report.kept.exists()
    with SqliteStore(db_path, create=False) as s:
        assert len(s.subjects()) == 2


def test_restore_refuses_damaged_newer_or_foreign_sources(tmp_path: Path, db_path: Path,
                                                          make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    damaged = tmp_path / "damaged.db"
    with SqliteStore(db_path) as s:
        s.backup(damaged)
    _corrupt(damaged)
    with pytest.raises(StoreError, match="damaged"):
        restore_database(db_path, damaged)
    newer = tmp_path / "newer.db"
    with SqliteStore(db_path) as s:
        s.backup(newer)
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer than this biometrix supports"):
        restore_database(db_path, newer)
    foreign = tmp_path / "foreign.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE x (y)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a biometrix enrollment database"):
        restore_database(db_path, foreign)
    with pytest.raises(StoreError, match="no database file"):
        restore_database(db_path, tmp_path / "missing.db")
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    assert list(db_path.parent.glob("*.bak-*")) == []


def test_erase_removes_everything_and_keeps_the_chain(db_path: Path, make_samples: MakeSamples) -> None:
    _enrolled(db_path, make_samples)
    # The sample as it sits in the file (sealed: the raw PNG bytes never reach the file at all).
    blob = raw(db_path, "SELECT data FROM samples WHERE subject_id = 'alice' ORDER BY sample_id LIMIT 1")[0][0]
    assert make_samples(3, 0)[0].data not in db_path.read_bytes()
    assert blob in db_path.read_bytes()
    with SqliteStore(db_path) as s:
        pseudonym = s.erase_subject("alice")
        assert pseudonym.startswith("erased:") and len(pseudonym) == len("erased:") + 16
        assert "alice" not in pseudonym
        with pytest.raises(NotEnrolled):
            s.template("alice", modality=Modality.SIGNATURE, model_id="s1")
        assert [t.subject_id for t in s.gallery(modality=Modality.FACE, model_id="f1")] == ["bob"]
        with pytest.raises(NotEnrolled, match="nothing to erase"):
            s.erase_subject("alice")
        assert s.verify_audit().ok
    for table in ("subjects", "samples", "templates"):
        assert raw(db_path, f"SELECT count(*) FROM {table} WHERE subject_id = 'alice'") == [(0,)]
    assert raw(db_path, "SELECT count(*) FROM template_references r LEFT JOIN templates t USING (template_id)"
                        " WHERE t.template_id IS NULL") == [(0,)]
    last = raw(db_path, "SELECT event, subject_id, decision, details FROM audit_log ORDER BY event_id DESC LIMIT 1")
    assert last == [("erase", pseudonym, "erased", '{"samples_erased": 5, "templates_erased": 2}')]
    # The sealed sample bytes are gone from the file itself, not only unlinked (secure_delete + checkpoint).
    assert blob not in db_path.read_bytes()
