"""Turn a face training checkpoint into a shipped face model: ONNX + card, calibrated on validation subjects,
measured on held-out subjects, beside a raw-pixel baseline measured the same way.

Steps: export to ONNX and check parity with torch; load it through the app's own runtime (OnnxEncoder +
FacePipeline + the MTCNN detector the card names); on the validation subjects (AT&T and Extended Yale B)
set the default threshold at FMR 1 %; then, with everything frozen, measure the held-out subjects of
each set under its EVALUATION.md protocol. The raw-pixel baseline embeds the very same aligned grey chips
as flattened pixel vectors (cosine distance), so its FTA and counts are the model's.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from biometrix.core.errors import InvalidInput, LowQuality
from biometrix.core.metrics import threshold_at_fmr
from biometrix.evaluation.datasets import default_data_root
from biometrix.evaluation.faces import SPLITS, FaceScores, FaceSet, score_faces
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.face_detector import make_detector
from biometrix.runtime.model_card import ModelCard, sha256_file
from biometrix.runtime.pipelines import FacePipeline
from biometrix.training.export import check_parity, export_onnx
from biometrix.training.face_train import PIXEL_MEAN, PIXEL_STD, SOURCES, FaceTrainConfig, build_face_model

log = logging.getLogger(__name__)

DEFAULT_TARGET_FMR = 0.01
PROTOCOL = ("../shared/design/EVALUATION.md: AT&T references images 1-5, probes 6-10; Extended Yale B references "
            "the 5 images lit nearest to the front, probes all others; impostors = each probe against every other "
            "subject of the same set and split; cosine distance, mean over the 5 references; a refused image "
            "(no face / low quality) is a failure to acquire and counts as a rejection")


def load_face_checkpoint(checkpoint: Path) -> dict[str, Any]:
    """The checkpoint with its "config" (last.pt keeps the training state; its config lies beside it)."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if "config" not in ck:
        ck["config"] = json.loads((Path(checkpoint).parent / "config.json").read_text())
        ck["epoch"] = ck.get("state", {}).get("epoch")
    return ck


def _card_dict(cfg: FaceTrainConfig, model_id: str, sha: str, *, thresholds: list[dict[str, Any]],
               training: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "modality": "face",
        "onnx_file": f"{model_id}.onnx",
        "sha256": sha,
        "input_name": "input",
        "input_shape": [1, cfg.chip_size, cfg.chip_size],
        "input_dtype": "float32",
        "normalization": {"mean": PIXEL_MEAN, "std": PIXEL_STD},
        "embedding_dim": cfg.embedding_dim,
        "distance": "cosine",
        "aggregate": "mean",
        "thresholds": thresholds,
        "preprocessing": {"kind": "face-chip", "detector": cfg.detector, "template": cfg.template,
                          "channels": cfg.channels, "pixel_range": [0, 255],
                          "note": "grey chip of the arcface-112 geometry scaled to the input size; the graph "
                                  "standardises each chip (zero mean, unit variance) itself"},
        "training": training,
        "evaluation": evaluation,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


class _Embedded:
    """One source and split run through the pipeline: the model's and the raw pixels' embeddings per record."""

    def __init__(self, pipe: FacePipeline, source: str, root: Path, subjects: Sequence[int], *,
                 progress: bool) -> None:
        faces = FaceSet(source, root, subjects)
        self.source, self.subjects, self.records = source, tuple(subjects), faces.records
        chips: list[np.ndarray] = []
        accepted: list[int] = []
        self.refused: Counter[str] = Counter()
        for i, img in enumerate(tqdm(faces.load_all(), desc=f"{source} {subjects[0]}-{subjects[-1]}",
                                     disable=not progress, leave=False)):
            try:
                chips.append(pipe.chip(img, pipe.detect(img)))
                accepted.append(i)
            except LowQuality as err:
                self.refused.update(err.reasons or ("refused",))
        model = pipe.embed_chips(chips) if chips else np.zeros((0, pipe.card.embedding_dim), np.float32)
        flat = np.stack(chips).reshape(len(chips), -1).astype(np.float32) if chips else np.zeros((0, 1), np.float32)
        flat /= np.maximum(np.linalg.norm(flat, axis=1, keepdims=True), 1e-12)
        self.accepted = accepted
        self.model: list[np.ndarray | None] = [None] * len(self.records)
        self.pixels: list[np.ndarray | None] = [None] * len(self.records)
        for row, i in enumerate(accepted):
            self.model[i], self.pixels[i] = model[row], flat[row]

    def scores(self, which: str, *, acquired_only: bool = False) -> FaceScores:
        """The protocol's scores of "model" or "pixels"; ``acquired_only``: among the accepted images alone."""
        emb = self.model if which == "model" else self.pixels
        if acquired_only:
            return score_faces([self.records[i] for i in self.accepted], [emb[i] for i in self.accepted])
        return score_faces(self.records, emb)

    def label(self) -> str:
        prefix = "s" if self.source == "att" else "yaleB"
        return f"{prefix}{self.subjects[0]}-{prefix}{self.subjects[-1]}"


def _summary(e: _Embedded, which: str) -> dict[str, Any]:
    """The protocol's figures (a refused image counts as a rejection), and the same among acquired images.

    When more than half of a set's probes are refused (Yale B's side-lit images), no threshold can bring
    FNMR below FMR and the protocol EER sits at 50 % whatever the encoder; "acquired_only" then says what
    the encoder does with the faces the detector accepted.
    """
    out: dict[str, Any] = {"subjects": e.label(), "references_per_subject": 5}
    out.update(e.scores(which).summary())
    out["fta_reasons"] = dict(e.refused)
    acquired = e.scores(which, acquired_only=True).summary()
    out["acquired_only"] = {k: acquired[k] for k in ("eer", "eer_threshold", "fnmr_at_fmr1", "rank1", "n_genuine",
                                                     "n_impostor", "n_probes", "n_subjects")}
    return out


def _at_threshold(s: FaceScores, threshold: float) -> dict[str, float]:
    """FMR and FNMR at a frozen threshold; a failed sample's inf distance is a rejection."""
    return {"threshold": threshold, "fmr": float(np.mean(s.impostor <= threshold)),
            "fnmr": float(np.mean(~(s.genuine <= threshold)))}


def release_face_model(checkpoint: Path, *, model_id: str, out_dir: Path, data_root: Path | None = None,
                       target_fmr: float = DEFAULT_TARGET_FMR, progress: bool = True,
                       sources: Mapping[str, tuple[Sequence[int], Sequence[int]]] | None = None) -> ModelCard:
    """Export, calibrate on validation subjects, evaluate held-out subjects; write ``<model_id>.onnx`` + card.

    ``sources`` maps "att" / "yaleb" to (validation subjects, held-out subjects); by default the checkpoint's
    validation subjects and the protocol's held-out subjects of both sets.
    """
    root = Path(data_root) if data_root else default_data_root()
    ck = load_face_checkpoint(Path(checkpoint))
    cfg = FaceTrainConfig.from_dict(ck["config"])
    if sources is None:
        sources = {s: (cfg.subjects(s, "validation"), SPLITS[s]["heldout"]) for s in SOURCES}
    for source, (validation, held) in sources.items():
        if source not in SOURCES or not validation or not held:
            raise InvalidInput(f"sources: {source!r} needs validation and held-out subjects of 'att' or 'yaleb'")
        trained = set(cfg.subjects(source, "train")) | set(cfg.subjects(source, "validation"))
        if trained & set(held):
            raise InvalidInput(f"{source}: subjects {sorted(trained & set(held))} were trained or validated on; "
                               "they cannot be held out")
    model = build_face_model(cfg)
    model.load_state_dict(ck["model"])
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{model_id}.onnx"
    shape = (1, cfg.chip_size, cfg.chip_size)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_onnx = Path(tmp) / "model.onnx"
        export_onnx(model, tmp_onnx, input_shape=shape)
        rng = np.random.default_rng(0)
        probe = ((rng.random((8, *shape)) * 255 - PIXEL_MEAN) / PIXEL_STD).astype(np.float32)
        parity = check_parity(model, tmp_onnx, probe)
        onnx_path.write_bytes(tmp_onnx.read_bytes())
    sha = sha256_file(onnx_path)
    config = dict(ck["config"])
    training = {
        "checkpoint_epoch": ck.get("epoch"),
        "architecture": f"FaceCNN (biometrix.training.encoder; width {cfg.width}, {cfg.grid}x{cfg.grid} pooled "
                        f"grid, {cfg.embedding_dim}-d, per-chip standardisation inside the graph)",
        "loss": f"{cfg.loss} {cfg.loss_options} on PK batches ({cfg.p} subjects x {cfg.k} chips)",
        "augmentation": "shift, rotation, scale, mirror; gamma, contrast, brightness, directional shading "
                        "(biometrix.training.face_train.augment_chip)" if cfg.augment else "none",
        "config": config,
        "data": "AT&T faces (../shared/data/att_faces) and Extended Yale B cropped "
                "(../shared/data/extended_yaleb_cropped), subject-disjoint",
        "train_subjects": {"att": cfg.att_train, "yaleb": cfg.yaleb_train},
        "validation_subjects": {"att": cfg.att_validation, "yaleb": cfg.yaleb_validation},
        "heldout_subjects": {s: list(held) for s, (_, held) in sources.items()},
        "chips": ck.get("chips", {}),
        "checkpoint_validation": ck.get("validation", {}),
        "onnx_parity_max_abs_diff": parity,
    }
    provisional = [{"name": "default", "value": 0.5, "target_fmr": None, "source": "provisional"}]
    card = ModelCard.from_dict(_card_dict(cfg, model_id, sha, thresholds=provisional, training=training,
                                          evaluation={}))
    pipe = FacePipeline(OnnxEncoder(card, onnx_path, prefer_gpu=False, intra_op_threads=cfg.threads),
                        make_detector(cfg.detector))

    # --- validation: the default threshold -----------------------------------------------------------
    val = {s: _Embedded(pipe, s, root, v, progress=progress) for s, (v, _) in sources.items()}
    val_scores = {s: e.scores("model") for s, e in val.items()}
    impostor = np.concatenate([sc.impostor[np.isfinite(sc.impostor)] for sc in val_scores.values()])
    threshold = threshold_at_fmr(impostor=impostor, target_fmr=target_fmr)
    named = ", ".join(f"{'AT&T' if s == 'att' else 'Extended Yale B'} {e.label()}" for s, e in val.items())
    thresholds = [{"name": "default", "value": threshold, "target_fmr": target_fmr,
                   "source": f"FMR {100 * target_fmr:g} % on the validation subjects ({named}; {impostor.size} "
                             "impostor comparisons between acquired samples)"}]
    log.info("default threshold %.4f at FMR %g on %d validation impostor comparisons", threshold, target_fmr,
             impostor.size)

    # --- held out: everything frozen ------------------------------------------------------------------
    command = f"biometrix export --checkpoint {checkpoint} --model-id {model_id}"
    evaluation: dict[str, Any] = {
        "protocol": PROTOCOL,
        "validation": {s: _summary(val[s], "model") | {"at_default_threshold": _at_threshold(sc, threshold)}
                       for s, sc in val_scores.items()},
        "heldout": {},
        "baseline_raw_pixels": {"method": "the same aligned grey chips flattened, L2-normalised, cosine distance "
                                          "(no learning), same detector, alignment and protocol",
                                "command": command, "heldout": {}},
        "command": command,
    }
    for source, (_, held) in sources.items():
        e = _Embedded(pipe, source, root, held, progress=progress)
        entry = _summary(e, "model")
        entry["at_default_threshold"] = _at_threshold(e.scores("model"), threshold)
        evaluation["heldout"][source] = entry
        evaluation["baseline_raw_pixels"]["heldout"][source] = _summary(e, "pixels")
        log.info("held-out %s: %s", source, entry)
    final = ModelCard.from_dict(_card_dict(cfg, model_id, sha, thresholds=thresholds, training=training,
                                           evaluation=evaluation))
    path = final.save(out_dir / f"{model_id}.json")
    loaded = ModelCard.load(path)  # read back as the app reads it, and its ONNX through the app's encoder
    OnnxEncoder(loaded, loaded.onnx_path(out_dir), prefer_gpu=False, intra_op_threads=1)
    return loaded
