"""MAML (Finn et al. 2017) and Proto-MAML (Triantafillou et al. 2020) on the conv-4 encoder, with torch.func."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad
from torch.nn import functional as F
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.evaluation.omniglot import load_runs
from biometrix.training.fewshot import prototypes
from biometrix.training.fewshot_eval import Classify, episodes_accuracy, runs_accuracy
from biometrix.training.fewshot_train import ConvFour, known_keys, training_split
from biometrix.training.samplers import EpisodeSampler

log = logging.getLogger(__name__)

Params = dict[str, torch.Tensor]
#: The classifier's initial rows: "zero" (MAML's linear head; see ``MamlLearner``) or "prototypes" (Proto-MAML).
HEAD_INITS = ("zero", "prototypes")


def inner_loop(loss: Callable[[Params], torch.Tensor], params: Params, *, steps: int, lr: float,
               first_order: bool) -> Params:
    """``steps`` gradient steps theta <- theta - lr * grad loss(theta), the gradient by ``torch.func.grad``.

    Second order (``first_order=False``): the returned parameters stay a differentiable function of ``params``,
    so an outer loss back-propagates through every step, Hessian terms included (grad of grad). First order: each
    step's gradient is detached, so d theta' / d theta = I and only the outer gradient at theta' remains.
    """
    if steps < 0 or not lr > 0:
        raise InvalidInput(f"inner steps must be >= 0 and the inner learning rate positive, got {steps}, {lr}")
    step_grad = grad(loss)
    for _ in range(steps):
        g = step_grad(params)
        params = {k: p - lr * (g[k].detach() if first_order else g[k]) for k, p in params.items()}
    return params


def batch_statistics_only(model: nn.Module) -> nn.Module:
    """Every batch norm of ``model`` normalises with the statistics of the batch it sees, in training and in
    evaluation, and keeps no running averages (as in Finn et al.'s code; nothing is mutated inside torch.func)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = m.running_var = m.num_batches_tracked = None
    return model


class MamlLearner(nn.Module):
    """A conv-4 encoder (a ``ConvFour``: unit embeddings e) and an N-way linear classifier logits = scale * (W e + b).

    All of the encoder's weights are meta-learned and adapted in the inner loop, with the classifier.
    ``head_init="zero"``: the classifier starts at zero for every episode. Episode labels are shuffled, so the
    learned initial rows of MAML's classifier could only be equal, and equal rows cancel from the softmax: a zero
    start is that head (Kao et al. 2022's zeroing), and it serves any N. ``"prototypes"``: Proto-MAML, W_c = 2 p_c,
    b_c = -||p_c||^2 from the support prototypes (``fewshot.prototypes``) under the initial weights, so that before
    any inner step the logits are the prototypical head's, -scale * ||e - p_c||^2 up to a per-query constant; the
    prototypes stay in the graph, so the outer loss trains the encoder through them too.
    """

    def __init__(self, encoder: nn.Module, *, head_init: str = "zero", scale: float = 10.0, inner_steps: int = 1,
                 inner_lr: float = 0.4, first_order: bool = False) -> None:
        super().__init__()
        if head_init not in HEAD_INITS:
            raise InvalidInput(f"head_init must be one of {', '.join(HEAD_INITS)}, got {head_init!r}")
        if not scale > 0:
            raise InvalidInput(f"scale must be positive, got {scale}")
        self.encoder = batch_statistics_only(encoder)
        self.head_init, self.scale = head_init, scale
        self.inner_steps, self.inner_lr, self.first_order = inner_steps, inner_lr, first_order

    def logits(self, params: Params, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) -> (B, N) under ``params``: the encoder's named parameters, ``head.weight``, ``head.bias``."""
        emb = functional_call(self.encoder, {k: v for k, v in params.items() if not k.startswith("head.")}, (x,))
        return self.scale * (emb @ params["head.weight"].T + params["head.bias"])

    def initial(self, support: torch.Tensor, labels: torch.Tensor) -> Params:
        """The meta-learned encoder weights and the episode's initial classifier (zero or from prototypes)."""
        params: Params = dict(self.encoder.named_parameters())
        n = int(labels.max()) + 1
        if self.head_init == "zero":
            params["head.weight"] = torch.zeros(n, self.encoder.head.out_features)
            params["head.bias"] = torch.zeros(n)
        else:
            protos = prototypes(self.encoder(support), labels)
            params["head.weight"] = 2.0 * protos
            params["head.bias"] = -(protos**2).sum(dim=1)
        return params

    def adapt(self, support: torch.Tensor, labels: torch.Tensor, *, steps: int | None = None,
              first_order: bool | None = None) -> Params:
        """The episode's adapted parameters after ``steps`` (default ``inner_steps``) steps on the support loss;
        ``first_order`` (default the learner's) only changes what an outer loss can differentiate."""

        def support_loss(p: Params) -> torch.Tensor:
            return F.cross_entropy(self.logits(p, support), labels)

        return inner_loop(support_loss, self.initial(support, labels), lr=self.inner_lr,
                          steps=self.inner_steps if steps is None else steps,
                          first_order=self.first_order if first_order is None else first_order)

    def episode_loss(self, support: torch.Tensor, labels: torch.Tensor, query: torch.Tensor,
                     query_labels: torch.Tensor) -> torch.Tensor:
        """The outer (meta) loss of one episode: the queries' cross-entropy under the adapted parameters."""
        return F.cross_entropy(self.logits(self.adapt(support, labels), query), query_labels)

    def classifier(self, *, steps: int | None = None) -> Classify:
        """Adapt on each support set (``steps`` inner steps), then the argmax of the queries' logits."""

        def classify(support: np.ndarray, labels: np.ndarray, query: np.ndarray) -> np.ndarray:
            adapted = self.adapt(torch.from_numpy(support), torch.from_numpy(labels).long(), steps=steps,
                                 first_order=True)  # the same values; no graph for an outer loss
            with torch.no_grad():
                fixed = {k: v.detach() for k, v in adapted.items()}
                return self.logits(fixed, torch.from_numpy(query)).argmax(1).numpy()

        return classify


@dataclass(frozen=True)
class MamlConfig:
    """A MAML run (``task`` "omniglot-maml" routes ``biometrix train``); saved as config.json beside its outputs."""

    task: str = "omniglot-maml"
    out_dir: str = "runs/omniglot_maml"
    data_root: str = ""
    size: int = 28
    width: int = 64
    embedding_dim: int = 64
    head_init: str = "zero"
    first_order: bool = False
    inner_steps: int = 1
    inner_lr: float = 0.4
    # the inner steps at test time are chosen among these on the validation classes after training
    test_steps_choices: tuple[int, ...] = (1,)
    scale: float = 10.0
    n_way: int = 20
    k_shot: int = 1
    n_query: int = 5
    meta_batch: int = 1
    episodes_per_epoch: int = 100
    epochs: int = 10
    lr: float = 1e-3
    rotations: bool = True
    validation_classes: int = 30
    validation_episodes: int = 100
    # 20-way validation episodes that choose the test-time inner steps after training
    choice_episodes: int = 400
    seed: int = 0
    threads: int = 2
    max_minutes: float = 0.0

    @classmethod
    def from_dict(cls, data: dict) -> MamlConfig:
        data = known_keys(cls, data)
        if "test_steps_choices" in data:
            data = {**data, "test_steps_choices": tuple(int(s) for s in data["test_steps_choices"])}
        return cls(**data)


def build_learner(cfg: MamlConfig) -> MamlLearner:
    """The config's learner: a fresh ConvFour and its MAML or Proto-MAML classifier."""
    return MamlLearner(ConvFour(width=cfg.width, embedding_dim=cfg.embedding_dim), head_init=cfg.head_init,
                       scale=cfg.scale, inner_steps=cfg.inner_steps, inner_lr=cfg.inner_lr,
                       first_order=cfg.first_order)


def fit_maml(cfg: MamlConfig, *, progress: bool = True) -> dict[str, Any]:
    """Meta-train on episodes of the background sets (Adam on the mean outer loss of ``meta_batch`` episodes), keep
    best.pt by 20-way 1-shot validation accuracy after adaptation, choose the test-time inner steps on validation,
    then score Lake's 20 runs once. Returns (and writes) result.json."""
    if not cfg.test_steps_choices or min(cfg.test_steps_choices) < 0 or cfg.meta_batch < 1:
        raise InvalidInput("test_steps_choices must list inner step counts >= 0, meta_batch must be >= 1")
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(dataclasses.asdict(cfg), indent=2))
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    xt, yt, xv, yv = training_split(cfg)
    learner = build_learner(cfg)
    opt = torch.optim.Adam(learner.parameters(), lr=cfg.lr)
    sampler = EpisodeSampler(yt, n_way=cfg.n_way, k_shot=cfg.k_shot, n_query=cfg.n_query,
                             episodes=cfg.episodes_per_epoch * cfg.meta_batch, seed=cfg.seed)
    history: list[dict[str, float]] = []
    best, started = (-1.0, 0), time.monotonic()
    for epoch in range(cfg.epochs):
        sampler.set_epoch(epoch)
        learner.train()
        losses, episodes = [], list(sampler)
        for i in tqdm(range(0, len(episodes), cfg.meta_batch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                      disable=not progress, leave=False):
            loss = sum(learner.episode_loss(torch.from_numpy(xt[ep.support]), torch.from_numpy(ep.support_labels),
                                            torch.from_numpy(xt[ep.query]), torch.from_numpy(ep.query_labels))
                       for ep in episodes[i:i + cfg.meta_batch]) / cfg.meta_batch
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        acc = episodes_accuracy(learner.classifier(), xv, yv, n_way=20, episodes=cfg.validation_episodes,
                                seed=cfg.seed)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val_20way_1shot": acc})
        log.info("epoch %d loss %.4f validation 20-way 1-shot %.3f", epoch + 1, np.mean(losses), acc)
        if acc > best[0]:
            best = (acc, epoch + 1)
            torch.save({"model": learner.state_dict(), "config": dataclasses.asdict(cfg), "epoch": epoch + 1},
                       out / "best.pt")
        (out / "history.json").write_text(json.dumps(history, indent=2))
        if cfg.max_minutes and (time.monotonic() - started) / 60 > cfg.max_minutes:
            break
    train_minutes = (time.monotonic() - started) / 60
    learner.load_state_dict(torch.load(out / "best.pt", weights_only=False)["model"])
    by_steps = {s: episodes_accuracy(learner.classifier(steps=s), xv, yv, n_way=20,
                                    episodes=cfg.choice_episodes, seed=cfg.seed + 7)
                for s in sorted(set(cfg.test_steps_choices))}
    steps = max(by_steps, key=lambda s: (by_steps[s], -s))
    lake = runs_accuracy(learner.classifier(steps=steps), load_runs(Path(cfg.data_root) if cfg.data_root else None),
                         size=cfg.size)
    result = {"lake_20way_1shot_accuracy": lake, "best_epoch": best[1], "validation_20way_1shot": best[0],
              "test_steps": steps, "validation_20way_1shot_by_test_steps": {str(s): a for s, a in by_steps.items()},
              "episodes_trained": len(history) * cfg.episodes_per_epoch * cfg.meta_batch,
              "train_minutes": train_minutes, "minutes": (time.monotonic() - started) / 60}
    (out / "result.json").write_text(json.dumps(result, indent=2))
    log.info("Lake's 20 runs, 20-way 1-shot: %.2f %% (MAML, %d test steps)", 100 * lake, steps)
    return result
