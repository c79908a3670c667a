"""The store's side of the identification index: the bulk read of decrypted templates and the change log that
every writer, in any process, appends to (migration 5)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biometrix.core.templates import l2_normalize
from biometrix.core.types import Modality
from biometrix.store import GalleryRows, SampleIn, SqliteStore
from biometrix.store.base import EnrollmentPart
from biometrix.store.crypto import DataKey
from tests.store.conftest import embeddings, raw

SIG, FACE = Modality.SIGNATURE, Modality.FACE


def _enroll(store: SqliteStore, subject: str, k: int = 3, *, seed: int = 0, model: str = "s1",
            replace: bool = False, modality: Modality = SIG) -> None:
    samples = [SampleIn(data=f"{subject}-{seed}-{i}".encode(), media_type="image/png") for i in range(k)]
    store.enroll(subject, modality=modality, model_id=model, samples=samples, embeddings=embeddings(k, seed=seed),
                 replace=replace)


def _read(store: SqliteStore, *, batch: int = 4096, model: str = "s1") -> tuple[int, list[GalleryRows]]:
    got: list[GalleryRows] = []
    return store.read_gallery(modality=SIG, model_id=model, consume=got.append, batch=batch), got


def test_bulk_read_is_the_gallery_decrypted(store: SqliteStore) -> None:
    for i, k in enumerate([1, 3, 5, 2, 4]):
        _enroll(store, f"sub{i}", k, seed=i)
    _enroll(store, "face-only", 2, modality=FACE)
    _enroll(store, "other-model", 2, model="s2")
    version, batches = _read(store, batch=2)
    assert version == store.gallery_version() == 7
    assert [len(b) for b in batches] == [2, 2, 1]
    rows = {sid: (tid, vec) for b in batches for sid, tid, vec in
            zip(b.subject_ids, b.template_ids, np.split(b.vectors, np.cumsum(b.counts)[:-1]), strict=True)}
    gallery = store.gallery(modality=SIG, model_id="s1")
    assert sorted(rows) == [t.subject_id for t in gallery]
    for t in gallery:
        assert l2_normalize(rows[t.subject_id][1]).tobytes() == t.references.tobytes()
    assert len({tid for tid, _ in rows.values()}) == 5


def test_every_template_write_is_logged_without_a_subject_id(store: SqliteStore, db_path: Path) -> None:
    _enroll(store, "alice")
    _enroll(store, "bob", seed=1)
    version, _ = _read(store)
    _enroll(store, "alice", seed=2, replace=True)  # replace: a delete and an insert
    store.erase_subject("bob")  # the cascade deletes bob's template
    _enroll(store, "carol", seed=3, modality=FACE)  # another modality: logged, not in this model's delta
    delta = store.gallery_changes(version, modality=SIG, model_id="s1")
    assert delta.complete and delta.version == store.gallery_version() == version + 4
    (alice_new,) = (int(t) for t in delta.rows.template_ids)
    assert delta.rows.subject_ids == ("alice",)
    assert len(delta.touched) == 3 and alice_new in delta.touched  # alice's old, alice's new, bob's
    columns = [r[1] for r in raw(db_path, "PRAGMA table_info(template_changes)")]
    assert columns == ["seq", "template_id", "modality", "model_id"]
    logged = " ".join(str(v) for row in raw(db_path, "SELECT * FROM template_changes") for v in row)
    assert "bob" not in logged and "alice" not in logged
    assert store.gallery_changes(delta.version, modality=SIG, model_id="s1").touched == ()


def test_another_connection_sees_the_changes(db_path: Path) -> None:
    """Two stores on one file, as the GUI and a CLI run are: a write through one moves the other's counter."""
    with SqliteStore(db_path) as a, SqliteStore(db_path) as b:
        _enroll(a, "alice")
        version, _ = _read(b)
        _enroll(a, "bob", seed=1)
        a.delete_subject("alice")
        delta = b.gallery_changes(version, modality=SIG, model_id="s1")
        assert delta.complete and delta.rows.subject_ids == ("bob",) and len(delta.touched) == 2


def test_a_counter_the_log_cannot_answer_asks_for_a_rebuild(store: SqliteStore, db_path: Path) -> None:
    _enroll(store, "alice")
    version = store.gallery_version()
    # a counter ahead of the database's: another history (a restored older backup)
    assert not store.gallery_changes(version + 5, modality=SIG, model_id="s1").complete
    for i in range(3):
        _enroll(store, f"s{i}", seed=i)
    conn = sqlite3.connect(db_path)
    conn.execute("DELETE FROM template_changes WHERE seq <= ?", (version + 1,))  # what pruning does
    conn.commit()
    conn.close()
    assert not store.gallery_changes(version, modality=SIG, model_id="s1").complete
    assert store.gallery_changes(version + 1, modality=SIG, model_id="s1").complete


def test_the_log_prunes_itself(store: SqliteStore, db_path: Path) -> None:
    """Only the last 100,000 changes are kept: at every thousandth, older ones are deleted."""
    conn = sqlite3.connect(db_path)
    conn.executemany("INSERT INTO template_changes (seq, template_id, modality, model_id) VALUES (?, 0, 'x', 'y')",
                     [(s,) for s in (5, 99_000, 100_500, 150_000)])
    conn.execute("UPDATE sqlite_sequence SET seq = 199999 WHERE name = 'template_changes'")
    conn.commit()
    conn.close()
    _enroll(store, "alice")  # change 200,000
    assert raw(db_path, "SELECT seq FROM template_changes") == [(100_500,), (150_000,), (200_000,)]


def test_bulk_enrollment_is_one_transaction(store: SqliteStore, db_path: Path) -> None:
    def part(seed: int) -> list[EnrollmentPart]:
        return [EnrollmentPart(modality=SIG, model_id="s1", embeddings=embeddings(2, seed=seed),
                               samples=tuple(SampleIn(data=bytes([seed, i]), media_type="x") for i in range(2)))]

    assert store.enroll_bulk([(f"b{i}", part(i)) for i in range(4)]) == 4
    assert [t.subject_id for t in store.gallery(modality=SIG, model_id="s1")] == ["b0", "b1", "b2", "b3"]
    assert len(store.audit(event="enroll")) == 4
    with pytest.raises(Exception, match="already has"):
        store.enroll_bulk([("c0", part(9)), ("b1", part(1))])
    assert raw(db_path, "SELECT count(*) FROM subjects WHERE subject_id = 'c0'") == [(0,)]


@settings(max_examples=200, deadline=None)
@given(owner=st.text(), column=st.sampled_from(["template_references.vector", "samples.data", "subjects.display_name"]))
def test_associated_data_is_the_json_it_always_was(owner: str, column: str) -> None:
    """The bulk read makes a value's associated data without json.dumps; a byte of difference would leave every
    value sealed before unopenable."""
    key = DataKey(bytes(32), key_id="k", database_id="0123abcd")
    want = json.dumps(["0123abcd", column, owner], separators=(",", ":")).encode("utf-8")
    assert key._aad(column, owner) == want
    assert key.open_many([key.seal(b"x", column=column, owner=owner)], column=column, owner=owner) == [b"x"]
