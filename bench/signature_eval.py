"""Signature verification on the held-out writers, in one run: every set and the pooled offline row, two shipped
image models, raw-pixel and HOG baselines, the pen comparator, and the three-zone (Accept / Refer / Reject) tables.

Protocol (../shared/design/EVALUATION.md; 5 references): held-out CEDAR signers 46-55, SigComp2011 Dutch writers
049-069 and SVC2004 users 31-40; skilled and random forgeries apart. The *offline* row pools the scanned sets (CEDAR
46-55 + Dutch 049-069, 31 writers) under one threshold, as a bank runs one threshold for every customer.

Rows, all measured in this same run:
  - the shipped image models ``signature-v6-int8`` (the app's) and ``signature-v5`` (the previous one), run through
    the app's own ``SignaturePipeline``, each with its card's aggregate;
  - a raw-pixel baseline (the binarized, cropped, 96x192 signature flattened) and a HOG baseline (OpenCV HOG of the
    same image), cosine distance, mean over the references;
  - on SVC2004, the pen comparator ``pen-dtw-v2`` (the pen recordings' motion; what the app uses for a pen probe
    against pen references).
Each EER has a 95 % interval from a subject-level bootstrap (``evaluation.protocol.subject_bootstrap_eer``: 2,000
resamples of the claimed subjects).

Three zones: accept at or below ``accept``, reject above ``reject``, refer between (``evaluation.pen_cv.zones``).
For an image model the pair is set on VALIDATION writers before any held-out writer is scored: the offline sets'
development writers CEDAR 36-45 and SigComp2011 Dutch 001-048, pooled; ``accept`` is the largest distance at or
below which at most 3 % of their skilled forgeries fall, ``reject`` the smallest above which at most 3 % of their
genuine signatures fall (``evaluation.pen_cv.three_zone_thresholds``). signature-v6-int8 was trained on CEDAR 1-45,
so CEDAR 36-45 were seen in its training (not in signature-v5's); no shipped model saw a Dutch writer. The pen
comparator's pair is its card's (set on SVC2004 users 1-30). ``--write-zones`` writes the image models' pairs to
``bench/signature_zones.json``; ``--write-card`` writes the app's model's pair into its card (thresholds ``accept``
and ``reject``, which the service decides scanned probes by) with the validation and held-out tables
(``evaluation.three_zones``), and changes nothing else in it. Without them the run says whether it re-derived the
file's and the card's numbers.

    OMP_NUM_THREADS=1 python bench/signature_eval.py [--data ../shared/data] [--write-zones] [--write-card]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.types import Modality
from biometrix.evaluation.datasets import DUTCH, HELDOUT, OFFLINE, VALIDATION, default_data_root
from biometrix.evaluation.pen import svc2004_pen_scores
from biometrix.evaluation.pen_cv import KINDS, ZONES, three_zone_thresholds, zones
from biometrix.evaluation.protocol import ProtocolScores, pooled, subject_bootstrap_eer, summarize
from biometrix.evaluation.report import evaluate_pipeline
from biometrix.preprocess.signature import preprocess_signature
from biometrix.runtime.encoder import OnnxEncoder
from biometrix.runtime.model_card import PREFERRED_MODELS, ModelCard, load_card_for
from biometrix.runtime.paths import models_dir
from biometrix.runtime.pen_comparator import PEN_AGGREGATE, PEN_MODEL_ID, load_pen_card
from biometrix.runtime.pipelines import SignaturePipeline

REPO = Path(__file__).resolve().parents[1]
ZONES_FILE = REPO / "bench" / "signature_zones.json"
COMMAND = "OMP_NUM_THREADS=1 python bench/signature_eval.py"
#: The shipped image models compared: the app's, and the one it replaced.
IMAGE_MODELS = (PREFERRED_MODELS[Modality.SIGNATURE], "signature-v5")
ZONE_RATE = 0.03
POOLED = "offline"
NAMES = {"cedar": "CEDAR", DUTCH: "SigComp2011 Dutch", "svc2004": "SVC2004", POOLED: "offline pooled"}
_HOG = cv2.HOGDescriptor((192, 96), (16, 16), (8, 8), (8, 8), 9)


def raw_pixels(img: np.ndarray) -> np.ndarray:
    return preprocess_signature(img, height=96, width=192).ravel() + 1e-6


def hog(img: np.ndarray) -> np.ndarray:
    x = (preprocess_signature(img, height=96, width=192) * 255).astype(np.uint8)
    return _HOG.compute(x).ravel() + 1e-6


@dataclass(frozen=True)
class Method:
    """One scorer of signature images: its label, embedding function, dimension and aggregate."""

    label: str
    embed: Callable[[np.ndarray], np.ndarray]
    dim: int
    aggregate: str


@dataclass(frozen=True)
class Scored:
    """One method's comparisons of one set (or the pool), with its failures to acquire and time."""

    scores: ProtocolScores
    fta: int
    seconds: float


@dataclass(frozen=True)
class ZonePair:
    """An image model's three-zone thresholds as its validation writers set them, and what they gave there."""

    model_id: str
    sha256: str
    aggregate: str
    accept: float
    reject: float
    counts: dict[str, int]  # kind -> validation comparisons
    fta: int
    validation_zones: dict[str, dict[str, float]]  # kind -> zone -> fraction
    seen_in_training: tuple[int, ...]  # the CEDAR validation signers the model was trained on

    def document(self) -> dict[str, object]:
        return {"sha256": self.sha256, "aggregate": self.aggregate, "accept": self.accept, "reject": self.reject,
                "counts": self.counts, "fta": self.fta, "validation_zones": self.validation_zones,
                "seen_in_training": {"cedar": list(self.seen_in_training), DUTCH: []}}


def span(source: str, subjects: Sequence[int]) -> str:
    """Subjects as the data set numbers them (Dutch writers with three digits)."""
    width = 3 if source == DUTCH else 1
    return f"{subjects[0]:0{width}d}-{subjects[-1]:0{width}d}"


def score(method: Method, source: str, root: Path, subjects: Sequence[int]) -> Scored:
    t0 = time.perf_counter()
    rep, scores = evaluate_pipeline(method.embed, method.dim, model_id=method.label, source=source, root=root,
                                    subjects=subjects, aggregate=method.aggregate, progress=False)
    return Scored(scores, rep.fta, time.perf_counter() - t0)


def pool(parts: Sequence[Scored]) -> Scored:
    return Scored(pooled([p.scores for p in parts], source=POOLED), sum(p.fta for p in parts),
                  sum(p.seconds for p in parts))


def image_models(folder: Path) -> list[tuple[ModelCard, Method]]:
    out = []
    for model_id in IMAGE_MODELS:
        card = load_card_for(folder, model_id=model_id, modality=Modality.SIGNATURE)
        pipe = SignaturePipeline(OnnxEncoder(card, card.onnx_path(folder), prefer_gpu=False))
        out.append((card, Method(f"{card.model_id} (ONNX, {card.aggregate})", pipe.embed, card.embedding_dim,
                                 card.aggregate)))
    return out


def zone_pair(card: ModelCard, method: Method, root: Path) -> ZonePair:
    """The model's (accept, reject) on the pooled offline validation writers."""
    val = pool([score(method, source, root, VALIDATION[source]) for source in OFFLINE])
    d = {kind: val.scores.scores(kind, method.aggregate) for kind in KINDS}
    accept, reject = three_zone_thresholds(genuine=d["genuine"], skilled=d["skilled"], rate=ZONE_RATE)
    # what the model was trained on; its card's validation subjects only chose its checkpoint and thresholds
    trained = {int(s) for s in card.training.get("train_subjects", [])}
    return ZonePair(
        model_id=card.model_id, sha256=card.sha256, aggregate=method.aggregate, accept=accept, reject=reject,
        counts={kind: int(v.size) for kind, v in d.items()}, fta=val.fta,
        validation_zones={kind: zones(v, accept=accept, reject=reject) for kind, v in d.items()},
        seen_in_training=tuple(sorted(trained & set(VALIDATION["cedar"]))))


def zones_document(pairs: Sequence[ZonePair]) -> dict[str, object]:
    return {
        "command": f"{COMMAND} --write-zones",
        "rule": f"accept: the largest distance at or below which at most {100 * ZONE_RATE:g} % of the validation "
                f"writers' skilled forgeries fall; reject: the smallest distance above which at most "
                f"{100 * ZONE_RATE:g} % of their genuine signatures fall (midway between scores; "
                "evaluation.pen_cv.three_zone_thresholds). Accept at or below accept, reject above reject, refer "
                "between. Genuine: probes 6 and later against references 1-5; skilled: the writer's forgeries; "
                "distances by the card's aggregate.",
        "validation_writers": {source: list(VALIDATION[source]) for source in OFFLINE},
        "note": "no shipped model was trained on a SigComp2011 Dutch writer; seen_in_training lists the CEDAR "
                "validation signers a model was trained on (its card's training.train_subjects)",
        "models": {p.model_id: p.document() for p in pairs},
        "created_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
    }


def zone_table(scores: ProtocolScores, aggregate: str, accept: float, reject: float) -> dict[str, dict[str, float]]:
    """Each kind's fractions accepted / referred / rejected, and its number of comparisons ("n")."""
    out = {}
    for kind in KINDS:
        d = scores.scores(kind, aggregate)
        out[kind] = {**zones(d, accept=accept, reject=reject), "n": int(d.size)}
    return out


def card_zone_thresholds(z: ZonePair) -> list[dict[str, object]]:
    """The card's ``accept`` and ``reject`` thresholds, as ``pen_dtw_card.py`` writes the pen comparator's."""
    seen = f"; CEDAR {span('cedar', z.seen_in_training)} seen in its training" if z.seen_in_training else ""
    where = (f"validation writers CEDAR {span('cedar', VALIDATION['cedar'])} + SigComp2011 Dutch "
             f"{span(DUTCH, VALIDATION[DUTCH])} pooled ({z.counts['skilled']} skilled and {z.counts['genuine']} "
             f"genuine comparisons, 5 references, aggregate {z.aggregate}{seen}), set before any held-out writer was "
             f"scored: {COMMAND} --write-card")
    rate = f"{100 * ZONE_RATE:g} %"
    return [{"name": "accept", "value": z.accept, "target_fmr": ZONE_RATE,
             "source": f"three-zone accept: at most {rate} of skilled forgeries at or below it, {where}"},
            {"name": "reject", "value": z.reject, "target_fmr": None,
             "source": f"three-zone reject: at most {rate} of genuine signatures above it, {where}"}]


def card_three_zones(z: ZonePair, held: dict[str, ProtocolScores]) -> dict[str, object]:
    """The card's ``evaluation.three_zones``: the rule, the validation writers' table and the held-out one."""
    return {
        "command": f"{COMMAND} --write-card",
        "rule": zones_document([z])["rule"],
        "validation": {"writers": " + ".join(f"{NAMES[s]} {span(s, VALIDATION[s])}" for s in OFFLINE),
                       "seen_in_training": {"cedar": list(z.seen_in_training), DUTCH: []}, "fta": z.fta,
                       "zones": {kind: {**v, "n": z.counts[kind]} for kind, v in z.validation_zones.items()}},
        "heldout": {source: {"writers": " + ".join(f"{NAMES[s]} {span(s, HELDOUT[s])}"
                                                   for s in (OFFLINE if source == POOLED else (source,))),
                             "zones": zone_table(scores, z.aggregate, z.accept, z.reject)}
                    for source, scores in held.items()},
    }


def card_with_zones(path: Path, z: ZonePair, held: dict[str, ProtocolScores]) -> ModelCard:
    """The card at ``path`` with the pair ``z`` as its ``accept`` and ``reject`` thresholds and its
    ``evaluation.three_zones``; InvalidInput when it is another model's or anything else would change."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    card = ModelCard.from_dict(raw, source=str(path))
    if card.model_id != z.model_id or card.sha256 != z.sha256:
        raise InvalidInput(f"{path} is not the card of the model scored ({z.model_id}, sha256 {z.sha256[:12]}…)")
    raw["thresholds"] = [t for t in raw["thresholds"] if t.get("name") not in ("accept", "reject")]
    raw["thresholds"] += card_zone_thresholds(z)
    raw["evaluation"]["three_zones"] = card_three_zones(z, held)
    new = ModelCard.from_dict(raw, source=str(path))
    before, after = card.to_dict(), new.to_dict()
    for doc in (before, after):
        doc["thresholds"] = [t for t in doc["thresholds"] if t["name"] not in ("accept", "reject")]
        doc["evaluation"].pop("three_zones", None)
    if before != after:
        raise InvalidInput("refusing to write: something besides the three-zone thresholds would change")
    return new


def card_says(card: ModelCard, z: ZonePair) -> str:
    """Whether ``card`` already holds the pair ``z``."""
    names = {t.name: t.value for t in card.thresholds}
    same = names.get("accept") == round_trip(z.accept) and names.get("reject") == round_trip(z.reject)
    return "the same as its card's" if same else "NOT its card's (python bench/signature_eval.py --write-card)"


def eer_row(where: str, label: str, sc: Scored, aggregate: str, subjects: str) -> None:
    s = summarize(sc.scores, aggregate)
    cells = []
    for kind in ("skilled", "random"):
        lo, hi = subject_bootstrap_eer(sc.scores, aggregate, kind)
        cells.append(f"{100 * s[f'{kind}_eer']:6.2f}% ({100 * lo:4.1f}-{100 * hi:4.1f})")
    cells += [f"{100 * s[f'{kind}_fnmr_at_fmr1']:6.1f}%" for kind in ("skilled", "random")]
    print(f"{where:17s} {label:37s} {' '.join(cells)}  {s['n_genuine']:4d}/{s['n_skilled']:4d}/{s['n_random']:4d} "
          f"{subjects:11s} {sc.fta:3d} {sc.seconds:5.1f}s")


def zone_row(where: str, label: str, scores: ProtocolScores, aggregate: str, accept: float, reject: float) -> None:
    table = zone_table(scores, aggregate, accept, reject)
    cells = ["/".join(f"{100 * table[kind][name]:5.1f}" for name in ZONES) for kind in KINDS]
    counts = [str(table[kind]["n"]) for kind in KINDS]
    print(f"{where:17s} {label:26s} " + "   ".join(f"{c:17s}" for c in cells) + "  " + "/".join(counts))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=default_data_root())
    ap.add_argument("--write-zones", action="store_true", help=f"write the image models' pairs to {ZONES_FILE.name}")
    ap.add_argument("--write-card", action="store_true",
                    help=f"write {IMAGE_MODELS[0]}'s pair and its tables into its card")
    args = ap.parse_args()
    folder = models_dir()
    images = image_models(folder)
    methods = [*(m for _, m in images), Method("baseline: raw pixels", raw_pixels, 96 * 192, "mean"),
               Method("baseline: HOG", hog, _HOG.getDescriptorSize(), "mean")]
    pen_card = load_pen_card(folder)
    if pen_card is None or pen_card.accept_threshold is None or pen_card.reject_threshold is None:
        raise SystemExit(f"no pen comparator card with accept and reject thresholds in {folder / PEN_MODEL_ID}")

    # 1. every choice first: the image models' three-zone pairs, on validation writers
    t0 = time.perf_counter()
    pairs = [zone_pair(card, m, args.data) for card, m in images]
    flags = "".join(f" --{f}" for f in ("write-zones", "write-card") if getattr(args, f.replace("-", "_")))
    print(f"# {COMMAND}{flags}  ({dt.date.today().isoformat()})")
    print(f"# three-zone thresholds of the image models, set on validation writers CEDAR "
          f"{span('cedar', VALIDATION['cedar'])} + SigComp2011 Dutch {span(DUTCH, VALIDATION[DUTCH])} pooled, "
          f"{100 * ZONE_RATE:g} % ({time.perf_counter() - t0:.0f} s):")
    for z in pairs:
        there = ", ".join(f"{kind} " + "/".join(f"{100 * v:.1f}" for v in z.validation_zones[kind].values())
                          for kind in KINDS)
        print(f"#   {z.model_id}: accept {z.accept:.6f}, reject {z.reject:.6f} (genuine/skilled/random "
              f"{'/'.join(str(z.counts[k]) for k in KINDS)}, FTA {z.fta}; validation signers seen in its training: "
              f"{'CEDAR ' + span('cedar', z.seen_in_training) if z.seen_in_training else 'none'})")
        print(f"#     there, % accepted/referred/rejected: {there}")
    doc = zones_document(pairs)
    where = ZONES_FILE.relative_to(REPO)
    if args.write_zones:
        ZONES_FILE.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"#   written to {where}")
    elif ZONES_FILE.is_file():
        recorded = json.loads(ZONES_FILE.read_text(encoding="utf-8"))["models"]
        same = all(recorded.get(z.model_id, {}).get(t) == round_trip(getattr(z, t)) for z in pairs
                   for t in ("accept", "reject"))
        print(f"#   {'the same as' if same else 'DIFFERENT from'} {where}")
    app_card, app = images[0]
    if not args.write_card:
        print(f"#   {app_card.model_id}'s pair: {card_says(app_card, pairs[0])}")

    # 2. the held-out writers, scored once
    print("\n## EER, held-out writers, 5 references (95 % CI by subject bootstrap); FNMR at FMR 1 %")
    print(f"{'set':17s} {'method':37s} {'skilled EER':>19s} {'random EER':>19s} {'FNMR1 sk':>7s} {'FNMR1 rd':>7s}"
          f"  {'gen/skilled/random':18s} {'subjects':11s} FTA  time")
    held: dict[str, dict[str, Scored]] = {m.label: {} for m in methods}
    for source in ("cedar", DUTCH, "svc2004"):
        for m in methods:
            held[m.label][source] = score(m, source, args.data, HELDOUT[source])
            eer_row(NAMES[source], m.label, held[m.label][source], m.aggregate, span(source, HELDOUT[source]))
        sys.stdout.flush()
    t0 = time.perf_counter()
    pen_scores = svc2004_pen_scores(args.data, HELDOUT["svc2004"], pen_card.model)
    pen = Scored(pen_scores, 0, time.perf_counter() - t0)
    eer_row(NAMES["svc2004"], f"{PEN_MODEL_ID} (pen DTW, {PEN_AGGREGATE})", pen, PEN_AGGREGATE,
            span("svc2004", HELDOUT["svc2004"]))
    n_writers = sum(len(HELDOUT[s]) for s in OFFLINE)
    for m in methods:
        held[m.label][POOLED] = pool([held[m.label][s] for s in OFFLINE])
        eer_row(NAMES[POOLED], m.label, held[m.label][POOLED], m.aggregate, f"{n_writers} writers")

    print("\n## three zones, held-out writers: % accepted/referred/rejected of each kind of comparison "
          "(accept: distance <= accept; reject: > reject; refer between)")
    print(f"{'set':17s} {'comparator':26s} {'genuine a/r/r':17s}   {'skilled a/r/r':17s}   {'random a/r/r':17s}  "
          "counts g/s/r")
    for z, (_, m) in zip(pairs, images, strict=True):
        for source in ("cedar", DUTCH, POOLED):
            zone_row(NAMES[source], z.model_id, held[m.label][source].scores, m.aggregate, z.accept, z.reject)
    zone_row(NAMES["svc2004"], PEN_MODEL_ID, pen_scores, PEN_AGGREGATE, pen_card.accept_threshold.value,
             pen_card.reject_threshold.value)
    print(f"# image models: their pairs above (validation writers); {PEN_MODEL_ID}: its card's accept "
          f"{pen_card.accept_threshold.value:.6f} and reject {pen_card.reject_threshold.value:.6f} (SVC2004 1-30)")
    target(held[app.label][POOLED].scores, pairs[0])
    if args.write_card:
        path = folder / f"{app_card.model_id}.json"
        card_with_zones(path, pairs[0], {s: held[app.label][s].scores for s in (*OFFLINE, POOLED)}).save(path)
        print(f"# {app_card.model_id}'s pair and tables written to its card {os.path.relpath(path, REPO)}")
    return 0


def round_trip(x: object) -> object:
    """JSON numbers read back as they were written (floats round-trip through repr)."""
    return json.loads(json.dumps(x))


def target(scores: ProtocolScores, z: ZonePair) -> None:
    """Issue 27's target on the pooled offline row at the validation writers' thresholds, and the best case: both
    thresholds fitted on these very held-out scores (a bound, not a result: EVALUATION.md)."""
    g, s = scores.scores("genuine", z.aggregate), scores.scores("skilled", z.aggregate)
    zg, zs = zones(g, accept=z.accept, reject=z.reject), zones(s, accept=z.accept, reject=z.reject)
    checks = [("genuine referred", zg["referred"], 0.30), ("genuine rejected", zg["rejected"], 0.03),
              ("skilled accepted", zs["accepted"], 0.03)]
    print(f"# issue 27's target, pooled offline, {z.model_id}: " + "; ".join(
        f"{name} {100 * v:.1f} % (<= {100 * limit:g} %: {'met' if v <= limit else 'NOT met'})"
        for name, v, limit in checks))
    a, r = three_zone_thresholds(genuine=g, skilled=s, rate=ZONE_RATE)
    bg, bs = zones(g, accept=a, reject=r), zones(s, accept=a, reject=r)
    print(f"# its best case, both thresholds fitted on these held-out scores (a bound, not a result): genuine "
          f"referred {100 * bg['referred']:.1f} %, skilled referred {100 * bs['referred']:.1f} % (accept {a:.6f}, "
          f"reject {r:.6f})")


if __name__ == "__main__":
    raise SystemExit(main())
