"""The signature verification protocol: references, genuine probes, skilled and random forgeries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from biometrix.core.errors import InvalidInput
from biometrix.core.matcher import AGGREGATES, aggregate_distances, reference_spread  # noqa: E402
from biometrix.core.metrics import eer, fmr_fnmr, fnmr_at_fmr
from biometrix.core.templates import l2_normalize, prototype
from biometrix.evaluation.datasets import DUTCH, SignatureRecord

#: source -> (reference indices, genuine probe indices (those a subject has), the genuine index each other subject
#: lends as a random forgery: None for its last genuine one), as ../shared/design/EVALUATION.md fixes them.
PROTOCOL: dict[str, tuple[tuple[int, ...], tuple[int, ...], int | None]] = {
    "cedar": (tuple(range(1, 6)), tuple(range(6, 25)), 24),
    DUTCH: (tuple(range(1, 6)), tuple(range(6, 25)), None),
    "svc2004": (tuple(range(1, 6)), tuple(range(6, 21)), 20),
}


@dataclass(frozen=True)
class Comparison:
    """One probe against one claimed subject's references."""

    claimed: str
    real: str
    probe: str
    kind: str  # genuine | skilled | random
    distances: dict[str, float]  # aggregate -> distance


@dataclass(frozen=True)
class ProtocolScores:
    """Every comparison of one source's subjects under the protocol."""

    source: str
    comparisons: tuple[Comparison, ...]
    n_subjects: int
    n_references: int

    def scores(self, kind: str, aggregate: str) -> np.ndarray:
        return np.array([c.distances[aggregate] for c in self.comparisons if c.kind == kind])


#: The distance given to a probe that failed to acquire (larger than any cosine distance): in 1:1
#: figures it counts as a rejection, as EVALUATION.md requires.
FTA_DISTANCE = 4.0


def subject_plans(records: Sequence[SignatureRecord], source: str
                   ) -> list[tuple[int, list[int], list[tuple[int, str]]]]:
    """Each subject of ``source`` under the protocol: (subject, reference rows, [(probe row, kind)])."""
    refs_idx, gen_idx, rand_index = PROTOCOL[source]
    by: dict[int, dict[tuple[bool, int], int]] = {}
    for i, r in enumerate(records):
        if r.source == source:
            by.setdefault(r.subject, {})[(r.genuine, r.index)] = i
    subjects = sorted(by)
    lent = {}  # subject -> the row it lends to the others as a random forgery
    for o in subjects:
        genuine = [i for g, i in by[o] if g]
        index = rand_index if rand_index is not None else max(genuine, default=None)
        if (True, index) in by[o]:
            lent[o] = by[o][(True, index)]
    plans = []
    for s in subjects:
        m = by[s]
        refs = [m[(True, i)] for i in refs_idx if (True, i) in m]
        probes: list[tuple[int, str]] = [(m[(True, i)], "genuine") for i in gen_idx if (True, i) in m]
        probes += [(m[k], "skilled") for k in sorted(m) if not k[0]]
        probes += [(lent[o], "random") for o in subjects if o != s and o in lent]
        plans.append((s, refs, probes))
    return plans


def protocol_scores(records: Sequence[SignatureRecord], embeddings: np.ndarray, *, source: str,
                    distance: str = "cosine", failed: frozenset[int] = frozenset()) -> ProtocolScores:
    """records[i] is embedded as embeddings[i]; compare each subject's probes with its references.

    References: genuine 1-5. Genuine probes: the other genuine samples. Skilled: the subject's
    forgeries. Random: one genuine sample of every other subject of the same source. Indices in
    ``failed`` are samples that failed to acquire (their embedding row is ignored): as probes they get
    FTA_DISTANCE; a subject with a failed reference is enrolled from the references that remain.
    """
    emb = np.asarray(embeddings, dtype=np.float32).copy()
    for i in failed:
        emb[i] = 1.0  # placeholder, never compared: failed probes get FTA_DISTANCE
    emb = l2_normalize(emb)
    plans = subject_plans(records, source)
    comps: list[Comparison] = []
    for s, all_refs, probes in plans:
        ref_rows = [r for r in all_refs if r not in failed]
        if not ref_rows:
            raise ValueError(f"{source} subject {s} has no usable reference sample")
        refs = emb[ref_rows]
        proto = prototype(refs)[None]
        spread = reference_spread(refs, distance) if len(ref_rows) >= 2 else 1.0
        if not probes:
            continue
        by_agg = aggregate_distances(emb[[p for p, _ in probes]], refs, distance, proto=proto, spread=spread)
        for row, (p, kind) in enumerate(probes):
            if p in failed:
                dists = dict.fromkeys(AGGREGATES, FTA_DISTANCE)
            else:
                dists = {agg: float(v[row]) for agg, v in by_agg.items()}
            comps.append(Comparison(claimed=f"{source}:{s}", real=records[p].key, probe=records[p].sample_id,
                                    kind=kind, distances=dists))
    return ProtocolScores(source, tuple(comps), len(plans), len(PROTOCOL[source][0]))


#: The aggregates of a pair scorer's per-reference distances: there are no embeddings, so no centroid.
#: ``normalized`` divides the mean by the mean distance between the subject's references, scored alike.
PAIR_AGGREGATES = ("mean", "min", "normalized")


def pair_protocol_scores(records: Sequence[SignatureRecord],
                         pair_distances: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                         source: str) -> ProtocolScores:
    """The protocol's comparisons scored by a model that compares two samples at once (a pair network).

    ``pair_distances(left, right)`` takes two (P,) arrays of rows of ``records`` and returns their (P,)
    distances, the reference always on the left; it is called once with every pair the protocol needs (each
    probe against each of its claimed subject's references, and the references against each other for the
    ``normalized`` aggregate). Same subjects, probes and references as :func:`protocol_scores`.
    """
    plans = subject_plans(records, source)
    left: list[int] = []
    right: list[int] = []
    for s, refs, probes in plans:
        if not refs:
            raise ValueError(f"{source} subject {s} has no usable reference sample")
        left += [r for _ in probes for r in refs] + [a for i, a in enumerate(refs) for _ in refs[i + 1 :]]
        right += [p for p, _ in probes for _ in refs] + [b for i in range(len(refs)) for b in refs[i + 1 :]]
    d = np.asarray(pair_distances(np.array(left, dtype=np.int64), np.array(right, dtype=np.int64)),
                   dtype=np.float64)
    if d.shape != (len(left),):
        raise ValueError(f"pair_distances returned shape {d.shape} for {len(left)} pairs")
    comps: list[Comparison] = []
    at = 0
    for s, refs, probes in plans:
        k = len(refs)
        per_ref = d[at : at + len(probes) * k].reshape(len(probes), k)
        at += len(probes) * k
        between = d[at : at + k * (k - 1) // 2]
        at += k * (k - 1) // 2
        spread = max(float(between.mean()), 1e-12) if k >= 2 else 1.0
        for row, (p, kind) in enumerate(probes):
            mean = float(per_ref[row].mean())
            dists = {"mean": mean, "min": float(per_ref[row].min()), "normalized": mean / spread}
            comps.append(Comparison(claimed=f"{source}:{s}", real=records[p].key, probe=records[p].sample_id,
                                    kind=kind, distances=dists))
    return ProtocolScores(source, tuple(comps), len(plans), len(PROTOCOL[source][0]))


def pooled(parts: Sequence[ProtocolScores], *, source: str) -> ProtocolScores:
    """The comparisons of several sources as one set, to be judged with one threshold (each source's random
    forgeries stay those of its own subjects). Claimed subjects are named ``source:subject``, so none is shared."""
    if not parts or len({p.n_references for p in parts}) != 1:
        raise InvalidInput("pool at least one set of scores, all with the same number of references")
    return ProtocolScores(source, tuple(c for p in parts for c in p.comparisons),
                          sum(p.n_subjects for p in parts), parts[0].n_references)


def summarize(scores: ProtocolScores, aggregate: str) -> dict[str, float]:
    """EER (with its threshold) and FNMR at FMR 1 % for skilled and random forgeries, with counts."""
    g = scores.scores("genuine", aggregate)
    res: dict[str, float] = {"n_genuine": int(g.size), "n_subjects": scores.n_subjects,
                             "n_references": scores.n_references}
    for kind in ("skilled", "random"):
        imp = scores.scores(kind, aggregate)
        e = eer(genuine=g, impostor=imp)
        thr, fnmr = fnmr_at_fmr(genuine=g, impostor=imp, target_fmr=0.01)
        res.update({f"{kind}_eer": e.eer, f"{kind}_eer_threshold": e.threshold,
                    f"{kind}_fnmr_at_fmr1": fnmr, f"n_{kind}": int(imp.size)})
    return res


def rates_at(scores: ProtocolScores, aggregate: str, threshold: float) -> dict[str, float]:
    """FNMR and the skilled and random FMR at a frozen threshold."""
    g = scores.scores("genuine", aggregate)
    out = {}
    for kind in ("skilled", "random"):
        fmr, fnmr = fmr_fnmr(genuine=g, impostor=scores.scores(kind, aggregate), threshold=threshold)
        out[f"{kind}_fmr"] = fmr
        out["fnmr"] = fnmr
    return out


def subject_bootstrap_eer(scores: ProtocolScores, aggregate: str, kind: str, *, n_resamples: int = 2000,
                          level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """A percentile confidence interval of the ``kind`` EER ("skilled" or "random"), resampling subjects.

    The comparisons of one claimed subject share its references and its handwriting, so they are not
    independent; the subject is the unit that was sampled. Each resample draws as many claimed subjects as
    there are, with replacement, and pools their genuine and ``kind`` comparisons (a subject drawn twice
    counts twice); the EER of every resample is computed as ``core.metrics.eer`` does, and the interval is
    the (1 - level)/2 and (1 + level)/2 quantiles of those EERs.
    """
    if kind not in ("skilled", "random"):
        raise ValueError(f"kind must be 'skilled' or 'random', got {kind!r}")
    if not 0.0 < level < 1.0 or n_resamples < 1:
        raise ValueError("level must lie in (0, 1) and n_resamples be at least 1")
    per: dict[str, tuple[list[float], list[float]]] = {}
    for c in scores.comparisons:
        if c.kind in ("genuine", kind):
            per.setdefault(c.claimed, ([], []))[c.kind != "genuine"].append(c.distances[aggregate])
    subjects = [s for s in sorted(per) if per[s][0] and per[s][1]]
    if not subjects:
        raise InvalidInput(f"no subject has both genuine and {kind} comparisons")
    gen = [np.asarray(per[s][0]) for s in subjects]
    imp = [np.asarray(per[s][1]) for s in subjects]
    rng = np.random.default_rng(seed)
    eers = np.empty(n_resamples)
    for b in range(n_resamples):
        pick = rng.integers(0, len(subjects), len(subjects))
        eers[b] = eer(genuine=np.concatenate([gen[i] for i in pick]),
                      impostor=np.concatenate([imp[i] for i in pick])).eer
    lo, hi = np.quantile(eers, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)
