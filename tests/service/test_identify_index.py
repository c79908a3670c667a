"""Biometrix.identify through its index, against the brute-force search over the store it replaced: Matcher.identify
over ``gallery()`` read through another connection, after enrolls, replaces and erasures in any order, by this
service or another process; and the decrypted templates never reach the disk."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrix import Biometrix
from biometrix.cli import main
from biometrix.core.errors import AlreadyEnrolled, NotEnrolled
from biometrix.core.matcher import Matcher
from biometrix.core.types import Candidate, Modality
from biometrix.service import load_signature
from biometrix.store import SqliteStore, open_store
from tests.cli.conftest import MODELS_DIR, Cedar
from tests.index._oracle import assert_oracle_answer

SIG = Modality.SIGNATURE
SUBJECTS = ("s0", "s1", "s2", "s3")
SIGNERS = (46, 47, 48, 49, 50)


def _session(db: Path) -> Biometrix:
    return Biometrix(db, models_dir=MODELS_DIR, prefer_gpu=False)


def _oracle_check(bx: Biometrix, db: Path, probe_path: Path, got: list[Candidate], top_k: int) -> None:
    """``got`` is Matcher.identify over the store's gallery, read fresh through a connection of its own; the audit row
    of the search names the same candidates and the gallery's size."""
    card = bx.card(SIG)
    with open_store(db, create=False) as store:
        gallery = store.gallery(modality=SIG, model_id=card.model_id)
        row = store.audit(event="identify", limit=1)[0]
    probe = bx.pipeline(SIG).embed(load_signature(probe_path)[0])
    threshold = bx.threshold(SIG, capture="scan")
    assert_oracle_answer(got, probe, gallery, threshold, card.aggregate, top_k)
    assert row.details["gallery_size"] == len(gallery)
    assert row.details["candidates"] == [[c.subject_id, c.distance] for c in got]
    assert Matcher(threshold, aggregate=card.aggregate).aggregate == "min"  # the shipped signature model's


operations = st.lists(st.tuples(st.sampled_from(["enroll", "replace", "erase"]), st.sampled_from(SUBJECTS),
                                st.sampled_from(SIGNERS), st.integers(2, 4)), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations, probe_signer=st.sampled_from(SIGNERS), top_k=st.integers(1, 5))
def test_identify_is_the_brute_force_answer_after_any_writes(cedar: Cedar, ops, probe_signer, top_k) -> None:
    probe = cedar.genuine(probe_signer, 20)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bank.db"
        with _session(db) as bx:
            for n, (op, subject, signer, k) in enumerate(ops):
                refs = [cedar.genuine(signer, i) for i in range(1 + n % 3, 1 + n % 3 + k)]
                try:
                    if op == "erase":
                        bx.erase(subject)
                    else:
                        bx.enroll(subject, signatures=refs, replace=op == "replace")
                except (AlreadyEnrolled, NotEnrolled):
                    continue  # enrolled already / nobody to erase: nothing changed
                got = bx.identify(signature=probe, top_k=top_k)  # the first builds the index, later ones use it
                _oracle_check(bx, db, probe, got, top_k)


def test_writes_of_another_process_are_in_the_next_answer(cedar: Cedar, tmp_path: Path) -> None:
    """The GUI and a CLI run on one database: what the CLI enrolls and erases is in the GUI's next identify, caught
    up from the change counter (the index is not rebuilt)."""
    db = tmp_path / "bank.db"
    with _session(db) as gui:
        for subject, signer in (("s46", 46), ("s47", 47)):
            gui.enroll(subject, signatures=cedar.references(signer))
        probe = cedar.genuine(48, 20)
        assert [c.subject_id for c in gui.identify(signature=probe, top_k=5)] != []
        index = gui._indexes.prepare(gui._db, gui.card(SIG))
        for argv in (["enroll", "--models-dir", str(MODELS_DIR), "--subject", "s48", "--signature",
                      *map(str, cedar.references(48))], ["erase", "--subject", "s46"]):
            assert main([*argv, "--db", str(db)]) == 0
        got = gui.identify(signature=probe, top_k=5)
        assert {c.subject_id for c in got} == {"s47", "s48"} and got[0].subject_id == "s48"
        assert gui._indexes.prepare(gui._db, gui.card(SIG)) is index
        _oracle_check(gui, db, probe, got, 5)


def test_restore_drops_the_index(cedar: Cedar, tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with _session(db) as bx:
        bx.enroll("s46", signatures=cedar.references(46))
        bx.backup(tmp_path / "one.db")
        bx.enroll("s47", signatures=cedar.references(47))
        assert bx.prepare_identify() == {SIG: 2}
        bx.restore(tmp_path / "one.db")
        got = bx.identify(signature=cedar.genuine(47, 20))
        assert [c.subject_id for c in got] == ["s46"]
        _oracle_check(bx, db, cedar.genuine(47, 20), got, 5)


def test_decrypted_templates_never_reach_the_disk(cedar: Cedar, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """After building the index and searching it, no file under the database's folder or the temporary folder holds
    the bytes of any reference as the index holds it (the store keeps them sealed)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    db = tmp_path / "bank" / "bank.db"
    with _session(db) as bx:
        for signer in (46, 47, 48):
            bx.enroll(f"s{signer}", signatures=cedar.references(signer))
        bx.identify(signature=cedar.genuine(46, 20))
        index = bx._indexes.prepare(bx._db, bx.card(SIG))
        held = [index.template(t) for t in list(index._where)]
        with SqliteStore(db, create=False) as store:
            stored = []
            store.read_gallery(modality=SIG, model_id=bx.card(SIG).model_id, consume=stored.append)
        secrets = [r.tobytes()[:64] for t in held for r in t.references]
        secrets += [v.tobytes()[:64] for rows in stored for v in rows.vectors]
        assert len(secrets) == 30
        files = [p for p in tmp_path.rglob("*") if p.is_file()]
        assert any(p.name == "bank.db" for p in files)
        for path in files:
            data = path.read_bytes()
            assert not any(s in data for s in secrets), path
        assert not any(scratch.iterdir())
