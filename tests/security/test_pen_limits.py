"""Finding 7: pen files had no limits. A stroke JSON of 10 million points took 185 s and 5.4 GB before a wrong
message; 1 million strokes took 56 s and 1.35 GB. Each attack here must be refused with a clear PenDataTooLarge
before any work (the size before the file is read, the counts before arrays are built), within a memory bound
measured with tracemalloc, while every real SVC2004 recording stays inside the limits."""

from __future__ import annotations

import json
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from biometrix.capture.pen import (
    MAX_PEN_DURATION_MS,
    MAX_PEN_FILE_BYTES,
    MAX_PEN_POINTS,
    MAX_PEN_STROKES,
    STROKES_FORMAT,
    PenPoint,
    Stroke,
    load_strokes,
    read_svc2004,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.cli import main
from biometrix.core.errors import PenDataTooLarge
from biometrix.service import load_signature

SVC_ZIP = Path(__file__).resolve().parents[3] / "shared" / "data" / "svc2004_task2" / "svc2004_task2.zip"
MiB = 2**20


def refused_within(limit_bytes: int, call: Callable[[], Any], match: str) -> float:
    """Run ``call``; it must raise PenDataTooLarge matching ``match`` with a tracemalloc peak under
    ``limit_bytes``. Returns the seconds it took."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(PenDataTooLarge, match=match):
            call()
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit_bytes, f"peak {peak / MiB:.1f} MiB"
    return seconds


def write_repeated(path: Path, head: str, unit: str, count: int, tail: str) -> Path:
    """``head + unit * count + tail`` written in chunks (the attack files are far larger than memory we allow)."""
    with path.open("w", encoding="ascii") as f:
        f.write(head)
        chunk = 1_000_000
        for start in range(0, count, chunk):
            f.write(unit * min(chunk, count - start))
        f.write(tail)
    return path


def pen_json(strokes: list[list[list[float]]]) -> str:
    return json.dumps({"format": STROKES_FORMAT, "strokes": strokes})


def test_ten_million_points_are_refused_before_the_file_is_read(tmp_path: Path) -> None:
    path = write_repeated(tmp_path / "huge.json", f'{{"format": "{STROKES_FORMAT}", "strokes": [[',
                          "[1,2,0.5,3],", 10_000_000, "[1,2,0.5,3]]]}")
    assert path.stat().st_size > 100 * MiB
    seconds = refused_within(1 * MiB, lambda: load_strokes(path),
                             rf"is \d+ bytes; pen data is at most {MAX_PEN_FILE_BYTES}")
    assert seconds < 1.0


def test_a_million_strokes_are_refused_before_the_file_is_read(tmp_path: Path) -> None:
    path = write_repeated(tmp_path / "strokes.json", f'{{"format": "{STROKES_FORMAT}", "strokes": [',
                          "[[1,2,0.5,3]],", 1_000_000, "[[1,2,0.5,3]]]}")
    seconds = refused_within(1 * MiB, lambda: load_strokes(path), "pen data is at most")
    assert seconds < 1.0


@pytest.mark.parametrize(("doc", "match"), [
    (pen_json([[]] * 100_000), "more than"),  # 300 KB: refused by counting brackets, before parsing
    (pen_json([[[1, 2, 0.5, 3]] * 25_000]), "more than"),  # one stroke of 25 000 points, also before parsing
    (pen_json([[[1, 2, 0.5, k]] for k in range(MAX_PEN_STROKES + 1)]), f"has {MAX_PEN_STROKES + 1} pen strokes"),
    (pen_json([[[1, 2, 0.5, k] for k in range(MAX_PEN_POINTS // 2 + 1)]] * 2), f"has {MAX_PEN_POINTS + 2} pen points"),
], ids=["100k-empty-strokes", "25k-points", "501-strokes", "20002-points"])
def test_json_under_the_size_limit_is_refused_by_its_counts(doc: str, match: str, tmp_path: Path) -> None:
    assert len(doc) < MAX_PEN_FILE_BYTES
    path = tmp_path / "pen.json"
    path.write_text(doc, encoding="ascii")
    # the memory it may take is the text itself and the parsed JSON lists, never the points built from them
    refused_within(len(doc) * 12 + MiB, lambda: load_strokes(path), match)
    refused_within(len(doc) * 12 + MiB, lambda: strokes_from_json(doc), match)


def test_a_recording_longer_than_the_duration_limit_is_refused() -> None:
    ten_minutes = pen_json([[[0, 0, 0.5, 0], [5, 5, 0.5, 600_000]]])
    with pytest.raises(PenDataTooLarge, match="lasts 600 s; a signature lasts at most 120 s"):
        strokes_from_json(ten_minutes)


def test_svc2004_files_over_the_limits_are_refused_before_their_rows_are_split(tmp_path: Path) -> None:
    row = "3236 5028 17638839 1 1260 400 351\n"
    declared = tmp_path / "declared.txt"
    declared.write_text("10000000\n" + row * 10, encoding="ascii")  # claims 10 million rows
    refused_within(1 * MiB, lambda: load_strokes(declared), "has 10000000 pen points")
    rows = write_repeated(tmp_path / "rows.txt", "100\n", row, 30_000, "")  # 1 MB, lying about its count
    refused_within(3 * MiB, lambda: load_strokes(rows), "pen points; a signature has at most")
    big = write_repeated(tmp_path / "big.txt", "70000\n", row, 70_000, "")
    refused_within(1 * MiB, lambda: load_strokes(big), "pen data is at most")
    slow = "2\n0 0 0 1 0 0 500\n10 10 600000 1 0 0 500\n"
    with pytest.raises(PenDataTooLarge, match="lasts 600 s"):
        read_svc2004(slow)


def test_strokes_given_as_objects_are_counted_before_any_array_is_built() -> None:
    points = tuple(PenPoint(float(k), float(k % 7), 0.5, float(k)) for k in range(MAX_PEN_POINTS + 1))
    strokes = [Stroke(points)]
    refused_within(256 * 1024, lambda: load_signature(strokes), f"has {MAX_PEN_POINTS + 1} pen points")
    many = [Stroke((PenPoint(1.0, 2.0, 0.5, 0.0),))] * (MAX_PEN_STROKES + 1)
    refused_within(256 * 1024, lambda: load_signature(many), f"has {MAX_PEN_STROKES + 1} pen strokes")


def test_a_signature_at_every_limit_is_accepted() -> None:
    per_stroke = MAX_PEN_POINTS // MAX_PEN_STROKES
    step = MAX_PEN_DURATION_MS / MAX_PEN_POINTS
    strokes = [Stroke(tuple(PenPoint(float(s * 3 + k % 3), float(k), 0.5, (s * per_stroke + k) * step)
                            for k in range(per_stroke))) for s in range(MAX_PEN_STROKES)]
    text = strokes_to_json(strokes)
    assert len(text) <= MAX_PEN_FILE_BYTES
    assert strokes_from_json(text) == strokes
    gray, raw = load_signature(strokes)
    assert gray.ndim == 2 and raw.media_type.endswith("strokes+json")


def test_every_svc2004_recording_is_inside_the_limits() -> None:
    if not SVC_ZIP.is_file():
        pytest.skip(f"{SVC_ZIP} is absent (the shared data sets live in ../shared/data beside the repository)")
    with zipfile.ZipFile(SVC_ZIP) as zf:
        names = [n for n in zf.namelist() if n.upper().endswith(".TXT")]
        assert len(names) == 1600
        for name in names:
            assert read_svc2004(zf.read(name).decode("ascii"), name=name)  # raises if any limit were too tight


def test_the_cli_names_the_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOMETRIX_DB", str(tmp_path / "env-default.db"))
    path = write_repeated(tmp_path / "flood.json", f'{{"format": "{STROKES_FORMAT}", "strokes": [[',
                          "[1,2,0.5,3],", 300_000, "[1,2,0.5,3]]]}")
    rc = main(["enroll", "--db", str(tmp_path / "bank.db"), "--subject", "alice", "--signature", str(path)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "flood.json" in err and "pen data is at most" in err


def test_the_signature_pad_stops_at_the_limits(qtbot: Any) -> None:
    pytest.importorskip("PySide6", reason="the pad needs PySide6 (pip install PySide6-Essentials)")
    from biometrix.gui.replay import replay_strokes, synthetic_stylus
    from biometrix.gui.widgets.signature_pad import SignaturePad

    pad = SignaturePad()
    pad.resize(600, 240)
    qtbot.addWidget(pad)
    held = [Stroke(tuple(PenPoint(float(k % 300), float(k % 50), 0.5, float(k)) for k in range(MAX_PEN_POINTS + 50)))]
    replay_strokes(pad, held, synthetic_stylus())  # a pen left on the pad
    assert sum(len(s) for s in pad.points()) == MAX_PEN_POINTS  # what came after the limit was dropped
    with pytest.raises(PenDataTooLarge, match="clear the pad and sign again"):
        pad.strokes()
    pad.undo()
    with pytest.raises(Exception, match="empty"):
        pad.strokes()
    replay_strokes(pad, [Stroke((PenPoint(0.0, 0.0, 0.5, 0.0), PenPoint(9.0, 9.0, 0.5, 50.0)))], synthetic_stylus())
    assert len(pad.strokes()) == 1  # whole again: signing once more works
