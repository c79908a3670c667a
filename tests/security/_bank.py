"""A small bank for the attack tests: a database with an admin, a supervisor and a teller, the shipped models,
and the CLI run in-process as a given operator (password from the environment, as a teller's shell would)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.cli import main

PASSWORDS = {"root": "admin-password-1", "sue": "supervisor-pw-2", "tom": "teller-password-3"}
REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def drawn(seed: int) -> np.ndarray:
    """A white page with a few dark pen strokes, different for each seed (a synthetic scanned signature)."""
    rng = np.random.default_rng(seed)
    page = np.full((150, 400), 255, np.uint8)
    pts = np.cumsum(rng.normal(0, 12, size=(40, 2)), axis=0) + (60, 75)
    pts[:, 0] = np.clip(pts[:, 0] + np.linspace(0, 280, 40), 5, 395)
    cv2.polylines(page, [pts.astype(np.int32).reshape(-1, 1, 2)], False, 0, 3, cv2.LINE_AA)
    return page


def make_bank(path: Path) -> Path:
    """root (admin), sue (supervisor), tom (teller); alice enrolled by tom with three drawn signatures."""
    with Biometrix(path) as bx:
        bx.add_operator("root", "admin", PASSWORDS["root"])
        bx.login("root", PASSWORDS["root"])
        bx.add_operator("sue", "supervisor", PASSWORDS["sue"])
        bx.add_operator("tom", "teller", PASSWORDS["tom"])
        bx.login("tom", PASSWORDS["tom"])
        bx.enroll("alice", signatures=[drawn(i) for i in range(3)])
    return path


def session(db: Path, name: str | None, **kwargs: object) -> Biometrix:
    bx = Biometrix(db, **kwargs)  # type: ignore[arg-type]
    if name is not None:
        bx.login(name, PASSWORDS[name])
    return bx


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


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
