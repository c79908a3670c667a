"""End to end, the decision the shipped signature model must give a clear genuine signature and a clear skilled
forgery: ``biometrix verify`` exits 0 with Accept for the one and 1 with Reject for the other, not "0 or 1".

Held-out CEDAR signers enrolled from their genuine signatures 1-5 (the gallery fixture), verified with the app's
signature model (``signature-v6-int8``, aggregate ``min``, default threshold 0.001492):
  - genuine 12 of signer 47: distance 0.00014, a tenth of the threshold (and of the three-zone accept threshold
    0.001763 that bench/signature_zones.json sets on validation writers);
  - skilled forgery 2 of signer 46: distance 0.01504, ten times the threshold (and 2.4 times the three-zone reject
    threshold 0.006387).
Both are far from any threshold, so a change that flips either is a change of the model or of what feeds it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cedar, Run, run_subprocess

MODEL = "signature-v6-int8"
#: (claimed subject, probe, exit code, label, distance recorded with the shipped model)
CASES = {
    "genuine": ("s47", ("genuine", 47, 12), 0, "Accept", 0.00014),
    "skilled forgery": ("s46", ("forgery", 46, 2), 1, "Reject", 0.01504),
}


def _probe(cedar: Cedar, kind: str, signer: int, n: int) -> Path:
    return cedar.genuine(signer, n) if kind == "genuine" else cedar.forgery(signer, n)


@pytest.mark.parametrize("case", list(CASES))
def test_verify_gives_the_decision_the_sample_must_get(case: str, cli: Callable[..., Run], bank_db: Path,
                                                       cedar: Cedar) -> None:
    subject, probe, code, label, distance = CASES[case]
    run = cli("verify", "--db", bank_db, "--subject", subject, "--json", "--signature", _probe(cedar, *probe))
    assert run.rc == code, (run.out, run.err)
    doc = run.json()
    assert isinstance(doc, dict) and doc["model_id"] == MODEL
    assert (doc["decision"], doc["accepted"], doc["refer"]) == (label.lower(), label == "Accept", False)
    assert doc["distance"] == pytest.approx(distance, abs=5e-5)


def test_the_same_decisions_from_a_fresh_process(tmp_path: Path, bank_db: Path, cedar: Cedar) -> None:
    """``python -m biometrix verify`` as a teller's script runs it: exit code and the label that starts the line."""
    for subject, probe, code, label, _ in CASES.values():
        run = run_subprocess(tmp_path, "verify", "--db", bank_db, "--subject", subject, "--signature",
                             _probe(cedar, *probe))
        assert (run.rc, run.err) == (code, ""), run
        assert run.out.split()[:2] == [label, f"subject={subject}"], run.out
