"""The CLI as a real process: ``python -m biometrix`` exit codes, stderr, and no torch at run time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cedar, assert_one_error_line, canonical_dump, run_subprocess

VERIFY_WITHOUT_TORCH = """
import json, sys
from biometrix.cli import main
rc = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print(json.dumps({"rc": rc, "torch": loaded, "onnxruntime": "onnxruntime" in sys.modules}))
"""
EXIT = {"accept": 0, "reject": 1, "refer": 3}


def test_enroll_then_verify_in_processes(tmp_path: Path, cedar: Cedar) -> None:
    db = tmp_path / "bank.db"
    enrolled = run_subprocess(tmp_path, "enroll", "--db", db, "--subject", "s53", "--signature", *cedar.references(53))
    assert enrolled.rc == 0, enrolled.err
    assert enrolled.out.startswith("Enrolled s53: 5 signature references (model ")
    assert enrolled.err == ""
    verified = run_subprocess(tmp_path, "verify", "--db", db, "--subject", "s53", "--json",
                              "--signature", cedar.genuine(53, 15))
    doc = verified.json()
    assert verified.rc == EXIT[doc["decision"]], verified.err  # Accept 0, Reject 1, Refer (three zones) 3
    assert (doc["accepted"], doc["refer"]) == (doc["decision"] == "accept", doc["decision"] == "refer")
    assert verified.err == ""


def test_verify_never_imports_torch(tmp_path: Path, bank_db: Path, cedar: Cedar) -> None:
    run = run_subprocess(tmp_path, "verify", "--db", bank_db, "--subject", "s48", "--json",
                         "--signature", cedar.genuine(48, 14), code=VERIFY_WITHOUT_TORCH)
    assert run.err == "", run.err
    lines = run.out.strip().splitlines()
    assert len(lines) == 2  # verify's JSON, then ours
    decision = json.loads(lines[0])
    report = json.loads(lines[1])
    assert report["rc"] == EXIT[decision["decision"]]
    assert (decision["accepted"], decision["refer"]) == (decision["decision"] == "accept",
                                                         decision["decision"] == "refer")
    assert report["torch"] == []
    assert report["onnxruntime"]  # the model really ran in this process


@pytest.mark.parametrize("kind", ["truncated", "huge", "random"])
def test_bad_file_in_a_process_is_one_line(kind: str, tmp_path: Path, bank_db: Path,
                                           bad_files: dict[str, Path]) -> None:
    """In a real process C libraries (libpng, OpenCV) could write to fd 2 too; stderr must still be one line."""
    before = canonical_dump(bank_db)
    run = run_subprocess(tmp_path, "identify", "--db", bank_db, "--signature", bad_files[kind])
    assert_one_error_line(run, bad_files[kind].name)
    assert canonical_dump(bank_db) == before


def test_usage_error_in_a_process(tmp_path: Path) -> None:
    run = run_subprocess(tmp_path, "verify", "--subject", "x")
    assert run.rc == 2
    assert "usage:" in run.err and "Traceback" not in run.err
