"""Finding 10, errors: a multi-file enroll that refused one file did not say which; errors under --json printed
nothing on stdout for a program to read; `evaluate --subjects` outside the data set ended in a traceback. Each
must now be one clear line naming the cause (and, under --json, a JSON object on stdout)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrix import Biometrix
from biometrix.core.errors import EmptySignature, UnreadableImage
from tests.security.conftest import Run, error_line
from tests.test_access_control import drawn


@pytest.fixture
def signatures(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for i in range(3):
        out[f"good{i}"] = tmp_path / f"good{i}.png"
        cv2.imwrite(str(out[f"good{i}"]), drawn(i))
    out["blank"] = tmp_path / "blank-page.png"
    cv2.imwrite(str(out["blank"]), np.full((150, 300), 255, np.uint8))
    out["garbage"] = tmp_path / "garbage.png"
    out["garbage"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    return out


def test_a_multi_file_enroll_names_the_file_it_refuses(signatures: dict[str, Path], tmp_path: Path,
                                                       cli: Callable[..., Run]) -> None:
    good = [signatures[f"good{i}"] for i in range(3)]
    for bad, kind in (("blank", EmptySignature), ("garbage", UnreadableImage)):
        files = [good[0], good[1], signatures[bad], good[2]]
        with Biometrix(tmp_path / "bank.db") as bx, pytest.raises(kind) as err:  # the type is kept
            bx.enroll("alice", signatures=files)
        assert str(signatures[bad]) in str(err.value), err.value
        assert not any(str(g) in str(err.value) for g in good)
        line = error_line(cli("enroll", "--db", tmp_path / "bank.db", "--subject", "alice", "--signature", *files))
        assert str(signatures[bad]) in line
    with Biometrix(tmp_path / "bank.db") as bx, pytest.raises(EmptySignature, match="signature 2 of 3"):
        bx.enroll("alice", signatures=[drawn(0), np.full((150, 300), 255, np.uint8), drawn(1)])


def test_errors_under_json_are_a_json_object_on_stdout(tmp_path: Path, signatures: dict[str, Path],
                                                       cli: Callable[..., Run]) -> None:
    missing = tmp_path / "missing.db"
    cases = [
        ["verify", "--db", missing, "--subject", "alice", "--signature", signatures["good0"], "--json"],  # the store
        ["enroll", "--db", tmp_path / "b.db", "--subject", "a", "--signature", signatures["blank"],
         signatures["good0"], "--json"],  # the input
        ["verify", "--db", missing, "--json"],  # a usage error (argparse)
        ["db", "info", "--db", "", "--json"],  # a bad argument
        ["enroll", "--db", tmp_path / "c.db", "--subject", "a", "--json"],  # what the command itself checks
    ]
    for argv in cases:
        run = cli(*argv)
        assert run.rc == 2, argv
        doc = json.loads(run.out)
        assert set(doc) == {"error", "exit"} and doc["exit"] == 2 and doc["error"], argv
        assert doc["error"] in run.err.strip().splitlines()[-1]  # the same words as the line on stderr
    assert not missing.exists()
    without = cli("verify", "--db", missing, "--subject", "alice", "--signature", signatures["good0"])
    assert error_line(without) and without.out == ""  # no JSON unless asked for


@pytest.mark.parametrize(("dataset", "subjects", "fragment"), [
    ("cedar", "100-101", "cedar has no subjects 100, 101: its subjects are 1-55"),
    ("cedar", "50-60", "cedar has no subjects 56, 57, 58, 59, 60"),
    ("svc2004", "0", "svc2004 has no subject 0: its subjects are 1-40"),
])
def test_evaluate_subjects_outside_the_data_set(dataset: str, subjects: str, fragment: str,
                                                cli: Callable[..., Run]) -> None:
    line = error_line(cli("evaluate", "--dataset", dataset, "--subjects", subjects, "--out", "unused"))
    assert fragment in line
