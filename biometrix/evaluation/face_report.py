"""Calibrate and measure a face model through the app's own FacePipeline: thresholds on validation subjects,
figures on held-out subjects, written into the model card."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import det_points, threshold_at_fmr
from biometrix.evaluation.faces import SPLITS, FaceScores, FaceSet, score_faces
from biometrix.runtime.model_card import ModelCard

log = logging.getLogger(__name__)

#: (set, split) pairs: where a face model's default threshold is set, and where it is measured.
VALIDATION = (("att", "validation"), ("att", "train"), ("yaleb", "validation"), ("yaleb", "train"))
HELDOUT = (("att", "heldout"), ("yaleb", "heldout"))


def embed_faces(embed: Callable[[np.ndarray], np.ndarray], faces: FaceSet, *, progress: bool = True
                ) -> tuple[list[np.ndarray | None], Counter]:
    """One embedding per image (None where the pipeline refuses it), and the refusal reasons counted."""
    reasons: Counter = Counter()
    out: list[np.ndarray | None] = []
    for img in tqdm(faces.load_all(), desc=f"{faces.source}", disable=not progress, leave=False):
        try:
            out.append(embed(img))
        except InvalidInput as err:
            reasons.update(getattr(err, "reasons", ()) or (type(err).__name__,))
            out.append(None)
    return out, reasons


def measure(embed: Callable[[np.ndarray], np.ndarray], root: Path, sets: Sequence[tuple[str, str]], *,
            aggregate: str = "mean", progress: bool = True) -> dict[str, tuple[FaceScores, Counter]]:
    """Score each (set, split) of ``sets`` -> {"att heldout": (scores, refusal reasons), ...}."""
    out = {}
    for source, split in sets:
        faces = FaceSet(source, root, SPLITS[source][split])
        embs, reasons = embed_faces(embed, faces, progress=progress)
        out[f"{source} {split}"] = (score_faces(faces.records, embs, aggregate=aggregate), reasons)
    return out


def describe(name: str, scores: FaceScores, reasons: Counter) -> dict[str, Any]:
    s = scores.summary()
    subjects = SPLITS[name.split()[0]][name.split()[1]]
    return {**s, "subjects": f"{name.split()[0]} {subjects[0]}-{subjects[-1]}", "fta_reasons": dict(reasons)}


def calibrate_card(card: ModelCard, embed: Callable[[np.ndarray], np.ndarray], root: Path, *,
                   target_fmr: float = 0.01, validation: Sequence[tuple[str, str]] = VALIDATION,
                   heldout: Sequence[tuple[str, str]] = HELDOUT, command: str = "",
                   progress: bool = True) -> ModelCard:
    """A copy of ``card`` whose default threshold is set at ``target_fmr`` on the validation subjects'
    impostor comparisons, and whose ``evaluation`` holds the held-out figures measured with it."""
    val = measure(embed, root, validation, aggregate=card.aggregate, progress=progress)
    impostor = np.concatenate([s.impostor[np.isfinite(s.impostor)] for s, _ in val.values()])
    genuine = np.concatenate([s.genuine[np.isfinite(s.genuine)] for s, _ in val.values()])
    value = threshold_at_fmr(impostor=impostor, target_fmr=target_fmr)
    names = ", ".join(val)
    det = det_points(genuine=genuine, impostor=impostor, keep_thresholds=(value,))
    det["source"] = (f"validation subjects ({names}) through the app's FacePipeline, aggregate {card.aggregate}; "
                     f"comparisons with a failure to acquire on either side excluded")
    held = measure(embed, root, heldout, aggregate=card.aggregate, progress=progress)
    raw = card.to_dict()
    raw["thresholds"] = [{"name": "default", "value": value, "target_fmr": target_fmr,
                          "source": f"FMR {100 * target_fmr:g} % on the impostor comparisons of validation "
                                    f"subjects ({names}; {len(impostor)} comparisons)"}]
    raw["evaluation"] = {
        "protocol": "../shared/design/EVALUATION.md (5 references; failures to acquire count as rejections)",
        "command": command,
        "validation": {k: describe(k, *v) for k, v in val.items()},
        "heldout": {k: describe(k, *v) for k, v in held.items()},
        "validation_det": det,
    }
    for k, (s, _) in held.items():
        log.info("%s: EER %.2f %%, rank-1 %.2f %%, FTA %d/%d", k, 100 * s.summary()["eer"],
                 100 * s.summary()["rank1"], s.fta, s.n_samples)
    return ModelCard.from_dict(raw, source=f"card of {card.model_id}")


def card_summary(evaluation: Mapping[str, Any]) -> list[str]:
    """Lines for a terminal: the held-out figures of a calibrated face card."""
    return [f"  {k}: EER {100 * e['eer']:.2f} % ({e['n_genuine']} genuine / {e['n_impostor']} impostor), "
            f"rank-1 {100 * e['rank1']:.2f} %, FTA {e['fta']}/{e['n_samples']}; on the acquired samples only: "
            f"EER {100 * e.get('eer_acquired', float('nan')):.2f} % ({e.get('n_genuine_acquired', 0)} / "
            f"{e.get('n_impostor_acquired', 0)})"
            for k, e in evaluation.get("heldout", {}).items()]
