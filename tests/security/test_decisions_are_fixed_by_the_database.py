"""Finding 1 of the security review: a teller raised the threshold with a doctored copy of the models folder
(``--models-dir``, ``$BIOMETRIX_MODELS_DIR``), the API's ``threshold=``, or a per-user file, and a forgery was
accepted. Now the database pins the sha256 of every card it trusts and holds the decision policy; each attack is
performed here as the reviewer did it and must be refused, with nothing written to the audit log."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from biometrix import Biometrix
from biometrix.core.errors import AccessDenied, ModelNotTrusted, TamperDetected
from biometrix.core.types import Modality
from biometrix.runtime.paths import bundled_models_dir
from biometrix.runtime.pen_comparator import PEN_MODEL_ID
from tests.security._bank import attacker_sql, drawn, make_bank, one_error_line, run_cli, session

SIGNATURE_MODEL = "signature-v6-int8"


@pytest.fixture
def bank(tmp_path: Path) -> Path:
    return make_bank(tmp_path / "bank.db")


@pytest.fixture
def doctored(tmp_path: Path) -> Path:
    """A copy of the shipped signature model and pen comparator whose card accepts 1000x farther distances."""
    folder = tmp_path / "my-models"
    folder.mkdir()
    for name in (f"{SIGNATURE_MODEL}.onnx", f"{SIGNATURE_MODEL}.json"):
        shutil.copyfile(bundled_models_dir() / name, folder / name)
    shutil.copytree(bundled_models_dir() / PEN_MODEL_ID, folder / PEN_MODEL_ID)
    card_path = folder / f"{SIGNATURE_MODEL}.json"
    card = json.loads(card_path.read_text())
    for t in card["thresholds"]:
        t["value"] = t["value"] * 1000
    card_path.write_text(json.dumps(card))
    return folder


def _verify_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM audit_log WHERE event = 'verify'").fetchone()
    conn.close()
    return n


def test_a_doctored_models_folder_cannot_accept_a_forgery(bank: Path, doctored: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = bank.parent / "impostor.png"
    import cv2

    cv2.imwrite(str(impostor), drawn(7))
    honest = run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature",
                     impostor, "--json")
    assert honest.rc == 1 and honest.json()["decision"] == "reject"  # type: ignore[index]
    # the oracle: under the doctored card the same distance would have been accepted
    doc = honest.json()
    assert isinstance(doc, dict) and doc["distance"] < doc["threshold"] * 1000
    before = _verify_rows(bank)
    attack = run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature",
                     impostor, "--models-dir", doctored)
    one_error_line(attack, "is not the one this database trusts")
    monkeypatch.setenv("BIOMETRIX_MODELS_DIR", str(doctored))
    by_env = run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature", impostor)
    one_error_line(by_env, "is not the one this database trusts")
    monkeypatch.delenv("BIOMETRIX_MODELS_DIR")
    with session(bank, "tom", models_dir=doctored) as bx, pytest.raises(ModelNotTrusted):
        bx.verify("alice", signature=drawn(7))
    assert _verify_rows(bank) == before  # nothing was decided, so nothing was recorded


def test_the_api_takes_no_threshold_and_a_teller_cannot_change_the_policy(bank: Path) -> None:
    with pytest.raises(TypeError):
        Biometrix(bank, threshold=None)  # type: ignore[call-arg]
    with session(bank, "tom") as bx:
        with pytest.raises(TypeError):
            bx.verify("alice", signature=drawn(7), refer_band=0.0)  # type: ignore[call-arg]
        for change in ({"signature_threshold": "random_fmr1"}, {"signature_target_fmr": 0.5}, {"refer_band": 0.0},
                       {"pen_comparator": False}):
            with pytest.raises(AccessDenied, match="change thresholds"):
                bx.set_policy(**change)
        assert bx.policy().to_dict() == {"signature_threshold": "default", "signature_target_fmr": None,
                                         "face_threshold": "default", "face_target_fmr": None, "refer_band": 0.0,
                                         "pen_comparator": True, "three_zone": True}
        with pytest.raises(AccessDenied):
            bx.trust_models()
    with session(bank, "sue") as bx:
        assert [r for r in bx.audit(event="settings") if r.details.get("setting") == "policy"] == []


def test_an_admin_changes_the_policy_audited_with_old_and_new(bank: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    teller = run_cli(capsys, monkeypatch, "tom", "policy", "set", "--db", bank, "--refer-band", "0.2")
    one_error_line(teller, "change thresholds")
    admin = run_cli(capsys, monkeypatch, "root", "policy", "set", "--db", bank, "--refer-band", "0.2",
                    "--signature-threshold", "random_fmr1", "--json")
    assert admin.rc == 0, admin.err
    with session(bank, "root") as bx:
        (row,) = [r for r in bx.audit(event="settings") if r.details.get("setting") == "policy"]
        assert row.operator == "root"
        assert row.details["changes"] == {"refer_band": [0.0, 0.2], "signature_threshold": ["default", "random_fmr1"]}
        card = bx.card(Modality.SIGNATURE)
        assert bx.threshold(Modality.SIGNATURE) == card.threshold("random_fmr1")
    unknown = run_cli(capsys, monkeypatch, "root", "policy", "set", "--db", bank, "--signature-threshold", "lenient")
    one_error_line(unknown)


def test_a_policy_edited_in_the_file_is_refused(bank: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with session(bank, "root") as bx:
        bx.set_policy(refer_band=0.1)
    relaxed = json.dumps({"refer_band": 0.0, "signature_threshold": "default", "signature_target_fmr": 0.9})
    attacker_sql(bank, "UPDATE protected_settings SET value = ? WHERE key = 'policy'", params=(relaxed,))
    with pytest.raises(TamperDetected, match="policy"):
        session(bank, "tom").verify("alice", signature=drawn(7))
    one_error_line(run_cli(capsys, monkeypatch, "tom", "verify", "--db", bank, "--subject", "alice", "--signature",
                           str(bank)), "integrity check")


def test_a_pinned_card_swapped_in_place_or_another_model_is_refused(bank: Path, doctored: Path) -> None:
    with session(bank, "tom", signature_model="signature-v6") as bx, pytest.raises(ModelNotTrusted,
                                                                                  match="is not trusted"):
        bx.verify("alice", signature=drawn(7))
    # the pen comparator this database trusts, left out of a models folder: refused, not silently skipped
    without_pen = doctored.parent / "no-pen"
    without_pen.mkdir()
    for name in (f"{SIGNATURE_MODEL}.onnx", f"{SIGNATURE_MODEL}.json"):
        shutil.copyfile(bundled_models_dir() / name, without_pen / name)
    with session(bank, "tom", models_dir=without_pen) as bx:
        assert bx.pen_card() is None  # nothing pinned yet, nothing installed: the image model decides pen probes
    with session(bank, "root") as bx:
        # the installation's folder: the signature pin is unchanged, the face model and pen comparator are added
        assert {p.slot for p in bx.trust_models()} == {"face", "pen"}
    with session(bank, "tom", models_dir=without_pen) as bx, pytest.raises(ModelNotTrusted, match="pen comparator"):
        bx.pen_card()


def test_every_decision_records_the_card_that_made_it(bank: Path) -> None:
    card_sha = hashlib.sha256((bundled_models_dir() / f"{SIGNATURE_MODEL}.json").read_bytes()).hexdigest()
    with session(bank, "tom") as bx:
        bx.verify("alice", signature=drawn(1))
        bx.identify(signature=drawn(1))
    with session(bank, "sue") as bx:
        rows = [r for r in bx.audit() if r.event in ("verify", "identify")]
        pin_rows = [r for r in bx.audit(event="settings") if r.details.get("setting") == "model.signature"]
    assert [r.details["card_sha256"] for r in rows] == [card_sha, card_sha]
    (pin,) = pin_rows
    assert pin.details["new"]["card_sha256"] == card_sha and pin.details["old"] is None


def test_new_models_are_trusted_by_an_admin_only(bank: Path, doctored: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    teller = run_cli(capsys, monkeypatch, "tom", "models", "trust", "--db", bank, "--models-dir", doctored)
    one_error_line(teller, "change models")
    admin = run_cli(capsys, monkeypatch, "root", "models", "trust", "--db", bank, "--models-dir", doctored, "--json")
    assert admin.rc == 0, admin.err
    assert {p["slot"] for p in admin.json()} == {"signature", "pen"}  # type: ignore[union-attr]
    listed = run_cli(capsys, monkeypatch, "tom", "models", "list", "--db", bank, "--json")
    digest = hashlib.sha256((doctored / f"{SIGNATURE_MODEL}.json").read_bytes()).hexdigest()
    assert {p["slot"]: p["card_sha256"] for p in listed.json()}["signature"] == digest  # type: ignore[union-attr]
    # from now on the shipped card is the one refused: the database trusts what the admin chose
    with session(bank, "tom") as bx, pytest.raises(ModelNotTrusted):
        bx.verify("alice", signature=drawn(1))
    with session(bank, "root") as bx:
        rows = [r for r in bx.audit(event="settings") if r.details.get("setting") == "model.signature"]
    assert [r.operator for r in rows][-1] == "root" and rows[-1].details["old"]["card_sha256"] != digest
