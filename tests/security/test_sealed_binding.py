"""Finding 11: sealed values are documented as bound to the database, the column and the subject (associated
data of DataKey), but only the subject part was tested: dropping the database or the column from the associated
data passed every test. Here a sealed value is moved, with sqlite3 directly, to another column of the same
subject, and into another database (same subject id) whose data key is the same; reading it through the store's
public paths must fail with StoreError. (Each of these tests fails when the column or the database is taken out
of ``DataKey._aad``.)"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sqlite3
from pathlib import Path

import pytest

from biometrix.core.errors import StoreError
from biometrix.store import SqliteStore
from biometrix.store import crypto as store_crypto
from tests.security.conftest import SIG, enroll


def _sql(db: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        with conn:
            return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _alice(tmp_path: Path, name: str = "bank.db", seed: int = 0) -> Path:
    db = tmp_path / name
    with SqliteStore(db) as store:
        enroll(store, "alice", seed=seed, name="Alice Example")
        enroll(store, "bob", seed=seed + 1, name="Bob Example")
    return db


def test_a_template_vector_copied_into_the_display_name_does_not_open(tmp_path: Path) -> None:
    db = _alice(tmp_path)
    (vector,) = _sql(db, "SELECT r.vector FROM template_references r JOIN templates t USING (template_id)"
                         " WHERE t.subject_id = 'alice' AND r.position = 0")[0]
    _sql(db, "UPDATE subjects SET display_name = ? WHERE subject_id = 'alice'", (vector,))
    with SqliteStore(db, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.subjects()


def test_a_sample_meta_copied_into_the_display_name_or_the_data_does_not_open(tmp_path: Path) -> None:
    """The meta is JSON text: without the column in the associated data it would read as a name, or as the
    sample itself, without any error."""
    db = _alice(tmp_path)
    meta, sample_id = _sql(db, "SELECT meta, sample_id FROM samples WHERE subject_id = 'alice' ORDER BY sample_id")[0]
    work = tmp_path / "name.db"
    work.write_bytes(db.read_bytes())
    _sql(work, "UPDATE subjects SET display_name = ? WHERE subject_id = 'alice'", (meta,))
    with SqliteStore(work, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.subjects()
    _sql(db, "UPDATE samples SET data = ? WHERE sample_id = ?", (meta, sample_id))
    with SqliteStore(db, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.samples("alice", modality=SIG)


def test_a_sample_copied_from_another_database_does_not_open(tmp_path: Path) -> None:
    """The plain attack: another bank database's sealed sample of the same subject id, copied in."""
    source, target = _alice(tmp_path, "source.db", seed=0), _alice(tmp_path, "target.db", seed=5)
    stolen = _sql(source, "SELECT data, meta FROM samples WHERE subject_id = 'alice' ORDER BY sample_id")
    ids = [r[0] for r in _sql(target, "SELECT sample_id FROM samples WHERE subject_id = 'alice' ORDER BY sample_id")]
    for (data, meta), sample_id in zip(stolen, ids, strict=True):
        _sql(target, "UPDATE samples SET data = ?, meta = ? WHERE sample_id = ?", (data, meta, sample_id))
    with SqliteStore(target, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.samples("alice", modality=SIG)


def _share_data_key(source: Path, target: Path) -> None:
    """Give ``target`` the data key of ``source``, wrapped for ``target``'s own database id (as an admin holding
    the key file could), with an integrity key sealed by it: the two files then differ only in their database id."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    (key_id, kind, params, wrapped), = _sql(source, "SELECT key_id, kind, params, wrapped FROM data_keys")
    (source_id,), = _sql(source, "SELECT value FROM store_meta WHERE key = 'database_id'")
    (target_id,), = _sql(target, "SELECT value FROM store_meta WHERE key = 'database_id'")
    assert source_id != target_id
    key_dir = Path(os.environ[store_crypto.KEY_DIR_ENV])
    source_params = json.loads(params)
    kek = (key_dir / source_params["keyfile"]).read_bytes()
    wrapped = bytes(wrapped)
    dek = AESGCM(kek).decrypt(wrapped[:12], wrapped[12:],
                              store_crypto._wrap_aad(source_id, key_id, kind, source_params))
    target_params = dict(source_params, keyfile=f"{store_crypto.expected_kek_name(target_id, key_id)}.key")
    (key_dir / target_params["keyfile"]).write_bytes(kek)  # the key file is found by its derived name only
    nonce = secrets.token_bytes(12)
    rewrapped = nonce + AESGCM(kek).encrypt(nonce, dek, store_crypto._wrap_aad(target_id, key_id, kind,
                                                                               target_params))
    shared = store_crypto.DataKey(dek, key_id=key_id, database_id=target_id)
    sealed = base64.b64encode(store_crypto.IntegrityKey.new(target_id).sealed_by(shared)).decode()
    _sql(target, "UPDATE data_keys SET key_id = ?, params = ?, wrapped = ?",
         (key_id, json.dumps(target_params), rewrapped))
    _sql(target, "UPDATE store_meta SET value = ? WHERE key = 'integrity_key'", (sealed,))


def test_a_sample_copied_between_databases_sharing_a_data_key_does_not_open(tmp_path: Path) -> None:
    """Only the database id tells these two files' sealed values apart: the binding itself is what refuses."""
    source = _alice(tmp_path, "source.db", seed=0)
    target = tmp_path / "target.db"
    with SqliteStore(target):
        pass
    _share_data_key(source, target)
    with SqliteStore(target, create=False) as store:
        enroll(store, "alice", seed=7)  # sealed under the shared key, for the target's database id
        assert len(store.samples("alice", modality=SIG)) == 3  # the target reads its own values: the key is shared
    stolen = _sql(source, "SELECT data, meta FROM samples WHERE subject_id = 'alice' ORDER BY sample_id")
    ids = [r[0] for r in _sql(target, "SELECT sample_id FROM samples WHERE subject_id = 'alice' ORDER BY sample_id")]
    (data, meta), sample_id = stolen[0], ids[0]
    _sql(target, "UPDATE samples SET data = ?, meta = ? WHERE sample_id = ?", (data, meta, sample_id))
    with SqliteStore(target, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.samples("alice", modality=SIG)
    (vector,) = _sql(source, "SELECT r.vector FROM template_references r JOIN templates t USING (template_id)"
                             " WHERE t.subject_id = 'alice' AND r.position = 0")[0]
    _sql(target, "UPDATE template_references SET vector = ? WHERE position = 0 AND template_id ="
                 " (SELECT template_id FROM templates WHERE subject_id = 'alice')", (vector,))
    with SqliteStore(target, create=False) as store, pytest.raises(StoreError, match="fails its integrity check"):
        store.template("alice", modality=SIG, model_id="s1")
