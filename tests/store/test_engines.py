"""The store's behaviour through EnrollmentStore, the same on both engines: SQLite and a real PostgreSQL 15
(tests/postgres.py). Two store objects on one database stand for two processes (separate connections)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from biometrix.core.errors import (
    AccessDenied,
    AlreadyEnrolled,
    LoginFailed,
    NotEnrolled,
    TamperDetected,
    WrongKey,
)
from biometrix.core.roles import Role
from biometrix.core.types import Modality
from biometrix.store import ANCHOR_KEY, KeySource, SampleIn, read_anchor_file
from biometrix.store.base import EnrollmentPart
from tests.store.conftest import embeddings
from tests.store.engines import Engine

SIG, FACE = Modality.SIGNATURE, Modality.FACE
HOSTILE = ("'; DROP TABLE subjects; --", 'o"brien\'s ?; %s %(x)s', "ünï 名前\\x00?")


def _samples(subject: str, k: int, seed: int = 0) -> list[SampleIn]:
    return [SampleIn(data=f"PNG:{subject}:{seed}:{i}".encode(), media_type="image/png",
                     meta={"filename": f"{subject}-{i}.png"}) for i in range(k)]


def _enroll(store, subject: str, k: int = 3, *, seed: int = 0, modality: Modality = SIG, model: str = "s1",
            replace: bool = False, name: str | None = None):
    return store.enroll(subject, modality=modality, model_id=model, samples=_samples(subject, k, seed),
                        embeddings=embeddings(k, seed=seed), replace=replace, display_name=name)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_enroll_read_back_and_list(engine: Engine) -> None:
    with engine.open() as store:
        for i, subject in enumerate(["carol", "alice", "bob"]):
            _enroll(store, subject, k=i + 1, seed=i, name=f"Name {subject.title()}")
        _enroll(store, "alice", 2, seed=9, modality=FACE, model="f1")
        with pytest.raises(AlreadyEnrolled):
            _enroll(store, "bob", seed=5)
        for i, subject in enumerate(["carol", "alice", "bob"]):
            t = store.template(subject, modality=SIG, model_id="s1")
            np.testing.assert_allclose(t.references, _unit(embeddings(i + 1, seed=i)), rtol=1e-6)
        assert [t.subject_id for t in store.gallery(modality=SIG, model_id="s1")] == ["alice", "bob", "carol"]
        subjects = store.subjects()
        assert [(s.subject_id, s.display_name, s.modalities) for s in subjects] == [
            ("alice", "Name Alice", ("face", "signature")), ("bob", "Name Bob", ("signature",)),
            ("carol", "Name Carol", ("signature",))]
        assert [s.subject_id for s in store.find_subjects("name b")] == ["bob"]
        kept = store.samples("carol", modality=SIG)
        assert [(s.data, s.meta) for s in kept] == [(x.data, x.meta) for x in _samples("carol", 1)]
        assert store.template_models(modality=FACE) == {"alice": ("f1",)}
        with pytest.raises(NotEnrolled):
            store.template("nobody", modality=SIG, model_id="s1")
        info = store.info()
        assert (info.n_subjects, info.n_samples, info.templates) == (3, 8, {"face/f1": 1, "signature/s1": 3})


def test_one_enrollment_of_two_modalities_its_samples_and_a_referral(engine: Engine) -> None:
    with engine.open() as store:
        parts = [EnrollmentPart(modality=m, model_id=f"{m.value}-1", samples=tuple(_samples(f"d-{m.value}", 2, i)),
                                embeddings=embeddings(2, seed=i)) for i, m in enumerate((SIG, FACE))]
        made = store.enroll_many("dana", parts, display_name="Dana")
        assert [t.modality for t in made] == [SIG, FACE]
        kept = store.template_samples("dana", modality=FACE, model_id="face-1")
        assert [s.data for s in kept] == [s.data for s in _samples("d-face", 2, 1)]
        referred = store.record("verify", subject_id="dana", modality=SIG, model_id="signature-1", distance=0.31,
                                threshold=0.3, decision="Refer")
        assert store.resolution_of(referred) is None
        settled = store.record("resolve", subject_id="dana", modality=None, model_id=None, decision="accepted",
                               details={"refers_to": referred, "note": "ID card seen"})
        assert store.resolution_of(referred) == settled and store.resolution_of(settled) is None
        entry = store.audit_entry(referred)
        assert (entry.event, entry.distance, entry.decision) == ("verify", 0.31, "Refer")
        store.delete_subject("dana")
        assert store.subjects() == [] and store.audit(event="delete")[0].subject_id == "dana"


def test_a_second_store_sees_the_first_ones_enrollments(engine: Engine) -> None:
    with engine.open() as writer, engine.open() as reader:
        _enroll(writer, "alice")
        got: list = []
        version = reader.read_gallery(modality=SIG, model_id="s1", consume=got.append)
        assert [list(b.subject_ids) for b in got] == [["alice"]]
        _enroll(writer, "bob", seed=1)
        _enroll(writer, "alice", seed=2, replace=True)
        assert reader.gallery_version() > version  # read from the database, not cached
        delta = reader.gallery_changes(version, modality=SIG, model_id="s1")
        assert delta.complete and delta.version == reader.gallery_version()
        assert sorted(delta.rows.subject_ids) == ["alice", "bob"]
        by_subject = dict(zip(delta.rows.subject_ids, np.split(delta.rows.vectors, np.cumsum(delta.rows.counts)[:-1]),
                              strict=True))
        np.testing.assert_allclose(_unit(by_subject["alice"]), _unit(embeddings(3, seed=2)), rtol=1e-6)
        writer.erase_subject("bob")
        later = reader.gallery_changes(delta.version, modality=SIG, model_id="s1")
        assert len(later.touched) == 1 and len(later.rows) == 0  # bob's template went; nothing to add


def test_the_bulk_read_comes_in_batches_from_one_snapshot(engine: Engine) -> None:
    with engine.open() as store:
        for i, subject in enumerate(["B", "a", "C", "b", "A"]):
            _enroll(store, subject, k=1 + i % 3, seed=i)
        got: list = []
        version = store.read_gallery(modality=SIG, model_id="s1", consume=got.append, batch=2)
        assert version == store.gallery_version()
        assert [list(b.subject_ids) for b in got] == [["B", "a"], ["C", "b"], ["A"]]  # template order
        assert [t.subject_id for t in store.gallery(modality=SIG, model_id="s1")] == ["A", "B", "C", "a", "b"]
        for b in got:
            assert b.vectors.shape == (int(b.counts.sum()), 16)


def _fill(store, n: int = 6) -> None:
    for i in range(n):
        store.record("verify", subject_id=f"c-{i:03d}", modality=FACE, model_id="f1", distance=0.1 * i + 0.05,
                     threshold=0.35, decision="Accept" if i % 2 else "Reject", details={"probe": f"p{i}.png"})


def test_audit_chain_verifies_and_an_edit_is_found(engine: Engine) -> None:
    with engine.open() as store:
        _fill(store)
        check = store.verify_audit()
        assert (check.ok, check.n_rows, check.keyed) == (True, 6, True)
        assert [e.decision for e in store.audit(subject_id="c-003")] == ["Accept"]
        assert len(store.audit(limit=2)) == 2 and len(store.audit(event="verify")) == 6
    columns = "at, event, subject_id, modality, model_id, distance, threshold, decision, details, prev_hash, hash"
    rows = engine.rows(f"SELECT {columns} FROM audit_log ORDER BY event_id")
    previous = "0" * 64
    for row in rows:  # an independent re-computation of the chain
        assert row[-2] == previous
        text = json.dumps(list(row[:-1]), ensure_ascii=False, separators=(",", ":"))
        assert hashlib.sha256(text.encode()).hexdigest() == row[-1]
        previous = row[-1]
    assert check.head == previous
    engine.tamper("UPDATE audit_log SET decision = 'Accept' WHERE event_id = 3")
    with engine.open() as store:
        assert [(p.event_id, p.kind) for p in store.verify_audit().problems] == [(3, "edited")]


def test_rows_cut_from_the_end_are_found(engine: Engine) -> None:
    with engine.open() as store:
        _fill(store)
    engine.tamper("DELETE FROM audit_log WHERE event_id >= 5")
    with engine.open() as store:
        kinds = {p.kind for p in store.verify_audit().problems}
        assert "deleted" in kinds
        with pytest.raises(TamperDetected):  # a cut log is never continued
            store.record("verify", subject_id="x", modality=FACE, model_id="f1")


def test_the_anchor_file_finds_a_rewrite(engine: Engine, tmp_path) -> None:
    anchor = tmp_path / "anchor.jsonl"
    with engine.open() as store:
        store.set_setting(ANCHOR_KEY, {"file": str(anchor)})
        _fill(store, 3)
        heads = read_anchor_file(anchor)
        assert [a.event_id for a in heads][-3:] == [2, 3, 4]
        assert store.verify_audit(anchors=heads).ok
        assert store.verify_audit(expect_head=store.verify_audit().anchor).ok
    # the whole row 4 rewritten with a recomputed hash: only what was kept outside the database shows it
    row = engine.rows("SELECT at, event, subject_id, modality, model_id, distance, threshold, decision, details,"
                      " prev_hash FROM audit_log WHERE event_id = 4")[0]
    forged = (*row[:7], "Accept", *row[8:])
    digest = hashlib.sha256(json.dumps(list(forged), ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    engine.tamper(f"UPDATE audit_log SET decision = 'Accept', hash = '{digest}' WHERE event_id = 4")
    with engine.open() as store:
        assert {(p.event_id, p.kind) for p in store.verify_audit(anchors=heads).problems} >= {(4, "anchor")}


def test_a_protected_setting_changed_outside_is_refused(engine: Engine) -> None:
    with engine.open() as store:
        store.set_setting("policy.test", {"threshold": 0.3})
        assert store.setting("policy.test") == {"threshold": 0.3}
        assert store.signed("token", b"abc", store.sign("token", b"abc"))
        assert not store.signed("token", b"abd", store.sign("token", b"abc"))
    engine.tamper("UPDATE protected_settings SET value = '{\"threshold\":0.9}' WHERE key = 'policy.test'")
    with pytest.raises(TamperDetected, match="policy.test"):
        engine.open()


def test_operators_lockout_and_their_macs(engine: Engine) -> None:
    with engine.open() as store:
        store.add_operator("root", Role.ADMIN, "admin-password-1", first=True)
        with pytest.raises(AccessDenied):
            store.add_operator("other", Role.ADMIN, "admin-password-2", first=True)
        store.add_operator("tina", Role.TELLER, "teller-password-1")
        assert store.login("tina", "teller-password-1").role is Role.TELLER
        for _ in range(5):
            with pytest.raises(LoginFailed):
                store.login("tina", "wrong-password-x")
        with pytest.raises(LoginFailed):  # locked: even the right password is refused
            store.login("tina", "teller-password-1")
        assert store.operator("tina").locked_until is not None
        decisions = [e.decision for e in store.audit(event="login_failed")]
        assert decisions == ["password"] * 4 + ["locked-now", "locked"]
    engine.tamper("UPDATE operators SET role = 'admin' WHERE name = 'tina'")
    with engine.open() as store, pytest.raises(TamperDetected, match="tina"):
        store.operators()


def test_erasure_leaves_nothing_of_the_subject(engine: Engine) -> None:
    with engine.open() as store:
        _enroll(store, "alice", name="Alice A")
        _enroll(store, "bob", seed=1)
        pseudonym = store.erase_subject("alice")
        assert pseudonym.startswith("erased:")
        assert [s.subject_id for s in store.subjects()] == ["bob"]
        assert store.samples("alice", modality=SIG) == []
        assert store.audit(event="erase")[0].subject_id == pseudonym
        with pytest.raises(NotEnrolled):
            store.erase_subject("alice")
    for table, column in (("subjects", "subject_id"), ("samples", "subject_id"), ("templates", "subject_id")):
        assert engine.rows(f"SELECT count(*) FROM {table} WHERE {column} = 'alice'") == [(0,)]


def test_key_rotation_reseals_everything(engine: Engine) -> None:
    with engine.open() as store:
        _enroll(store, "alice", name="Alice")
        before = engine.rows("SELECT vector FROM template_references ORDER BY position")
        counts = store.rotate_key(KeySource.from_passphrase("a long enough passphrase"))
        assert counts == {"samples": 3, "references": 3, "display_names": 1}
        assert engine.rows("SELECT vector FROM template_references ORDER BY position") != before
    with engine.open(key=KeySource.from_passphrase("a long enough passphrase")) as store:
        np.testing.assert_allclose(store.template("alice", modality=SIG, model_id="s1").references,
                                   _unit(embeddings(3)), rtol=1e-6)
        assert store.subjects()[0].display_name == "Alice"
        assert store.verify_audit().ok
    with pytest.raises(WrongKey):
        engine.open(key=KeySource.from_passphrase("not the passphrase at all"))


def test_nothing_is_kept_readable(engine: Engine) -> None:
    with engine.open() as store:
        _enroll(store, "alice", name="Alice Secret")
    plain = embeddings(3)
    vectors = [bytes(v) for (v,) in engine.rows("SELECT vector FROM template_references ORDER BY position")]
    assert len(vectors) == 3
    for i, stored in enumerate(vectors):
        assert stored != _unit(plain)[i].astype("<f4").tobytes() and stored != plain[i].astype("<f4").tobytes()
        assert _unit(plain)[i].astype("<f4").tobytes()[:8] not in stored
    for data, meta in engine.rows("SELECT data, meta FROM samples"):
        assert b"PNG:alice" not in bytes(data) and b"alice-" not in bytes(meta)
    (name,) = engine.rows("SELECT display_name FROM subjects")[0]
    assert b"Alice Secret" not in bytes(name if isinstance(name, bytes) else str(name).encode())


@pytest.mark.parametrize("subject", HOSTILE)
def test_a_hostile_subject_id_is_kept_verbatim(engine: Engine, subject: str) -> None:
    with engine.open() as store:
        _enroll(store, subject, 2)
        assert [s.subject_id for s in store.subjects()] == [subject]
        assert store.template(subject, modality=SIG, model_id="s1").subject_id == subject
        assert store.audit(subject_id=subject)[0].subject_id == subject
        assert [s.data for s in store.samples(subject, modality=SIG)] == [s.data for s in _samples(subject, 2)]
    assert engine.rows("SELECT count(*) FROM subjects") == [(1,)]
