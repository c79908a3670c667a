"""Finding 4 of the security review: the key record in the database was not authenticated. Deleting the
``data_keys`` row and setting ``encryption='none'`` made later enrollments plaintext without a warning, and an
attacker's wrapped key at an absolute key-file path opened a passphrase database without its passphrase. Each
attack is performed on the file with sqlite3 and must be refused before anything is read or written."""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from biometrix import Biometrix
from biometrix.core.errors import StoreError, TamperDetected, WrongKey
from biometrix.store import KeySource
from tests.security._bank import drawn, one_error_line, run_cli

PASSPHRASE = "correct horse battery staple"


def _dump(db: Path) -> bytes:
    conn = sqlite3.connect(db)
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


def _edit(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(db)
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


@pytest.fixture
def keyfile_db(tmp_path: Path) -> Path:
    db = tmp_path / "bank.db"
    with Biometrix(db) as bx:
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
    return db


@pytest.fixture
def passphrase_db(tmp_path: Path) -> Path:
    db = tmp_path / "secret.db"
    with Biometrix(db, key=KeySource.from_passphrase(PASSPHRASE)) as bx:
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
    return db


def test_removing_the_key_record_does_not_downgrade_to_plaintext(keyfile_db: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _edit(keyfile_db, ("DELETE FROM data_keys", ()),
          ("UPDATE store_meta SET value = 'none' WHERE key = 'encryption'", ()))
    before = _dump(keyfile_db)
    with pytest.raises(TamperDetected, match="never loses it"):
        Biometrix(keyfile_db).enroll("bob", signatures=[drawn(5), drawn(6)])
    run = run_cli(capsys, monkeypatch, None, "enroll", "--db", keyfile_db, "--subject", "bob", "--signature",
                  str(keyfile_db))
    one_error_line(run, "key record")
    assert _dump(keyfile_db) == before  # nothing written, nothing plaintext
    # the same with 'pending' (what a brand-new database says): a database holding data is never re-keyed
    _edit(keyfile_db, ("UPDATE store_meta SET value = 'pending' WHERE key = 'encryption'", ()))
    with pytest.raises(TamperDetected):
        Biometrix(keyfile_db).open()


def test_an_attackers_key_at_an_absolute_path_does_not_open_a_passphrase_database(
        passphrase_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIOMETRIX_PASSPHRASE", raising=False)
    conn = sqlite3.connect(passphrase_db)
    (database_id,) = conn.execute("SELECT value FROM store_meta WHERE key = 'database_id'").fetchone()
    (key_id,) = conn.execute("SELECT key_id FROM data_keys").fetchone()
    conn.close()
    evil_kek, evil_dek = secrets.token_bytes(32), secrets.token_bytes(32)
    (tmp_path / "evil.key").write_bytes(evil_kek)
    for params in ({"keyfile": str(tmp_path / "evil.key")},  # the review's attack, format 1
                   {"keyfile": str(tmp_path / "evil.key"), "format": 2, "audit_mac_from": 1}):
        nonce = secrets.token_bytes(12)
        if params.get("format") == 2:
            aad = b"biometrix-data-key|2|" + json.dumps([database_id, key_id, "keyfile", params], sort_keys=True,
                                                        separators=(",", ":")).encode()
        else:
            aad = f"biometrix-data-key|{database_id}|{key_id}".encode()
        wrapped = nonce + AESGCM(evil_kek).encrypt(nonce, evil_dek, aad)
        _edit(passphrase_db, ("UPDATE data_keys SET kind = 'keyfile', params = ?, wrapped = ?",
                              (json.dumps(params), wrapped)))
        with pytest.raises(WrongKey, match="not this database's"):
            Biometrix(passphrase_db).open()


def test_an_edited_key_record_or_integrity_key_is_refused(passphrase_db: Path) -> None:
    key = KeySource.from_passphrase(PASSPHRASE)
    conn = sqlite3.connect(passphrase_db)
    (params,) = conn.execute("SELECT params FROM data_keys").fetchone()
    (sealed,) = conn.execute("SELECT value FROM store_meta WHERE key = 'integrity_key'").fetchone()
    conn.close()
    original = json.loads(params)
    edits = {
        "MACs only from row 999 on": dict(original, audit_mac_from=999),
        "back to the unauthenticated format": {k: v for k, v in original.items() if k != "format"},
    }
    for what, new in edits.items():
        _edit(passphrase_db, ("UPDATE data_keys SET params = ?", (json.dumps(new),)))
        with pytest.raises((WrongKey, TamperDetected)):
            Biometrix(passphrase_db, key=key).open()
        _edit(passphrase_db, ("UPDATE data_keys SET params = ?", (params,)))
        assert what
    Biometrix(passphrase_db, key=key).open()  # as it was: opens
    _edit(passphrase_db, ("DELETE FROM store_meta WHERE key = 'integrity_key'", ()))
    with pytest.raises(TamperDetected, match="integrity key"):
        Biometrix(passphrase_db, key=key).open()
    other = base64.b64encode(b"\x01" + secrets.token_bytes(60)).decode()
    _edit(passphrase_db, ("INSERT INTO store_meta (key, value) VALUES ('integrity_key', ?)", (other,)))
    with pytest.raises(TamperDetected, match="integrity key"):
        Biometrix(passphrase_db, key=key).open()
    _edit(passphrase_db, ("UPDATE store_meta SET value = ? WHERE key = 'integrity_key'", (sealed,)))
    Biometrix(passphrase_db, key=key).open()


def test_a_wrong_passphrase_still_changes_nothing(passphrase_db: Path) -> None:
    before = _dump(passphrase_db)
    with pytest.raises(StoreError):
        Biometrix(passphrase_db, key=KeySource.from_passphrase("not the passphrase")).open()
    assert _dump(passphrase_db) == before
