"""A small bank for the attack tests: a database with an admin, a supervisor and a teller, the shipped models,
and the CLI run in-process as a given operator (password from the environment, as a teller's shell would)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.cli import main
from tests.cli.conftest import Run
from tests.test_access_control import PASSWORDS, drawn, make_bank

__all__ = ["PASSWORDS", "Run", "attacker_sql", "drawn", "make_bank", "one_error_line", "run_cli", "session"]

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def session(db: Path, name: str | None, **kwargs: object) -> Biometrix:
    bx = Biometrix(db, **kwargs)  # type: ignore[arg-type]
    if name is not None:
        bx.login(name, PASSWORDS[name])
    return bx


def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, who: str | None,
            *argv: object) -> Run:
    """``biometrix ARGV`` in-process, logged in as ``who`` (None: nobody) the way a shell does it."""
    with monkeypatch.context() as m:
        if who is not None:
            m.setenv("BIOMETRIX_OPERATOR", who)
            m.setenv("BIOMETRIX_PASSWORD", PASSWORDS[who])
        else:
            m.delenv("BIOMETRIX_OPERATOR", raising=False)
            m.delenv("BIOMETRIX_PASSWORD", raising=False)
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        captured = capsys.readouterr()
    return Run(rc, captured.out, captured.err)


def attacker_sql(db: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """What someone with write access to the file does with the sqlite3 shell: drop the guards, edit, commit."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for sql in statements:
            conn.execute(sql, params if "?" in sql else ())
        conn.commit()
    finally:
        conn.close()


def one_error_line(run: Run, *fragments: str) -> None:
    lines = run.err.strip().splitlines()
    assert run.rc == 2, run
    assert len(lines) == 1 and lines[0].startswith("biometrix: error: "), run.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
