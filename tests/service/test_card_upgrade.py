"""Upgrading to the signature card that carries the three zones: a database that pinned the earlier card (the same
encoder, no ``accept`` / ``reject``) refuses the new one until an admin trusts it; then, with the same templates,
its scans are decided by the zones. Real CEDAR scans (signer 46), the shipped model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from biometrix.core.errors import ModelNotTrusted
from biometrix.core.types import Modality
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard
from biometrix.runtime.paths import bundled_models_dir
from biometrix.service import Biometrix
from tests.cli.conftest import Cedar

MODEL = PREFERRED_MODELS[Modality.SIGNATURE]
#: genuine 21 of signer 46 at distance 0.003027 (tests/cli/test_refer.py): above the default threshold 0.001492,
#: between the zones' accept 0.001763 and reject 0.006387
BETWEEN = 21


def _folder(path: Path, *, zones: bool) -> Path:
    """A models folder with the shipped signature model, its card as shipped or without the three zones."""
    path.mkdir()
    card = json.loads((bundled_models_dir() / f"{MODEL}.json").read_text(encoding="utf-8"))
    if not zones:
        card["thresholds"] = [t for t in card["thresholds"] if t["name"] not in ("accept", "reject")]
        card["evaluation"].pop("three_zones")
    ModelCard.from_dict(card, source="test").save(path / f"{MODEL}.json")
    shutil.copy(bundled_models_dir() / card["onnx_file"], path / card["onnx_file"])
    return path


def test_an_admin_trusts_the_card_with_zones_and_the_same_templates_decide_by_them(
        tmp_path: Path, cedar: Cedar) -> None:
    before, after = _folder(tmp_path / "before", zones=False), _folder(tmp_path / "after", zones=True)
    db = tmp_path / "bank.db"
    with Biometrix(db, models_dir=before) as bx:
        bx.enroll("s46", signatures=cedar.references(46))
        old = bx.verify("s46", signature=cedar.genuine(46, BETWEEN))
        bx.add_operator("root", "admin", "root-password-1")
    assert (old.label, old.reject_threshold) == ("Reject", None)  # one threshold: the default
    with Biometrix(db, models_dir=after) as bx:
        bx.login("root", "root-password-1")
        with pytest.raises(ModelNotTrusted, match="is not the one this database trusts"):
            bx.verify("s46", signature=cedar.genuine(46, BETWEEN))
        (pin,) = [p for p in bx.trust_models(pen=False) if p.slot == "signature"]
        new = bx.verify("s46", signature=cedar.genuine(46, BETWEEN))
        rows = [r for r in bx.audit(event="settings") if r.details.get("setting") == "model.signature"]
    card = ModelCard.load(after / f"{MODEL}.json")
    assert new.distance == pytest.approx(old.distance, abs=1e-9)  # the same encoder and template
    assert (new.label, new.threshold.value, new.reject_threshold) == (
        "Refer", card.threshold("accept").value, card.threshold("reject").value)
    assert rows[-1].details["new"]["card_sha256"] == pin.card_sha256 != rows[-1].details["old"]["card_sha256"]
    assert rows[-1].details["new"]["model_sha256"] == rows[-1].details["old"]["model_sha256"]
