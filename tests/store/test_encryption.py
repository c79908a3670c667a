"""Encryption at rest: what reaches the file, wrong and missing keys, moved values, key rotation, old databases."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.errors import KeyUnavailable, StoreError, WrongKey
from biometrix.core.types import Modality
from biometrix.store import KeySource, SampleIn, SqliteStore, migrations
from biometrix.store.codec import embedding_to_blob
from biometrix.store.crypto import KEY_DIR_ENV
from biometrix.store.db import atomic, connect
from tests.store.conftest import embeddings, raw

MakeSamples = Callable[[int, int], list[SampleIn]]
SIG = Modality.SIGNATURE
PASS_A, PASS_B = "correct horse battery", "wrong horse battery"


def _files(db: Path) -> bytes:
    """Everything SQLite wrote for this database: the file and its WAL."""
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _digest(db: Path) -> str:
    return hashlib.sha256(_files(db)).hexdigest()


def _enroll(store: SqliteStore, samples: list[SampleIn], emb: np.ndarray, subject: str = "alice") -> None:
    store.enroll(subject, modality=SIG, model_id="s1", samples=samples, embeddings=emb, display_name="Alice Example")


def test_a_new_database_keeps_nothing_readable(db_path: Path, make_samples: MakeSamples) -> None:
    samples, emb = make_samples(3, 0), embeddings(3)
    with SqliteStore(db_path) as s:
        _enroll(s, samples, emb)
        assert s.info().encryption == "aes-256-gcm, key in a keyfile"
        back = s.template("alice", modality=SIG, model_id="s1")
        assert [x.data for x in s.samples("alice", modality=SIG)] == [x.data for x in samples]
        assert s.samples("alice", modality=SIG)[0].meta == samples[0].meta
        assert s.subjects()[0].display_name == "Alice Example"
    # The oracle: the template is exactly the embeddings given, L2-normalised (what make_template keeps).
    expected = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    np.testing.assert_allclose(back.references, expected, rtol=1e-6)
    on_disk = _files(db_path)
    for secret in [x.data for x in samples] + [expected[0].astype("<f4").tobytes(), emb[0].astype("<f4").tobytes(),
                                               b"Alice Example", b"s0_0.png"]:
        assert secret not in on_disk


def test_same_sample_is_found_without_decrypting(db_path: Path, make_samples: MakeSamples) -> None:
    samples = make_samples(2, 0)
    with SqliteStore(db_path) as s:
        s.enroll("alice", modality=SIG, model_id="s1", samples=samples, embeddings=embeddings(2))
        s.enroll("alice", modality=SIG, model_id="s2", samples=samples, embeddings=embeddings(2, seed=1))
    assert raw(db_path, "SELECT count(*) FROM samples") == [(2,)]  # re-templating reuses the kept samples


def test_wrong_passphrase_fails_clearly_and_changes_nothing(db_path: Path, make_samples: MakeSamples) -> None:
    with SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A)) as s:
        _enroll(s, make_samples(2, 0), embeddings(2))
    before = _digest(db_path)
    with pytest.raises(WrongKey, match="wrong passphrase.*nothing was changed"):
        SqliteStore(db_path, key=KeySource.from_passphrase(PASS_B))
    with pytest.raises(KeyUnavailable, match="encrypted with a passphrase"):
        SqliteStore(db_path)  # none given, none in the environment
    with pytest.raises(WrongKey, match="kept in a passphrase, not a key file"):
        SqliteStore(db_path, key=KeySource("keyfile"))
    assert _digest(db_path) == before
    with SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A)) as s:
        assert s.subjects()[0].display_name == "Alice Example"


def test_passphrase_from_the_environment(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_PASSPHRASE", PASS_A)
    SqliteStore(db_path).close()
    assert raw(db_path, "SELECT kind FROM data_keys") == [("passphrase",)]
    SqliteStore(db_path).close()
    monkeypatch.setenv("BIOMETRIX_PASSPHRASE", PASS_B)
    with pytest.raises(WrongKey):
        SqliteStore(db_path)


def test_missing_or_damaged_key_file(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     make_samples: MakeSamples) -> None:
    keys = tmp_path / "keys"
    monkeypatch.setenv(KEY_DIR_ENV, str(keys))
    with SqliteStore(db_path) as s:
        _enroll(s, make_samples(1, 0), embeddings(1))
    (key_file,) = keys.iterdir()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent != db_path.parent
    before = _digest(db_path)
    good = key_file.read_bytes()
    key_file.write_bytes(bytes(32))
    with pytest.raises(WrongKey, match="wrong key file key"):
        SqliteStore(db_path)
    key_file.unlink()
    with pytest.raises(KeyUnavailable, match="key file of this database is missing"):
        SqliteStore(db_path)
    assert _digest(db_path) == before
    key_file.write_bytes(good)
    SqliteStore(db_path).close()


def test_a_sealed_value_moved_to_another_subject_does_not_open(db_path: Path, make_samples: MakeSamples) -> None:
    with SqliteStore(db_path) as s:
        _enroll(s, make_samples(1, 0), embeddings(1), subject="alice")
        _enroll(s, make_samples(1, 1), embeddings(1, seed=1), subject="mallory")
    conn = sqlite3.connect(db_path)
    alice = conn.execute("SELECT r.vector FROM template_references r JOIN templates t USING (template_id)"
                         " WHERE t.subject_id = 'alice'").fetchone()[0]
    conn.execute("UPDATE template_references SET vector = ? WHERE template_id IN"
                 " (SELECT template_id FROM templates WHERE subject_id = 'mallory')", (alice,))
    conn.commit()
    conn.close()
    with SqliteStore(db_path) as s, pytest.raises(StoreError, match="moved from another row"):
        s.template("mallory", modality=SIG, model_id="s1")


def test_rotation_through_every_key_store(db_path: Path, make_samples: MakeSamples) -> None:
    samples, emb = make_samples(3, 0), embeddings(3)
    with SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A)) as s:
        _enroll(s, samples, emb)
        before = s.template("alice", modality=SIG, model_id="s1").references
        old_vector = raw(db_path, "SELECT vector FROM template_references LIMIT 1")[0][0]
        counts = s.rotate_key(KeySource("keyfile"))
        assert counts == {"samples": 3, "references": 3, "display_names": 1}
        assert raw(db_path, "SELECT vector FROM template_references LIMIT 1")[0][0] != old_vector
    with pytest.raises(WrongKey):  # the old passphrase no longer opens it
        SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A))
    with SqliteStore(db_path) as s:
        s.rotate_key(KeySource("keyring"))  # keyring's real API; headless, keyrings.alt's file backend holds it
    with SqliteStore(db_path) as s:
        assert s.info().encryption == "aes-256-gcm, key in a keyring"
        np.testing.assert_array_equal(s.template("alice", modality=SIG, model_id="s1").references, before)
        assert [x.data for x in s.samples("alice", modality=SIG)] == [x.data for x in samples]
        s.enroll("alice", modality=SIG, model_id="s2", samples=samples, embeddings=emb)  # digests were redone
        keys = [e for e in s.audit() if e.event == "key"]
        assert [(e.decision, e.details["key_store"]) for e in keys] == [("rotated", "keyfile"), ("rotated", "keyring")]
        assert s.verify_audit().ok
    assert raw(db_path, "SELECT count(*) FROM samples") == [(3,)]


def test_a_failed_rotation_changes_nothing(db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           make_samples: MakeSamples) -> None:
    keys = tmp_path / "keys"
    monkeypatch.setenv(KEY_DIR_ENV, str(keys))
    with SqliteStore(db_path) as s:
        _enroll(s, make_samples(2, 0), embeddings(2), subject="alice")
        _enroll(s, make_samples(2, 1), embeddings(2, seed=1), subject="bob")
    conn = sqlite3.connect(db_path)  # damage bob's last sample: the re-encryption fails part way
    conn.execute("UPDATE samples SET data = zeroblob(40) WHERE sample_id = (SELECT max(sample_id) FROM samples)")
    conn.commit()
    conn.close()
    key_files = sorted(keys.iterdir())
    with SqliteStore(db_path) as s:
        with pytest.raises(StoreError, match="damaged"):
            s.rotate_key(KeySource("keyfile"))
        assert s.template("alice", modality=SIG, model_id="s1").n_references == 2
    assert sorted(keys.iterdir()) == key_files  # the new key file was removed again
    with SqliteStore(db_path) as s:
        assert [e.event for e in s.audit()] == ["enroll", "enroll"]


def test_a_database_from_before_encryption_is_read_then_encrypted(db_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   make_samples: MakeSamples) -> None:
    samples, emb = make_samples(2, 0), embeddings(2)
    with monkeypatch.context() as m:  # a schema-2 database with one subject, written as the previous release did
        m.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
        m.setattr(migrations, "SCHEMA_VERSION", 2)
        conn = connect(db_path, create=True, max_version=2)
        migrations.apply(conn)
    now = "2026-11-01T00:00:00.000000+00:00"
    with atomic(conn):
        conn.execute("INSERT INTO subjects VALUES ('alice', 'Alice Example', ?)", (now,))
        conn.execute("INSERT INTO templates VALUES (1, 'alice', 'signature', 's1', ?)", (now,))
        for i, (sample, vector) in enumerate(zip(samples, emb, strict=True)):
            conn.execute("INSERT INTO samples VALUES (?, 'alice', 'signature', ?, ?, '{}', ?)",
                         (i + 1, sample.media_type, sample.data, now))
            conn.execute("INSERT INTO template_references VALUES (1, ?, ?, ?, ?)",
                         (i, i + 1, emb.shape[1], embedding_to_blob(vector / np.linalg.norm(vector))))
    conn.close()
    assert samples[0].data in _files(db_path)
    # Migrated past the integrity upgrade: encrypted in the same transaction (never left plaintext), under the
    # key store the opener gives (here a passphrase), and audited with the counts re-sealed.
    with SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A)) as s:
        assert s.info().encryption == "aes-256-gcm, key in a passphrase"
        assert s.info().schema_version == migrations.SCHEMA_VERSION
        assert s.subjects()[0].display_name == "Alice Example"
        (row,) = s.audit(event="key")
        assert (row.decision, row.details["samples"], row.details["references"], row.details["display_names"]) == (
            "encrypted", 2, 2, 1)
        assert s.verify_audit().ok
        conn = sqlite3.connect(db_path)
        conn.execute("VACUUM")  # drop the freed plaintext pages so the file shows only what is live
        conn.close()
    assert samples[0].data not in _files(db_path)
    with SqliteStore(db_path, key=KeySource.from_passphrase(PASS_A)) as s:
        assert [x.data for x in s.samples("alice", modality=SIG)] == [x.data for x in samples]
