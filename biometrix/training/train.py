"""The signature training loop: config, seeded PK pair batches, contrastive loss, validation, checkpoints."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.protocol import AGGREGATES
from biometrix.training.auxiliary import AuxiliaryHeads, writer_index
from biometrix.training.data import (
    CEDAR_TRAIN,
    CEDAR_VALIDATION,
    DUTCH,
    SVC_TRAIN,
    SVC_VALIDATION,
    Augmenter,
    BalancedPairBatches,
    PairBatch,
    SignatureSample,
    default_data_root,
    load_cedar,
    load_sigcomp2011_dutch,
    load_svc2004,
    mirror_identities,
    stretch_identities,
    to_tensor_batch,
)
from biometrix.training.device import RunDevice, autocast, cpu_state, model_device, record_device, seed_device
from biometrix.training.encoder import (
    EnsembleEncoder,
    HybridSignatureEncoder,
    build_backbone,
    inked_cells,
    local_distance_matrix,
)
from biometrix.training.evaluate import embed_all, protocol_scores, summarize
from biometrix.training.losses import ContrastiveLoss, build_loss
from biometrix.training.omniglot_signers import omniglot_signers
from biometrix.training.pairnet import PairSignatureCNN, pair_loss, pair_summaries, subsample_pairs

log = logging.getLogger(__name__)

#: The signature data sets training reads (``TrainConfig.train_sources``).
SOURCES = ("cedar", "svc2004")
#: What ``train_sources`` may name: the default two, and SigComp2011 Dutch (its writers by ``dutch_train``).
TRAIN_SOURCES = (*SOURCES, DUTCH)


@dataclass
class TrainConfig:
    """Everything a run depends on; saved as config.json beside its outputs."""

    out_dir: str = "runs/signature"
    data_root: str = ""
    input_height: int = 96
    input_width: int = 192
    backbone: str = "signature_cnn"
    embedding_dim: int = 128
    width: int = 16
    loss: str = "contrastive_pairs"  # the balanced pair loss, a batch loss from training.losses.LOSSES, or pair_bce
    pairs_per_batch: int = 0  # pair_bce only: > 0 scores this many of each batch's balanced pairs (0 = all)
    loss_options: dict[str, float | str] = field(default_factory=dict)
    margin: float = 1.0
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 30
    batches_per_epoch: int = 60
    signers_per_batch: int = 8
    genuine_per_signer: int = 4
    forgeries_per_signer: int = 2
    augment: bool = True
    augment_strength: float = 1.0
    mirror_identities: int = 1  # 1 = none; 2-4 add mirrored copies of the training signers as new signers
    stretch_identities: list[float] = field(default_factory=list)  # horizontal factors: a new signer per factor
    omniglot_signers: int = 0  # > 0: this many pseudo-signers written with Omniglot's strokes (omniglot_signers.py)
    dropout: float = 0.3
    embedding_bn: bool = False  # batch-norm the embedding before it is normalised (centres it: no narrow cone)
    texture_channels: int = 0  # > 0: a second-order (texture) pooling of this many channels beside the grid
    hog_weight: float = 0.0  # > 0: the encoder is HybridSignatureEncoder (learned CNN + fixed HOG, this weight)
    hog_cell: int = 16
    local_weight: float = 0.0  # > 0: add this times the batch loss on local_distance_matrix (local matching)
    forgery_weight: float = 0.0  # > 0: a training-only forgery head on the embedding, BCE this weight (auxiliary.py)
    writer_weight: float = 0.0  # > 0: a training-only cosine-softmax writer head, CE this weight (auxiliary.py)
    writer_scale: float = 16.0  # the writer head's logit scale
    keep_every_epoch: bool = False
    same_source_batches: bool = True
    nonzero_negatives: bool = True
    seed: int = 0
    threads: int = 2
    patience: int = 8
    max_minutes: float = 0.0  # 0 = no wall-clock budget
    train_fraction: float = 1.0  # cross-validation only: each fold trains on this share of its training subjects
    train_sources: list[str] = field(default_factory=lambda: list(SOURCES))  # which data sets train (both validate)
    cedar_train: list[int] = field(default_factory=lambda: list(CEDAR_TRAIN))
    cedar_validation: list[int] = field(default_factory=lambda: list(CEDAR_VALIDATION))
    svc_train: list[int] = field(default_factory=lambda: list(SVC_TRAIN))
    svc_validation: list[int] = field(default_factory=lambda: list(SVC_VALIDATION))
    # SigComp2011 Dutch development writers (001-048): trained on when train_sources names the set, validated on
    # beside CEDAR and SVC2004 (cross-validation folds them like the others)
    dutch_train: list[int] = field(default_factory=list)
    dutch_validation: list[int] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainConfig:
        data = json.loads(Path(path).read_text())
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise InvalidInput(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**data)


def local_batch_loss(batch_loss: Any, x: torch.Tensor, fmap: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The batch loss on the local distances of the batch (``local_distance_matrix``), put on the scale of a
    Euclidean distance between unit vectors (sqrt(2 d), as the global distances the loss sees)."""
    d = local_distance_matrix(fmap, inked_cells(x, (fmap.shape[2], fmap.shape[3])))
    sq = (2.0 * d).clamp(min=0.0)
    matrix = torch.where(sq > 1e-12, sq.clamp(min=1e-12).sqrt(), torch.zeros_like(sq))
    return batch_loss.compute(matrix, labels)


def batch_labels(samples: list[SignatureSample], images: list[int]) -> torch.Tensor:
    """Labels for a batch loss: a signer's genuine samples share one label; every skilled forgery gets a
    label of its own (negative), so it is only ever a negative and never a positive of another forgery."""
    keys: dict[str, int] = {}
    out = []
    for n, i in enumerate(images):
        s = samples[i]
        out.append(keys.setdefault(s.key, len(keys)) if s.genuine else -1 - n)
    return torch.tensor(out, dtype=torch.long)


#: The backbone name of the 2-channel pair network (``training.pairnet``), trained with ``loss: "pair_bce"``.
PAIR_BACKBONE = "pair_cnn"


def build_model(cfg: TrainConfig) -> torch.nn.Module:
    """The encoder the config describes: the backbone, wrapped with the fixed HOG branch when hog_weight > 0;
    or, for the ``pair_cnn`` backbone, the 2-channel pair network (not an encoder: it scores pairs)."""
    if cfg.backbone == PAIR_BACKBONE:
        return PairSignatureCNN(width=cfg.width, dropout=cfg.dropout)
    extra: dict[str, int | float] = {"embedding_bn": True} if cfg.embedding_bn else {}
    if cfg.texture_channels:
        extra["texture_channels"] = cfg.texture_channels
    cnn = build_backbone(cfg.backbone, embedding_dim=cfg.embedding_dim, width=cfg.width, dropout=cfg.dropout,
                         **extra)
    if cfg.hog_weight <= 0:
        return cnn
    return HybridSignatureEncoder(cnn, cnn_weight=1.0 - cfg.hog_weight, hog_cell=cfg.hog_cell)


def build_card_model(config: dict[str, Any] | list[dict[str, Any]]) -> torch.nn.Module:
    """An untrained encoder of a model card's architecture: ``training.config`` of the card, one member's
    config or (an ensemble) a list of them. Keys the card leaves out (the subject lists) take defaults."""
    if isinstance(config, list):
        return EnsembleEncoder([build_card_model(c) for c in config])
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return build_model(TrainConfig(**{k: v for k, v in config.items() if k in known}))


def with_synthetic_identities(samples: list[SignatureSample], cfg: TrainConfig) -> list[SignatureSample]:
    """The training samples plus the new signers the config asks for: stretched copies, then mirrored copies of
    every signer (stretched ones included), then Omniglot pseudo-signers (never mirrored), as ``fit`` trains on."""
    if cfg.stretch_identities:
        samples = stretch_identities(samples, cfg.stretch_identities)
    if cfg.mirror_identities > 1:
        samples = mirror_identities(samples, cfg.mirror_identities)
    if cfg.omniglot_signers < 0:
        raise InvalidInput(f"omniglot_signers is a number of pseudo-signers (0 = none), got {cfg.omniglot_signers}")
    if cfg.omniglot_signers > 0:
        root = (Path(cfg.data_root) if cfg.data_root else default_data_root()) / "omniglot"
        samples = list(samples) + omniglot_signers(cfg.omniglot_signers, seed=cfg.seed, root=root)
    return samples


def validation_metric(summaries: dict[str, dict[str, float]]) -> float:
    """Mean of the validation EERs (skilled and random, each source) of one aggregate: lower is better.
    Each epoch is scored with its best aggregate, the one ``export`` would choose on the same data."""
    vals = [s[k] for s in summaries.values() for k in ("skilled_eer", "random_eer")]
    return float(np.mean(vals))


def validate(model: torch.nn.Module, samples: list[SignatureSample], cfg: TrainConfig
             ) -> dict[str, dict[str, dict[str, float]]]:
    """Protocol EERs of ``model`` on validation samples: {aggregate: {source: summary}}."""
    model.eval()
    if isinstance(model, PairSignatureCNN):
        return pair_summaries(model, samples, height=cfg.input_height, width=cfg.input_width)
    x = to_tensor_batch([s.ink for s in samples], height=cfg.input_height, width=cfg.input_width)
    device = model_device(model)
    with torch.no_grad():
        emb = embed_all(lambda b: model(torch.from_numpy(b).to(device)).float().cpu().numpy(), x)
    return summaries_of(samples, emb)


def summaries_of(samples: Sequence[SignatureSample], embeddings: np.ndarray) -> dict[str, dict[str, dict[str, float]]]:
    """Protocol EERs of the embeddings of ``samples`` (one row each): {aggregate: {source: summary}}."""
    scores = [protocol_scores(samples, embeddings, source=src) for src in sorted({s.source for s in samples})]
    return {agg: {ps.source: summarize(ps, agg) for ps in scores} for agg in AGGREGATES}


def best_aggregate(by_aggregate: dict[str, dict[str, dict[str, float]]]) -> tuple[str, dict[str, float]]:
    """The aggregate with the lowest validation metric (how each epoch is scored), and every aggregate's metric."""
    metrics = {agg: validation_metric(v) for agg, v in by_aggregate.items()}
    return min(metrics, key=metrics.__getitem__), metrics


def step_loss(model: torch.nn.Module, cfg: TrainConfig, x: torch.Tensor, pb: PairBatch,
              train: list[SignatureSample], rng: np.random.Generator, *, contrastive: ContrastiveLoss,
              batch_loss: Any, aux: AuxiliaryHeads | None = None) -> torch.Tensor:
    """The training loss of one batch (images ``x`` of ``pb.images``) for the model the config trains, plus the
    auxiliary heads' loss on the same embeddings when ``aux`` is given."""
    if isinstance(model, PairSignatureCNN):
        return pair_loss(model, x, subsample_pairs(pb, cfg.pairs_per_batch, rng), rng)
    # The loss trains the learned branch alone: with the fixed HOG branch inside the distance,
    # negatives already beyond the margin stop pushing and the CNN collapses onto the positives.
    cnn = model.cnn if isinstance(model, HybridSignatureEncoder) else model
    emb, fmap = cnn.forward_with_features(x) if cfg.local_weight > 0 else (cnn(x), None)
    if batch_loss is None:
        loss = contrastive(emb[pb.left], emb[pb.right], torch.from_numpy(pb.y).to(emb.device))
    else:
        labels = batch_labels(train, pb.images).to(emb.device)
        loss = batch_loss(emb, labels)
        if fmap is not None:
            loss = loss + cfg.local_weight * local_batch_loss(batch_loss, x, fmap, labels)
    if aux is not None:
        loss = loss + aux.loss(emb, [train[i] for i in pb.images])
    return loss


def check_auxiliary_config(cfg: TrainConfig) -> None:
    """The auxiliary heads' weights are loss weights, and the forgery head needs forgeries in its batches."""
    if cfg.forgery_weight < 0 or cfg.writer_weight < 0:
        raise InvalidInput(f"forgery_weight and writer_weight are loss weights (0 = no head), got "
                           f"{cfg.forgery_weight} and {cfg.writer_weight}")
    if cfg.forgery_weight and not cfg.forgeries_per_signer:
        raise InvalidInput("the forgery head needs skilled forgeries in the batches (forgeries_per_signer > 0)")
    if cfg.writer_scale <= 0:
        raise InvalidInput(f"writer_scale is a logit scale (> 0), got {cfg.writer_scale}")


def build_auxiliary(cfg: TrainConfig, train: Sequence[SignatureSample]) -> AuxiliaryHeads | None:
    """The training-only heads the config asks for (``forgery_weight``, ``writer_weight``), or None."""
    check_auxiliary_config(cfg)
    if not (cfg.forgery_weight or cfg.writer_weight):
        return None
    return AuxiliaryHeads(cfg.embedding_dim, writers=writer_index(train), forgery_weight=cfg.forgery_weight,
                          writer_weight=cfg.writer_weight, writer_scale=cfg.writer_scale)


def training_samples(cfg: TrainConfig, root: Path, *, progress: bool = False) -> list[SignatureSample]:
    """The training subjects' samples of the data sets ``cfg.train_sources`` names (before synthetic identities)."""
    unknown = set(cfg.train_sources) - set(TRAIN_SOURCES)
    if unknown or not cfg.train_sources:
        raise InvalidInput(f"train_sources must name some of {', '.join(TRAIN_SOURCES)}; got {cfg.train_sources}")
    cedar = load_cedar(root, cfg.cedar_train, progress=progress) if "cedar" in cfg.train_sources else []
    svc = load_svc2004(root, cfg.svc_train, progress=progress) if "svc2004" in cfg.train_sources else []
    dutch = load_sigcomp2011_dutch(root, cfg.dutch_train, progress=progress) if DUTCH in cfg.train_sources else []
    return cedar + svc + dutch


def check_pair_config(cfg: TrainConfig) -> None:
    """The pair network and its loss go together, and take none of the encoder-only options."""
    if (cfg.backbone == PAIR_BACKBONE) != (cfg.loss == "pair_bce"):
        raise InvalidInput(f"the {PAIR_BACKBONE!r} backbone trains with loss 'pair_bce' and that loss only trains "
                           f"it; this config has backbone {cfg.backbone!r}, loss {cfg.loss!r}")
    if cfg.pairs_per_batch < 0:
        raise InvalidInput(f"pairs_per_batch is a number of pairs (0 = all), got {cfg.pairs_per_batch}")
    if cfg.backbone == PAIR_BACKBONE:
        extras = {"hog_weight": cfg.hog_weight, "local_weight": cfg.local_weight,
                  "texture_channels": cfg.texture_channels, "embedding_bn": cfg.embedding_bn,
                  "forgery_weight": cfg.forgery_weight, "writer_weight": cfg.writer_weight}
        used = [k for k, v in extras.items() if v]
        if used:
            raise InvalidInput(f"the pair network has no embedding; these options need one: {', '.join(used)}")


class AugmentedBatches(torch.utils.data.Dataset[torch.Tensor]):
    """One epoch's batches as a map-style data set for DataLoader workers: batch ``i``'s images augmented with an
    rng of its own, seeded by (seed, epoch, 2, i), so the result does not depend on the number of workers."""

    def __init__(self, plan: list[PairBatch], train: Sequence[SignatureSample], cfg: TrainConfig,
                 aug: Augmenter | None, *, epoch: int) -> None:
        self.plan, self.train, self.cfg, self.aug, self.epoch = plan, train, cfg, aug, epoch

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int) -> torch.Tensor:
        rng = np.random.default_rng([self.cfg.seed, self.epoch, 2, i])
        masks = [self.train[j].ink for j in self.plan[i].images]
        if self.aug is not None:
            masks = [self.aug(m, rng) for m in masks]
        return torch.from_numpy(to_tensor_batch(masks, height=self.cfg.input_height, width=self.cfg.input_width))


def epoch_batches(batches: BalancedPairBatches, train: list[SignatureSample], cfg: TrainConfig,
                  aug: Augmenter | None, rng: np.random.Generator, *, run: RunDevice, device: torch.device,
                  epoch: int) -> Iterator[tuple[PairBatch, torch.Tensor]]:
    """(pair batch, images) of one epoch. With no workers the images are augmented here with ``rng``, as training
    always did (CPU results unchanged); with workers, by ``AugmentedBatches`` in worker processes (pinned memory on
    CUDA), the batch plan drawn first in this process."""
    if run.num_workers == 0:
        for pb in batches:
            masks = [train[i].ink for i in pb.images]
            if aug is not None:
                masks = [aug(m, rng) for m in masks]
            yield pb, torch.from_numpy(to_tensor_batch(masks, height=cfg.input_height, width=cfg.input_width))
        return
    plan = list(batches)
    loader = torch.utils.data.DataLoader(AugmentedBatches(plan, train, cfg, aug, epoch=epoch), batch_size=None,
                                         shuffle=False, num_workers=run.num_workers,
                                         pin_memory=device.type == "cuda")
    yield from zip(plan, loader, strict=True)


def fit(cfg: TrainConfig, *, resume: bool = True, progress: bool = True, run: RunDevice | None = None) -> Path:
    """Train, validate every epoch, keep ``best.pt`` (lowest validation metric) and ``last.pt``. With no validation
    subjects (a config whose validation lists are empty) every epoch trains and ``best.pt`` is the last one.
    ``run`` says where (default: the CPU, in the main process); checkpoints always hold CPU tensors."""
    run = run or RunDevice()
    device = run.resolve()
    if bool(cfg.cedar_validation) != bool(cfg.svc_validation):
        raise InvalidInput("validation subjects must be given for both sources or for neither")
    if cfg.dutch_validation and not cfg.cedar_validation:
        raise InvalidInput("SigComp2011 Dutch validation writers need CEDAR and SVC2004 validation subjects too")
    if cfg.local_weight > 0 and (cfg.loss == "contrastive_pairs" or cfg.backbone != "signature_cnn"):
        raise InvalidInput("local_weight needs a batch loss (triplet, quadruplet, npair, contrastive) and the "
                           f"signature_cnn backbone; this config has loss {cfg.loss!r}, backbone {cfg.backbone!r}")
    check_pair_config(cfg)
    check_auxiliary_config(cfg)
    contrastive = ContrastiveLoss(margin=cfg.margin, nonzero_negatives=cfg.nonzero_negatives)
    batch_loss = None if cfg.loss in ("contrastive_pairs", "pair_bce") else build_loss(cfg.loss, **cfg.loss_options)
    out = Path(cfg.out_dir)
    last = out / "last.pt"
    ck = torch.load(last, map_location=device, weights_only=False) if resume and last.exists() else None
    if ck is not None and bool(cfg.forgery_weight or cfg.writer_weight) != ("aux" in ck):
        # refused before the run's config.json is overwritten
        raise InvalidInput(f"{last} was saved {'with' if 'aux' in ck else 'without'} auxiliary heads and this config "
                           f"asks for {'none' if 'aux' in ck else 'them'}: resume with the run's own config.json")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    record = record_device(out, run, device)
    log.info("training on %s (%s)%s", record["device"], record["name"], ", bf16 autocast" if run.amp else "")
    seed_device(cfg.seed, device)
    torch.set_num_threads(cfg.threads)
    root = Path(cfg.data_root) if cfg.data_root else default_data_root()
    train = training_samples(cfg, root, progress=progress)
    val = load_cedar(root, cfg.cedar_validation, progress=progress) + load_svc2004(
        root, cfg.svc_validation, progress=progress
    ) + load_sigcomp2011_dutch(root, cfg.dutch_validation, progress=progress) if cfg.cedar_validation else []
    train = with_synthetic_identities(train, cfg)
    if val:
        log.info("training on %d samples, validating on %d", len(train), len(val))
    else:
        # No validation subjects (every development subject trains): nothing can choose an epoch, so the
        # model is the last epoch's, and the number of epochs must have been fixed beforehand (by
        # cross-validation of the same recipe).
        log.info("training on %d samples with no validation subjects: the last epoch is the model", len(train))
    model = build_model(cfg).to(device)
    # The heads train with the encoder and are then dropped: checkpoints other than last.pt hold the encoder alone.
    aux = build_auxiliary(cfg, train)
    if aux is not None:
        aux = aux.to(device)
    contrastive = contrastive.to(device)
    if isinstance(batch_loss, torch.nn.Module):
        batch_loss = batch_loss.to(device)
    params = list(model.parameters()) + (list(aux.parameters()) if aux is not None else [])
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.epochs * cfg.batches_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=0.1)
    k = cfg.augment_strength
    aug = Augmenter(rotate_deg=6.0 * k, scale=0.08 * k, shear=0.1 * k, width_change=min(0.3 * k, 1.0)) \
        if cfg.augment else None
    state = {"epoch": 0, "best": float("inf"), "best_epoch": -1, "history": [], "bad_epochs": 0}
    if ck is not None:
        model.load_state_dict(ck["model"])
        if aux is not None:
            aux.load_state_dict(ck["aux"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        if ck["sched"].get("total_steps") == total_steps:
            sched.load_state_dict(ck["sched"])
        else:
            # The run was started for another number of epochs: keep the weights and optimizer state and
            # continue on a schedule for the new length, from the step reached.
            log.warning("resuming with %d epochs instead of %d: the learning-rate schedule is rebuilt",
                        cfg.epochs, ck["sched"].get("total_steps", 0) // max(cfg.batches_per_epoch, 1))
            sched.last_epoch = state["epoch"] * cfg.batches_per_epoch
            sched.step()
            sched.last_epoch -= 1
        log.info("resumed from %s at epoch %d", last, state["epoch"])
    batches = BalancedPairBatches(train, signers=cfg.signers_per_batch, genuine=cfg.genuine_per_signer,
                                  forgeries=cfg.forgeries_per_signer, batches_per_epoch=cfg.batches_per_epoch,
                                  seed=cfg.seed, same_source=cfg.same_source_batches)
    started = time.monotonic()
    for epoch in range(state["epoch"], cfg.epochs):
        # Every source of randomness is re-seeded from (seed, epoch), so a resumed run continues
        # exactly as an uninterrupted one would.
        seed_device(cfg.seed * 100_003 + epoch, device)
        batches.rng = np.random.default_rng([cfg.seed, epoch, 0])
        rng = np.random.default_rng([cfg.seed, epoch, 1])
        model.train()
        if aux is not None:
            aux.train()
        bar = tqdm(epoch_batches(batches, train, cfg, aug, rng, run=run, device=device, epoch=epoch),
                   total=len(batches), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        losses = []
        for pb, x in bar:
            with autocast(device, enabled=run.amp):
                loss = step_loss(model, cfg, x.to(device, non_blocking=True), pb, train, rng,
                                 contrastive=contrastive, batch_loss=batch_loss, aux=aux)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
        if val:
            by_aggregate = validate(model, val, cfg)
            aggregate, metrics = best_aggregate(by_aggregate)
            metric, summaries = metrics[aggregate], by_aggregate[aggregate]
        else:  # every epoch improves on the one before: best.pt ends as the last epoch's
            aggregate, metrics, metric, summaries = None, {}, -float(epoch + 1), {}
        state["epoch"] = epoch + 1
        state["history"].append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                                 "val_metric": metric if val else None, "aggregate": aggregate, "val": summaries,
                                 "val_metric_by_aggregate": metrics})
        if val:
            msg = " ".join(f"{src}: skilled {s['skilled_eer']:.3f} random {s['random_eer']:.3f}"
                           for src, s in summaries.items())
            log.info("epoch %d loss %.4f val %.4f with the %s aggregate (%s)", epoch + 1, np.mean(losses), metric,
                     aggregate, msg)
        else:
            log.info("epoch %d loss %.4f (no validation)", epoch + 1, np.mean(losses))
        if metric < state["best"]:
            state.update(best=metric, best_epoch=epoch + 1, bad_epochs=0)
            torch.save({"model": cpu_state(model), "config": dataclasses.asdict(cfg), "epoch": epoch + 1,
                        "val": summaries, "aggregate": aggregate}, out / "best.pt")
        else:
            state["bad_epochs"] += 1
        torch.save({"model": cpu_state(model), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "state": state, **({"aux": cpu_state(aux)} if aux is not None else {})}, last)
        (out / "history.json").write_text(json.dumps(state["history"], indent=2))
        if cfg.keep_every_epoch:
            torch.save({"model": cpu_state(model), "config": dataclasses.asdict(cfg), "epoch": epoch + 1,
                        "val": summaries, "aggregate": aggregate}, out / f"epoch_{epoch + 1:03d}.pt")
        if state["bad_epochs"] >= cfg.patience:
            log.info("early stop: no validation improvement for %d epochs", cfg.patience)
            break
        if cfg.max_minutes and (time.monotonic() - started) / 60 > cfg.max_minutes:
            log.info("stopping at the %.0f-minute budget", cfg.max_minutes)
            break
    return out / "best.pt"
