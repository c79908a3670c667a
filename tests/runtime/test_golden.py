"""Golden tests: what feeds each shipped model and what it gives back, on fixed real samples, as recorded.

A change anywhere between a sample's bytes and the model's output that passes every other test (an interpolation,
a threshold of the binarization, the face alignment, the pen features' resampling) still moves the held-out
figures: here it fails. ``tests/runtime/golden/<model_id>.json`` holds each sample's sha256, the preprocessed input's
shape and tolerance (its values in ``<model_id>.npz``) and the output; ``python -m tests.runtime.golden.record``
re-records them (only with ``--force`` over existing ones).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.runtime.golden import record as recorder
from tests.runtime.golden.samples import DATA, HERE, MODELS, PEN_REFERENCES, computer, model_hash, sha256


def _needs_data(model_id: str) -> None:
    """Skip, naming the archive, where a sample of ``model_id`` is not in ../shared/data."""
    for sample in (*MODELS[model_id], *(PEN_REFERENCES if model_id == "pen-dtw-v2" else ())):
        if not (DATA / sample.archive).is_file():
            pytest.skip(f"the golden samples of {model_id} are read from {DATA / sample.archive}, not found")


def _doc(model_id: str) -> dict[str, object]:
    return json.loads((HERE / f"{model_id}.json").read_text(encoding="utf-8"))


def mismatches(model_id: str) -> list[str]:
    """What differs from the recorded golden values of ``model_id`` (empty: nothing)."""
    doc = _doc(model_id)
    if doc["model_sha256"] != model_hash(model_id):
        return [f"{model_id}'s file is not the one recorded: re-record ({doc['command']}) if the change is meant"]
    recorded = np.load(HERE / f"{model_id}.npz")
    compute = computer(model_id)
    out = []
    for sample, rec in zip(MODELS[model_id], doc["samples"], strict=True):  # type: ignore[call-overload]
        if (rec["entry"], rec["entry_sha256"]) != (sample.entry, sha256(sample.data())):
            out.append(f"{sample.name}: the data file is not the one recorded")
            continue
        got = compute(sample)
        for name, spec in rec["input"].items():
            a, want = got.inputs[name], recorded[f"{sample.key()}/{name}"]
            if a.shape != want.shape or str(a.dtype) != spec["dtype"]:
                out.append(f"{sample.name}: input {name} is {a.dtype}{a.shape}, recorded {spec['dtype']}{want.shape}")
                continue
            worst = float(np.max(np.abs(a.astype(np.float64) - want.astype(np.float64))))
            if worst > spec["atol"]:
                out.append(f"{sample.name}: input {name} differs by up to {worst:.3g} (tolerance {spec['atol']})")
        worst = float(np.max(np.abs(got.output - np.asarray(rec["output"]))))
        if worst > rec["output_atol"]:
            out.append(f"{sample.name}: {rec['output_kind']} differs by up to {worst:.3g} (tolerance "
                       f"{rec['output_atol']})")
    return out


@pytest.mark.parametrize("model_id", list(MODELS))
def test_model_input_and_output_are_as_recorded(model_id: str) -> None:
    _needs_data(model_id)
    assert mismatches(model_id) == []


def test_the_recorded_files_cover_every_shipped_model() -> None:
    """A model shipped in assets/models without golden values fails here (the pen comparator in its folder)."""
    from biometrix.runtime.paths import models_dir

    folder = models_dir()
    shipped = {p.stem for p in folder.glob("*.onnx")} | {p.parent.name for p in folder.glob("*/comparator.json")}
    assert shipped == set(MODELS)
    for model_id in MODELS:
        doc = _doc(model_id)
        assert doc["model_id"] == model_id and len(doc["samples"]) >= 2  # type: ignore[arg-type]


def test_linear_instead_of_area_resize_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 27's example: resizing signatures by linear interpolation instead of area averaging passed every
    other test, yet moved CEDAR's held-out skilled EER from 12.63 % to 13.68 %. Every signature model's golden
    test must fail on it, in the input and in the embedding."""
    import cv2

    from biometrix.preprocess import signature

    def linear(canvas: np.ndarray, *, height: int, width: int) -> np.ndarray:
        return cv2.resize(canvas.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)

    monkeypatch.setattr(signature, "resize", linear)
    for model_id in ("signature-v6-int8", "signature-v6", "signature-v5"):
        _needs_data(model_id)
        found = mismatches(model_id)
        assert any("input image differs" in m for m in found), found
        assert any("embedding differs" in m for m in found), found


def test_the_recorder_refuses_to_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It records what the committed files hold, and overwrites them only with --force."""
    _needs_data("pen-dtw-v2")
    assert recorder.main(["pen-dtw-v2", "--out", str(tmp_path)]) == 0
    written = json.loads((tmp_path / "pen-dtw-v2.json").read_text(encoding="utf-8"))
    committed = _doc("pen-dtw-v2")
    np.testing.assert_allclose([s["output"] for s in written["samples"]],  # type: ignore[index]
                               [s["output"] for s in committed["samples"]], rtol=0, atol=1e-9)  # type: ignore[index]
    (tmp_path / "pen-dtw-v2.json").write_text("kept", encoding="utf-8")
    capsys.readouterr()
    assert recorder.main(["pen-dtw-v2", "--out", str(tmp_path)]) == 2
    assert "already recorded; pass --force" in capsys.readouterr().err
    assert (tmp_path / "pen-dtw-v2.json").read_text(encoding="utf-8") == "kept"
    assert recorder.main(["pen-dtw-v2", "--out", str(tmp_path), "--force"]) == 0
    assert json.loads((tmp_path / "pen-dtw-v2.json").read_text(encoding="utf-8"))["model_id"] == "pen-dtw-v2"
