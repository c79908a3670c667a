"""``biometrix db info`` / ``db migrate``: where the database is, why, and what it holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from biometrix.store import SCHEMA_VERSION
from tests.cli.conftest import GALLERY, Run


def test_fresh_database(cli: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "sub" / "fresh.db"
    made = cli("db", "migrate", "--db", db)
    assert made.rc == 0, made.err
    assert made.out.strip() == f"Database {db} is at schema version {SCHEMA_VERSION}"
    run = cli("db", "info", "--db", db, "--json")
    assert run.rc == 0, run.err
    assert run.json() == {"path": str(db), "reason": "--db", "schema_version": SCHEMA_VERSION, "subjects": 0,
                          "templates": {}, "samples": 0, "audit_rows": 0,
                          "encryption": "aes-256-gcm, key in a keyfile", "operators": 0}
    text = cli("db", "info", "--db", db)
    assert text.rc == 0
    assert text.out.splitlines() == [
        f"Database:       {db}",
        "Chosen by:      --db",
        f"Schema version: {SCHEMA_VERSION}",
        "Subjects:       0",
        "Templates:      none",
        "Samples:        0",
        "Audit rows:     0",
        "Encryption:     aes-256-gcm, key in a keyfile",
        "Operators:      none yet (no login needed until the first admin exists)",
    ]


def test_enrolled_database(cli: Callable[..., Run], bank_db: Path, model_card: dict[str, object]) -> None:
    run = cli("db", "info", "--db", bank_db, "--json")
    assert run.rc == 0, run.err
    doc = run.json()
    assert doc["subjects"] == len(GALLERY)
    assert doc["templates"] == {f"signature/{model_card['model_id']}": len(GALLERY)}
    assert doc["samples"] == 5 * len(GALLERY)
    assert doc["audit_rows"] == len(GALLERY) + 1  # one 'enroll' row per subject, one for pinning the model
    text = cli("db", "info", "--db", bank_db)
    assert f"  signature/{model_card['model_id']}: {len(GALLERY)}" in text.out.splitlines()


def test_location_from_environment(cli: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "from-env.db"
    monkeypatch.setenv("BIOMETRIX_DB", str(db))
    assert cli("db", "migrate").rc == 0
    doc = cli("db", "info", "--json").json()
    assert (doc["path"], doc["reason"]) == (str(db), "$BIOMETRIX_DB")
    other = tmp_path / "explicit.db"
    assert cli("db", "migrate", "--db", other, "--json").json()["reason"] == "--db"  # --db wins over the env
