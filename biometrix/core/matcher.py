"""1:1 verification and 1:N identification of a probe embedding against templates."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biometrix.core.distances import get_distance
from biometrix.core.errors import InvalidInput, ModelMismatch
from biometrix.core.templates import prototype
from biometrix.core.thresholds import check_model
from biometrix.core.types import Candidate, Decision, SubjectId, Template, Threshold

AGGREGATES = ("mean", "min", "centroid", "normalized")

#: Floor of the reference spread in the ``normalized`` aggregate (a set of identical references).
MIN_SPREAD = 1e-3


def reference_spread(references: np.ndarray, distance: str = "cosine") -> float:
    """Mean pairwise distance among a template's K >= 2 references (how consistently the subject signs)."""
    k = references.shape[0]
    if k < 2:
        raise InvalidInput("the 'normalized' aggregate needs at least 2 references per subject")
    d = get_distance(distance).pairwise(references, references)
    return max(float(d[np.triu_indices(k, 1)].mean()), MIN_SPREAD)


def aggregate_distances(probes: np.ndarray, refs: np.ndarray, distance: str = "cosine", *,
                        proto: np.ndarray | None = None, spread: float | None = None,
                        pairwise: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every aggregate for probes (M, D) against one subject's references (K, D): {aggregate: (M,) distances}.

    ``proto`` (1, D) is the subject's prototype (default: ``prototype(refs)``); ``spread`` the divisor of the
    ``normalized`` aggregate (default: ``reference_spread(refs)``, 1 for a single reference); ``pairwise`` the
    (M, K) probe-to-reference distances when the caller has them already. ``Matcher`` verifies with it; the
    evaluation protocol scores many probes of a subject at once with it.
    """
    dist = get_distance(distance)
    proto = prototype(refs)[None] if proto is None else proto
    if spread is None:
        spread = reference_spread(refs, distance) if len(refs) >= 2 else 1.0
    d = dist.pairwise(probes, refs) if pairwise is None else pairwise
    return {"mean": d.mean(axis=1), "min": d.min(axis=1), "centroid": dist.pairwise(probes, proto)[:, 0],
            "normalized": d.mean(axis=1) / spread}


class Matcher:
    """Compares probes with templates under one threshold.

    ``aggregate`` turns a probe's distances to a subject's K references into one distance:
    ``mean`` (average over references), ``min`` (the closest reference), ``centroid``
    (distance to the template's prototype) or ``normalized`` (the mean divided by the mean pairwise
    distance among the references: a subject who signs consistently is held to a tighter match).
    """

    def __init__(self, threshold: Threshold, *, aggregate: str = "mean") -> None:
        if aggregate not in AGGREGATES:
            raise InvalidInput(f"unknown aggregate {aggregate!r}; known: {', '.join(AGGREGATES)}")
        self.threshold = threshold
        self.distance = get_distance(threshold.distance)
        self.aggregate = aggregate

    def _reference_distances(self, probe: np.ndarray, template: Template) -> np.ndarray:
        check_model(self.threshold, template.model_id)
        probe = np.asarray(probe, dtype=np.float32).reshape(1, -1)
        if probe.shape[1] != template.dim:
            raise ModelMismatch(f"probe has dimension {probe.shape[1]}, template has {template.dim}")
        return self.distance.pairwise(probe, template.references)[0]

    def score(self, probe: np.ndarray, template: Template) -> tuple[float, np.ndarray]:
        """probe (D,) -> (aggregate distance, per-reference distances (K,))."""
        agg, per_ref, _ = self._score(probe, template)
        return agg, per_ref

    def _score(self, probe: np.ndarray, template: Template) -> tuple[float, np.ndarray, float]:
        """As ``score``, with the reference scale (see ``Decision.reference_scale``)."""
        per_ref = self._reference_distances(probe, template)
        # the normalized aggregate's divisor (raises for a single reference); the others are not scaled
        scale = reference_spread(template.references, self.distance.name) if self.aggregate == "normalized" else 1.0
        aggs = aggregate_distances(np.asarray(probe, dtype=np.float32).reshape(1, -1), template.references,
                                   self.distance.name, proto=template.centroid[None], spread=scale,
                                   pairwise=per_ref[None])
        return float(aggs[self.aggregate][0]), per_ref, scale

    def verify(self, probe: np.ndarray, template: Template) -> Decision:
        """1:1: accept when the aggregate distance is <= the threshold."""
        agg, per_ref, scale = self._score(probe, template)
        return Decision(
            subject_id=template.subject_id,
            modality=template.modality,
            accepted=agg <= self.threshold.value,
            distance=agg,
            threshold=self.threshold,
            reference_distances=tuple(float(d) for d in per_ref),
            reference_scale=scale,
        )

    def identify(self, probe: np.ndarray, gallery: Sequence[Template], *, top_k: int = 5) -> list[Candidate]:
        """1:N: the top_k subjects by aggregate distance, best first (ties broken by subject id)."""
        if top_k < 1:
            raise InvalidInput(f"top_k must be at least 1, got {top_k}")
        if not gallery:
            return []
        probe = np.asarray(probe, dtype=np.float32).reshape(1, -1)
        for t in gallery:
            check_model(self.threshold, t.model_id)
            if t.dim != probe.shape[1]:
                raise ModelMismatch(f"probe has dimension {probe.shape[1]}, template of {t.subject_id!r} has {t.dim}")
        if self.aggregate == "centroid":
            mat = np.stack([t.centroid for t in gallery])
            agg = self.distance.pairwise(probe, mat)[0]
        else:
            refs = np.concatenate([t.references for t in gallery])
            owner = np.repeat(np.arange(len(gallery)), [t.n_references for t in gallery])
            d = self.distance.pairwise(probe, refs)[0]
            if self.aggregate in ("mean", "normalized"):
                agg = np.bincount(owner, weights=d, minlength=len(gallery)) / np.bincount(owner)
                if self.aggregate == "normalized":
                    agg = agg / np.array([reference_spread(t.references, self.distance.name) for t in gallery])
            else:
                agg = np.full(len(gallery), np.inf)
                np.minimum.at(agg, owner, d)
        ids = [str(t.subject_id) for t in gallery]
        order = sorted(range(len(gallery)), key=lambda j: (agg[j], ids[j]))[:top_k]
        return [
            Candidate(
                subject_id=SubjectId(ids[j]),
                distance=float(agg[j]),
                rank=r + 1,
                below_threshold=bool(agg[j] <= self.threshold.value),
            )
            for r, j in enumerate(order)
        ]
