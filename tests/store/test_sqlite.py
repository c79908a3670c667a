"""Tests for store/sqlite.py: SqliteStore behaviour against real files."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from biometrix.core.errors import AlreadyEnrolled, InvalidInput, ModelMismatch, NotEnrolled, StoreError
from biometrix.core.types import Modality
from biometrix.store import SCHEMA_VERSION, EnrollmentStore, SampleIn, SqliteStore, open_store
from biometrix.store import keys as sqlite_module

from .conftest import dump, embeddings, raw

FACE, SIG = Modality.FACE, Modality.SIGNATURE
MakeSamples = Callable[..., list[SampleIn]]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Independent oracle: rows divided by their float64 norm."""
    x64 = np.asarray(x, dtype=np.float64)
    return x64 / np.sqrt((x64**2).sum(axis=1, keepdims=True))


def test_enroll_then_template_round_trip(store: SqliteStore, make_samples: MakeSamples) -> None:
    emb, samples = embeddings(3), make_samples(3)
    made = store.enroll("alice", modality=SIG, model_id="sig-v1", samples=samples, embeddings=emb)
    got = store.template("alice", modality=SIG, model_id="sig-v1")
    assert (got.subject_id, got.modality, got.model_id, got.references.shape) == (
        "alice",
        SIG,
        "sig-v1",
        (3, 16),
    )
    np.testing.assert_allclose(got.references, _unit_rows(emb), atol=1e-6)
    np.testing.assert_allclose(got.references, made.references, atol=1e-7)
    centroid = _unit_rows(_unit_rows(emb).mean(axis=0, keepdims=True))[0]
    np.testing.assert_allclose(got.centroid, centroid, atol=1e-6)
    kept = store.samples("alice", modality=SIG)
    assert [s.data for s in kept] == [s.data for s in samples]
    assert [s.meta for s in kept] == [s.meta for s in samples]
    assert {s.media_type for s in kept} == {"image/png"}
    assert store.samples("alice", modality=FACE) == []


def test_gallery_sorted_and_filtered(store: SqliteStore, make_samples: MakeSamples) -> None:
    for seed, sid in enumerate(["carol", "alice", "bob"]):
        store.enroll(
            sid,
            modality=FACE,
            model_id="f1",
            samples=make_samples(2, seed),
            embeddings=embeddings(2, seed=seed),
        )
    store.enroll(
        "dave", modality=FACE, model_id="f2", samples=make_samples(1, 9), embeddings=embeddings(1, seed=9)
    )
    store.enroll(
        "erin", modality=SIG, model_id="f1", samples=make_samples(1, 8), embeddings=embeddings(1, seed=8)
    )
    gallery = store.gallery(modality=FACE, model_id="f1")
    assert [t.subject_id for t in gallery] == ["alice", "bob", "carol"]
    np.testing.assert_allclose(gallery[0].references, _unit_rows(embeddings(2, seed=1)), atol=1e-6)
    assert store.gallery(modality=FACE, model_id="nope") == []


def test_second_enroll_needs_replace(db_path: Path, store: SqliteStore, make_samples: MakeSamples) -> None:
    store.enroll("alice", modality=FACE, model_id="f1", samples=make_samples(2), embeddings=embeddings(2))
    before = dump(db_path)
    with pytest.raises(AlreadyEnrolled, match=r"already has a face template for model 'f1'.*replace"):
        store.enroll(
            "alice",
            modality=FACE,
            model_id="f1",
            samples=make_samples(2, 5),
            embeddings=embeddings(2, seed=5),
        )
    assert dump(db_path) == before
    new = embeddings(3, seed=7)
    store.enroll(
        "alice", modality=FACE, model_id="f1", samples=make_samples(3, 7), embeddings=new, replace=True
    )
    got = store.template("alice", modality=FACE, model_id="f1")
    np.testing.assert_allclose(got.references, _unit_rows(new), atol=1e-6)
    assert [s.data for s in store.samples("alice", modality=FACE)] == [s.data for s in make_samples(3, 7)]
    assert raw(db_path, "SELECT count(*) FROM templates") == [(1,)]
    assert raw(db_path, "SELECT count(*) FROM template_references") == [(3,)]
    assert store.audit(event="enroll")[-1].details["replaced"] is True


def test_same_samples_for_a_new_model_are_not_duplicated(
    store: SqliteStore, make_samples: MakeSamples
) -> None:
    samples = make_samples(3)
    store.enroll("alice", modality=SIG, model_id="v1", samples=samples, embeddings=embeddings(3))
    store.enroll("alice", modality=SIG, model_id="v2", samples=samples, embeddings=embeddings(3, 8, seed=2))
    assert len(store.samples("alice", modality=SIG)) == 3
    # replacing v1 keeps the samples v2 still refers to
    store.enroll(
        "alice",
        modality=SIG,
        model_id="v1",
        samples=make_samples(1, 4),
        embeddings=embeddings(1),
        replace=True,
    )
    assert len(store.samples("alice", modality=SIG)) == 4
    assert store.template("alice", modality=SIG, model_id="v2").n_references == 3


def test_not_enrolled_messages(store: SqliteStore, make_samples: MakeSamples) -> None:
    with pytest.raises(NotEnrolled, match="unknown subject 'zoe'"):
        store.template("zoe", modality=FACE, model_id="f1")
    store.enroll("zoe", modality=SIG, model_id="s1", samples=make_samples(1), embeddings=embeddings(1))
    with pytest.raises(NotEnrolled, match="subject 'zoe' has no face template for model 'f1'"):
        store.template("zoe", modality=FACE, model_id="f1")
    with pytest.raises(NotEnrolled, match="no signature template for model 's2'"):
        store.template("zoe", modality=SIG, model_id="s2")


@pytest.mark.parametrize(
    ("k_samples", "emb"),
    [(2, embeddings(3)), (0, np.zeros((0, 16), np.float32)), (1, embeddings(1)[0]), (1, np.zeros((1, 4)))],
)
def test_bad_enroll_input_is_refused(
    db_path: Path, store: SqliteStore, make_samples: MakeSamples, k_samples: int, emb: np.ndarray
) -> None:
    before = dump(db_path)
    with pytest.raises(InvalidInput):
        store.enroll("x", modality=FACE, model_id="f1", samples=make_samples(k_samples), embeddings=emb)
    assert dump(db_path) == before


def test_nan_embedding_leaves_database_unchanged(
    db_path: Path, store: SqliteStore, make_samples: MakeSamples
) -> None:
    store.enroll("alice", modality=FACE, model_id="f1", samples=make_samples(2), embeddings=embeddings(2))
    before = dump(db_path)
    emb = embeddings(5, seed=3)
    emb[3, 2] = np.nan
    with pytest.raises(InvalidInput, match="NaN"):
        store.enroll("bob", modality=FACE, model_id="f1", samples=make_samples(5, 3), embeddings=emb)
    assert dump(db_path) == before


def test_failure_midway_through_enroll_rolls_everything_back(
    db_path: Path, store: SqliteStore, make_samples: MakeSamples, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = embeddings(2)
    store.enroll("alice", modality=FACE, model_id="f1", samples=make_samples(2), embeddings=old)
    before = dump(db_path)
    calls: list[int] = []
    real = sqlite_module.embedding_to_blob

    def fail_on_third(v: np.ndarray) -> bytes:
        calls.append(1)
        if len(calls) == 3:
            raise InvalidInput("boom at reference 3")
        return real(v)

    monkeypatch.setattr(sqlite_module, "embedding_to_blob", fail_on_third)
    with pytest.raises(InvalidInput, match="boom"):
        store.enroll(
            "alice",
            modality=FACE,
            model_id="f1",
            samples=make_samples(5, 1),
            embeddings=embeddings(5, seed=1),
            display_name="Alice",
            replace=True,
        )
    assert len(calls) == 3  # the old template was deleted and new rows written before the failure
    assert dump(db_path) == before
    np.testing.assert_allclose(
        store.template("alice", modality=FACE, model_id="f1").references, _unit_rows(old), atol=1e-6
    )


def test_embedding_dimension_must_match_the_model(store: SqliteStore, make_samples: MakeSamples) -> None:
    store.enroll("a", modality=FACE, model_id="f1", samples=make_samples(1), embeddings=embeddings(1, 16))
    with pytest.raises(ModelMismatch, match="dimension 8"):
        store.enroll(
            "b", modality=FACE, model_id="f1", samples=make_samples(1, 2), embeddings=embeddings(1, 8)
        )


def test_audit_rows_for_enroll_record_and_delete(store: SqliteStore, make_samples: MakeSamples) -> None:
    store.enroll(
        "alice",
        modality=SIG,
        model_id="s1",
        samples=make_samples(2),
        embeddings=embeddings(2),
        details={"operator": "teller-7"},
    )
    eid = store.record(
        "verify",
        subject_id="alice",
        modality=SIG,
        model_id="s1",
        distance=0.21,
        threshold=0.35,
        decision="Accept",
        details={"probe": "file.png"},
    )
    store.record("identify", subject_id=None, modality=FACE, model_id="f1", decision="no match")
    store.delete_subject("alice")
    rows = store.audit()
    assert [r.event for r in rows] == ["enroll", "verify", "identify", "delete"]
    assert [r.event_id for r in rows] == sorted(r.event_id for r in rows)
    enroll, verify, identify, delete = rows
    assert (enroll.subject_id, enroll.modality, enroll.model_id) == ("alice", SIG, "s1")
    assert enroll.details["operator"] == "teller-7" and enroll.details["n_references"] == 2
    assert verify.event_id == eid
    assert (verify.distance, verify.threshold, verify.decision) == (0.21, 0.35, "Accept")
    assert verify.details == {"probe": "file.png"}
    assert identify.subject_id is None and identify.modality is FACE
    assert delete.subject_id == "alice" and delete.details == {"samples_deleted": 2, "templates_deleted": 1}
    assert all(r.at.utcoffset() is not None and r.at.utcoffset().total_seconds() == 0 for r in rows)
    assert [r.event for r in store.audit(subject_id="alice")] == ["enroll", "verify", "delete"]
    assert [r.event for r in store.audit(event="verify")] == ["verify"]
    assert [r.event for r in store.audit(limit=2)] == ["identify", "delete"]


def test_audit_timestamps_are_utc_iso_with_microseconds(db_path: Path, store: SqliteStore) -> None:
    store.record("verify", subject_id="a", modality=FACE, model_id="f1")
    (at,) = raw(db_path, "SELECT at FROM audit_log")[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", str(at))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"event": "teleport"},
        {"event": "verify", "distance": float("nan")},
        {"event": "verify", "details": {"x": object()}},
    ],
)
def test_bad_audit_records_write_nothing(
    db_path: Path, store: SqliteStore, kwargs: dict[str, object]
) -> None:
    event = kwargs.pop("event")
    with pytest.raises(InvalidInput):
        store.record(event, subject_id="a", modality=FACE, model_id="f1", **kwargs)  # type: ignore[arg-type]
    assert raw(db_path, "SELECT count(*) FROM audit_log") == [(0,)]


@pytest.mark.parametrize("sql", ["UPDATE audit_log SET decision = 'Accept'", "DELETE FROM audit_log"])
def test_audit_log_is_append_only(db_path: Path, store: SqliteStore, sql: str) -> None:
    store.record("verify", subject_id="a", modality=FACE, model_id="f1", decision="Reject")
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="audit log is append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert [(e.decision) for e in store.audit()] == ["Reject"]


def test_delete_cascades(db_path: Path, store: SqliteStore, make_samples: MakeSamples) -> None:
    for sid, seed in (("alice", 0), ("bob", 1)):
        store.enroll(
            sid,
            modality=FACE,
            model_id="f1",
            samples=make_samples(2, seed),
            embeddings=embeddings(2, seed=seed),
        )
        store.enroll(
            sid,
            modality=SIG,
            model_id="s1",
            samples=make_samples(3, seed + 10),
            embeddings=embeddings(3, seed=seed),
        )
    store.delete_subject("alice")
    assert raw(db_path, "SELECT DISTINCT subject_id FROM samples") == [("bob",)]
    assert raw(db_path, "SELECT DISTINCT subject_id FROM templates") == [("bob",)]
    assert raw(db_path, "SELECT count(*) FROM template_references") == [(5,)]
    assert raw(db_path, "SELECT count(*) FROM template_references WHERE sample_id IS NULL") == [(0,)]
    with pytest.raises(NotEnrolled, match="unknown subject 'alice'"):
        store.template("alice", modality=FACE, model_id="f1")
    with pytest.raises(NotEnrolled, match="nothing to delete"):
        store.delete_subject("alice")
    assert [t.subject_id for t in store.gallery(modality=FACE, model_id="f1")] == ["bob"]


def test_subjects_find_and_info(db_path: Path, store: SqliteStore, make_samples: MakeSamples) -> None:
    store.enroll(
        "c-002",
        modality=FACE,
        model_id="f1",
        samples=make_samples(1),
        embeddings=embeddings(1),
        display_name="Łukasz Nowak",
    )
    store.enroll("c-002", modality=SIG, model_id="s1", samples=make_samples(2, 1), embeddings=embeddings(2))
    store.enroll(
        "c-001",
        modality=SIG,
        model_id="s1",
        samples=make_samples(1, 2),
        embeddings=embeddings(1),
        display_name="Anna Smith",
    )
    subjects = store.subjects()
    assert [(s.subject_id, s.display_name, s.modalities) for s in subjects] == [
        ("c-001", "Anna Smith", ("signature",)),
        ("c-002", "Łukasz Nowak", ("face", "signature")),
    ]
    assert [s.subject_id for s in store.find_subjects("łUKASZ")] == ["c-002"]
    assert [s.subject_id for s in store.find_subjects("SMI")] == ["c-001"]
    assert [s.subject_id for s in store.find_subjects("C-00")] == ["c-001", "c-002"]
    assert store.find_subjects("nobody") == []
    info = store.info()
    assert info.location == str(db_path.resolve())
    assert (info.schema_version, info.n_subjects, info.n_samples, info.n_audit) == (SCHEMA_VERSION, 2, 4, 3)
    assert info.templates == {"face/f1": 1, "signature/s1": 2}


def test_two_stores_on_one_file_see_each_other(db_path: Path, make_samples: MakeSamples) -> None:
    with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        for i in range(4):
            writer, reader = (a, b) if i % 2 == 0 else (b, a)
            writer.enroll(
                f"s{i}",
                modality=FACE,
                model_id="f1",
                samples=make_samples(1, i),
                embeddings=embeddings(1, seed=i),
            )
            assert [t.subject_id for t in reader.gallery(modality=FACE, model_id="f1")] == [
                f"s{j}" for j in range(i + 1)
            ]
        assert (
            [e.subject_id for e in a.audit()] == [e.subject_id for e in b.audit()] == ["s0", "s1", "s2", "s3"]
        )


def test_closed_store_and_open_store(db_path: Path) -> None:
    s = open_store(db_path)
    assert isinstance(s, EnrollmentStore)
    with s:
        pass
    with pytest.raises(StoreError, match="is closed"):
        s.subjects()
    s.close()  # idempotent
    with open_store(db_path, create=False) as again:
        assert again.subjects() == []


def test_base_class_is_abstract() -> None:
    with pytest.raises(TypeError):
        EnrollmentStore()  # type: ignore[abstract]
