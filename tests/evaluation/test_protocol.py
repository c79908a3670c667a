"""Tests for biometrix.evaluation (protocol, scores, report) against brute-force numpy and EVALUATION.md counts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix.core.errors import InvalidInput
from biometrix.core.metrics import eer
from biometrix.evaluation.datasets import SignatureRecord
from biometrix.evaluation.protocol import FTA_DISTANCE, ProtocolScores, protocol_scores, rates_at, summarize
from biometrix.evaluation.report import EmbeddedSet, evaluate_pipeline, report, write_outputs
from biometrix.evaluation.scores import ScoreRow, read_scores, write_scores
from biometrix.preprocess.signature import preprocess_signature

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CEDAR_ZIP = DATA / "cedar" / "cedar_signatures_half.zip"
needs_cedar = pytest.mark.skipif(not CEDAR_ZIP.is_file(), reason=f"CEDAR data not found at {CEDAR_ZIP}")

SUBJECTS = (3, 7, 11, 20)
AGGS = ("mean", "min", "centroid", "normalized")
DIM = 8


def cedar_records(subjects: tuple[int, ...] = SUBJECTS) -> list[SignatureRecord]:
    recs = [SignatureRecord("cedar", s, i, g) for s in subjects for g in (True, False) for i in range(1, 25)]
    order = np.random.default_rng(5).permutation(len(recs))  # the protocol must not depend on the order
    return [recs[k] for k in order]


def embeddings(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)


def cos_dist(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return 1.0 - float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def brute_force(records: list[SignatureRecord], emb: np.ndarray, failed: frozenset[int] = frozenset()
                ) -> dict[tuple[str, str], tuple[str, dict[str, float]]]:
    """(claimed, probe id) -> (kind, {aggregate: distance}) by plain loops over EVALUATION.md's CEDAR row."""
    index = {(r.subject, r.genuine, r.index): k for k, r in enumerate(records)}
    subjects = sorted({r.subject for r in records})
    out = {}
    for s in subjects:
        refs = [index[(s, True, i)] for i in range(1, 6) if index[(s, True, i)] not in failed]
        unit = [emb[k] / np.linalg.norm(emb[k]) for k in refs]
        centroid = np.mean(unit, axis=0)
        among = [cos_dist(emb[p], emb[q]) for i, p in enumerate(refs) for q in refs[i + 1 :]]
        spread = max(float(np.mean(among)), 1e-3) if among else 1.0
        probes = [(index[(s, True, i)], "genuine") for i in range(6, 25)]
        probes += [(index[(s, False, i)], "skilled") for i in range(1, 25)]
        probes += [(index[(o, True, 24)], "random") for o in subjects if o != s]
        for k, kind in probes:
            if k in failed:
                d = dict.fromkeys(AGGS, FTA_DISTANCE)
            else:
                ds = [cos_dist(emb[k], emb[r]) for r in refs]
                d = {"mean": float(np.mean(ds)), "min": min(ds), "centroid": cos_dist(emb[k], centroid),
                     "normalized": float(np.mean(ds)) / spread}
            out[(f"cedar:{s}", records[k].sample_id)] = (kind, d)
    return out


def check_against_brute_force(scores: ProtocolScores, expected: dict[tuple[str, str], tuple[str, dict[str, float]]]
                              ) -> None:
    got = {(c.claimed, c.probe): c for c in scores.comparisons}
    assert len(got) == len(scores.comparisons)  # no comparison twice
    assert got.keys() == expected.keys()
    for key, (kind, d) in expected.items():
        c = got[key]
        assert c.kind == kind
        assert set(c.distances) == set(AGGS)
        for agg in AGGS:
            assert c.distances[agg] == pytest.approx(d[agg], rel=1e-5, abs=1e-5), (key, agg)


def test_counts_are_those_evaluation_md_implies() -> None:
    recs = cedar_records()
    scores = protocol_scores(recs, embeddings(len(recs)), source="cedar")
    n = len(SUBJECTS)
    assert scores.n_subjects == n and scores.n_references == 5
    assert scores.scores("genuine", "mean").size == n * 19
    assert scores.scores("skilled", "mean").size == n * 24
    assert scores.scores("random", "mean").size == n * (n - 1)
    for c in scores.comparisons:
        claimed = int(c.claimed.split(":")[1])
        subject, tag = int(c.probe.split(":")[1]), c.probe.split(":")[2]
        if c.kind == "genuine":
            assert subject == claimed and tag.startswith("g") and 6 <= int(tag[1:]) <= 24
        elif c.kind == "skilled":
            assert subject == claimed and tag.startswith("f")
        else:
            assert subject != claimed and tag == "g24"
        assert c.real == f"cedar:{subject}"


@pytest.mark.parametrize("seed", [0, 1])
def test_distances_equal_brute_force(seed: int) -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), seed) * np.random.default_rng(9).uniform(0.1, 10, (len(recs), 1)).astype(np.float32)
    check_against_brute_force(protocol_scores(recs, emb, source="cedar"), brute_force(recs, emb))


def test_records_of_another_source_are_ignored() -> None:
    recs = cedar_records()
    extra = [SignatureRecord("svc2004", 1, i, i <= 20) for i in range(1, 41)]
    emb = embeddings(len(recs) + len(extra), 3)
    scores = protocol_scores(recs + extra, emb, source="cedar")
    check_against_brute_force(scores, brute_force(recs, emb[: len(recs)]))


def test_failed_samples_are_fta_probes_and_dropped_references() -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), 4)
    idx = {(r.subject, r.genuine, r.index): k for k, r in enumerate(recs)}
    failed = frozenset({idx[(3, True, 2)], idx[(3, True, 10)], idx[(7, False, 5)], idx[(11, True, 24)]})
    emb[list(failed)] = 0.0  # as embed_source leaves them
    scores = protocol_scores(recs, emb, source="cedar", failed=failed)
    check_against_brute_force(scores, brute_force(recs, emb, failed))
    n = len(SUBJECTS)
    assert scores.scores("genuine", "min").size == n * 19  # failed probes still count
    assert scores.scores("random", "min").size == n * (n - 1)
    assert (scores.scores("random", "centroid") == FTA_DISTANCE).sum() == n - 1  # subject 11's g24, 3 times
    g = scores.scores("genuine", "mean")
    assert (g == FTA_DISTANCE).sum() == 2  # 3:g10, and 11:g24 (also subject 11's own genuine probe)
    # in 1:1 figures a failed genuine probe is a rejection at any cosine threshold
    assert rates_at(scores, "mean", 2.0)["fnmr"] == pytest.approx(2 / g.size)


def test_normalized_with_a_single_usable_reference_is_the_mean() -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), 10)
    idx = {(r.subject, r.genuine, r.index): k for k, r in enumerate(recs)}
    failed = frozenset(idx[(20, True, i)] for i in range(2, 6))  # subject 20 keeps reference 1 only
    scores = protocol_scores(recs, emb, source="cedar", failed=failed)
    check_against_brute_force(scores, brute_force(recs, emb, failed))
    for c in scores.comparisons:
        if c.claimed == "cedar:20":
            assert c.distances["normalized"] == c.distances["mean"] == c.distances["min"]


def test_normalized_spread_has_a_floor_for_identical_references() -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), 11)
    idx = {(r.subject, r.genuine, r.index): k for k, r in enumerate(recs)}
    for i in range(1, 6):
        emb[idx[(3, True, i)]] = emb[idx[(3, True, 1)]]
    scores = protocol_scores(recs, emb, source="cedar")
    check_against_brute_force(scores, brute_force(recs, emb))
    c = next(c for c in scores.comparisons if c.claimed == "cedar:3" and c.kind == "random")
    assert c.distances["normalized"] == pytest.approx(c.distances["mean"] / 1e-3, rel=1e-4)


def test_a_subject_without_usable_references_is_an_error() -> None:
    recs = cedar_records()
    idx = {(r.subject, r.genuine, r.index): k for k, r in enumerate(recs)}
    failed = frozenset(idx[(7, True, i)] for i in range(1, 6))
    with pytest.raises(ValueError, match="7"):
        protocol_scores(recs, embeddings(len(recs)), source="cedar", failed=failed)


def test_summarize_counts_and_eer() -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), 6)
    # pull each subject's genuine samples towards a subject direction so that EERs are not trivial
    centres = {s: np.random.default_rng(s).normal(size=DIM) for s in SUBJECTS}
    for k, r in enumerate(recs):
        if r.genuine:
            emb[k] += 1.5 * centres[r.subject]
    scores = protocol_scores(recs, emb, source="cedar")
    expected = brute_force(recs, emb)
    n = len(SUBJECTS)
    for agg in AGGS:
        summary = summarize(scores, agg)
        g = np.array([d[agg] for kind, d in expected.values() if kind == "genuine"])
        assert summary["n_genuine"] == g.size == n * 19
        assert summary["n_subjects"] == n and summary["n_references"] == 5
        for kind, count in (("skilled", n * 24), ("random", n * (n - 1))):
            imp = np.array([d[agg] for k, d in expected.values() if k == kind])
            assert summary[f"n_{kind}"] == imp.size == count
            ref = eer(genuine=g, impostor=imp)
            assert summary[f"{kind}_eer"] == pytest.approx(ref.eer, abs=1e-6)
            assert summary[f"{kind}_eer_threshold"] == pytest.approx(ref.threshold, abs=1e-5)
            # fewer than 100 impostors: FMR <= 1 % accepts none, so FNMR = share of genuine >= min impostor
            assert summary[f"{kind}_fnmr_at_fmr1"] == pytest.approx(np.mean(g >= imp.min() - 1e-6), abs=1e-9)
    assert summarize(scores, "centroid")["random_eer"] < 0.5


# --- score files ------------------------------------------------------------------------------------


def test_score_file_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    # distances on a `normalized` scale (0-2) and on a `min` one (about 1e-4): both must come back exactly, or
    # a small-scale model's scores would tie in the file where they do not in the run
    rows = [ScoreRow(f"cedar:{k % 3}", f"cedar:{k % 2}", f"cedar:{k}:g{k}",
                     float(rng.uniform(0, 2) * (1e-4 if k % 2 else 1.0))) for k in range(30)]
    path = tmp_path / "scores.txt"
    assert write_scores(path, rows) == 30
    lines = path.read_text().splitlines()
    assert len(lines) == 30 and all(len(ln.split()) == 4 for ln in lines)
    back = read_scores(path)
    assert [(r.claimed_id, r.real_id, r.probe_id) for r in back] == [(r.claimed_id, r.real_id, r.probe_id)
                                                                     for r in rows]
    assert [r.distance for r in back] == [r.distance for r in rows]
    assert [r.genuine for r in back] == [r.claimed_id == r.real_id for r in rows]


def test_score_file_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("# claimed real probe distance\n\na b c 0.25\n  \nb b d 1e-3\n")
    assert read_scores(path) == [ScoreRow("a", "b", "c", 0.25), ScoreRow("b", "b", "d", 0.001)]


@pytest.mark.parametrize(("bad", "what"), [("a b c", "3 columns"), ("a b c d e", "5 columns"), ("a b c x", "x")])
def test_malformed_score_line_names_the_line(tmp_path: Path, bad: str, what: str) -> None:
    path = tmp_path / "s.txt"
    path.write_text(f"a a p1 0.1\n# comment\n{bad}\na b p2 0.3\n")
    with pytest.raises(InvalidInput, match=rf"s\.txt:3:.*{what}"):
        read_scores(path)


@pytest.mark.parametrize("bad_id", ["has space", "", "tab\there"])
def test_score_ids_with_whitespace_are_refused(tmp_path: Path, bad_id: str) -> None:
    with pytest.raises(InvalidInput):
        write_scores(tmp_path / "s.txt", [ScoreRow("a", bad_id, "p", 0.1)])


# --- report outputs ----------------------------------------------------------------------------------


def test_write_outputs(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the DET plot needs matplotlib: pip install 'biometrix[eval]'")
    recs = cedar_records()
    emb = embeddings(len(recs), 8)
    scores = protocol_scores(recs, emb, source="cedar")
    embedded = EmbeddedSet(tuple(recs), emb, {})
    rep = report(scores, embedded, model_id="raw-test", subjects=SUBJECTS, aggregate="centroid", threshold=0.5)
    written = write_outputs(tmp_path / "out", rep, scores)
    names = {p.name for p in written}
    assert names == {"scores-skilled.txt", "scores-random.txt", "report.json", "det.png"}
    n = len(SUBJECTS)
    expected = brute_force(recs, emb)
    for kind, n_imp in (("skilled", n * 24), ("random", n * (n - 1))):
        rows = read_scores(tmp_path / "out" / f"scores-{kind}.txt")
        assert len(rows) == n * 19 + n_imp
        assert sum(r.genuine for r in rows) == n * 19  # skilled forgeries must not look genuine
        for r in rows:
            ekind, d = expected[(r.claimed_id, r.probe_id)]
            assert ekind in ("genuine", kind)
            assert r.distance == pytest.approx(d["centroid"], abs=1e-6)
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc["model_id"] == "raw-test" and doc["aggregate"] == "centroid" and doc["fta"] == 0
    assert doc["summary"]["n_genuine"] == n * 19 and doc["summary"]["n_skilled"] == n * 24
    assert doc["at_threshold"]["fnmr"] == pytest.approx(rates_at(scores, "centroid", 0.5)["fnmr"])
    png = (tmp_path / "out" / "det.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img is not None and img.std() > 10  # a drawn plot, not a blank canvas


def test_write_outputs_without_plot(tmp_path: Path) -> None:
    recs = cedar_records()
    emb = embeddings(len(recs), 8)
    scores = protocol_scores(recs, emb, source="cedar")
    rep = report(scores, EmbeddedSet(tuple(recs), emb, {}), model_id="m", subjects=SUBJECTS, aggregate="mean")
    written = write_outputs(tmp_path, rep, scores, plot=False)
    assert {p.name for p in written} == {"scores-skilled.txt", "scores-random.txt", "report.json"}
    assert not (tmp_path / "det.png").exists()


@needs_cedar
def test_evaluate_pipeline_on_real_cedar_signers(tmp_path: Path) -> None:
    def embed(img: np.ndarray) -> np.ndarray:
        return preprocess_signature(img, height=16, width=32).ravel() + 1e-3

    rep, scores = evaluate_pipeline(embed, 16 * 32, model_id="raw-pixels", source="cedar", root=DATA,
                                    subjects=(46, 47, 48), aggregate="mean", progress=False)
    assert rep.n_samples == 3 * 48 and rep.fta == 0
    s = rep.summary
    assert (s["n_genuine"], s["n_skilled"], s["n_random"]) == (57, 72, 6)
    assert s["n_subjects"] == 3 and s["n_references"] == 5
    assert {c.claimed for c in scores.comparisons} == {"cedar:46", "cedar:47", "cedar:48"}
    for kind in ("genuine", "skilled", "random"):
        d = scores.scores(kind, "mean")
        assert ((d >= 0) & (d <= 1)).all()  # non-negative pixels: cosine distance within [0, 1]
    assert 0.0 <= s["skilled_eer"] <= 1.0 and 0.0 <= s["random_eer"] <= 1.0
    # raw pixels still tell a signer's own signatures from other signers' better than chance
    assert scores.scores("genuine", "mean").mean() < scores.scores("random", "mean").mean()
    written = write_outputs(tmp_path, rep, scores, plot=False)
    assert len(read_scores(written[0])) == 57 + 72
