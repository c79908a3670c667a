"""Evaluate a signature pipeline on a data set under the fixed protocol; write scores, report and DET plot."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import det_curve, det_points
from biometrix.evaluation.datasets import SignatureRecord, iter_source
from biometrix.evaluation.protocol import (
    ProtocolScores,
    protocol_scores,
    rates_at,
    subject_bootstrap_eer,
    summarize,
)
from biometrix.evaluation.scores import ScoreRow, write_scores

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedSet:
    """Records, their embeddings, and the indices that failed to acquire (with why)."""

    records: tuple[SignatureRecord, ...]
    embeddings: np.ndarray
    failures: dict[int, str] = field(default_factory=dict)


def embed_source(embed: Callable[[np.ndarray], np.ndarray], dim: int, source: str, root: Path,
                 subjects: Sequence[int], *, progress: bool = True) -> EmbeddedSet:
    """Embed every sample of ``subjects``; a sample the pipeline refuses is a failure to acquire."""
    records: list[SignatureRecord] = []
    rows: list[np.ndarray] = []
    failures: dict[int, str] = {}
    for rec, img in tqdm(iter_source(source, root, subjects), desc=f"embedding {source}", disable=not progress,
                         leave=False):
        try:
            rows.append(np.asarray(embed(img), dtype=np.float32))
        except InvalidInput as err:
            failures[len(records)] = str(err)
            rows.append(np.zeros(dim, np.float32))
        records.append(rec)
    if failures:
        log.warning("%d of %d %s samples failed to acquire", len(failures), len(records), source)
    return EmbeddedSet(tuple(records), np.stack(rows), failures)


@dataclass(frozen=True)
class SignatureReport:
    """Figures for one source and aggregate; ``at_threshold`` holds the rates at a frozen threshold;
    ``eer_ci95`` the 95 % subject-bootstrap interval of each EER (``subject_bootstrap_eer``)."""

    model_id: str
    source: str
    subjects: tuple[int, ...]
    aggregate: str
    summary: dict[str, float]
    n_samples: int
    fta: int
    threshold: float | None = None
    at_threshold: dict[str, float] = field(default_factory=dict)
    eer_ci95: dict[str, tuple[float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validation_det(scores: Sequence[ProtocolScores], aggregate: str, *, cedar: Sequence[int], svc: Sequence[int],
                   keep_thresholds: Sequence[float] = (), max_points: int = 200) -> dict[str, object]:
    """A signature card's ``validation_det``: the DET curve of the validation comparisons its default threshold
    is set on (genuine probes against references 1-5 as genuine, the subject's skilled forgeries as impostors),
    keeping the point of each of the card's thresholds (``core.metrics.det_points``)."""
    det = det_points(genuine=np.concatenate([s.scores("genuine", aggregate) for s in scores]),
                     impostor=np.concatenate([s.scores("skilled", aggregate) for s in scores]),
                     max_points=max_points, keep_thresholds=keep_thresholds)
    det["source"] = (f"validation signers (CEDAR {cedar[0]}-{cedar[-1]}, SVC2004 {svc[0]}-{svc[-1]}) through the "
                     f"app's SignaturePipeline, aggregate {aggregate}; genuine probes against references 1-5 as "
                     "genuine, the subject's skilled forgeries as impostors")
    return det


def report(scores: ProtocolScores, embedded: EmbeddedSet, *, model_id: str, subjects: Sequence[int],
           aggregate: str, threshold: float | None = None) -> SignatureReport:
    """Summarise protocol scores (and the rates at ``threshold`` when given)."""
    return SignatureReport(
        model_id=model_id, source=scores.source, subjects=tuple(subjects), aggregate=aggregate,
        summary=summarize(scores, aggregate), n_samples=len(embedded.records), fta=len(embedded.failures),
        threshold=threshold, at_threshold=rates_at(scores, aggregate, threshold) if threshold is not None else {},
        eer_ci95={kind: subject_bootstrap_eer(scores, aggregate, kind) for kind in ("skilled", "random")},
    )


def write_outputs(out_dir: Path, rep: SignatureReport, scores: ProtocolScores, *, plot: bool = True) -> list[Path]:
    """scores-skilled.txt, scores-random.txt (4-column), report.json and, with matplotlib, det.png."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("skilled", "random"):
        rows = [
            ScoreRow(c.claimed, c.real if c.kind != "skilled" else f"forger-of-{c.claimed}", c.probe,
                     c.distances[rep.aggregate])
            for c in scores.comparisons if c.kind in ("genuine", kind)
        ]
        path = out_dir / f"scores-{kind}.txt"
        write_scores(path, rows)
        written.append(path)
    path = out_dir / "report.json"
    path.write_text(json.dumps(rep.to_dict(), indent=2))
    written.append(path)
    if plot:
        written.append(plot_det(scores, rep, out_dir / "det.png"))
    return written


def plot_det(scores: ProtocolScores, rep: SignatureReport, path: Path) -> Path:
    """DET curve (FNMR against FMR, probit axes) for skilled and random forgeries; needs the eval extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ModuleNotFoundError:
        raise InvalidInput("plotting needs matplotlib: pip install 'biometrix[eval]'") from None
    from statistics import NormalDist

    ppf = np.vectorize(NormalDist().inv_cdf)
    lo, hi = 1e-3, 0.5
    fig, ax = plt.subplots(figsize=(5.5, 5))
    g = scores.scores("genuine", rep.aggregate)
    for kind, colour in (("skilled", "tab:red"), ("random", "tab:blue")):
        imp = scores.scores(kind, rep.aggregate)
        det = det_curve(genuine=g, impostor=imp)
        x = ppf(np.clip(det.fmr, lo, hi))
        y = ppf(np.clip(det.fnmr, lo, hi))
        e = rep.summary[f"{kind}_eer"]
        ax.plot(x, y, color=colour, label=f"{kind} forgeries: EER {100 * e:.1f} % "
                                         f"({det.n_genuine} gen / {det.n_impostor} imp)")
    ticks = [0.001, 0.01, 0.05, 0.1, 0.2, 0.5]
    ax.set_xticks(ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.set_yticks(ppf(ticks), [f"{100 * t:g}" for t in ticks])
    ax.plot(ppf([lo, hi]), ppf([lo, hi]), color="grey", lw=0.5, ls="--")
    ax.set_xlim(ppf(lo), ppf(hi))
    ax.set_ylim(ppf(lo), ppf(hi))
    ax.set_xlabel("FMR (%)")
    ax.set_ylabel("FNMR (%)")
    ax.set_title(f"{rep.model_id} on {rep.source} (held-out {rep.subjects[0]}-{rep.subjects[-1]}, "
                 f"{scores.n_references} refs)", fontsize=9)
    ax.grid(True, lw=0.3)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evaluate_pipeline(embed: Callable[[np.ndarray], np.ndarray], dim: int, *, model_id: str, source: str,
                      root: Path, subjects: Sequence[int], aggregate: str, distance: str = "cosine",
                      threshold: float | None = None, progress: bool = True
                      ) -> tuple[SignatureReport, ProtocolScores]:
    """Embed a data set's subjects and report on it under the protocol."""
    emb = embed_source(embed, dim, source, root, subjects, progress=progress)
    scores = protocol_scores(emb.records, emb.embeddings, source=source, distance=distance,
                             failed=frozenset(emb.failures))
    return report(scores, emb, model_id=model_id, subjects=subjects, aggregate=aggregate,
                  threshold=threshold), scores
