"""Episodic few-shot training (prototypical head) on a character data set; scored on Lake's one-shot runs.

Omniglot's small background sets (242 characters x 20 drawers) are the training data; each character
also appears rotated by 90, 180 and 270 degrees as a new class (as Snell et al. and Koch et al. do).
A few characters are held back as validation classes: every epoch is scored on 20-way 1-shot
validation episodes and ``best.pt`` keeps the best; Lake's 20 runs are scored once, at the end.

Two choices are made after training, on the validation classes only (never on Lake's runs): how many
distorted views to average per image (test-time augmentation), and how many of the best epochs to average
(a snapshot ensemble: each image's embedding is the mean of its embeddings under the k best epochs' weights).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import load_background, load_runs, omniglot_preprocess, score_runs
from biometrix.training.fewshot import FewShotHead, MatchingHead, PrototypicalHead, RelationHead
from biometrix.training.fewshot_eval import head_classifier, head_episode_accuracy, runs_accuracy
from biometrix.training.losses import build_loss
from biometrix.training.samplers import EpisodeSampler, PKSampler

log = logging.getLogger(__name__)


@dataclass
class FewShotConfig:
    """An episodic run; saved as config.json beside its outputs. ``task`` routes ``biometrix train``."""

    task: str = "omniglot-fewshot"
    out_dir: str = "runs/omniglot"
    data_root: str = ""
    size: int = 28
    embedding_dim: int = 64
    width: int = 64
    n_way: int = 30
    k_shot: int = 1
    n_query: int = 5
    episodes_per_epoch: int = 100
    epochs: int = 15
    lr: float = 1e-3
    scale: float = 10.0
    # an episodic head (EPISODIC_HEADS: "prototypical", Snell et al.; "matching", Vinyals et al.; "relation", Sung et
    # al.); any other name in training.losses.LOSSES trains on PK batches of the same size (P = n_way classes x
    # K = k_shot + n_query images) with that batch loss.
    loss: str = "prototypical"
    loss_options: dict[str, float | str] = field(default_factory=dict)
    rotations: bool = True
    # random affine distortions of each training image (Koch et al. 2015: rotation +-10 deg, shear +-0.3,
    # scale 0.8-1.2, shift +-2 px at 105 px); the value scales those ranges, 0 turns them off
    augment: float = 0.0
    # test-time augmentation: each image is also embedded under N random distortions of this strength and the
    # embeddings averaged; after training, N is chosen among tta_choices on the validation classes (0 = none)
    tta_choices: list[int] = field(default_factory=lambda: [0])
    tta_strength: float = 0.5
    # snapshot ensemble: the k best epochs on validation, their embeddings averaged; k is chosen among these
    # on the validation classes (1 = the best epoch alone). With any k > 1 every epoch's weights are kept.
    snapshot_choices: list[int] = field(default_factory=lambda: [1])
    validation_classes: int = 30
    validation_episodes: int = 100
    seed: int = 0
    threads: int = 2
    patience: int = 5
    max_minutes: float = 0.0

    @classmethod
    def from_dict(cls, data: dict) -> FewShotConfig:
        return cls(**known_keys(cls, data))


def known_keys(cls: type, data: dict) -> dict:
    """``data`` itself when every key is a field of the dataclass ``cls``; otherwise InvalidInput naming the rest."""
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise InvalidInput(f"unknown config keys: {', '.join(sorted(unknown))}")
    return data


#: The episodic heads ``loss`` may name; the relation head has weights of its own (trained, kept in best.pt).
EPISODIC_HEADS = ("prototypical", "matching", "relation")


def build_head(cfg: FewShotConfig) -> FewShotHead:
    """The config's episodic head: prototypical and matching with temperature ``scale``, relation on the embedding."""
    if cfg.loss == "matching":
        return MatchingHead(scale=cfg.scale)
    if cfg.loss == "relation":
        unknown = set(cfg.loss_options) - {"objective"}
        if unknown:
            raise InvalidInput(f"the relation head takes loss_options objective only, got {', '.join(sorted(unknown))}")
        return RelationHead(cfg.embedding_dim, objective=str(cfg.loss_options.get("objective", "mse")))
    return PrototypicalHead(scale=cfg.scale)


def _block(cin: int, cout: int) -> nn.Sequential:
    conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))


class ConvFour(nn.Module):
    """The 4-block conv encoder of the few-shot literature: (N, 1, S, S) -> (N, D) unit vectors."""

    def __init__(self, *, width: int = 64, embedding_dim: int = 64) -> None:
        super().__init__()
        self.features = nn.Sequential(_block(1, width), _block(width, width), _block(width, width),
                                      _block(width, width), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(width, embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.head(self.features(x)), dim=1)


def _images(cfg: FewShotConfig | Any, root: Path | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(N, 1, S, S) float ink images, labels (N,), number of base characters."""
    ds = load_background(root)
    imgs = np.stack([omniglot_preprocess(ds.load(i), size=cfg.size) for i in range(len(ds))])
    return imgs[:, None].astype(np.float32), np.asarray(ds.labels), len(ds.classes)


def _with_rotations(x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    xs = [x] + [np.ascontiguousarray(np.rot90(x, k, axes=(2, 3))) for k in (1, 2, 3)]
    ys = [y + k * n_classes for k in range(4)]
    return np.concatenate(xs), np.concatenate(ys)


def training_split(cfg: FewShotConfig | Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val) of the small background sets: ``validation_classes`` characters drawn with
    ``seed`` are held back (the same ones for every method of one seed); the rest, rotated when ``rotations``."""
    x, y, n_base = _images(cfg, Path(cfg.data_root) if cfg.data_root else None)
    rng = np.random.default_rng(cfg.seed)
    val_cls = rng.choice(n_base, size=cfg.validation_classes, replace=False)
    is_val = np.isin(y, val_cls)
    xt, yt = x[~is_val], y[~is_val]
    if cfg.rotations:
        xt, yt = _with_rotations(xt, yt, n_base)
    log.info("training on %d images of %d classes, validating on %d classes", len(xt), len(set(yt.tolist())),
             cfg.validation_classes)
    return xt, yt, x[is_val], y[is_val]


def affine_distort(batch: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """(N, 1, S, S) float ink images -> each under its own random affine map (about the centre); zeros fill."""
    if strength <= 0:
        return batch
    n, _, size, _ = batch.shape
    out = np.empty_like(batch)
    centre = (size - 1) / 2.0
    for i in range(n):
        theta = np.deg2rad(rng.uniform(-10, 10) * strength)
        shear_x, shear_y = rng.uniform(-0.3, 0.3, size=2) * strength
        sx, sy = 1.0 + rng.uniform(-0.2, 0.2, size=2) * strength
        tx, ty = rng.uniform(-2, 2, size=2) * strength * size / 105.0
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        lin = rot @ np.array([[1.0, shear_x], [shear_y, 1.0]]) @ np.diag([sx, sy])
        offset = np.array([centre, centre]) - lin @ np.array([centre, centre]) + (tx, ty)
        m = np.hstack([lin, offset[:, None]]).astype(np.float32)
        out[i, 0] = cv2.warpAffine(batch[i, 0], m, (size, size), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return out


def tta_embed(model: nn.Module, x: np.ndarray, *, n: int = 0, strength: float = 0.5, seed: int = 0) -> np.ndarray:
    """(N, 1, S, S) -> (N, D) unit vectors: the image's embedding averaged with those of ``n`` random affine
    distortions of it (the same seeded distortions for every call), then re-normalised."""
    model.eval()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        e = model(torch.from_numpy(x)).numpy()
        for _ in range(n):
            e = e + model(torch.from_numpy(affine_distort(x, rng, strength))).numpy()
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def episode_accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray, *, n_way: int, episodes: int,
                     seed: int, tta: int = 0, tta_strength: float = 0.5) -> float:
    """Mean accuracy of N-way 1-shot episodes (nearest prototype by cosine) on the given classes."""
    emb = tta_embed(model, x, n=tta, strength=tta_strength, seed=seed)
    return embedding_accuracy(emb, y, n_way=n_way, episodes=episodes, seed=seed)


def embedding_accuracy(emb: np.ndarray, y: np.ndarray, *, n_way: int, episodes: int, seed: int) -> float:
    """Mean accuracy of N-way 1-shot episodes drawn from unit embeddings ``emb`` with labels ``y``."""
    sampler = EpisodeSampler(y, n_way=n_way, k_shot=1, n_query=1, episodes=episodes, seed=seed)
    correct = 0
    for ep in sampler:
        correct += int(((emb[ep.query] @ emb[ep.support].T).argmax(1) == ep.query_labels).sum())
    return correct / (episodes * n_way)


def ensemble_embed(models: list[nn.Module], x: np.ndarray, *, tta: int, strength: float, seed: int) -> np.ndarray:
    """(N, 1, S, S) -> (N, D) unit vectors: the mean of each model's (test-time augmented) embedding."""
    e = sum(tta_embed(m, x, n=tta, strength=strength, seed=seed) for m in models)
    return e / np.linalg.norm(e, axis=1, keepdims=True)


class _Step:
    """One training step's loss from one sampled batch; ``sampler`` yields the batches."""

    sampler: EpisodeSampler | PKSampler
    x: np.ndarray
    augment: float = 0.0
    rng: np.random.Generator

    def __call__(self, batch: Any) -> torch.Tensor:
        raise NotImplementedError

    def images(self, idx: np.ndarray | list[int]) -> torch.Tensor:
        """The training images at ``idx``, distorted when the config asks for augmentation."""
        return torch.from_numpy(affine_distort(self.x[idx], self.rng, self.augment))


class _EpisodeStep(_Step):
    """An episodic head (prototypical, matching or relation) on an N-way K-shot episode."""

    def __init__(self, cfg: FewShotConfig, x: np.ndarray, y: np.ndarray, model: nn.Module) -> None:
        self.x, self.model, self.head = x, model, build_head(cfg)
        self.augment, self.rng = cfg.augment, np.random.default_rng(cfg.seed + 1)
        self.sampler = EpisodeSampler(y, n_way=cfg.n_way, k_shot=cfg.k_shot, n_query=cfg.n_query,
                                      episodes=cfg.episodes_per_epoch, seed=cfg.seed)

    def __call__(self, ep: Any) -> torch.Tensor:
        emb = self.model(self.images(np.concatenate([ep.support, ep.query])))
        s, q = emb[: len(ep.support)], emb[len(ep.support):]
        return self.head.loss(s, torch.from_numpy(ep.support_labels), q, torch.from_numpy(ep.query_labels))


class _BatchStep(_Step):
    """A registered batch metric loss on a PK batch of the episode's size."""

    def __init__(self, cfg: FewShotConfig, x: np.ndarray, y: np.ndarray, model: nn.Module) -> None:
        self.x, self.y, self.model = x, y, model
        self.augment, self.rng = cfg.augment, np.random.default_rng(cfg.seed + 1)
        self.loss = build_loss(cfg.loss, **cfg.loss_options)
        self.sampler = PKSampler(y, p=cfg.n_way, k=cfg.k_shot + cfg.n_query,
                                 batches_per_epoch=cfg.episodes_per_epoch, seed=cfg.seed)

    def __call__(self, idx: list[int]) -> torch.Tensor:
        return self.loss(self.model(self.images(idx)), torch.from_numpy(self.y[idx]))


def fit_fewshot(cfg: FewShotConfig, *, resume: bool = True, progress: bool = True) -> dict[str, float]:
    """Train, validate each epoch, keep best.pt, then score Lake's 20 runs with the best weights."""
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    torch.set_num_threads(cfg.threads)
    root = Path(cfg.data_root) if cfg.data_root else None
    if cfg.loss == "relation" and (max(cfg.tta_choices) > 0 or max(cfg.snapshot_choices) > 1):
        raise InvalidInput("the relation head scores with its own module: tta_choices and snapshot_choices must be "
                           "[0] and [1]")
    xt, yt, xv, yv = training_split(cfg)
    model = ConvFour(width=cfg.width, embedding_dim=cfg.embedding_dim)
    step = _EpisodeStep(cfg, xt, yt, model) if cfg.loss in EPISODIC_HEADS else _BatchStep(cfg, xt, yt, model)
    head = step.head if isinstance(step, _EpisodeStep) else FewShotHead()
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * cfg.episodes_per_epoch)
    state = {"epoch": 0, "best": -1.0, "best_epoch": 0, "history": [], "bad": 0}
    if resume and (out / "last.pt").exists():
        ck = torch.load(out / "last.pt", weights_only=False)
        model.load_state_dict(ck["model"])
        head.load_state_dict(ck.get("head", {}))
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        state = ck["state"]
    started = time.monotonic()
    for epoch in range(state["epoch"], cfg.epochs):
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        step.sampler.set_epoch(epoch)
        step.rng = np.random.default_rng([cfg.seed, epoch, 2])  # distortions: a resumed run continues alike
        model.train()
        losses = []
        for batch in tqdm(step.sampler, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False):
            loss = step(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        acc = (head_episode_accuracy(model, head, xv, yv, n_way=20, episodes=cfg.validation_episodes, seed=cfg.seed)
               if cfg.loss == "relation" else
               episode_accuracy(model, xv, yv, n_way=20, episodes=cfg.validation_episodes, seed=cfg.seed))
        state["epoch"] = epoch + 1
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_20way_1shot": acc})
        log.info("epoch %d loss %.4f validation 20-way 1-shot %.3f", epoch + 1, np.mean(losses), acc)
        if acc > state["best"]:
            state.update(best=acc, best_epoch=epoch + 1, bad=0)
            torch.save({"model": model.state_dict(), "head": head.state_dict(), "config": dataclasses.asdict(cfg),
                        "epoch": epoch + 1}, out / "best.pt")
        else:
            state["bad"] += 1
        if max(cfg.snapshot_choices) > 1:
            (out / "epochs").mkdir(exist_ok=True)
            torch.save(model.state_dict(), out / "epochs" / f"epoch_{epoch + 1:03d}.pt")
        torch.save({"model": model.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(),
                    "sched": sched.state_dict(), "state": state}, out / "last.pt")
        (out / "history.json").write_text(json.dumps(state["history"], indent=2))
        if state["bad"] >= cfg.patience or (cfg.max_minutes and (time.monotonic() - started) / 60 > cfg.max_minutes):
            break
    best = torch.load(out / "best.pt", weights_only=False)
    model.load_state_dict(best["model"])
    head.load_state_dict(best.get("head", {}))
    runs = load_runs(root)
    if cfg.loss == "relation":
        return _finish(cfg, out, state, best["epoch"], started, runs_accuracy(head_classifier(model, head), runs,
                                                                              size=cfg.size), n_runs=len(runs))
    snapshots, choice, by_choice = _choose_on_validation(cfg, out, state["history"], model, xv, yv)
    tta, k = choice
    members = [m for _, m in snapshots[:k]]

    def embed(batch: np.ndarray) -> np.ndarray:
        x_runs = omniglot_preprocess(batch, size=cfg.size)[:, None].astype(np.float32)
        return ensemble_embed(members, x_runs, tta=tta, strength=cfg.tta_strength, seed=cfg.seed)

    res = score_runs(embed, runs)
    return _finish(cfg, out, state, best["epoch"], started, res.mean_accuracy, n_runs=res.n_runs, extra={
              "tta": tta, "tta_strength": cfg.tta_strength, "snapshots": k,
              "snapshot_epochs": [e for e, _ in snapshots[:k]],
              "validation_20way_1shot_by_tta": {str(t): acc for (t, kk), acc in by_choice.items() if kk == 1},
              "validation_20way_1shot_by_choice": {f"tta={t},snapshots={kk}": acc
                                                   for (t, kk), acc in by_choice.items()}})


def _finish(cfg: FewShotConfig, out: Path, state: dict, best_epoch: int, started: float, lake: float, *,
            n_runs: int, extra: dict | None = None) -> dict[str, Any]:
    """Write and return result.json: Lake's 20-way 1-shot accuracy, the validation choice and the minutes."""
    result = {"lake_20way_1shot_accuracy": lake, "n_runs": n_runs, "best_epoch": best_epoch,
              "validation_20way_1shot": state["best"], "episodes_trained": state["epoch"] * cfg.episodes_per_epoch,
              **(extra or {}), "minutes": (time.monotonic() - started) / 60}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    log.info("Lake's 20 runs, 20-way 1-shot: %.2f %% (%s)", 100 * lake, cfg.loss)
    return result


def _choose_on_validation(cfg: FewShotConfig, out: Path, history: list[dict], best: nn.Module, xv: np.ndarray,
                          yv: np.ndarray
                          ) -> tuple[list[tuple[int, nn.Module]], tuple[int, int], dict[tuple[int, int], float]]:
    """The snapshots as (epoch, model), best epoch first, and the (tta, k) with the best validation accuracy on more
    episodes than each epoch gets (ties go to fewer views, then fewer snapshots); Lake's runs are not seen."""
    ranked = sorted(history, key=lambda h: (-h["val_20way_1shot"], h["epoch"]))
    snapshots: list[tuple[int, nn.Module]] = [(ranked[0]["epoch"], best.eval())]
    for h in ranked[1:max(cfg.snapshot_choices)]:
        m = ConvFour(width=cfg.width, embedding_dim=cfg.embedding_dim)
        m.load_state_dict(torch.load(out / "epochs" / f"epoch_{h['epoch']:03d}.pt", weights_only=True))
        snapshots.append((h["epoch"], m.eval()))
    ks = sorted({k for k in cfg.snapshot_choices if 1 <= k <= len(snapshots)} | {1})
    by_choice: dict[tuple[int, int], float] = {}
    for tta in sorted(set(cfg.tta_choices) | {0}):
        for k in ks:
            emb = ensemble_embed([m for _, m in snapshots[:k]], xv, tta=tta, strength=cfg.tta_strength,
                                 seed=cfg.seed + 7)
            by_choice[(tta, k)] = embedding_accuracy(emb, yv, n_way=20, episodes=400, seed=cfg.seed + 7)
    choice = max(by_choice, key=lambda c: (by_choice[c], -c[0], -c[1]))
    return snapshots, choice, by_choice
