"""Siamese face encoder training on AT&T and Extended Yale B (subject-disjoint), validated on the protocol EER.

The faces of the training and validation subjects are detected (MTCNN, with the runtime's border retry),
checked and aligned once, exactly as ``runtime.pipelines.FacePipeline`` does for a face card, and the grey
chips cached in the run folder (``chips.npz``); a refused image is skipped and counted. Training draws PK
batches (P subjects x K chips, both sets' subjects in one label space) with augmentation (small shifts,
rotations, scale, mirror; brightness, contrast, gamma and a directional shading ramp, since Yale B varies
the light) and a registered batch metric loss. Each epoch is scored on the validation subjects of both sets
under their EVALUATION.md protocols (``evaluation.faces.score_faces``); the mean of the two verification
EERs on the acquired images (see ``validate``) picks ``best.pt``, and stops the run after ``patience``
epochs without improvement.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from biometrix.core.errors import InvalidInput, LowQuality
from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.faces import SPLITS, FaceRecord, FaceSet, score_faces
from biometrix.preprocess.face_align import TEMPLATES, align_face
from biometrix.preprocess.face_detect import FaceDetector, to_rgb
from biometrix.runtime.face_detector import make_detector
from biometrix.runtime.pipelines import BORDER, check_face, detect_with_border
from biometrix.training.encoder import build_backbone
from biometrix.training.losses import build_loss
from biometrix.training.samplers import PKSampler

log = logging.getLogger(__name__)

#: The pixel scaling the encoder is trained with, and that its card states: (pixel - 0) / 255.
PIXEL_MEAN, PIXEL_STD = 0.0, 255.0
SOURCES = ("att", "yaleb")


@dataclass
class FaceTrainConfig:
    """A face run; saved as config.json beside its outputs. ``task`` routes ``biometrix train``."""

    task: str = "face"
    out_dir: str = "runs/face_triplet"
    data_root: str = ""
    chip_size: int = 64
    template: str = "arcface-112"
    channels: str = "grey"
    detector: str = "mtcnn"
    backbone: str = "face_cnn"
    embedding_dim: int = 128
    width: int = 16
    grid: int = 4
    dropout: float = 0.2
    loss: str = "triplet"
    loss_options: dict[str, float | str] = field(default_factory=lambda: {"margin": 0.2, "mining": "batch_all"})
    lr: float = 1e-3
    weight_decay: float = 5e-4
    epochs: int = 30
    batches_per_epoch: int = 80
    p: int = 16
    k: int = 4
    augment: bool = True
    att_train: list[int] = field(default_factory=lambda: list(SPLITS["att"]["train"]))
    att_validation: list[int] = field(default_factory=lambda: list(SPLITS["att"]["validation"]))
    yaleb_train: list[int] = field(default_factory=lambda: list(SPLITS["yaleb"]["train"]))
    yaleb_validation: list[int] = field(default_factory=lambda: list(SPLITS["yaleb"]["validation"]))
    seed: int = 0
    threads: int = 1
    patience: int = 6
    max_minutes: float = 0.0

    def __post_init__(self) -> None:
        if self.task != "face":
            raise InvalidInput(f"a face config has task 'face', got {self.task!r}")
        if self.channels != "grey":
            raise InvalidInput(f"only grey face chips are trained here, got channels {self.channels!r}")
        if self.template not in TEMPLATES:
            raise InvalidInput(f"unknown face template {self.template!r} (known: {', '.join(TEMPLATES)})")
        heldout = {"att": set(SPLITS["att"]["heldout"]), "yaleb": set(SPLITS["yaleb"]["heldout"])}
        for source in SOURCES:
            used = set(self.subjects(source, "train")) | set(self.subjects(source, "validation"))
            if used & heldout[source]:
                raise InvalidInput(f"{source}: held-out subjects {sorted(used & heldout[source])} may not be "
                                   "trained or validated on")
            if set(self.subjects(source, "train")) & set(self.subjects(source, "validation")):
                raise InvalidInput(f"{source}: a subject is both a training and a validation subject")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaceTrainConfig:
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    def subjects(self, source: str, split: str) -> list[int]:
        return list(getattr(self, f"{source}_{split}"))


def build_face_model(cfg: FaceTrainConfig) -> nn.Module:
    """The encoder a config describes: (N, 1, S, S) pixels / 255 -> (N, embedding_dim) unit vectors."""
    return build_backbone(cfg.backbone, embedding_dim=cfg.embedding_dim, width=cfg.width, grid=cfg.grid,
                          dropout=cfg.dropout)


# --- chips ---------------------------------------------------------------------------------------------


def face_chip(detector: FaceDetector, image: np.ndarray, *, size: int, template: str) -> np.ndarray:
    """One image -> its aligned grey uint8 (size, size) chip, as FacePipeline makes it; LowQuality if refused."""
    rgb = to_rgb(image)
    found = detector.detect(rgb)
    if not found:
        found = detect_with_border(detector, rgb, BORDER)
    det = check_face(rgb, found)
    chip = align_face(rgb, det.landmarks5, size=size, template=TEMPLATES[template])
    return cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)


@dataclass(frozen=True)
class ChipSet:
    """Aligned chips of one source and split: chips (N, S, S) uint8 of the accepted records, ``records`` all
    records of the protocol (``accepted`` (N,) their indices), refusal reasons counted."""

    source: str
    split: str
    records: tuple[FaceRecord, ...]
    accepted: np.ndarray
    chips: np.ndarray
    refused: dict[str, int]

    def embeddings_for_protocol(self, emb: np.ndarray) -> list[np.ndarray | None]:
        """(N, D) embeddings of the accepted chips -> one per record, None where the image was refused."""
        out: list[np.ndarray | None] = [None] * len(self.records)
        for row, i in enumerate(self.accepted):
            out[int(i)] = emb[row]
        return out


def make_chips(source: str, split: str, subjects: Sequence[int], root: Path, detector: FaceDetector, *,
               size: int, template: str, progress: bool = False) -> ChipSet:
    """Detect, check and align every image of ``subjects``; refused images are counted by reason."""
    faces = FaceSet(source, root, subjects)
    chips: list[np.ndarray] = []
    accepted: list[int] = []
    refused: Counter[str] = Counter()
    for i, img in enumerate(tqdm(faces.load_all(), desc=f"chips {source} {split}", disable=not progress,
                                 leave=False)):
        try:
            chips.append(face_chip(detector, img, size=size, template=template))
            accepted.append(i)
        except LowQuality as err:
            refused.update(err.reasons or ("refused",))
    arr = np.stack(chips) if chips else np.zeros((0, size, size), np.uint8)
    return ChipSet(source, split, tuple(faces.records), np.asarray(accepted, dtype=np.int64), arr, dict(refused))


def cached_chips(cfg: FaceTrainConfig, out: Path, *, progress: bool) -> dict[tuple[str, str], ChipSet]:
    """The train and validation chips of both sources, from ``out/chips.npz`` when it was made the same way."""
    root = Path(cfg.data_root) if cfg.data_root else default_data_root()
    plan = [(s, split, cfg.subjects(s, split)) for s in SOURCES for split in ("train", "validation")]
    plan = [p for p in plan if p[2]]
    key = json.dumps({"size": cfg.chip_size, "template": cfg.template, "detector": cfg.detector,
                      "plan": [[s, split, subj] for s, split, subj in plan]})
    path = out / "chips.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) == key:
                sets = {}
                for s, split, subj in plan:
                    faces = FaceSet(s, root, subj)
                    refused = json.loads(str(z[f"{s}_{split}_refused"]))
                    sets[(s, split)] = ChipSet(s, split, tuple(faces.records), z[f"{s}_{split}_accepted"],
                                               z[f"{s}_{split}_chips"], refused)
                log.info("chips read from %s", path)
                return sets
    detector = make_detector(cfg.detector)
    sets = {(s, split): make_chips(s, split, subj, root, detector, size=cfg.chip_size, template=cfg.template,
                                   progress=progress) for s, split, subj in plan}
    arrays: dict[str, Any] = {"key": np.array(key)}
    for (s, split), cs in sets.items():
        arrays[f"{s}_{split}_chips"] = cs.chips
        arrays[f"{s}_{split}_accepted"] = cs.accepted
        arrays[f"{s}_{split}_refused"] = np.array(json.dumps(cs.refused))
    np.savez_compressed(path, **arrays)
    return sets


def chip_counts(sets: dict[tuple[str, str], ChipSet]) -> dict[str, dict[str, Any]]:
    """{"att_train": {"images", "chips", "refused": {reason: n}}, ...} for logs and the model card."""
    return {f"{s}_{split}": {"images": len(cs.records), "chips": len(cs.chips), "refused": cs.refused}
            for (s, split), cs in sets.items()}


# --- augmentation ----------------------------------------------------------------------------------


def augment_chip(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uint8 (S, S) chip -> a jittered float32 (S, S) chip in [0, 255].

    Geometry: rotation +-8 degrees, scale 0.92-1.08, shift +-4 % of S, mirror half the time (black outside,
    as align_face fills). Light: gamma 0.5-2 (log-uniform), contrast 0.6-1.4, brightness +-40, and half the
    time a linear shading ramp across the face in a random direction (strength up to 0.8), the way a side
    light darkens one half of a Yale B face.
    """
    s = chip.shape[0]
    angle, scale = rng.uniform(-8, 8), rng.uniform(0.92, 1.08)
    m = cv2.getRotationMatrix2D((s / 2, s / 2), angle, scale)
    m[:, 2] += rng.uniform(-0.04, 0.04, size=2) * s
    x = cv2.warpAffine(chip, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    x = x.astype(np.float32) / 255.0
    x = np.power(x, np.float32(np.exp(rng.uniform(math.log(0.5), math.log(2.0)))))
    if rng.random() < 0.5:
        theta = rng.uniform(0, 2 * math.pi)
        u = np.linspace(-1, 1, s, dtype=np.float32)
        ramp = math.cos(theta) * u[None, :] + math.sin(theta) * u[:, None]
        x = x * np.clip(1 + rng.uniform(0, 0.8) * ramp, 0.05, None)
    x = x * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40) / 255.0
    return np.clip(x * 255.0, 0, 255).astype(np.float32)


def to_input(chips: np.ndarray) -> torch.Tensor:
    """(N, S, S) chips (uint8 or float pixels) -> (N, 1, S, S) float32 tensor normalised as the card states."""
    return torch.from_numpy(((np.asarray(chips, np.float32) - PIXEL_MEAN) / PIXEL_STD)[:, None])


# --- training --------------------------------------------------------------------------------------


def embed_chips(model: nn.Module, chips: np.ndarray, *, batch: int = 256) -> np.ndarray:
    """(N, S, S) uint8 chips -> (N, D) embeddings with the model in eval mode."""
    model.eval()
    with torch.no_grad():
        parts = [model(to_input(chips[i:i + batch])).numpy() for i in range(0, len(chips), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def validate(model: nn.Module, sets: dict[tuple[str, str], ChipSet]) -> dict[str, Any]:
    """Verification figures of each validation source under its protocol, and two means over the sources.

    "eer" counts a refused image as a rejection (the protocol's figure). A refused image is refused whatever
    the encoder, and on Yale B (about 40 % of the probes lit from the side find no face) that floor hides
    what the encoder does; "eer_acquired" scores the acquired images alone (references and probes the
    detector accepted), and its mean over the sources, "mean_eer", is what picks the best epoch.
    """
    out: dict[str, Any] = {}
    for (source, split), cs in sets.items():
        if split != "validation":
            continue
        emb = embed_chips(model, cs.chips)
        s = score_faces(cs.records, cs.embeddings_for_protocol(emb)).summary()
        acquired = score_faces([cs.records[int(i)] for i in cs.accepted], list(emb)).summary()
        out[source] = {k: s[k] for k in ("eer", "fnmr_at_fmr1", "rank1", "n_genuine", "n_impostor", "fta")}
        out[source].update(eer_acquired=acquired["eer"], n_genuine_acquired=acquired["n_genuine"],
                           n_impostor_acquired=acquired["n_impostor"])
    sources = list(out.values())
    out["mean_eer"] = float(np.mean([v["eer_acquired"] for v in sources]))
    out["mean_eer_with_fta"] = float(np.mean([v["eer"] for v in sources]))
    return out


def training_arrays(sets: dict[tuple[str, str], ChipSet]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training chips (N, S, S), labels (N,) in one label space over both sources, and the label names."""
    chips: list[np.ndarray] = []
    labels: list[int] = []
    names: list[str] = []
    for (source, split), cs in sets.items():
        if split != "train":
            continue
        subj = [cs.records[int(i)].subject for i in cs.accepted]
        for name in sorted(set(subj)):
            names.append(f"{source}:{name}")
        lookup = {n: i for i, n in enumerate(names)}
        chips.append(cs.chips)
        labels.extend(lookup[f"{source}:{n}"] for n in subj)
    return np.concatenate(chips), np.asarray(labels, dtype=np.int64), names


def fit_face(cfg: FaceTrainConfig, *, resume: bool = True, progress: bool = True) -> Path:
    """Train, validate each epoch, keep best.pt (lowest mean validation EER); returns best.pt's path."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    torch.set_num_threads(cfg.threads)
    started = time.monotonic()
    sets = cached_chips(cfg, out, progress=progress)
    counts = chip_counts(sets)
    for name, c in counts.items():
        log.info("%s: %d chips from %d images, refused %s", name, c["chips"], c["images"], c["refused"] or "none")
    x, y, names = training_arrays(sets)
    log.info("training on %d chips of %d subjects", len(x), len(names))
    torch.manual_seed(cfg.seed)
    model = build_face_model(cfg)
    loss_fn = build_loss(cfg.loss, **cfg.loss_options)
    sampler = PKSampler(y, p=cfg.p, k=cfg.k, batches_per_epoch=cfg.batches_per_epoch, seed=cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * cfg.batches_per_epoch)
    if resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        state = ck["state"]
        log.info("resuming after epoch %d", state["epoch"])
    else:
        initial = validate(model, sets)
        log.info("untrained: validation mean EER %.4f", initial["mean_eer"])
        state = {"epoch": 0, "best": math.inf, "best_epoch": 0, "bad": 0,
                 "history": [{"epoch": 0, "loss": None, "validation": initial}]}
    for epoch in range(state["epoch"], cfg.epochs):
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        rng = np.random.default_rng([cfg.seed, epoch, 1])
        sampler.set_epoch(epoch)
        model.train()
        losses = []
        for idx in tqdm(sampler, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False):
            batch = np.stack([augment_chip(x[i], rng) for i in idx]) if cfg.augment else x[idx]
            loss = loss_fn(model(to_input(batch)), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        val = validate(model, sets)
        state["epoch"] = epoch + 1
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "validation": val})
        log.info("epoch %d loss %.4f validation mean EER %.4f on acquired images (%s; with FTA %.4f)", epoch + 1,
                 np.mean(losses), val["mean_eer"], ", ".join(f"{s} {v['eer_acquired']:.4f}" for s, v in val.items()
                                                              if isinstance(v, dict)), val["mean_eer_with_fta"])
        if val["mean_eer"] < state["best"]:
            state.update(best=val["mean_eer"], best_epoch=epoch + 1, bad=0)
            torch.save({"model": model.state_dict(), "config": dataclasses.asdict(cfg), "epoch": epoch + 1,
                        "validation": val, "chips": counts}, out / "best.pt")
        else:
            state["bad"] += 1
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "state": state}, out / "last.pt")
        (out / "history.json").write_text(json.dumps(state["history"], indent=2))
        if state["bad"] >= cfg.patience:
            log.info("no improvement for %d epochs: stopping", state["bad"])
            break
        if cfg.max_minutes and (time.monotonic() - started) / 60 > cfg.max_minutes:
            log.info("time budget of %g minutes spent: stopping", cfg.max_minutes)
            break
    result = {"best_epoch": state["best_epoch"], "validation_mean_eer": state["best"],
              "untrained_validation_mean_eer": state["history"][0]["validation"]["mean_eer"],
              "epochs_run": state["epoch"], "minutes_this_session": (time.monotonic() - started) / 60,
              "chips": counts}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    return out / "best.pt"
