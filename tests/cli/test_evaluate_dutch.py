"""`biometrix evaluate --dataset sigcomp2011_dutch` on real data, checked against the archive and the score files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from biometrix.cli import main
from biometrix.core.metrics import eer

from .conftest import SHARED_DATA

DUTCH_ZIP = SHARED_DATA / "sigcomp2011_dutch" / "sigcomp2011_dutch_half.zip"
pytestmark = pytest.mark.skipif(not DUTCH_ZIP.is_file(), reason=f"needs the SigComp2011 Dutch data at {DUTCH_ZIP}")


def test_evaluate_dutch_writers_like_the_other_sets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    out = tmp_path / "eval"
    rc = main(["evaluate", "--dataset", "sigcomp2011_dutch", "--data", str(SHARED_DATA), "--subjects", "49-51",
               "--out", str(out)])
    assert rc == 0
    with zipfile.ZipFile(DUTCH_ZIP) as zf:
        files = Counter(tuple(n.split("/")[1:3]) for n in zf.namelist() if n.endswith(".png"))
    report = json.loads((out / "report.json").read_text())
    s = report["summary"]
    # 3 writers x (12 - 5) genuine probes, each writer's forgeries, x 2 other writers' last genuine
    skilled = sum(files[("forged", w)] for w in ("049", "050", "051"))
    assert (s["n_genuine"], s["n_skilled"], s["n_random"]) == (21, skilled, 6)
    assert report["source"] == "sigcomp2011_dutch" and report["subjects"] == [49, 50, 51]
    for kind in ("skilled", "random"):
        rows = [line.split() for line in (out / f"scores-{kind}.txt").read_text().splitlines()]
        genuine = np.array([float(r[3]) for r in rows if r[0] == r[1]])
        impostor = np.array([float(r[3]) for r in rows if r[0] != r[1]])
        assert eer(genuine=genuine, impostor=impostor).eer == pytest.approx(s[f"{kind}_eer"], abs=1e-6)
    printed = capsys.readouterr().out
    assert "on sigcomp2011_dutch, subjects 49-51" in printed and printed.count("% by subject bootstrap") == 2
    assert "pen comparator" not in printed  # scans: the image model only


def test_evaluate_dutch_writer_that_does_not_exist_is_one_line(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["evaluate", "--dataset", "sigcomp2011_dutch", "--data", str(SHARED_DATA), "--subjects", "4-6",
               "--out", str(tmp_path / "e")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert err[0] == ("biometrix: error: sigcomp2011_dutch has no subject 5: its subjects are 1-69 without "
                      "5, 7, 8, 10, 11")
