"""Tests for biometrix.runtime.model_card: strict loading, thresholds, discovery, round trip."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from biometrix.core.errors import ModelIntegrityError
from biometrix.core.types import Modality, Threshold
from biometrix.runtime.model_card import (
    CardThreshold,
    ModelCard,
    Normalization,
    find_models,
    load_card_for,
    sha256_file,
)
from tests.runtime.conftest import card_dict

SHA = "0" * 64


def _write(tmp_path: Path, payload: Any, name: str = "m.json") -> Path:
    path = tmp_path / name
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def test_load_valid_card(make_model: Callable[..., Any]) -> None:
    model = make_model()
    card = ModelCard.load(model.card_path)
    assert card.model_id == "sig-tiny-v1"
    assert card.modality is Modality.SIGNATURE
    assert card.input_shape == (1, 8, 8)
    assert card.normalization == Normalization(mean=0.5, std=0.25)
    assert card.embedding_dim == 4
    assert card.thresholds[1] == CardThreshold("strict", 0.2, 0.0001, "tiny-dev split")
    assert card.preprocessing == {"kind": "signature-v1", "binarize": "otsu"}
    assert card.sha256 == sha256_file(model.onnx_path)
    assert card.onnx_path(model.folder) == model.onnx_path


def test_default_threshold_is_bound_to_model() -> None:
    card = ModelCard.from_dict(card_dict("m", SHA, distance="euclidean"))
    assert card.default_threshold() == Threshold(
        value=0.35, model_id="m", distance="euclidean", target_fmr=0.001, source="tiny-dev split"
    )
    assert card.threshold("strict").value == 0.2
    with pytest.raises(ModelIntegrityError, match="no threshold named 'lenient'"):
        card.threshold("lenient")


def test_roundtrip_save_and_load(tmp_path: Path) -> None:
    card = ModelCard.from_dict(card_dict("m", SHA))
    path = card.save(tmp_path / "sub" / "m.json")
    assert ModelCard.load(path) == card
    assert json.loads(card.to_json()) == card_dict("m", SHA)
    assert not list(path.parent.glob("*.tmp"))
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600: every user of the app reads it


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = bytes(range(256)) * 5000
    path.write_bytes(data)
    assert sha256_file(path, chunk_size=1000) == hashlib.sha256(data).hexdigest()


def test_unknown_key_named(tmp_path: Path) -> None:
    path = _write(tmp_path, card_dict("m", SHA, colour="blue"))
    with pytest.raises(ModelIntegrityError, match="unknown key 'colour'"):
        ModelCard.load(path)


def test_missing_key_named(tmp_path: Path) -> None:
    payload = card_dict("m", SHA)
    del payload["embedding_dim"]
    with pytest.raises(ModelIntegrityError, match="missing key 'embedding_dim'"):
        ModelCard.load(_write(tmp_path, payload))


def test_bad_json(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"model_id": "m",,}')
    with pytest.raises(ModelIntegrityError, match=r"m\.json is not valid JSON \(line 1"):
        ModelCard.load(path)


def test_missing_card_file(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="does not exist"):
        ModelCard.load(tmp_path / "none.json")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"embedding_dim": "4"}, "embedding_dim"),
        ({"embedding_dim": 4.0}, "embedding_dim"),
        ({"embedding_dim": True}, "embedding_dim"),
        ({"embedding_dim": 0}, "embedding_dim"),
        ({"modality": "iris"}, "modality"),
        ({"distance": "manhattan"}, "distance"),
        ({"aggregate": "max"}, "aggregate"),
        ({"input_dtype": "float16"}, "input_dtype"),
        ({"input_shape": [1, 8]}, "input_shape"),
        ({"input_shape": [1, 8, -8]}, "input_shape"),
        ({"sha256": "ABC"}, "sha256"),
        ({"onnx_file": "../evil.onnx"}, "onnx_file"),
        ({"model_id": "bad id"}, "model_id"),
        ({"normalization": {"mean": 0.5}}, "normalization.'std'"),
        ({"normalization": {"mean": 0.5, "std": 0}}, "normalization.std"),
        ({"normalization": [0.5, 0.25]}, "normalization"),
        ({"preprocessing": "otsu"}, "preprocessing"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"thresholds": {"default": 0.3}}, "thresholds"),
        ({"thresholds": [{"name": "strict", "value": 0.2, "target_fmr": None, "source": ""}]}, "thresholds"),
        (
            {"thresholds": [{"name": "default", "value": "0.3", "target_fmr": None, "source": ""}]},
            "thresholds[0].value",
        ),
        ({"thresholds": [{"name": "default", "value": 0.3, "source": ""}]}, "thresholds[0].'target_fmr'"),
    ],
)
def test_wrong_values_name_the_key(tmp_path: Path, override: dict[str, Any], key: str) -> None:
    path = _write(tmp_path, card_dict("m", SHA, **override))
    with pytest.raises(ModelIntegrityError) as info:
        ModelCard.load(path)
    message = str(info.value)
    assert key in message and "\n" not in message


def test_top_level_must_be_object(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="must be a JSON object"):
        ModelCard.load(_write(tmp_path, "[1, 2]"))


def test_find_and_select_models(make_model: Callable[..., Any], tmp_path: Path) -> None:
    folder = tmp_path / "models"
    make_model("sig-b", folder=folder)
    make_model("sig-a", folder=folder)
    make_model("face-a", folder=folder, modality="face")
    assert [c.model_id for c in find_models(folder)] == ["face-a", "sig-a", "sig-b"]
    assert find_models(tmp_path / "absent") == []
    assert load_card_for(folder, modality="face").model_id == "face-a"
    assert load_card_for(folder, model_id="sig-b").model_id == "sig-b"
    assert load_card_for(folder, model_id="sig-b", modality=Modality.SIGNATURE).model_id == "sig-b"
    with pytest.raises(ModelIntegrityError, match=r"several signature models .*sig-a, sig-b"):
        load_card_for(folder, modality=Modality.SIGNATURE)
    with pytest.raises(ModelIntegrityError, match="is a face model, not signature"):
        load_card_for(folder, model_id="face-a", modality="signature")
    with pytest.raises(ModelIntegrityError, match="no model 'nope'"):
        load_card_for(folder, model_id="nope")
    with pytest.raises(ModelIntegrityError, match="no face model"):
        load_card_for(tmp_path / "absent", modality="face")


def test_card_named_after_another_model_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, card_dict("real-id", SHA), name="other-name.json")
    with pytest.raises(ModelIntegrityError, match="describes model_id 'real-id'"):
        find_models(tmp_path)


def test_the_preferred_model_is_chosen_among_several(tmp_path: Path) -> None:
    """Two face models and no model_id: an error naming both, unless one is the preferred (default) model."""
    import shutil

    from biometrix.runtime.model_card import PREFERRED_MODELS, load_card_for
    from biometrix.runtime.paths import models_dir

    for name in ("face-dlib-resnet-v1", "face-siamese-v1"):
        for suffix in (".json", ".onnx"):
            shutil.copy(models_dir() / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    with pytest.raises(ModelIntegrityError, match="several face models .*face-dlib-resnet-v1, face-siamese-v1"):
        load_card_for(tmp_path, modality=Modality.FACE)
    card = load_card_for(tmp_path, modality=Modality.FACE, prefer=PREFERRED_MODELS[Modality.FACE])
    assert card.model_id == "face-dlib-resnet-v1"
    assert load_card_for(tmp_path, modality=Modality.FACE, model_id="face-siamese-v1",
                         prefer="face-dlib-resnet-v1").model_id == "face-siamese-v1"
