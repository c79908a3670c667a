"""Finding 10, a failed first command: a failed `enroll --operator` (and a failed plain enroll) left a database
file behind (with a new key, and the admin it had just made). A command that fails must leave nothing where no
database was before it: no file, no -wal/-shm, no key file; a database that was there is left as it was."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from tests.security.conftest import Run
from tests.test_access_control import drawn

PASSWORD = "admin-password-1"


def _keys() -> set[str]:
    return {p.name for p in Path(os.environ["BIOMETRIX_KEY_DIR"]).glob("*.key")}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    good = [tmp_path / f"ref{i}.png" for i in range(3)]
    for i, path in enumerate(good):
        cv2.imwrite(str(path), drawn(i))
    bad = tmp_path / "ref3.png"
    bad.write_bytes(os.urandom(2048))
    return {"good1": good[0], "good2": good[1], "good3": good[2], "bad": bad}


@pytest.mark.parametrize("how", ["operator", "operator-no-password", "plain"])
def test_a_failed_first_enroll_leaves_nothing(how: str, tmp_path: Path, files: dict[str, Path],
                                              cli: Callable[..., Run], monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "new" / "bank.db"
    keys = _keys()
    argv: list[object] = ["enroll", "--db", db, "--subject", "alice", "--signature", files["good1"], files["bad"]]
    if how == "operator":
        monkeypatch.setenv("BIOMETRIX_NEW_PASSWORD", PASSWORD)
        monkeypatch.setenv("BIOMETRIX_PASSWORD", PASSWORD)
    if how.startswith("operator"):
        argv += ["--operator", "root"]
    run = cli(*argv)
    assert run.rc == 2
    assert not db.exists() and list(db.parent.iterdir()) == []  # nor its -wal, -shm or a temporary file
    assert _keys() == keys  # the key made for it is gone too


def test_a_failed_enroll_leaves_an_existing_database_as_it_was(tmp_path: Path, files: dict[str, Path],
                                                              cli: Callable[..., Run]) -> None:
    db = tmp_path / "bank.db"
    assert cli("db", "migrate", "--db", db).rc == 0  # there before the command: empty, and kept
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    assert cli("enroll", "--db", db, "--subject", "alice", "--signature", files["good1"], files["bad"]).rc == 2
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    ok = cli("enroll", "--db", db, "--subject", "alice", "--signature", files["good1"], files["good2"])
    assert ok.rc == 0, ok.err


def test_a_successful_first_enroll_keeps_its_database(tmp_path: Path, files: dict[str, Path],
                                                      cli: Callable[..., Run],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_NEW_PASSWORD", PASSWORD)
    monkeypatch.setenv("BIOMETRIX_PASSWORD", PASSWORD)
    db = tmp_path / "bank.db"
    run = cli("enroll", "--db", db, "--operator", "root", "--subject", "alice", "--signature", files["good1"],
              files["good2"], files["good3"])
    assert run.rc == 0, run.err
    assert cli("db", "info", "--db", db, "--operator", "root", "--json").rc == 0
