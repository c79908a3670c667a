"""Finding 3 of the security review: rewriting every hash after an edit, or cutting the tail, verified as
"intact". Now each row carries a MAC under a key that is not in the database and the newest row is kept as a
MACed head; the head can be exported (``--expect-head``) and appended to an anchor file an admin configures, which
catches even a rewrite by someone who holds the key. Each attack is performed here on the file with sqlite3."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from biometrix.store import audit as audit_log
from biometrix.store import open_store
from tests.security._bank import attacker_sql, drawn, make_bank, run_cli, session


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    db = make_bank(tmp_path / "bank.db")
    with session(db, "tom") as bx:
        for seed in range(4):
            bx.verify("alice", signature=drawn(seed))
    return db


def _rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT event_id, {', '.join(audit_log.HASHED_COLUMNS)} FROM audit_log ORDER BY event_id"
                            ).fetchall()
    conn.close()
    return rows


def _rewrite_chain(db: Path, edit_id: int) -> None:
    """The reviewer's attack: turn one verify's decision around, then recompute every hash after it (sha256
    needs no key)."""
    rows = _rows(db)
    column = 1 + audit_log.HASHED_COLUMNS.index("decision")
    (old,) = [r[column] for r in rows if r[0] == edit_id]
    decision = "reject" if old == "accept" else "accept"
    prev = audit_log.GENESIS
    statements = []
    for event_id, *fields in rows:
        fields = list(fields)
        if event_id == edit_id:
            fields[audit_log.HASHED_COLUMNS.index("decision")] = decision
        fields[-1] = prev
        digest = audit_log.row_hash(tuple(fields))
        statements.append((event_id, fields[audit_log.HASHED_COLUMNS.index("decision")], prev, digest))
        prev = digest
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_log_no_update")
    for event_id, new_decision, prev_hash, digest in statements:
        conn.execute("UPDATE audit_log SET decision = ?, prev_hash = ?, hash = ? WHERE event_id = ?",
                     (new_decision, prev_hash, digest, event_id))
    conn.commit()
    conn.close()


def _verify_events(db: Path) -> list[int]:
    return [r[0] for r in _rows(db) if r[2] == "verify"]


def test_a_full_rewrite_of_the_chain_is_found(bank: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = _verify_events(bank)[1]
    _rewrite_chain(bank, target)
    # the unkeyed chain alone is consistent again: exactly what used to verify as intact
    with sqlite3.connect(bank) as conn:
        assert audit_log.verify(conn).ok
        assert conn.execute("SELECT decision FROM audit_log WHERE event_id = ?", (target,)).fetchone()[0] in (
            "accept", "reject")
    conn.close()
    run = run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank, "--json")
    assert run.rc == 1, run.err
    problems = run.json()["problems"]  # type: ignore[index]
    assert (target, "edited") in [(p["event_id"], p["kind"]) for p in problems]
    assert "without the database's key" in json.dumps(problems)
    assert "the audit log was altered outside biometrix" in run.err  # sue's login itself could not be recorded
    refused = run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature",
                      str(bank))
    assert refused.rc == 2 and "nothing more is written" in refused.err


def test_a_cut_tail_is_found_and_never_continued(bank: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    last = _rows(bank)[-1][0]
    attacker_sql(bank, f"DELETE FROM audit_log WHERE event_id >= {last - 1}",
                 f"UPDATE sqlite_sequence SET seq = {last - 2} WHERE name = 'audit_log'")
    with open_store(bank, create=False) as store:  # what the check reports, read without writing a row
        check = store.verify_audit()
    assert [(p.event_id, p.kind) for p in check.problems] == [(last, "deleted")]
    assert "cut from the end" in check.problems[0].message
    run = run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank)
    assert run.rc == 1 and "cut from the end" in run.out
    # appending would make the cut invisible (a new head over the shortened log): every write is refused
    run = run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature",
                  str(bank))
    assert run.rc == 2 and "the audit log was altered outside biometrix" in run.err
    assert _rows(bank)[-1][0] == last - 2  # nothing was written


def test_the_exported_head_and_the_anchor_file_catch_a_rewrite_made_with_the_key(
        bank: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    anchor = tmp_path / "anchor.jsonl"
    denied = run_cli(capsys, monkeypatch, "tom", "audit", "anchor", "--db", bank, "--file", anchor)
    assert denied.rc == 2 and not anchor.exists()
    assert run_cli(capsys, monkeypatch, "root", "audit", "anchor", "--db", bank, "--file", anchor).rc == 0
    with session(bank, "tom") as bx:
        bx.verify("alice", signature=drawn(9))
        bx.verify("alice", signature=drawn(10))
    lines = [json.loads(line) for line in anchor.read_text().splitlines()]
    rows = {r[0]: r for r in _rows(bank)}
    with sqlite3.connect(bank) as conn:
        hashes = dict(conn.execute("SELECT event_id, hash FROM audit_log").fetchall())
    conn.close()
    assert [(a["event_id"], a["head"]) for a in lines] == [(i, hashes[i]) for i in sorted(rows) if i > lines[0][
        "event_id"] - 1]
    assert oct(anchor.stat().st_mode & 0o777) == "0o600"
    check = run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank, "--json")
    head = check.json()["head"]  # type: ignore[index]
    newest = json.loads(anchor.read_text().splitlines()[-1])  # sue's login row was anchored too
    assert check.rc == 0 and head == f"{newest['event_id']}:{newest['head']}"
    # someone holding the key (the teller's OS account) rewrites the log consistently, MACs and head included
    with session(bank, "root") as bx:
        store = bx._db
        ik, mac_from = store._ik, store._mac_from  # what the key file gives its holder
    target = _verify_events(bank)[-1]
    _rewrite_chain(bank, target)
    conn = sqlite3.connect(bank)
    for event_id, digest in conn.execute("SELECT event_id, hash FROM audit_log WHERE event_id >= ?", (mac_from,)
                                         ).fetchall():
        conn.execute("UPDATE audit_log SET mac = ? WHERE event_id = ?",
                     (audit_log.row_mac(ik, event_id, digest), event_id))
    from biometrix.store import protected
    last_id, last_hash = conn.execute("SELECT event_id, hash FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchone()
    protected.put(conn, ik, audit_log.HEAD_KEY, f"{last_id}:{last_hash}", now="2026-01-01T00:00:00+00:00")
    conn.commit()
    conn.close()
    assert run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank).rc == 0  # consistent inside
    against_head = run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank, "--expect-head", head)
    assert against_head.rc == 1 and "anchor" in against_head.out
    against_file = run_cli(capsys, monkeypatch, "sue", "audit", "verify", "--db", bank, "--anchor-file", anchor,
                           "--json")
    assert against_file.rc == 1
    assert (target, "anchor") in [(p["event_id"], p["kind"]) for p in against_file.json()["problems"]]  # type: ignore


def test_backup_prints_the_head_to_keep(bank: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_cli(capsys, monkeypatch, "sue", "db", "backup", "--db", bank, "--to", tmp_path / "b.db", "--json")
    head = run.json()["audit_head"]  # type: ignore[index]
    event_id, _, digest = head.partition(":")
    with sqlite3.connect(tmp_path / "b.db") as conn:
        assert conn.execute("SELECT hash FROM audit_log WHERE event_id = ?", (int(event_id),)).fetchone() == (digest,)
    conn.close()
    assert len(hashlib.sha256().hexdigest()) == len(digest)
