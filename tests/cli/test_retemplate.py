"""After a model change: templates re-made from the raw samples kept in the database (``db retemplate``).

The "new" model here is the shipped signature model under another model_id (same weights), so the oracle is
exact: a template re-made from the kept samples must equal the one made at enrollment from the original
files, for scanned images and for pen files alike.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.capture.files import encode_png, load_gray
from biometrix.capture.pen import load_strokes, rasterize, strokes_to_json
from biometrix.core.errors import ModelNotTrusted, NotEnrolled
from biometrix.core.types import Modality
from biometrix.service import STROKES_MEDIA_TYPE
from biometrix.store import SampleIn
from biometrix.store.base import EnrollmentPart
from tests.cli.conftest import Cedar, Run, Svc, copy_model_as


@pytest.fixture
def models(tmp_path: Path, model_card: dict[str, object]) -> Path:
    """A models folder: the shipped signature model as "sig-old" and as "sig-new" (the same weights, both with
    the normalized aggregate, which needs at least 2 references), and "sig-mean" (the same weights, the mean
    aggregate, which accepts a single reference)."""
    folder = tmp_path / "models"
    folder.mkdir()
    copy_model_as(model_card, folder, "sig-old", aggregate="normalized")
    copy_model_as(model_card, folder, "sig-new", aggregate="normalized")
    copy_model_as(model_card, folder, "sig-mean", aggregate="mean")
    return folder


def test_retemplate_remakes_the_same_templates_from_the_kept_samples(models: Path, cedar: Cedar, svc: Svc,
                                                                     tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db, models_dir=models, signature_model="sig-old") as bx:
        bx.enroll("scan", signatures=cedar.references(46))
        bx.enroll("pen", signatures=[svc.sample(1, n) for n in range(1, 6)])
        old = {s: bx._db.template(s, modality=Modality.SIGNATURE, model_id="sig-old") for s in ("scan", "pen")}
        old_distance = bx.verify("scan", signature=cedar.genuine(46, 10)).distance
        n_samples = bx.info().n_samples
    with Biometrix(db, models_dir=models, signature_model="sig-new") as bx:
        with pytest.raises(ModelNotTrusted, match="decides signatures with model 'sig-old'"):
            bx.verify("scan", signature=cedar.genuine(46, 10))  # a new model is trusted by an admin first
        assert [p.model_id for p in bx.trust_models(signature_model="sig-new")] == ["sig-new"]
        with pytest.raises(NotEnrolled, match="retemplate"):
            bx.verify("scan", signature=cedar.genuine(46, 10))
        seen: list[tuple[int, int]] = []
        (report,) = bx.retemplate(progress=lambda done, total: seen.append((done, total)))
        assert (report.modality, report.model_id) == (Modality.SIGNATURE, "sig-new")
        assert (report.made, report.failed, report.up_to_date) == (("pen", "scan"), (), 0)
        assert seen == [(1, 2), (2, 2)]
        for subject, template in old.items():
            new = bx._db.template(subject, modality=Modality.SIGNATURE, model_id="sig-new")
            np.testing.assert_allclose(new.references, template.references, atol=1e-6)
        assert bx.verify("scan", signature=cedar.genuine(46, 10)).distance == pytest.approx(old_distance, abs=1e-6)
        info = bx.info()
        assert info.n_samples == n_samples  # the kept samples are shared, not copied
        assert dict(info.templates)["signature/sig-old"] == 2 and dict(info.templates)["signature/sig-new"] == 2
        rows = [e for e in bx.audit(event="enroll") if e.model_id == "sig-new"]
        made = [(e.subject_id, e.details["retemplated_from"]) for e in rows]
        assert made == [("pen", "sig-old"), ("scan", "sig-old")]
        again = bx.retemplate()
        assert (again[0].made, again[0].up_to_date) == ((), 2)


def test_samples_kept_whole_by_an_older_biometrix_retemplate_as_before(models: Path, cedar: Cedar, svc: Svc,
                                                                      tmp_path: Path) -> None:
    """A database written before samples were kept compactly holds whole scans (PNG) and undeflated stroke JSON:
    retemplating reads them as before, to the templates the original files make."""
    db = tmp_path / "bank.db"
    scans = [load_gray(p) for p in cedar.references(47)]
    strokes = [load_strokes(svc.sample(2, n)) for n in range(1, 6)]
    with Biometrix(db, models_dir=models, signature_model="sig-old") as bx:
        pipe = bx.pipeline(Modality.SIGNATURE)
        for subject, images, samples in (
                ("scan", scans, [SampleIn(data=encode_png(g), media_type="image/png") for g in scans]),
                ("pen", [rasterize(s) for s in strokes],
                 [SampleIn(data=strokes_to_json(s).encode(), media_type=STROKES_MEDIA_TYPE) for s in strokes])):
            bx._db.enroll_many(subject, [EnrollmentPart(modality=Modality.SIGNATURE, model_id="sig-old",
                                                        samples=tuple(samples), embeddings=pipe.embed_many(images))])
        old = {s: bx._db.template(s, modality=Modality.SIGNATURE, model_id="sig-old") for s in ("scan", "pen")}
    with Biometrix(db, models_dir=models, signature_model="sig-new") as bx:
        bx.trust_models(signature_model="sig-new")
        (report,) = bx.retemplate()
        assert (report.made, report.failed) == (("pen", "scan"), ())
        for subject, template in old.items():
            new = bx._db.template(subject, modality=Modality.SIGNATURE, model_id="sig-new")
            np.testing.assert_allclose(new.references, template.references, atol=1e-6)


def test_a_subject_the_new_model_refuses_is_reported_and_left_alone(models: Path, cedar: Cedar,
                                                                     tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db, models_dir=models, signature_model="sig-mean") as bx:
        bx.enroll("one-ref", signatures=[cedar.genuine(47, 1)])
        bx.enroll("five-refs", signatures=cedar.references(48))
    with Biometrix(db, models_dir=models, signature_model="sig-new") as bx:
        bx.trust_models(signature_model="sig-new")
        (report,) = bx.retemplate(Modality.SIGNATURE)
        assert report.made == ("five-refs",)
        ((subject, reason),) = report.failed
        assert subject == "one-ref" and "at least 2" in reason
        with pytest.raises(NotEnrolled):
            bx._db.template("one-ref", modality=Modality.SIGNATURE, model_id="sig-new")
        assert bx._db.template("one-ref", modality=Modality.SIGNATURE, model_id="sig-mean").n_references == 1


def test_db_retemplate_command(models: Path, cedar: Cedar, cli: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "bank.db"
    assert cli("enroll", "--db", db, "--models-dir", models, "--model", "sig-mean", "--subject", "a",
               "--signature", cedar.genuine(49, 1)).rc == 0
    assert cli("enroll", "--db", db, "--models-dir", models, "--model", "sig-mean", "--subject", "b",
               "--signature", *cedar.references(50)).rc == 0
    refused = cli("db", "retemplate", "--db", db, "--models-dir", models, "--model", "sig-new", "--json")
    assert refused.rc == 2 and "models trust --model sig-new" in refused.err
    trust = cli("models", "trust", "--db", db, "--models-dir", models, "--model", "sig-new", "--json")
    assert trust.rc == 0 and [p["model_id"] for p in trust.json()] == ["sig-new"]  # type: ignore[union-attr]
    run = cli("db", "retemplate", "--db", db, "--models-dir", models, "--model", "sig-new", "--json")
    assert run.rc == 1  # one subject could not be re-made
    (report,) = run.json()  # type: ignore[misc]
    assert report["model_id"] == "sig-new" and report["made"] == ["b"]
    assert [f["subject_id"] for f in report["failed"]] == ["a"]
    run = cli("db", "retemplate", "--db", db, "--models-dir", models, "--model", "sig-new")
    assert run.rc == 1 and "0 templates made, 1 subjects already had one, 1 failed" in run.out
    verify = cli("verify", "--db", db, "--models-dir", models, "--model", "sig-new", "--subject", "b",
                 "--signature", cedar.genuine(50, 12))
    assert verify.rc in (0, 1) and ("Accept" in verify.out) == (verify.rc == 0), verify


def test_a_template_made_meanwhile_by_another_session_counts_as_up_to_date(
        models: Path, cedar: Cedar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "bank.db"
    with Biometrix(db, models_dir=models, signature_model="sig-old") as bx:
        bx.enroll("s", signatures=cedar.references(51))
    with Biometrix(db, models_dir=models, signature_model="sig-new") as bx:
        bx.trust_models(signature_model="sig-new")
        bx.enroll("s", signatures=cedar.references(52))  # another teller enrolled s under the new model...
        stale = {"s": ("sig-old",)}  # ...after this session listed the templates
        monkeypatch.setattr(bx._db, "template_models", lambda *, modality: stale)
        (report,) = bx.retemplate(Modality.SIGNATURE)
        assert (report.made, report.failed, report.up_to_date) == ((), (), 1)
        monkeypatch.undo()
        kept = bx._db.template("s", modality=Modality.SIGNATURE, model_id="sig-new")
        fresh = bx.pipeline(Modality.SIGNATURE).embed_many([load_gray(p) for p in cedar.references(52)])
        np.testing.assert_allclose(kept.references, fresh, atol=1e-5)  # the other session's template stands


def test_upgrading_from_signature_v5_to_the_app_model(cedar: Cedar, tmp_path: Path) -> None:
    """The upgrade a bank makes now: a database enrolled with signature-v5 (kept in assets/models) opened with the
    app's model refuses to verify until `db retemplate`; then every decision equals that of an enrollment made
    with the new model directly from the original files."""
    from biometrix.runtime.model_card import PREFERRED_MODELS
    from biometrix.runtime.paths import models_dir

    new_model = PREFERRED_MODELS[Modality.SIGNATURE]
    if not (models_dir() / "signature-v5.json").is_file() or new_model == "signature-v5":
        pytest.skip("signature-v5 is not beside a newer app model in assets/models")
    db, fresh = tmp_path / "bank.db", tmp_path / "fresh.db"
    with Biometrix(db, signature_model="signature-v5", prefer_gpu=False) as bx:
        bx.enroll("C-46", signatures=cedar.references(46))
    with Biometrix(db, prefer_gpu=False) as bx:
        assert bx.card(Modality.SIGNATURE).model_id == "signature-v5"  # the model the database trusts
        bx.trust_models()  # an admin: the installation's default models from now on
        assert bx.card(Modality.SIGNATURE).model_id == new_model
        with pytest.raises(NotEnrolled, match=f"no signature template for model '{new_model}'.*retemplate"):
            bx.verify("C-46", signature=cedar.genuine(46, 10))
        (report,) = bx.retemplate()
        assert (report.model_id, report.made) == (new_model, ("C-46",))
        upgraded = [bx.verify("C-46", signature=p) for p in (cedar.genuine(46, 10), cedar.forgery(46, 1))]
    with Biometrix(fresh, prefer_gpu=False) as bx:
        bx.enroll("C-46", signatures=cedar.references(46))
        direct = [bx.verify("C-46", signature=p) for p in (cedar.genuine(46, 10), cedar.forgery(46, 1))]
    for a, b in zip(upgraded, direct, strict=True):
        assert a.distance == pytest.approx(b.distance, abs=1e-6) and a.accepted == b.accepted
        assert a.threshold.value == b.threshold.value and a.threshold.model_id == new_model
