"""Cheap changes to a cross-validated recipe, scored fold by fold without training again.

Reads the folds of ``biometrix train --config C --folds 3`` (run with ``keep_every_epoch``: every epoch's
weights) and scores each fold's validation signers under the protocol (5 references, each source apart):

  - ``epoch N``: the fold's model at one epoch, as training scored it;
  - ``snapshot A-B``: the embeddings of epochs A..B averaged (one ensemble of a run's own epochs);
  - ``swa A-B``: the weights of epochs A..B averaged, batch-norm statistics re-estimated on augmented
    training images of the fold (stochastic weight averaging);
  - ``tta N``: epoch N with test-time augmentation, the embeddings of 5 fixed warps of every sample
    averaged (no warp, rotations of -3 and +3 degrees, scales 0.95 and 1.05);
  - ``wccn N``, ``lda32 N``, ``flda32 N``: epoch N followed by a linear projection fitted on the fold's
    *training* signers (``biometrix.training.projection``; each training sample embedded clean and as 2
    augmented copies): within-signer whitening; LDA to 32 dimensions; forgery-aware LDA to 32 dimensions
    (between-signer plus forgery scatter against within-signer scatter);
  - ``hyb20 N``, ``hyb40 N``: epoch N inside the hybrid encoder ``biometrix export --hog-weight W`` ships
    (``HybridSignatureEncoder``: the cosine similarity is (1 - W) x the CNN's + W x a fixed HOG
    descriptor's), W = 0.2 and 0.4;
  - ``znorm N``, ``wdlin N``, ``wdrbf N``: epoch N, each claimed subject's comparisons scored against a
    cohort: the genuine signatures of the fold's *training* signers (clean). ``znorm``: each aggregate's
    distance minus its mean over the cohort, divided by its standard deviation (Z-norm); ``wdlin`` /
    ``wdrbf``: a writer-dependent SVM (linear; RBF with gamma "scale"; C = 1, classes balanced) trained on
    the subject's 5 references against the cohort, the distance being minus its decision value;
  - ``local N``, ``fuse N``: epoch N's last feature map compared place by place (each cell of one signature
    against the most similar inked cell of the other within ``LOCAL_ROWS`` rows and ``LOCAL_COLS`` columns,
    both ways; ``local_scorers``), alone and multiplied with the global cosine distance;
  - ``ens N`` (with ``--ensemble OTHER_RUN [...]``): epoch N of this run and epoch N of each other run's same
    fold as one ``EnsembleEncoder`` (what ``biometrix export --checkpoint A B ...`` ships): each member's unit
    embedding side by side, scaled by 1/sqrt(members), so a cosine similarity is the mean of the members'.

  - ``dtw``, ``pen N``: pen dynamics (``biometrix.evaluation.pen``), SVC2004 only: the dynamic time warping
    distance of each validation pen recording's features to each reference (``preprocess.pen_dynamics``; no
    training), alone (CEDAR columns nan), and its ``normalized`` distance averaged with epoch N's (the
    image's) for the SVC2004 columns, CEDAR scored by the image as the ``epoch`` row.

A run of the 2-channel pair network (backbone ``pair_cnn``, ``biometrix.training.pairnet``) has no embedding:
only its ``epoch N`` row is computed, every comparison scored by the network on the pair.

Each row gives the metric training selects by (mean of the four EERs, with its best aggregate), then the
three EERs issue 2 sets targets on (CEDAR skilled, CEDAR random, SVC2004 random) and SVC2004 skilled.
``--spread`` also prints the median cosine distances of genuine pairs, genuine-vs-skilled-forgery pairs
and pairs of two signers, which shows whether the embeddings fill the sphere or sit in a narrow cone.

    python bench/research/cv_posthoc.py --run runs/signature_triplet_cv [--folds 3] [--epoch 12] [--spread]
                               [--methods epoch wccn lda32 flda32 hyb20 hyb40 znorm wdlin wdrbf local fuse ens]
                               [--ensemble runs/OTHER_CV_RUN [runs/THIRD_CV_RUN ...]]
"""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from biometrix.core.matcher import aggregate_distances
from biometrix.core.metrics import eer
from biometrix.evaluation.datasets import DUTCH
from biometrix.evaluation.pen import fuse_scores, svc2004_v1_scores
from biometrix.evaluation.protocol import (
    PAIR_AGGREGATES,
    PROTOCOL,
    Comparison,
    ProtocolScores,
    protocol_scores,
    summarize,
)
from biometrix.preprocess.signature import crop_to_ink
from biometrix.training import data as sigdata
from biometrix.training.data import SignatureSample, to_tensor_batch
from biometrix.training.encoder import (
    LOCAL_COLS,
    LOCAL_ROWS,
    EnsembleEncoder,
    HybridSignatureEncoder,
    inked_cells,
)
from biometrix.training.evaluate import embed_all
from biometrix.training.pairnet import pair_summaries
from biometrix.training.projection import fit_projection
from biometrix.training.train import (
    PAIR_BACKBONE,
    TrainConfig,
    best_aggregate,
    build_model,
    summaries_of,
    with_synthetic_identities,
)

TTA_WARPS = ((0.0, 1.0), (-3.0, 1.0), (3.0, 1.0), (0.0, 0.95), (0.0, 1.05))


def warp(ink: np.ndarray, angle: float, scale: float) -> np.ndarray:
    """An ink mask rotated by ``angle`` degrees and scaled about its centre, cropped to the ink again."""
    h, w = ink.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    out = cv2.warpAffine(ink.astype(np.uint8) * 255, m, (w, h), flags=cv2.INTER_LINEAR) > 127
    return crop_to_ink(out, margin=0) if out.any() else ink


class Fold:
    """One fold's config, validation samples and per-epoch weights."""

    def __init__(self, folder: Path, data: Path) -> None:
        self.folder = folder
        self.cfg = TrainConfig(**json.loads((folder / "config.json").read_text()))
        self.data = data
        self.val = self.samples(self.cfg.cedar_validation, self.cfg.svc_validation)
        if self.cfg.dutch_validation:  # a recipe cross-validated over SigComp2011 Dutch writers too (issue 27)
            self.val += sigdata.load_sigcomp2011_dutch(self.data, self.cfg.dutch_validation, progress=False)
        self._weights: dict[int, dict[str, torch.Tensor]] = {}
        self._train: tuple[list[list[np.ndarray]], list[str], list[bool]] | None = None
        self._train_emb: dict[int, np.ndarray] = {}
        self._cohort: dict[int, np.ndarray] = {}
        self.pen: ProtocolScores | None = None

    def samples(self, cedar: Sequence[int], svc: Sequence[int]) -> list[SignatureSample]:
        return sigdata.load_cedar(self.data, cedar, progress=False) + sigdata.load_svc2004(self.data, svc,
                                                                                           progress=False)

    def model(self, epoch: int) -> torch.nn.Module:
        """The fold's encoder at ``epoch`` (each checkpoint is read once)."""
        if epoch not in self._weights:
            path = self.folder / f"epoch_{epoch:03d}.pt"
            self._weights[epoch] = torch.load(path, weights_only=False)["model"]
        model = build_model(self.cfg)
        model.load_state_dict(self._weights[epoch])
        return model.eval()

    def embed(self, model: torch.nn.Module, masks: Sequence[np.ndarray] | None = None) -> np.ndarray:
        x = to_tensor_batch(masks if masks is not None else [s.ink for s in self.val],
                            height=self.cfg.input_height, width=self.cfg.input_width)
        with torch.no_grad():
            return embed_all(lambda b: model(torch.from_numpy(b)).numpy(), x)

    def swa(self, epochs: Sequence[int], *, images: int = 1600) -> torch.nn.Module:
        models = [self.model(e) for e in epochs]
        avg = copy.deepcopy(models[0])
        state = avg.state_dict()
        for k, v in state.items():
            if v.is_floating_point():
                state[k] = sum(m.state_dict()[k] for m in models) / len(models)
        avg.load_state_dict(state)
        train = with_synthetic_identities(self.samples(self.cfg.cedar_train, self.cfg.svc_train), self.cfg)
        for m in avg.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None  # a plain average over the batches below
        rng, aug = np.random.default_rng(0), sigdata.Augmenter()
        pick = rng.permutation(len(train))[:images]
        avg.train()
        with torch.no_grad():
            for i in range(0, len(pick), 64):
                masks = [aug(train[j].ink, rng) for j in pick[i : i + 64]]
                avg(torch.from_numpy(to_tensor_batch(masks, height=self.cfg.input_height,
                                                     width=self.cfg.input_width)))
        return avg.eval()

    def projected(self, epoch: int, **options: float | int | bool) -> np.ndarray:
        """Validation embeddings of ``epoch`` through a projection fitted on the fold's training signers."""
        model = self.model(epoch)
        if self._train is None:
            train = self.samples(self.cfg.cedar_train, self.cfg.svc_train)
            rng, aug = np.random.default_rng(0), sigdata.Augmenter()
            copies = [[s.ink for s in train]] + [[aug(s.ink, rng) for s in train] for _ in range(2)]
            self._train = (copies, [s.key for s in train] * len(copies), [s.genuine for s in train] * len(copies))
        copies, signer, genuine = self._train
        if epoch not in self._train_emb:  # each variant of one epoch is fitted on the same embeddings
            self._train_emb[epoch] = np.concatenate([self.embed(model, masks) for masks in copies])
        return fit_projection(self._train_emb[epoch], signer, genuine, **options)(self.embed(model))  # type: ignore[arg-type]


    def cohort(self, epoch: int) -> np.ndarray:
        """Unit-norm embeddings of the fold's training signers' genuine signatures (clean), at ``epoch``."""
        if epoch not in self._cohort:
            genuine = [s.ink for s in self.samples(self.cfg.cedar_train, self.cfg.svc_train) if s.genuine]
            emb = self.embed(self.model(epoch), genuine)
            self._cohort[epoch] = emb / np.linalg.norm(emb, axis=1, keepdims=True)
        return self._cohort[epoch]


#: scorer(references (K, D), probes (M, D)) -> M distances, lower = the claimed signer; unit-norm rows.
Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


def znorm_scorers(cohort: np.ndarray) -> dict[str, Scorer]:
    def make(agg: str) -> Scorer:
        def scorer(refs: np.ndarray, x: np.ndarray) -> np.ndarray:
            c = aggregate_distances(cohort, refs)[agg]
            return (aggregate_distances(x, refs)[agg] - c.mean()) / max(float(c.std()), 1e-9)
        return scorer
    return {f"z-{agg}": make(agg) for agg in ("mean", "min", "centroid", "normalized")}


def svm_scorer(cohort: np.ndarray, kernel: str) -> dict[str, Scorer]:
    from sklearn.svm import SVC

    def scorer(refs: np.ndarray, x: np.ndarray) -> np.ndarray:
        y = np.r_[np.ones(len(refs)), np.zeros(len(cohort))]
        svm = SVC(kernel=kernel, C=1.0, gamma="scale", class_weight="balanced").fit(np.r_[refs, cohort], y)
        return -svm.decision_function(x)
    return {f"svm-{kernel}": scorer}


def local_features(fold: Fold, model: torch.nn.Module) -> np.ndarray:
    """Per validation sample, one row: the global embedding, the last feature map's cells (each C values, row
    by row) and one ink flag per cell (1 where the input has ink in the cell), for ``local_scorers``."""
    import torch.nn.functional as F

    x = to_tensor_batch([s.ink for s in fold.val], height=fold.cfg.input_height, width=fold.cfg.input_width)
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 64):
            b = torch.from_numpy(x[i:i + 64])
            emb, fmap = model.forward_with_features(b)
            f = F.normalize(fmap, dim=1)
            n, c, gh, gw = f.shape
            out.append(np.concatenate([emb.numpy(), f.permute(0, 2, 3, 1).reshape(n, -1).numpy(),
                                       inked_cells(b, (gh, gw)).float().numpy()], axis=1))
    return np.concatenate(out)


def local_distances(refs: np.ndarray, x: np.ndarray, *, dim: int, channels: int,
                    grid: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(global cosine distances, local distances), each (M probes, K references), of rows of ``local_features``
    (any positive scale). Local: for each inked cell of one signature the largest cosine similarity to an inked
    cell of the other within ``LOCAL_ROWS`` x ``LOCAL_COLS`` (0 if none), averaged over its inked cells; one
    minus the mean of the two directions."""
    gh, gw = grid
    cells = gh * gw
    r, c = np.divmod(np.arange(cells), gw)
    near = (np.abs(r[:, None] - r[None]) <= LOCAL_ROWS) & (np.abs(c[:, None] - c[None]) <= LOCAL_COLS)

    def unpack(e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = e[:, :dim] / np.linalg.norm(e[:, :dim], axis=1, keepdims=True)
        loc = e[:, dim:dim + cells * channels].reshape(len(e), cells, channels)
        loc = loc / np.maximum(np.linalg.norm(loc, axis=2, keepdims=True), 1e-12)
        return g, loc, e[:, dim + cells * channels:] > 0

    gr, lr, ir = unpack(refs)
    gx, lx, ix = unpack(x)
    sim = np.einsum("mic,kjc->mkij", lx, lr)
    sim = np.where(near[None, None] & ix[:, None, :, None] & ir[None, :, None, :], sim, 0.0)
    x_to_r = (sim.max(axis=3) * ix[:, None]).sum(axis=2) / np.maximum(ix.sum(axis=1), 1)[:, None]
    r_to_x = (sim.max(axis=2) * ir[None]).sum(axis=2) / np.maximum(ir.sum(axis=1), 1)[None]
    return 1.0 - gx @ gr.T, 1.0 - (x_to_r + r_to_x) / 2


def local_scorers(dim: int, channels: int, grid: tuple[int, int], *, fuse: bool) -> dict[str, Scorer]:
    """Scorers of ``local_features`` rows: d_local aggregated over the references by ``min`` or ``mean``, or
    (``fuse``) the product of the global distance and d_local, each aggregated alike."""
    def make(agg: str) -> Scorer:
        reduce = np.min if agg == "min" else np.mean

        def scorer(refs: np.ndarray, x: np.ndarray) -> np.ndarray:
            dg, dl = local_distances(refs, x, dim=dim, channels=channels, grid=grid)
            return reduce(dl, axis=1) * (reduce(dg, axis=1) if fuse else 1.0)
        return scorer
    return {f"{'fuse' if fuse else 'local'}-{agg}": make(agg) for agg in ("min", "mean")}


def rescore(val: Sequence[SignatureSample], emb: np.ndarray, scorers: dict[str, Scorer]) -> dict[str, float | str]:
    """As ``score``, with every claimed subject's comparisons scored by each scorer; the best scorer is reported."""
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    row = {s.sample_id: i for i, s in enumerate(val)}
    # the protocol's comparisons, once: source -> [(reference rows, probe rows, kinds)] per claimed subject
    subjects: dict[str, list[tuple[list[int], list[int], list[str]]]] = {}
    for source in sorted({s.source for s in val}):
        mine: dict[str, list[Comparison]] = {}
        for c in protocol_scores(val, emb, source=source).comparisons:
            mine.setdefault(c.claimed, []).append(c)
        subjects[source] = [([row[f"{claimed}:g{i}"] for i in PROTOCOL[source][0]], [row[c.probe] for c in comps],
                             [c.kind for c in comps]) for claimed, comps in mine.items()]
    figures: dict[str, dict[str, float]] = {}
    for name, scorer in scorers.items():
        eers: dict[str, float] = {}
        for source, claims in subjects.items():
            d = np.concatenate([scorer(emb[refs], emb[probes]) for refs, probes, _ in claims])
            kinds = np.array([k for _, _, ks in claims for k in ks])
            for kind in ("skilled", "random"):
                eers[f"{'svc' if source == 'svc2004' else source}_{kind}"] = eer(
                    genuine=d[kinds == "genuine"], impostor=d[kinds == kind]).eer
        figures[name] = {"metric": float(np.mean(list(eers.values()))), **eers}
    best = min(figures, key=lambda n: figures[n]["metric"])
    return {"aggregate": best, **figures[best]}


def score(val: Sequence[SignatureSample], emb: np.ndarray) -> dict[str, float | str]:
    """The fold's validation figures of one set of embeddings, with the aggregate training would choose."""
    return figures(summaries_of(val, emb / np.linalg.norm(emb, axis=1, keepdims=True)))


def figures(by_agg: dict[str, dict[str, dict[str, float]]]) -> dict[str, float | str]:
    """One row: the metric with the aggregate training would choose, and the four EERs under it."""
    agg, metrics = best_aggregate(by_agg)
    s = by_agg[agg]
    dutch = s.get(DUTCH, {"skilled_eer": float("nan"), "random_eer": float("nan")})
    return {"aggregate": agg, "metric": metrics[agg],
            "cedar_skilled": s["cedar"]["skilled_eer"], "cedar_random": s["cedar"]["random_eer"],
            "svc_random": s["svc2004"]["random_eer"], "svc_skilled": s["svc2004"]["skilled_eer"],
            "dutch_skilled": dutch["skilled_eer"], "dutch_random": dutch["random_eer"]}


def spread(val: Sequence[SignatureSample], emb: np.ndarray) -> tuple[float, float, float]:
    """Median cosine distance of genuine pairs, genuine-vs-own-skilled-forgery pairs, and two signers' genuine."""
    emb = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    d = 1.0 - emb @ emb.T
    key = np.array([s.key for s in val])
    gen = np.array([s.genuine for s in val])
    same = key[:, None] == key[None]
    off = ~np.eye(len(val), dtype=bool)
    pairs = (same & gen[:, None] & gen[None] & off, same & gen[:, None] & ~gen[None],
             ~same & gen[:, None] & gen[None])
    return tuple(float(np.median(d[p])) for p in pairs)  # type: ignore[return-value]


def methods(fold: Fold, epoch: int, partners: Sequence[Fold] = ()) -> dict[str, Callable[[], np.ndarray]]:
    first = max(1, epoch - 4)
    out: dict[str, Callable[[], np.ndarray]] = {
        f"epoch {epoch}": lambda: fold.embed(fold.model(epoch)),
        f"snapshot {first}-{epoch}": lambda: sum(fold.embed(fold.model(e)) for e in range(first, epoch + 1)),
        f"swa {first}-{epoch}": lambda: fold.embed(fold.swa(range(first, epoch + 1))),
        f"tta {epoch}": lambda: sum(fold.embed(fold.model(epoch), [warp(s.ink, a, k) for s in fold.val])
                                    for a, k in TTA_WARPS),
        f"wccn {epoch}": lambda: fold.projected(epoch, dims=fold.cfg.embedding_dim, whiten_only=True),
        f"lda32 {epoch}": lambda: fold.projected(epoch, dims=32),
        f"flda32 {epoch}": lambda: fold.projected(epoch, dims=32, forgery_weight=1.0),
        f"hyb20 {epoch}": lambda: fold.embed(HybridSignatureEncoder(fold.model(epoch), cnn_weight=0.8,
                                                                    hog_cell=fold.cfg.hog_cell).eval()),
        f"hyb40 {epoch}": lambda: fold.embed(HybridSignatureEncoder(fold.model(epoch), cnn_weight=0.6,
                                                                    hog_cell=fold.cfg.hog_cell).eval()),
    }
    if partners:
        out[f"ens {epoch}"] = lambda: fold.embed(
            EnsembleEncoder([fold.model(epoch)] + [p.model(epoch) for p in partners]).eval())
    return out


def cohort_methods(fold: Fold, epoch: int) -> dict[str, Callable[[], dict[str, Scorer]]]:
    """Score-level methods: the epoch's embeddings, scored per claimed subject against the training cohort."""
    return {
        f"znorm {epoch}": lambda: znorm_scorers(fold.cohort(epoch)),
        f"wdlin {epoch}": lambda: svm_scorer(fold.cohort(epoch), "linear"),
        f"wdrbf {epoch}": lambda: svm_scorer(fold.cohort(epoch), "rbf"),
    }


def rows(fold: Fold, epoch: int, partners: Sequence[Fold] = ()) -> dict[str, Callable[[], dict[str, float | str]]]:
    """Every method's row of figures for one fold, computed when called (``ens`` only with partner folds).
    A pair network (no embedding) has the ``epoch`` row only."""
    if fold.cfg.backbone == PAIR_BACKBONE:
        return {f"epoch {epoch}": lambda: figures(pair_summaries(
            fold.model(epoch), fold.val, height=fold.cfg.input_height, width=fold.cfg.input_width))}
    out: dict[str, Callable[[], dict[str, float | str]]] = {
        name: (lambda run=run: score(fold.val, run())) for name, run in methods(fold, epoch, partners).items()}
    out.update({name: (lambda make=make: rescore(fold.val, fold.embed(fold.model(epoch)), make()))
                for name, make in cohort_methods(fold, epoch).items()})
    for fuse in (False, True):
        out[f"{'fuse' if fuse else 'local'} {epoch}"] = lambda fuse=fuse: _local_row(fold, epoch, fuse=fuse)
    out["dtw"] = lambda: _dtw_row(fold)
    out[f"pen {epoch}"] = lambda: _pen_row(fold, epoch)
    return out


def pen_scores(fold: Fold) -> ProtocolScores:
    """The DTW scores of the fold's SVC2004 validation users' pen recordings (no training: computed once)."""
    if fold.pen is None:
        fold.pen = svc2004_v1_scores(fold.data, fold.cfg.svc_validation)
    return fold.pen


def _svc_eers(scores: ProtocolScores, aggregate: str) -> dict[str, float]:
    s = summarize(scores, aggregate)
    return {"svc_random": s["random_eer"], "svc_skilled": s["skilled_eer"]}


def _dtw_row(fold: Fold) -> dict[str, float | str]:
    """DTW alone on the SVC2004 users (CEDAR has no pen data: nan), with the aggregate best on them."""
    scores = pen_scores(fold)
    by = {agg: _svc_eers(scores, agg) for agg in PAIR_AGGREGATES}
    agg = min(by, key=lambda a: by[a]["svc_random"] + by[a]["svc_skilled"])
    return {"aggregate": agg, "metric": float("nan"), "cedar_skilled": float("nan"), "cedar_random": float("nan"),
            **by[agg]}


def _pen_row(fold: Fold, epoch: int) -> dict[str, float | str]:
    """The image encoder for scans (CEDAR, as the ``epoch`` row) and, for pen signatures (SVC2004), its
    ``normalized`` distance fused with DTW's (``evaluation.pen.fuse_scores``, equal weights)."""
    emb = fold.embed(fold.model(epoch))
    row = score(fold.val, emb)
    svc = [i for i, s in enumerate(fold.val) if s.source == "svc2004"]
    image = protocol_scores([fold.val[i] for i in svc], emb[svc] / np.linalg.norm(emb[svc], axis=1, keepdims=True),
                            source="svc2004")
    row.update(_svc_eers(fuse_scores(image, pen_scores(fold)), "fused"))
    row["metric"] = float(np.mean([float(row[c]) for c in ("cedar_skilled", "cedar_random", "svc_random",
                                                              "svc_skilled")]))
    return row


def _local_row(fold: Fold, epoch: int, *, fuse: bool) -> dict[str, float | str]:
    model = fold.model(epoch)
    h, w = fold.cfg.input_height, fold.cfg.input_width
    with torch.no_grad():
        _, channels, gh, gw = model.features(torch.zeros(1, 1, h, w)).shape
    return rescore(fold.val, local_features(fold, model),
                   local_scorers(fold.cfg.embedding_dim, channels, (gh, gw), fuse=fuse))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, required=True, help="the cross-validation folder (<out_dir> of the config)")
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--epoch", type=int, default=12)
    ap.add_argument("--data", type=Path, default=sigdata.default_data_root())
    ap.add_argument("--spread", action="store_true", help="also print the embedding spread of each fold")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--methods", nargs="+", default=["epoch", "snapshot", "swa", "tta"],
                    help="which rows to compute (first word of the method names); also: wccn lda32 flda32 "
                         "hyb20 hyb40 znorm wdlin wdrbf local fuse ens")
    ap.add_argument("--ensemble", type=Path, nargs="+", default=[], metavar="OTHER_RUN",
                    help="other cross-validation folders over the same folds: the ens row ensembles them all")
    args = ap.parse_args()
    for run in (args.run, *args.ensemble):
        missing = [f for f in range(1, args.folds + 1)
                   if not (run / f"fold{f}of{args.folds}" / "config.json").is_file()]
        if missing:
            ap.error(f"{run} has no fold{missing[0]}of{args.folds}/config.json: train its folds first "
                     f"(biometrix train --config ... --folds {args.folds})")
    torch.set_num_threads(args.threads)
    with_dutch = bool(json.loads((args.run / f"fold1of{args.folds}" / "config.json").read_text()).get(
        "dutch_validation"))
    cols = ("metric", "cedar_skilled", "cedar_random", "svc_random", "svc_skilled",
            *(("dutch_skilled", "dutch_random") if with_dutch else ()))
    print(f"# {args.run}: validation EER (%) per fold; metric = mean of the {'six' if with_dutch else 'four'}, "
          "best aggregate")
    print(f"{'fold':4s} {'method':14s} {'aggregate':12s} " + " ".join(f"{c:>13s}" for c in cols))
    totals: dict[str, list[dict[str, float | str]]] = {}
    for f in range(1, args.folds + 1):
        fold = Fold(args.run / f"fold{f}of{args.folds}", args.data)
        partners = [Fold(other / f"fold{f}of{args.folds}", args.data) for other in args.ensemble]
        for partner in partners:
            if (partner.cfg.cedar_validation, partner.cfg.svc_validation, partner.cfg.dutch_validation) != (
                    fold.cfg.cedar_validation, fold.cfg.svc_validation, fold.cfg.dutch_validation):
                ap.error(f"{partner.folder} validates on other subjects than {fold.folder}")
        for name, run in rows(fold, args.epoch, partners).items():
            if name.split()[0] not in args.methods:
                continue
            row = run()
            totals.setdefault(name, []).append(row)
            print(f"{f:<4d} {name:14s} {row['aggregate']:12s} "
                  + " ".join(f"{100 * float(row[c]):13.2f}" for c in cols), flush=True)
            if args.spread and name.startswith("epoch"):
                g, s, o = spread(fold.val, fold.embed(fold.model(args.epoch)))
                print(f"     median cosine distance: genuine {g:.4f}  skilled forgery {s:.4f}  "
                      f"other signer {o:.4f}")
    print("# mean over folds")
    for name, done in totals.items():
        print(f"{'all':4s} {name:14s} {'':12s} "
              + " ".join(f"{100 * np.mean([float(r[c]) for r in done]):13.2f}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
