"""Face training on AT&T: a tiny real run learns, resumes, refuses unknown keys, and exports a loadable model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from biometrix.cli import main
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard, sha256_file
from biometrix.training.face_release import release_face_model
from biometrix.training.face_train import FaceTrainConfig, augment_chip, build_face_model, fit_face, to_input

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
needs_att = pytest.mark.skipif(not (DATA / "att_faces" / "att_faces.zip").is_file(),
                               reason=f"AT&T faces not found under {DATA / 'att_faces'}")


def tiny(out: Path, **kw: object) -> FaceTrainConfig:
    """AT&T only: 20 training subjects, the 10 others of s1-s30 as validation (50 genuine, 450 impostor)."""
    base: dict[str, object] = dict(
        out_dir=str(out), data_root=str(DATA), chip_size=32, width=12, grid=2, embedding_dim=32, p=10, k=4,
        batches_per_epoch=25, epochs=3, lr=3e-3, att_train=list(range(1, 21)), att_validation=list(range(21, 31)),
        yaleb_train=[], yaleb_validation=[], patience=10, loss_options={"margin": 0.2, "mining": "batch_all"})
    base.update(kw)
    return FaceTrainConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny real training run shared by the tests below (about 15 s on one thread)."""
    if not (DATA / "att_faces" / "att_faces.zip").is_file():
        pytest.skip(f"AT&T faces not found under {DATA / 'att_faces'}")
    out = tmp_path_factory.mktemp("face")
    fit_face(tiny(out), progress=False)
    return out


@needs_att
def test_tiny_training_learns(trained: Path) -> None:
    history = json.loads((trained / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2, 3]
    untrained = history[0]["validation"]["mean_eer"]
    best = min(h["validation"]["mean_eer"] for h in history[1:])
    # the seeded untrained encoder sits near 38 % EER on these 10 unseen subjects; three short epochs must
    # cut that by at least 8 points (measured here: 37.6 % -> 22 %, 16 %, 14 %)
    assert best <= untrained - 0.08, [h["validation"]["mean_eer"] for h in history]
    assert history[1]["validation"]["att"]["n_genuine"] == 50
    assert history[1]["validation"]["att"]["n_impostor"] == 450
    result = json.loads((trained / "result.json").read_text())
    assert result["chips"]["att_train"]["images"] == 200
    assert result["chips"]["att_train"]["chips"] + sum(result["chips"]["att_train"]["refused"].values()) == 200
    assert {"config.json", "best.pt", "last.pt", "chips.npz", "history.json"} <= {p.name for p in trained.iterdir()}


@needs_att
def test_resume_continues_from_last_pt(trained: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.pt", "best.pt", "history.json", "chips.npz"):
        (run / name).write_bytes((trained / name).read_bytes())
    fit_face(tiny(run, epochs=4), progress=False)  # three epochs done: only the fourth is trained
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [0, 1, 2, 3, 4]
    assert history[:4] == json.loads((trained / "history.json").read_text())
    assert torch.load(run / "last.pt", weights_only=False)["state"]["epoch"] == 4


def test_unknown_key_is_refused_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"task": "face", "chip_sise": 64}))
    assert main(["train", "--config", str(cfg)]) == 2
    assert "unknown config keys: chip_sise" in capsys.readouterr().err


def test_heldout_subjects_cannot_be_trained_on() -> None:
    with pytest.raises(ValueError, match="held-out subjects"):
        FaceTrainConfig(att_train=[1, 2, 35])


def test_augmentation_keeps_shape_and_range() -> None:
    chip = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    out = augment_chip(chip, np.random.default_rng(1))
    assert out.shape == (32, 32) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 255.0
    x = to_input(out[None])
    assert tuple(x.shape) == (1, 1, 32, 32)
    with torch.no_grad():
        emb = build_face_model(tiny(Path("unused"))).eval()(x)
    assert torch.allclose(emb.norm(dim=1), torch.ones(1), atol=1e-5)


@needs_att
def test_export_writes_a_card_and_onnx_the_runtime_loads(trained: Path, tmp_path: Path) -> None:
    card = release_face_model(trained / "best.pt", model_id="face-tiny", out_dir=tmp_path, data_root=DATA,
                              progress=False, sources={"att": ([21, 22, 23], [31, 32, 33])})
    loaded = ModelCard.load(tmp_path / "face-tiny.json")
    assert loaded == card
    assert loaded.sha256 == sha256_file(tmp_path / "face-tiny.onnx")
    assert loaded.input_shape == (1, 32, 32) and loaded.embedding_dim == 32
    assert loaded.preprocessing["template"] == "arcface-112" and loaded.preprocessing["channels"] == "grey"
    assert loaded.training["onnx_parity_max_abs_diff"] < 1e-4
    default = loaded.default_threshold()
    assert default.target_fmr == 0.01 and "impostor comparisons" in loaded.thresholds[0].source
    held = loaded.evaluation["heldout"]["att"]
    assert (held["n_genuine"], held["n_impostor"], held["n_samples"]) == (15, 30, 30)
    assert loaded.evaluation["baseline_raw_pixels"]["heldout"]["att"]["n_impostor"] == 30
    # the app's encoder loads it and agrees with the torch model it came from
    encoder = OnnxEncoder(loaded, tmp_path / "face-tiny.onnx", prefer_gpu=False, intra_op_threads=1)
    model = build_face_model(tiny(trained))
    model.load_state_dict(torch.load(trained / "best.pt", weights_only=False)["model"])
    x = np.random.default_rng(0).random((4, 1, 32, 32)).astype(np.float32)
    with torch.no_grad():
        ref = model.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(encoder.embed(x), ref, atol=1e-4)
    repo = str(Path(__file__).resolve().parents[2]).encode()
    assert repo not in (tmp_path / "face-tiny.onnx").read_bytes()  # no build-machine paths inside
