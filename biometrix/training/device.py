"""Where training runs: ``--device auto|cpu|cuda`` resolved, CUDA seeds, bf16 autocast, the run's device record."""

from __future__ import annotations

import contextlib
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from biometrix.core.errors import InvalidInput

#: What ``--device`` accepts: auto = cuda where torch sees a CUDA device, else cpu.
DEVICE_CHOICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class RunDevice:
    """How a training run uses the machine (not part of the recipe: config.json and the results' meaning are the
    same on every device). ``num_workers`` > 0 prepares the augmented batches in DataLoader worker processes; ``amp``
    runs the forward pass and loss under bf16 autocast (CUDA only)."""

    device: str = "cpu"
    num_workers: int = 0
    amp: bool = False

    def resolve(self) -> torch.device:
        """The torch device, checked: InvalidInput for an unknown name, CUDA asked for without CUDA, or bad options."""
        if self.num_workers < 0:
            raise InvalidInput(f"--num-workers is a number of worker processes (0 = none), got {self.num_workers}")
        device = resolve_device(self.device)
        if self.amp and device.type != "cuda":
            raise InvalidInput("--amp (bf16 autocast) runs on CUDA only; this run is on the CPU")
        return device


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda if available else cpu; ``cuda`` without a CUDA device is refused with one line."""
    if name not in DEVICE_CHOICES:
        raise InvalidInput(f"--device must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise InvalidInput(f"--device cuda: torch {torch.__version__} sees no CUDA device here "
                           f"(torch.cuda.is_available() is False); use --device cpu or auto")
    return torch.device(name)


def device_name(device: torch.device) -> str:
    """A human name of the device: the GPU's (``NVIDIA H100 80GB HBM3``) or ``cpu``."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


def seed_device(seed: int, device: torch.device) -> None:
    """``torch.manual_seed`` for the CPU and, on CUDA, every CUDA device (explicitly, as well as through it)."""
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)


def autocast(device: torch.device, *, enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA when ``enabled``; a no-op context otherwise (the CPU path is unchanged)."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of a model's first parameter (cpu for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The module's state dict with every tensor on the CPU (checkpoints load anywhere); unchanged on the CPU."""
    state = module.state_dict()
    if all(t.device.type == "cpu" for t in state.values()):
        return state
    return {k: t.detach().cpu() for k, t in state.items()}


def record_device(out: Path, run: RunDevice, device: torch.device) -> dict[str, Any]:
    """Write ``<out>/device.json`` (the device asked for and used, its name, workers, amp, torch) and return it."""
    record = {"requested": run.device, "device": device.type, "name": device_name(device),
              "num_workers": run.num_workers, "amp_bf16": run.amp, "torch": torch.__version__,
              "cuda": torch.version.cuda if device.type == "cuda" else None}
    out.mkdir(parents=True, exist_ok=True)
    (out / "device.json").write_text(json.dumps(record, indent=2))
    return record


def cpu_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model itself when it is on the CPU, else a CPU copy of it (ONNX export always runs from the CPU)."""
    if model_device(model).type == "cpu":
        return model
    return copy.deepcopy(model).cpu()
