"""One threshold per capture for a signature model: scans (CEDAR) and pen signatures (SVC2004) apart.

A single threshold set at FMR 1 % on the two sources' validation forgeries pooled is an average of two very
different operating points: `signature-v5`'s pooled default accepts 0.0 % of the CEDAR validation forgeries
and 3.0 % of the SVC2004 ones (FNMR 62.1 % and 73.3 %). A probe's capture is known when it arrives (an image
or pen strokes), so each capture gets the threshold set at the target FMR on its own source's validation
forgeries: ``scan`` on CEDAR, ``pen`` on SVC2004. ``ModelCard.capture_threshold`` uses a capture's own
threshold only where it is stricter than the pooled ``default``, which stays on the card for everything else:
a threshold loosened on one source's few validation subjects was seen not to hold on new signers.

A model trained on every development subject has no validation subjects: ``transfer_thresholds`` carries a
reference model's validation thresholds over to it by the ratio of the two models' thresholds on subjects both
trained on (``biometrix export --thresholds-from``), and ``transfer_det`` its validation DET curve.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import threshold_at_fmr
from biometrix.core.types import CAPTURES
from biometrix.evaluation.datasets import CEDAR_HELDOUT, SVC_HELDOUT
from biometrix.evaluation.protocol import ProtocolScores, protocol_scores
from biometrix.evaluation.report import embed_source, evaluate_pipeline
from biometrix.runtime.model_card import ModelCard

log = logging.getLogger(__name__)

#: The data set each capture is calibrated and measured on.
CAPTURE_SOURCE = {"scan": "cedar", "pen": "svc2004"}
SOURCE_NAME = {"cedar": "CEDAR", "svc2004": "SVC2004"}


def capture_thresholds(val_scores: Sequence[ProtocolScores], aggregate: str, *, target_fmr: float,
                       subjects: Mapping[str, Sequence[int]]) -> list[dict[str, Any]]:
    """The card entries of the ``scan`` and ``pen`` thresholds: each at ``target_fmr`` against the skilled
    forgeries of its own source's validation subjects (``subjects``: source -> subject numbers)."""
    by_source = {s.source: s for s in val_scores}
    out = []
    for capture in CAPTURES:
        source = CAPTURE_SOURCE[capture]
        impostor = by_source[source].scores("skilled", aggregate)
        subj = subjects[source]
        out.append({"name": capture, "value": threshold_at_fmr(impostor=impostor, target_fmr=target_fmr),
                    "target_fmr": target_fmr,
                    "source": f"{capture} probes: FMR {100 * target_fmr:g} % against skilled forgeries of "
                              f"validation subjects ({SOURCE_NAME[source]} {subj[0]}-{subj[-1]}; "
                              f"{impostor.size} impostor comparisons)"})
    return out


def leave_one_subject_out(val_scores: Sequence[ProtocolScores], aggregate: str, *, target_fmr: float
                          ) -> dict[str, dict[str, dict[str, float]]]:
    """How a threshold set on validation subjects holds on a subject it was not set on, without touching the
    held-out subjects: each validation subject in turn is left out, the threshold is set at ``target_fmr`` on
    the others' skilled forgeries, and the left-out subject's genuine probes and forgeries are judged by it.

    Two ways of setting it: ``pooled`` (both sources' forgeries, as the default is set) and ``per_source`` (the
    subject's own source only, as a capture threshold is). Returns {source: {way: {fmr, fnmr, n_skilled,
    n_genuine}}}, the errors summed over the left-out subjects."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for scores in val_scores:
        others = [s for s in val_scores if s is not scores]
        pooled_rest = np.concatenate([o.scores("skilled", aggregate) for o in others]) if others else np.empty(0)
        subjects = sorted({c.claimed for c in scores.comparisons})
        if len(subjects) < 2:
            raise InvalidInput(f"leaving a subject out needs at least 2 validation subjects of {scores.source}, "
                               f"got {len(subjects)}")
        figures = {}
        for way in ("pooled", "per_source"):
            false_match = false_non_match = n_skilled = n_genuine = 0
            for subject in subjects:
                rest = np.array([c.distances[aggregate] for c in scores.comparisons
                                 if c.kind == "skilled" and c.claimed != subject])
                impostor = np.concatenate([rest, pooled_rest]) if way == "pooled" else rest
                thr = threshold_at_fmr(impostor=impostor, target_fmr=target_fmr)
                mine = [c for c in scores.comparisons if c.claimed == subject]
                skilled = np.array([c.distances[aggregate] for c in mine if c.kind == "skilled"])
                genuine = np.array([c.distances[aggregate] for c in mine if c.kind == "genuine"])
                false_match += int(np.sum(skilled <= thr))
                false_non_match += int(np.sum(genuine > thr))
                n_skilled += skilled.size
                n_genuine += genuine.size
            figures[way] = {"fmr": false_match / max(n_skilled, 1), "fnmr": false_non_match / max(n_genuine, 1),
                            "n_skilled": n_skilled, "n_genuine": n_genuine}
        out[scores.source] = figures
    return out


def with_capture_thresholds(raw: dict[str, Any], entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A card dict whose thresholds are its own, less any old ``scan`` / ``pen`` ones, plus ``entries``."""
    kept = [t for t in raw["thresholds"] if t["name"] not in CAPTURES]
    return {**raw, "thresholds": kept + [dict(e) for e in entries]}


def calibrate_signature_card(card: ModelCard, embed: Callable[[np.ndarray], np.ndarray], root: Path, *,
                             target_fmr: float = 0.01, command: str = "", progress: bool = True,
                             heldout: Mapping[str, Sequence[int]] | None = None) -> ModelCard:
    """A copy of ``card`` with a ``scan`` and a ``pen`` threshold set on the validation subjects the card
    names (``training.validation_subjects``, ``training.svc2004_validation_users``), and the held-out figures
    at each source's capture threshold in ``evaluation.heldout.<source>.at_capture_threshold`` (``heldout``:
    source -> subjects, default the protocol's; ``in_use`` says whether the app uses that threshold, i.e.
    whether it is stricter than the default). Nothing else on the card changes (its default, aggregate and
    other figures stay as they were measured)."""
    training = card.training
    subjects = {"cedar": [int(s) for s in training["validation_subjects"]],
                "svc2004": [int(s) for s in training["svc2004_validation_users"]]}
    if not all(subjects.values()):
        raise InvalidInput(f"{card.model_id} was trained with no validation subjects, so there are none to set "
                           "capture thresholds on: its thresholds were transferred when it was exported")
    val_scores = source_scores(embed, card.embedding_dim, root, subjects, distance=card.distance, progress=progress)
    entries = capture_thresholds(val_scores, card.aggregate, target_fmr=target_fmr, subjects=subjects)
    raw = with_capture_thresholds(card.to_dict(), entries)
    evaluation = dict(raw.get("evaluation") or {})
    heldout_figures = {k: dict(v) for k, v in (evaluation.get("heldout") or {}).items()}
    held_subjects = dict(heldout) if heldout is not None else {"cedar": CEDAR_HELDOUT, "svc2004": SVC_HELDOUT}
    default = card.default_threshold().value
    for entry in entries:
        source = CAPTURE_SOURCE[entry["name"]]
        held = list(held_subjects[source])
        rep, _ = evaluate_pipeline(embed, card.embedding_dim, model_id=card.model_id, source=source, root=root,
                                   subjects=held, aggregate=card.aggregate, distance=card.distance,
                                   threshold=entry["value"], progress=progress)
        heldout_figures.setdefault(source, {})["at_capture_threshold"] = {
            "capture": entry["name"], "threshold": entry["value"], "in_use": entry["value"] < default,
            "subjects": f"{held[0]}-{held[-1]}", **rep.at_threshold}
        log.info("held-out %s at the %s threshold %.6f: %s", source, entry["name"], entry["value"],
                 rep.at_threshold)
    evaluation["heldout"] = heldout_figures
    evaluation["capture_calibration"] = {
        "command": command, "target_fmr": target_fmr, "aggregate": card.aggregate,
        "validation_leave_one_subject_out": leave_one_subject_out(val_scores, card.aggregate,
                                                                   target_fmr=target_fmr)}
    raw["evaluation"] = evaluation
    return ModelCard.from_dict(raw, source=f"card of {card.model_id}")


def capture_summary(card: ModelCard) -> list[str]:
    """Lines for a terminal: each capture threshold and the held-out figures measured at it."""
    from biometrix.core.distances import format_distance

    lines = []
    heldout = (card.evaluation or {}).get("heldout", {})
    for capture in CAPTURES:
        thr = card.threshold(capture)
        used = card.capture_threshold(capture).value == thr.value
        at = heldout.get(CAPTURE_SOURCE[capture], {}).get("at_capture_threshold")
        line = (f"  {capture:4s} threshold {format_distance(thr.value)} ({thr.source}): "
                + ("used for these probes" if used else "looser than the default, so the default is used"))
        if at:
            line += (f"; held out on {SOURCE_NAME[CAPTURE_SOURCE[capture]]}: FNMR {100 * at['fnmr']:.1f} %, "
                     f"skilled FMR {100 * at['skilled_fmr']:.1f} %, random FMR {100 * at['random_fmr']:.1f} %")
        lines.append(line)
    loso = (card.evaluation or {}).get("capture_calibration", {}).get("validation_leave_one_subject_out", {})
    for source, ways in loso.items():
        lines.append(f"  validation, each {SOURCE_NAME.get(source, source)} subject left out of the threshold in "
                     "turn: " + "; ".join(f"{way.replace('_', '-')} FMR {100 * f['fmr']:.1f} % FNMR "
                                          f"{100 * f['fnmr']:.1f} % ({f['n_skilled']} skilled / {f['n_genuine']} "
                                          "genuine)" for way, f in ways.items()))
    return lines


#: What each transferable threshold is set against: (the sources pooled, the kind of forgery).
TRANSFER_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "default": (("cedar", "svc2004"), "skilled"),
    "random_fmr1": (("cedar", "svc2004"), "random"),
    "scan": (("cedar",), "skilled"),
    "pen": (("svc2004",), "skilled"),
}


def transfer_thresholds(reference: ModelCard, reference_scores: Sequence[ProtocolScores],
                        new_scores: Sequence[ProtocolScores], *, aggregate: str,
                        subjects: Mapping[str, Sequence[int]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Thresholds for a model trained with no validation subjects, transferred from ``reference``, a model of the
    same recipe whose thresholds were set on validation subjects.

    Both models have been trained on ``subjects`` (source -> subject numbers); ``reference_scores`` and
    ``new_scores`` are each model's protocol scores on them. For each of the reference's thresholds t named in
    ``TRANSFER_KINDS``, q is the threshold at the same target FMR against the same kind of comparison on those
    trained-on subjects; the new threshold is t_ref × q_new / q_ref: the reference's ratio of a validation
    threshold to a trained-on one is assumed to hold for the new model. Returns the card entries and a record
    of every t, q and ratio for the card's evaluation."""
    if aggregate != reference.aggregate:
        raise InvalidInput(f"thresholds transfer between models of one aggregate: the reference "
                           f"{reference.model_id} uses {reference.aggregate!r}, the new model {aggregate!r}")
    ref_by, new_by = ({s.source: s for s in scores} for scores in (reference_scores, new_scores))
    names = {t.name for t in reference.thresholds}
    entries: list[dict[str, Any]] = []
    record: dict[str, Any] = {"reference": reference.model_id, "reference_sha256": reference.sha256,
                              "aggregate": aggregate,
                              "subjects": {src: [int(s) for s in subj] for src, subj in subjects.items()},
                              "rule": "t_new = t_reference * q_new / q_reference; q = the threshold at the same "
                                      "target FMR against the same comparisons of subjects both models trained on",
                              "thresholds": {}}
    for name, (sources, kind) in TRANSFER_KINDS.items():
        if name not in names:
            continue
        ref_t = reference.threshold(name)
        fmr = ref_t.target_fmr
        if fmr is None:
            raise InvalidInput(f"{reference.model_id}'s {name!r} threshold has no target FMR: it cannot be transferred")
        missing = [src for src in sources if src not in ref_by or src not in new_by]
        if missing:
            raise InvalidInput(f"transferring {name!r} needs scores of {', '.join(missing)}")
        ref_imp = np.concatenate([ref_by[src].scores(kind, aggregate) for src in sources])
        new_imp = np.concatenate([new_by[src].scores(kind, aggregate) for src in sources])
        q_ref = threshold_at_fmr(impostor=ref_imp, target_fmr=fmr)
        q_new = threshold_at_fmr(impostor=new_imp, target_fmr=fmr)
        if not q_ref > 0:
            raise InvalidInput(f"{reference.model_id}'s threshold at FMR {100 * fmr:g} % against {kind} forgeries "
                               f"of the trained-on subjects is {q_ref}: no ratio can be taken")
        value = ref_t.value * q_new / q_ref
        where = " + ".join(f"{SOURCE_NAME[src]} {subjects[src][0]}-{subjects[src][-1]}" for src in sources)
        entries.append({
            "name": name, "value": float(value), "target_fmr": fmr,
            "source": (f"transferred from {reference.model_id} ({name} {ref_t.value:.6g}, set on its validation "
                       f"subjects) by the ratio of thresholds at FMR {100 * fmr:g} % against {kind} forgeries of "
                       f"subjects both trained on ({where}; {new_imp.size} impostor comparisons): "
                       f"x {q_new:.6g} / {q_ref:.6g}")})
        record["thresholds"][name] = {"reference": ref_t.value, "q_reference": q_ref, "q_new": q_new,
                                      "ratio": q_new / q_ref, "value": float(value), "kind": kind,
                                      "sources": list(sources), "n_impostor": int(new_imp.size)}
    if "default" not in record["thresholds"]:
        raise InvalidInput(f"{reference.model_id} has no default threshold to transfer")
    return entries, record


def transfer_det(reference: ModelCard, ratio: float) -> dict[str, Any] | None:
    """The reference card's validation DET curve for a model whose thresholds were transferred by ``ratio`` (the
    default threshold's): each threshold × ratio, the rates the reference's, under the same assumption as the
    thresholds. Lets the Settings page turn a target FMR into a threshold; None when the reference has none."""
    det = (reference.evaluation or {}).get("validation_det")
    if not isinstance(det, Mapping) or not ratio > 0:
        return None
    return {**det, "thresholds": [float(t) * ratio for t in det["thresholds"]],
            "source": f"{reference.model_id}'s {det.get('source', 'validation DET curve')}; thresholds x {ratio:.6g} "
                      "(the ratio its default threshold was transferred by), rates as measured on it"}


def source_scores(embed: Callable[[np.ndarray], np.ndarray], dim: int, root: Path,
                      subjects: Mapping[str, Sequence[int]], *, distance: str = "cosine",
                      progress: bool = True) -> list[ProtocolScores]:
    """Protocol scores of one model on ``subjects`` (source -> subject numbers), each source apart."""
    out = []
    for source, subj in subjects.items():
        emb = embed_source(embed, dim, source, root, subj, progress=progress)
        out.append(protocol_scores(emb.records, emb.embeddings, source=source, distance=distance,
                                   failed=frozenset(emb.failures)))
    return out
