"""Turn a training checkpoint into a shipped model: ONNX + card, calibrated on validation, measured held out.

Steps: export to ONNX and check parity with torch; load it through the app's own runtime
(OnnxEncoder + SignaturePipeline); on the validation subjects pick the aggregate (lowest mean EER)
and the default threshold (FMR = 1 % against skilled forgeries); then, with everything frozen,
measure the held-out subjects of each source. The card records all of it. A model trained with no
validation subjects takes a reference model's aggregate and transfers its thresholds instead
(``thresholds_from``; ``signature_calibration.transfer_thresholds``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import threshold_at_fmr
from biometrix.core.types import Modality
from biometrix.evaluation.datasets import (
    CEDAR_HELDOUT,
    SVC_HELDOUT,
    default_data_root,
)
from biometrix.evaluation.protocol import AGGREGATES, rates_at, summarize
from biometrix.evaluation.report import evaluate_pipeline, validation_det
from biometrix.evaluation.signature_calibration import (
    CAPTURE_SOURCE,
    capture_thresholds,
    leave_one_subject_out,
    source_scores,
    transfer_det,
    transfer_thresholds,
)
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import ModelCard, sha256_file
from biometrix.runtime.pipelines import SignaturePipeline
from biometrix.training.encoder import EnsembleEncoder
from biometrix.training.export import check_parity, export_onnx, round_to_fp16, store_weights_fp16
from biometrix.training.quantize import (
    DRIFT_OFFSET,
    MAX_DRIFT_FRACTION,
    STRIDE,
    QuantizationError,
    calibration_images,
    calibration_subjects,
    embedding_drift,
    quantize_int8,
)
from biometrix.training.train import PAIR_BACKBONE, TrainConfig, build_model

log = logging.getLogger(__name__)

DEFAULT_TARGET_FMR = 0.01


def _split_and_shape(cfg: TrainConfig) -> tuple[Any, ...]:
    return (cfg.input_height, cfg.input_width, cfg.cedar_train, cfg.cedar_validation, cfg.svc_train,
            cfg.svc_validation)


def _card_dict(cfg: TrainConfig, model_id: str, sha: str, *, embedding_dim: int, aggregate: str,
               thresholds: list[dict[str, Any]], training: dict[str, Any],
               evaluation: dict[str, Any]) -> dict[str, Any]:
    return {
        "model_id": model_id,
        "modality": "signature",
        "onnx_file": f"{model_id}.onnx",
        "sha256": sha,
        "input_name": "input",
        "input_shape": [1, cfg.input_height, cfg.input_width],
        "input_dtype": "float32",
        "normalization": {"mean": 0.0, "std": 1.0},
        "embedding_dim": embedding_dim,
        "distance": "cosine",
        "aggregate": aggregate,
        "thresholds": thresholds,
        "preprocessing": {"kind": "signature-v1", "steps": ["grey", "median3", "otsu", "despeck", "crop", "pad",
                                                            "area-resize"], "ink": 1.0, "paper": 0.0},
        "training": training,
        "evaluation": evaluation,
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


def _load_member(checkpoint: Path, hog_weight: float | None) -> tuple[TrainConfig, torch.nn.Module, Any]:
    """The config, the eval-mode encoder and the epoch of one training checkpoint."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if "config" not in ck:  # last.pt keeps the training state; the config lies beside it
        ck["config"] = json.loads((checkpoint.parent / "config.json").read_text())
        ck["epoch"] = ck.get("state", {}).get("epoch")
    if hog_weight is not None:
        ck["config"]["hog_weight"] = hog_weight
    cfg = TrainConfig(**ck["config"])
    if cfg.backbone == PAIR_BACKBONE:
        raise InvalidInput(f"{checkpoint} is a 2-channel pair network: it scores pairs and has no embedding, and "
                           "a released signature model is an encoder (templates, 1:N); it cannot be released")
    model = build_model(cfg)
    if cfg.hog_weight > 0 and not any(k.startswith("cnn.") for k in ck["model"]):
        model.cnn.load_state_dict(ck["model"])  # a plain CNN checkpoint inside the hybrid
    else:
        model.load_state_dict(ck["model"])
    return cfg, model.eval(), ck.get("epoch")


def _architecture(cfg: TrainConfig) -> str:
    texture = f", {cfg.texture_channels}-channel covariance pooling" if cfg.texture_channels else ""
    if cfg.hog_weight <= 0:
        return f"SignatureCNN (width {cfg.width}, {cfg.embedding_dim}-d{texture})"
    return (f"HybridSignatureEncoder: SignatureCNN (width {cfg.width}, {cfg.embedding_dim}-d{texture}, weight "
            f"{1 - cfg.hog_weight:g}) + fixed HOG ({cfg.hog_cell}-px cells, weight {cfg.hog_weight:g})")


def _loss(cfg: TrainConfig) -> str:
    if cfg.loss == "contrastive_pairs":
        return f"contrastive (margin {cfg.margin}), balanced pairs with skilled forgeries among negatives"
    return f"{cfg.loss} {cfg.loss_options}"


def _member_config(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(cfg).items() if not k.startswith(("cedar_", "svc_"))}


PROTOCOL = ("../shared/design/EVALUATION.md: references genuine 1-5; skilled = the subject's forgeries; "
            "random = one genuine of every other subject of the same set; cosine distance")


def _calibrate_on_validation(embed: Any, dim: int, cfg: TrainConfig, root: Path, *, target_fmr: float,
                             progress: bool) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Choose the aggregate (lowest mean EER) and set every threshold on the validation subjects."""
    subjects = {"cedar": cfg.cedar_validation, "svc2004": cfg.svc_validation}
    val_scores = source_scores(embed, dim, root, subjects, progress=progress)
    mean_eer = {a: float(np.mean([summarize(s, a)[k] for s in val_scores for k in ("skilled_eer", "random_eer")]))
                for a in AGGREGATES}
    aggregate = min(mean_eer, key=mean_eer.__getitem__)
    skilled = np.concatenate([s.scores("skilled", aggregate) for s in val_scores])
    random_ = np.concatenate([s.scores("random", aggregate) for s in val_scores])
    thr_skilled = threshold_at_fmr(impostor=skilled, target_fmr=target_fmr)
    thr_random = threshold_at_fmr(impostor=random_, target_fmr=target_fmr)
    val_source = (f"FMR {100 * target_fmr:g} % against {{}} forgeries of validation subjects "
                  f"(CEDAR {cfg.cedar_validation[0]}-{cfg.cedar_validation[-1]}, "
                  f"SVC2004 {cfg.svc_validation[0]}-{cfg.svc_validation[-1]}; {{}} impostor comparisons)")
    thresholds = [
        {"name": "default", "value": thr_skilled, "target_fmr": target_fmr,
         "source": val_source.format("skilled", skilled.size)},
        {"name": "random_fmr1", "value": thr_random, "target_fmr": target_fmr,
         "source": val_source.format("random", random_.size)},
        *capture_thresholds(val_scores, aggregate, target_fmr=target_fmr, subjects=subjects),
    ]
    log.info("validation mean EER by aggregate: %s -> %s; thresholds %.4f (skilled) %.4f (random)",
             mean_eer, aggregate, thr_skilled, thr_random)
    evaluation: dict[str, Any] = {
        "protocol": PROTOCOL,
        "validation": {"mean_eer_by_aggregate": mean_eer, "aggregate": aggregate,
                       "by_source": {s.source: summarize(s, aggregate) for s in val_scores}},
        # the curve the default threshold was set on, for the Settings page
        "validation_det": validation_det(val_scores, aggregate, cedar=cfg.cedar_validation, svc=cfg.svc_validation,
                                         keep_thresholds=(thr_skilled, thr_random)),
        "capture_calibration": {"command": "biometrix export", "target_fmr": target_fmr, "aggregate": aggregate,
                                "validation_leave_one_subject_out": leave_one_subject_out(
                                    val_scores, aggregate, target_fmr=target_fmr)},
    }
    return aggregate, thresholds, evaluation


class _Reference:
    """The model whose validation thresholds a model trained with no validation subjects takes over: its card,
    its encoder (sha256 checked against the card) and the trained-on subjects both models share. Made before
    anything is written, so a wrong or tampered reference costs nothing."""

    def __init__(self, card_path: Path, cfg: TrainConfig) -> None:
        if not card_path.is_file():
            raise InvalidInput(f"--thresholds-from {card_path}: no such model card")
        self.card = ModelCard.load(card_path)
        if self.card.modality != Modality.SIGNATURE:
            raise InvalidInput(f"--thresholds-from {card_path}: a signature model's card is needed, got a "
                               f"{self.card.modality.value} model")
        trained = self.card.training or {}
        self.subjects = {"cedar": sorted(set(cfg.cedar_train) & set(trained.get("train_subjects", []))),
                         "svc2004": sorted(set(cfg.svc_train) & set(trained.get("svc2004_train_users", [])))}
        if not all(self.subjects.values()):
            raise InvalidInput(f"--thresholds-from {card_path}: the two models share no trained-on subjects of "
                               f"{' and '.join(k for k, v in self.subjects.items() if not v)}")
        self.pipe = SignaturePipeline(OnnxEncoder(self.card, self.card.onnx_path(card_path.parent),
                                                  prefer_gpu=False))


def _transfer_from(ref: _Reference, embed: Any, dim: int, root: Path, *,
                   progress: bool) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """The reference card's aggregate, and its thresholds transferred to the new model on the subjects both
    trained on (``signature_calibration.transfer_thresholds``)."""
    reference, subjects = ref.card, ref.subjects
    ref_scores = source_scores(ref.pipe.embed, reference.embedding_dim, root, subjects, progress=progress)
    new_scores = source_scores(embed, dim, root, subjects, progress=progress)
    thresholds, record = transfer_thresholds(reference, ref_scores, new_scores, aggregate=reference.aggregate,
                                             subjects=subjects)
    log.info("thresholds transferred from %s: %s", reference.model_id, record["thresholds"])
    evaluation: dict[str, Any] = {"protocol": PROTOCOL, "threshold_transfer": record}
    det = transfer_det(reference, record["thresholds"]["default"]["ratio"])
    if det is not None:  # for the Settings page's target FMR
        evaluation["validation_det"] = det
    return reference.aggregate, thresholds, evaluation


def release_signature_model(checkpoint: Path | Sequence[Path], *, model_id: str, out_dir: Path,
                            data_root: Path | None = None, target_fmr: float = DEFAULT_TARGET_FMR,
                            progress: bool = True, hog_weight: float | None = None,
                            fp16_weights: bool = False, thresholds_from: Path | None = None,
                            int8: bool = False) -> ModelCard:
    """Export, calibrate on validation subjects, evaluate on held-out subjects, write ONNX + card.

    Several checkpoints make one ``EnsembleEncoder`` (their cosine similarities averaged); they must share
    the input size and the training/validation subjects, so that every figure stays subject-disjoint.
    ``hog_weight`` overrides the checkpoint's: a CNN trained alone can be shipped inside the hybrid
    encoder (learned CNN + fixed HOG), with that weight chosen on validation subjects. ``fp16_weights``
    stores the weights as float16 (half the file; the model is rounded to them before anything is measured).
    Checkpoints trained with no validation subjects need ``thresholds_from``: the card of a model of the same
    recipe whose thresholds were set on validation subjects; its aggregate is used and its thresholds are
    transferred (``signature_calibration.transfer_thresholds``). ``int8`` ships the static int8 quantization of
    the exported file, calibrated on training subjects (``training.quantize``); thresholds and held-out figures
    are then measured on it, and the export is refused when int8 moves an embedding of a training subject by
    more than ``MAX_DRIFT_FRACTION`` of the default threshold. Nothing is written to ``out_dir`` unless every
    step succeeds.
    """
    root = data_root or default_data_root()
    checkpoints = [Path(checkpoint)] if isinstance(checkpoint, (str, Path)) else [Path(c) for c in checkpoint]
    members = [_load_member(c, hog_weight) for c in checkpoints]
    cfg = members[0][0]
    for path, (other, _, _) in zip(checkpoints[1:], members[1:], strict=True):
        if _split_and_shape(other) != _split_and_shape(cfg):
            raise InvalidInput(f"{path} was trained on other subjects or another input size than "
                               f"{checkpoints[0]}: an ensemble's members must share both")
    if cfg.cedar_validation and thresholds_from is not None:
        raise InvalidInput("--thresholds-from is for models trained with no validation subjects; these have "
                           "validation subjects, and their thresholds are set on them")
    if not cfg.cedar_validation and thresholds_from is None:
        raise InvalidInput("the checkpoints were trained with no validation subjects, so no threshold can be set on "
                           "them: give --thresholds-from CARD, a model of the same recipe whose thresholds were set "
                           "on validation subjects")
    reference = _Reference(Path(thresholds_from), cfg) if thresholds_from is not None else None
    model = members[0][1] if len(members) == 1 else EnsembleEncoder([m for _, m, _ in members]).eval()
    if fp16_weights:
        round_to_fp16(model)
    with tempfile.TemporaryDirectory() as tmp:
        card = _release(model, members, cfg, checkpoints, Path(tmp), model_id=model_id, root=root,
                        target_fmr=target_fmr, progress=progress, hog_weight=hog_weight, fp16_weights=fp16_weights,
                        thresholds_from=thresholds_from, reference=reference, int8=int8)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / card.onnx_file).write_bytes((Path(tmp) / card.onnx_file).read_bytes())
        card.save(out_dir / f"{model_id}.json")
    return card


def _release(model: torch.nn.Module, members: list[Any], cfg: TrainConfig, checkpoints: list[Path], tmp: Path, *,
             model_id: str, root: Path, target_fmr: float, progress: bool, hog_weight: float | None,
             fp16_weights: bool, thresholds_from: Path | None, reference: _Reference | None,
             int8: bool) -> ModelCard:
    """``release_signature_model``'s work in the folder ``tmp``: the ONNX file and the card to ship."""
    onnx_path = tmp / f"{model_id}.onnx"
    float_onnx = tmp / "float32.onnx"
    export_onnx(model, float_onnx, input_shape=(1, cfg.input_height, cfg.input_width))
    if fp16_weights:
        store_weights_fp16(float_onnx)
    rng = np.random.default_rng(0)
    probe = (rng.random((8, 1, cfg.input_height, cfg.input_width)) > 0.9).astype(np.float32)
    parity = check_parity(model, float_onnx, probe)
    quantization: dict[str, Any] | None = None
    if int8:
        subjects = calibration_subjects(cfg.cedar_train, cfg.svc_train)
        calib, drift_images = calibration_images(root, subjects, height=cfg.input_height, width=cfg.input_width)
        quantize_int8(float_onnx, onnx_path, calib)
        drift = embedding_drift(float_onnx, onnx_path, drift_images)
        quantization = _quantization_record(subjects, len(calib), drift, parity)
    else:
        float_onnx.rename(onnx_path)
    sha = sha256_file(onnx_path)
    with torch.no_grad():
        dim = int(model(torch.from_numpy(probe[:1])).shape[1])
    losses = dict.fromkeys(_loss(c) for c, _, _ in members)  # each distinct loss once, in member order
    training: dict[str, Any] = {
        "checkpoint_epoch": members[0][2],
        "loss": "; ".join(losses),
        "architecture": _architecture(cfg),
        "config": _member_config(cfg),
    }
    if len(members) > 1:
        training.update({
            "checkpoint_epoch": [epoch for _, _, epoch in members],
            "architecture": f"EnsembleEncoder of {len(members)} (cosine similarities averaged): "
                            + "; ".join(_architecture(c) for c, _, _ in members),
            "config": [_member_config(c) for c, _, _ in members],
            "checkpoints": [str(c) for c in checkpoints],
        })
    training.update({
        "weights": _weights(fp16_weights, int8),
        "train_subjects": list(cfg.cedar_train),
        "validation_subjects": list(cfg.cedar_validation),
        "heldout_subjects": list(CEDAR_HELDOUT),
        "svc2004_train_users": list(cfg.svc_train),
        "svc2004_validation_users": list(cfg.svc_validation),
        "svc2004_heldout_users": list(SVC_HELDOUT),
        "data": "CEDAR (half resolution, ../shared/data/cedar) and SVC2004 task 2 rendered by capture.pen.rasterize",
        "onnx_parity_max_abs_diff": parity,
    })
    if quantization is not None:
        training["quantization"] = quantization
    provisional = [{"name": "default", "value": 0.5, "target_fmr": None, "source": "provisional"}]
    card = ModelCard.from_dict(_card_dict(cfg, model_id, sha, embedding_dim=dim, aggregate="mean",
                                          thresholds=provisional, training=training, evaluation={}))
    pipe = SignaturePipeline(OnnxEncoder(card, onnx_path, prefer_gpu=False))

    if reference is None:
        aggregate, thresholds, evaluation = _calibrate_on_validation(pipe.embed, dim, cfg, root,
                                                                     target_fmr=target_fmr, progress=progress)
    else:
        aggregate, thresholds, evaluation = _transfer_from(reference, pipe.embed, dim, root, progress=progress)
    thr_skilled = next(t["value"] for t in thresholds if t["name"] == "default")
    evaluation["command"] = (f"biometrix export --checkpoint {' '.join(str(c) for c in checkpoints)} --model-id "
                             f"{model_id}" + (f" --hog-weight {hog_weight:g}" if hog_weight is not None else "")
                             + (" --fp16-weights" if fp16_weights else "")
                             + (f" --thresholds-from {thresholds_from}" if thresholds_from is not None else "")
                             + (" --int8" if int8 else ""))
    if quantization is not None:
        drift = quantization["drift_cosine"]
        drift["max_fraction_of_default_threshold"] = drift["max"] / thr_skilled
        if drift["max"] > MAX_DRIFT_FRACTION * thr_skilled:
            raise QuantizationError(
                f"int8 moves an embedding of a training subject by {drift['max']:.3g} (cosine), "
                f"{100 * drift['max'] / thr_skilled:.0f} % of the default threshold {thr_skilled:.4g} (at most "
                f"{100 * MAX_DRIFT_FRACTION:.0f} %): not exported")

    # --- held out: everything frozen ----------------------------------------------------------------
    evaluation["heldout"] = {}
    captures = [t for t in thresholds if t["name"] in CAPTURE_SOURCE]
    capture_of_source = {CAPTURE_SOURCE[c["name"]]: c for c in captures}
    for source, subjects in (("cedar", CEDAR_HELDOUT), ("svc2004", SVC_HELDOUT)):
        rep, held_scores = evaluate_pipeline(pipe.embed, card.embedding_dim, model_id=model_id, source=source,
                                             root=root, subjects=subjects, aggregate=aggregate,
                                             threshold=thr_skilled, progress=progress)
        entry = dict(rep.summary)
        cap = capture_of_source[source]
        entry.update({"subjects": f"{subjects[0]}-{subjects[-1]}", "fta": rep.fta, "n_samples": rep.n_samples,
                      "at_default_threshold": rep.at_threshold, "eer_ci95_subject_bootstrap": rep.eer_ci95,
                      "at_capture_threshold": {"capture": cap["name"], "threshold": cap["value"],
                                               "in_use": cap["value"] < thr_skilled,
                                               "subjects": f"{subjects[0]}-{subjects[-1]}",
                                               **rates_at(held_scores, aggregate, cap["value"])}})
        evaluation["heldout"][source] = entry
        log.info("held-out %s: %s", source, entry)
    return ModelCard.from_dict(_card_dict(cfg, model_id, sha, embedding_dim=dim, aggregate=aggregate,
                                          thresholds=thresholds, training=training, evaluation=evaluation))


def _weights(fp16_weights: bool, int8: bool) -> str:
    if int8:
        return ("int8 (onnxruntime static quantization, QDQ: weights int8 per output channel restricted to 7 bits, "
                "activations uint8; "
                + ("from weights rounded to float16)" if fp16_weights else "from the float32 weights)"))
    return "float16 (rounded before export; computed in float32)" if fp16_weights else "float32"


def _quantization_record(subjects: dict[str, list[int]], n_calibration: int, drift: np.ndarray,
                         parity: float) -> dict[str, Any]:
    import onnxruntime

    return {
        "tool": f"onnxruntime {onnxruntime.__version__} quantize_static (QDQ, per-channel int8 weights in 7 bits "
                "(reduce_range: no uint8 x int8 saturation on CPUs without VNNI), uint8 activations, min-max "
                "calibration)",
        "calibration": {"cedar_subjects": subjects["cedar"], "svc2004_users": subjects["svc2004"],
                        "samples": f"every {STRIDE}th sample of these subjects in the data set's order, from the "
                                   "first",
                        "n_images": n_calibration, "kind": "training subjects only"},
        "drift_cosine": {"samples": f"every {STRIDE}th sample of the same subjects in the same order, from sample "
                                    f"{DRIFT_OFFSET + 1}",
                         "n_images": int(drift.size), "median": float(np.median(drift)),
                         "max": float(drift.max()), "limit_fraction_of_default_threshold": MAX_DRIFT_FRACTION},
        "float32_parity_max_abs_diff": parity,
    }
