"""``--device``: the CPU path gives the weights it always gave, CUDA asked for without CUDA is refused in one line,
workers are deterministic, and the CUDA path itself (where CUDA exists) trains, records and exports from the CPU."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from biometrix.cli import main
from biometrix.training.device import RunDevice, resolve_device
from biometrix.training.export import export_onnx
from biometrix.training.train import build_model, fit
from tests.training.test_train_export import assert_same_weights, tiny_config, weights

NO_CUDA = not torch.cuda.is_available()


def small(out: Path, **overrides: object):  # noqa: ANN201  (a TrainConfig)
    return tiny_config(out, epochs=1, batches_per_epoch=2, **overrides)


def write_config(cfg: object, path: Path) -> Path:
    path.write_text(json.dumps(dataclasses.asdict(cfg)))  # type: ignore[call-overload]
    return path


def test_device_cpu_through_the_cli_gives_the_weights_of_the_default_loop(tmp_path: Path) -> None:
    """`biometrix train --device cpu` trains exactly what fit() with no device option trains (the loop as it was)."""
    torch.set_num_threads(1)
    fit(small(tmp_path / "plain"), progress=False)
    config = write_config(small(tmp_path / "cli"), tmp_path / "cli.json")
    assert main(["train", "--config", str(config), "--device", "cpu", "--no-resume"]) == 0
    assert_same_weights(weights(tmp_path / "plain" / "best.pt"), weights(tmp_path / "cli" / "best.pt"))
    record = json.loads((tmp_path / "cli" / "device.json").read_text())
    assert (record["requested"], record["device"], record["name"], record["amp_bf16"]) == ("cpu", "cpu", "cpu", False)
    assert "device" not in json.loads((tmp_path / "cli" / "config.json").read_text())  # not part of the recipe


@pytest.mark.skipif(not NO_CUDA, reason="this machine has CUDA: the refusal is for machines without it")
def test_device_cuda_without_cuda_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(small(tmp_path / "run"), tmp_path / "c.json")
    assert main(["train", "--config", str(config), "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--device cuda" in err and "no CUDA device" in err
    assert not (tmp_path / "run").exists()  # refused before anything is written
    assert resolve_device("auto") == torch.device("cpu")


def test_amp_and_workers_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(small(tmp_path / "run"), tmp_path / "c.json")
    assert main(["train", "--config", str(config), "--device", "cpu", "--amp"]) == 2
    assert "CUDA only" in capsys.readouterr().err
    assert main(["train", "--config", str(config), "--device", "cpu", "--num-workers", "-1"]) == 2
    assert "--num-workers" in capsys.readouterr().err
    face = tmp_path / "face.json"
    face.write_text(json.dumps({"task": "face"}))
    assert main(["train", "--config", str(face), "--num-workers", "2"]) == 2
    assert "CPU only so far" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_dataloader_workers_are_deterministic(tmp_path: Path) -> None:
    """Two runs with 2 DataLoader workers train the same weights (each batch's augmentation has its own seed)."""
    torch.set_num_threads(1)
    for name in ("a", "b"):
        fit(small(tmp_path / name), progress=False, run=RunDevice(device="cpu", num_workers=2))
    assert_same_weights(weights(tmp_path / "a" / "best.pt"), weights(tmp_path / "b" / "best.pt"))
    assert json.loads((tmp_path / "a" / "device.json").read_text())["num_workers"] == 2


@pytest.mark.skipif(NO_CUDA, reason="no CUDA device here (torch.cuda.is_available() is False): the CUDA path runs "
                                    "on a GPU machine only (bench/device/issue27_wave.sh)")
def test_cuda_path_trains_records_and_exports_from_the_cpu(tmp_path: Path) -> None:
    cfg = small(tmp_path / "gpu")
    best = fit(cfg, progress=False, run=RunDevice(device="cuda", num_workers=2, amp=True))
    record = json.loads((tmp_path / "gpu" / "device.json").read_text())
    assert record["device"] == "cuda" and record["name"] == torch.cuda.get_device_name(0) and record["amp_bf16"]
    state = weights(best)
    assert all(t.device.type == "cpu" for t in state.values())  # checkpoints load on a CPU machine
    model = build_model(cfg)
    model.load_state_dict(state)
    onnx_path = export_onnx(model.cuda(), tmp_path / "m.onnx", input_shape=(1, cfg.input_height, cfg.input_width))
    assert onnx_path.is_file() and next(model.parameters()).device.type == "cuda"  # exported from a CPU copy
