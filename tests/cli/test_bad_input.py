"""Hostile input to every command: one ``biometrix: error:`` line, exit 2, and the database left as it was."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from biometrix.store import SCHEMA_VERSION
from tests.cli.conftest import Cedar, Run, assert_one_error_line, canonical_dump, sha256_of

#: What the single error line must mention for each kind of bad file.
BAD_FILE_MESSAGES = {
    "missing": "no such file",
    "empty": "empty",
    "random": "not a readable image",
    "truncated": "not a readable image",
    "huge": "30000×30000",
    "blank": "blank",
}
COMMANDS = ("enroll", "verify", "identify")


def _argv(command: str, db: Path, signature: Path, cedar: Cedar) -> list[object]:
    if command == "enroll":  # good references first: nothing may be written when the last one is bad
        return ["enroll", "--db", db, "--subject", "newcomer", "--signature", *cedar.references(52)[:3], signature]
    if command == "verify":
        return ["verify", "--db", db, "--subject", "s46", "--signature", signature]
    return ["identify", "--db", db, "--signature", signature]


@pytest.mark.parametrize("kind", sorted(BAD_FILE_MESSAGES))
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_signature_file(command: str, kind: str, cli: Callable[..., Run], bank_db: Path, cedar: Cedar,
                            bad_files: dict[str, Path]) -> None:
    before = canonical_dump(bank_db)
    run = cli(*_argv(command, bank_db, bad_files[kind], cedar))
    assert_one_error_line(run, BAD_FILE_MESSAGES[kind])
    if kind != "blank":
        assert bad_files[kind].name in run.err  # the message names the file
    assert canonical_dump(bank_db) == before


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
def test_verify_unknown_subject(json_flag: tuple[str, ...], cli: Callable[..., Run], bank_db: Path,
                                cedar: Cedar) -> None:
    before = canonical_dump(bank_db)
    run = cli("verify", "--db", bank_db, "--subject", "mallory", *json_flag, "--signature", cedar.genuine(46, 7))
    if json_flag:  # the error also as a JSON object on stdout, for a program reading it
        assert json.loads(run.out) == {"error": run.err.strip().removeprefix("biometrix: error: "), "exit": 2}
        run = dataclasses.replace(run, out="")
    assert_one_error_line(run, "mallory")
    assert canonical_dump(bank_db) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_database_from_a_newer_schema_is_refused_untouched(command: str, cli: Callable[..., Run], bank_db: Path,
                                                           cedar: Cedar) -> None:
    future = SCHEMA_VERSION + 1
    conn = sqlite3.connect(bank_db)
    with conn:
        conn.execute(f"PRAGMA user_version = {future}")
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                     (future, "from_the_future", datetime.now(UTC).isoformat(timespec="microseconds")))
    conn.close()
    digest = sha256_of(bank_db)
    before = canonical_dump(bank_db)
    run = cli(*_argv(command, bank_db, cedar.genuine(46, 8), cedar))
    assert_one_error_line(run, f"schema version {future}", "newer")
    assert sha256_of(bank_db) == digest
    assert canonical_dump(bank_db) == before


@pytest.mark.parametrize("command", ["verify", "identify", "db info", "db retemplate"])
def test_missing_database_is_not_created(command: str, cli: Callable[..., Run], tmp_path: Path,
                                         cedar: Cedar) -> None:
    db = tmp_path / "typo.db"
    argv: list[object] = command.split() + ["--db", db]
    if command == "verify":
        argv += ["--subject", "s46", "--signature", cedar.genuine(46, 7)]
    elif command == "identify":
        argv += ["--signature", cedar.genuine(46, 7)]
    assert_one_error_line(cli(*argv), str(db))
    assert not db.exists()


def test_not_a_database(cli: Callable[..., Run], tmp_path: Path, cedar: Cedar) -> None:
    db = tmp_path / "notes.db"
    db.write_text("these are not the enrollments you are looking for\n" * 100)
    digest = sha256_of(db)
    assert_one_error_line(cli("verify", "--db", db, "--subject", "s46", "--signature", cedar.genuine(46, 7)),
                          str(db))
    assert_one_error_line(cli("enroll", "--db", db, "--subject", "s46", "--signature", cedar.genuine(46, 7)))
    assert sha256_of(db) == digest


def test_database_path_is_a_folder(cli: Callable[..., Run], tmp_path: Path, cedar: Cedar) -> None:
    assert_one_error_line(cli("enroll", "--db", tmp_path, "--subject", "a", "--signature", cedar.genuine(46, 7)),
                          "folder")


def test_bad_subject_id(cli: Callable[..., Run], bank_db: Path, cedar: Cedar) -> None:
    before = canonical_dump(bank_db)
    assert_one_error_line(cli("enroll", "--db", bank_db, "--subject", "  ", "--signature", cedar.genuine(46, 7)),
                          "subject")
    assert canonical_dump(bank_db) == before
