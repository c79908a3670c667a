"""Tests for biometrix.capture.pen: SVC2004 parsing vs a plain parse, stroke JSON, and the renderer's geometry."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import numpy as np
import pytest

from biometrix.capture.pen import (
    STROKES_FORMAT,
    PenPoint,
    Stroke,
    load_strokes,
    rasterize,
    read_svc2004,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.core.errors import EmptySignature, InvalidInput

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SVC_ZIP = DATA / "svc2004_task2" / "svc2004_task2.zip"
needs_svc = pytest.mark.skipif(not SVC_ZIP.is_file(), reason=f"SVC2004 data not found at {SVC_ZIP}")


def svc_text(name: str) -> str:
    with zipfile.ZipFile(SVC_ZIP) as zf:
        return zf.read(f"Task2/{name}.TXT").decode("ascii")


def plain_parse(text: str) -> list[list[tuple[float, float, float, float]]]:
    """Independent oracle: line by line; each run of pen-down rows is a stroke of (x, -y, p/1023, t)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    n = int(lines[0])
    rows = [[int(v) for v in ln.split()] for ln in lines[1:]]
    assert len(rows) == n
    strokes: list[list[tuple[float, float, float, float]]] = []
    down_before = False
    for x, y, t, button, _az, _alt, p in rows:
        if button == 1:
            if not down_before:
                strokes.append([])
            strokes[-1].append((x, -y, p / 1023, t))
        down_before = button == 1
    return strokes


def line(x0: float, y0: float, x1: float, y1: float, *, n: int = 20, pressure: float = 0.5) -> Stroke:
    return Stroke(tuple(PenPoint(x0 + (x1 - x0) * k / (n - 1), y0 + (y1 - y0) * k / (n - 1), pressure, 10.0 * k)
                        for k in range(n)))


# --- SVC2004 ------------------------------------------------------------------------------------------


@needs_svc
@pytest.mark.parametrize("name", ["U1S1", "U7S25", "U40S40", "U23S13"])
def test_read_svc2004_matches_a_plain_parse(name: str) -> None:
    text = svc_text(name)
    expected = plain_parse(text)
    got = read_svc2004(text, name=name)
    assert len(got) == len(expected) >= 1
    for s, e in zip(got, expected, strict=True):
        assert len(s.points) == len(e)
        np.testing.assert_allclose([(p.x, p.y, p.pressure, p.t) for p in s.points], e, rtol=0, atol=1e-12)
    assert all(0.0 <= p.pressure <= 1.0 for s in got for p in s.points)


@needs_svc
def test_svc2004_file_with_several_strokes_keeps_them_apart() -> None:
    text = svc_text("U1S1")
    assert len(plain_parse(text)) == len(read_svc2004(text)) > 1


def test_read_svc2004_synthetic_runs_and_flip() -> None:
    text = "\n".join([
        "6",
        "10 100 0 0 0 0 500",  # pen up: not drawn
        "11 101 10 1 0 0 1023",
        "12 102 20 1 0 0 0",
        "13 103 30 0 0 0 300",
        "14 104 40 1 0 0 511",
        "15 105 50 0 0 0 0",
    ])
    strokes = read_svc2004(text)
    assert [[(p.x, p.y, p.pressure, p.t) for p in s.points] for s in strokes] == [
        [(11, -101, 1.0, 10), (12, -102, 0.0, 20)],
        [(14, -104, 511 / 1023, 40)],
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "3\n1 2 3 1 0 0 100\n1 2 3 1 0 0 100\n",  # declares 3 holds 2
        "1\n1 2 3 1 0 0 100\n4 5 6 1 0 0 100\n",  # declares 1 holds 2
        "2\n1 2 3 1 0 0 100\n4 5 6 1 0 0\n",  # a short row
        "1\n1 2 x 1 0 0 100\n",  # not numeric
        "two\n1 2 3 1 0 0 100\n",  # bad count
    ],
    ids=["empty", "blank", "too-few", "too-many", "short-row", "non-numeric", "bad-count"],
)
def test_read_svc2004_malformed_is_invalid(text: str) -> None:
    with pytest.raises(InvalidInput, match="U9S9"):
        read_svc2004(text, name="U9S9")


# --- stroke JSON ---------------------------------------------------------------------------------------


def sample_strokes() -> list[Stroke]:
    return [
        Stroke((PenPoint(0.5, 1.25, 0.0, 0.0), PenPoint(3.0, -2.0, 1.0, 7.5), PenPoint(1e6, 1e-7, 0.3333, 16.0))),
        Stroke((PenPoint(-4.0, 8.0, 0.75, 20.0),)),
    ]


def test_strokes_json_round_trip() -> None:
    strokes = sample_strokes()
    text = strokes_to_json(strokes)
    doc = json.loads(text)
    assert doc["format"] == STROKES_FORMAT
    assert doc["strokes"][0][1] == [3.0, -2.0, 1.0, 7.5]
    assert strokes_from_json(text) == strokes


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        json.dumps({"format": "other/1", "strokes": [[[0, 0, 0.5, 0], [1, 1, 0.5, 1]]]}),
        json.dumps({"strokes": [[[0, 0, 0.5, 0], [1, 1, 0.5, 1]]]}),
        json.dumps({"format": STROKES_FORMAT}),
        json.dumps({"format": STROKES_FORMAT, "strokes": None}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, 0, 0.5]]]}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, "a", 0.5, 0]]]}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, 0, float("nan"), 0], [1, 1, 0.5, 1]]]}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, float("inf"), 0.5, 0], [1, 1, 0.5, 1]]]}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, 0, 1.5, 0], [1, 1, 0.5, 1]]]}),
        json.dumps({"format": STROKES_FORMAT, "strokes": [[[0, 0, -0.1, 0], [1, 1, 0.5, 1]]]}),
    ],
    ids=["not-json", "list", "wrong-format", "no-format", "no-strokes", "null-strokes", "three-values",
         "string-value", "nan", "inf", "pressure-high", "pressure-negative"],
)
def test_strokes_from_json_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        strokes_from_json(text)
    assert not isinstance(err.value, EmptySignature)
    assert str(err.value)


@pytest.mark.parametrize("strokes", [[], [Stroke(())]])
def test_empty_strokes_are_empty_signature(strokes: list[Stroke]) -> None:
    with pytest.raises(EmptySignature):
        strokes_to_json(strokes)
    with pytest.raises(EmptySignature):
        rasterize(strokes)


def test_json_with_no_points_is_empty_signature() -> None:
    with pytest.raises(EmptySignature):
        strokes_from_json(json.dumps({"format": STROKES_FORMAT, "strokes": [[], []]}))


@pytest.mark.parametrize(
    "bad", [PenPoint(float("nan"), 0, 0.5, 0), PenPoint(0, 0, 1.01, 0), PenPoint(0, 0, -0.5, 0)]
)
def test_strokes_to_json_refuses_bad_points(bad: PenPoint) -> None:
    with pytest.raises(InvalidInput):
        strokes_to_json([Stroke((PenPoint(5, 5, 0.5, 0), bad))])


# --- rasterize ----------------------------------------------------------------------------------------


def segment_distance(shape: tuple[int, int], p0: np.ndarray, p1: np.ndarray) -> np.ndarray:
    """Distance from every pixel centre (x = column, y = row) to the segment p0-p1."""
    ys, xs = np.mgrid[: shape[0], : shape[1]].astype(np.float64)
    d = p1 - p0
    t = np.clip(((xs - p0[0]) * d[0] + (ys - p0[1]) * d[1]) / max(float(d @ d), 1e-12), 0, 1)
    return np.hypot(xs - (p0[0] + t * d[0]), ys - (p0[1] + t * d[1]))


def test_ink_lies_along_the_drawn_segments() -> None:
    long_side, margin, max_width = 200, 8, 3.0
    # a horizontal line from (0, 0) to (1000, 0) and a vertical one from (1000, 200) to (1000, 500)
    strokes = [line(0, 0, 1000, 0, pressure=0.5), line(1000, 200, 1000, 500, pressure=0.5)]
    img = rasterize(strokes, long_side=long_side, margin=margin, max_width=max_width)
    scale = (long_side - 1) / 1000

    def to_px(x: float, y: float) -> np.ndarray:
        return np.array([x * scale + margin, y * scale + margin])

    d = np.minimum(segment_distance(img.shape, to_px(0, 0), to_px(1000, 0)),
                   segment_distance(img.shape, to_px(1000, 200), to_px(1000, 500)))
    assert img.dtype == np.uint8
    assert (img[d > max_width / 2 + 2] == 255).all()  # white away from the segments (AA caps reach ~1.5 px)
    assert (img[d < 0.5] < 128).all()  # dark on them
    # the horizontal line is on row `margin`, from column margin to margin + long_side - 1
    assert (img[margin, margin : margin + long_side] < 128).all()
    assert (img[margin + 20 : margin + 40, margin : margin + 150] == 255).all()


def test_higher_pressure_draws_a_wider_line() -> None:
    def dark(pressure: float) -> int:
        img = rasterize([line(0, 0, 300, 0, pressure=pressure), line(0, 150, 0, 151, pressure=pressure)],
                        long_side=300, min_width=1.0, max_width=5.0)
        return int((img < 128).sum())

    light, medium, heavy = dark(0.0), dark(0.5), dark(1.0)
    assert light < medium < heavy
    # about length x width: 300 px long, width 1 / 3 / 5
    assert 250 <= light <= 400
    assert heavy > 3.5 * light


@pytest.mark.parametrize(("long_side", "margin"), [(320, 8), (100, 0), (64, 3)])
@pytest.mark.parametrize("tall", [False, True])
def test_output_long_side_is_long_side_plus_margins(long_side: int, margin: int, tall: bool) -> None:
    pts = [(0, 0), (40, 25), (90, 10), (130, 55)]
    if tall:
        pts = [(y, x) for x, y in pts]
    strokes = [Stroke(tuple(PenPoint(x, y, 0.6, k) for k, (x, y) in enumerate(pts)))]
    img = rasterize(strokes, long_side=long_side, margin=margin)
    assert max(img.shape) == long_side + 2 * margin
    short = min(img.shape)
    assert short == math.ceil(55 * (long_side - 1) / 130) + 1 + 2 * margin
    assert (img.shape[0] > img.shape[1]) == tall


def test_same_drawing_at_another_device_resolution_gives_the_same_image() -> None:
    a = [line(0, 0, 100, 30), line(20, 60, 80, 10)]
    b = [Stroke(tuple(PenPoint(p.x * 7.0, p.y * 7.0, p.pressure, p.t) for p in s.points)) for s in a]
    np.testing.assert_array_equal(rasterize(a), rasterize(b))


def test_single_point_stroke_is_drawn_as_a_dot() -> None:
    strokes = [line(0, 0, 100, 0), Stroke((PenPoint(50, 80, 1.0, 500),))]
    margin, long_side = 8, 101
    img = rasterize(strokes, long_side=long_side, margin=margin)
    scale = (long_side - 1) / 100
    cx, cy = round(50 * scale) + margin, round(80 * scale) + margin
    assert img[cy, cx] < 128
    # nothing else in a wide band around the dot's row except the dot
    band = img[cy - 10 : cy + 11].copy()
    band[:, cx - 4 : cx + 5] = 255
    assert (band == 255).all()


def test_an_empty_stroke_among_others_draws_nothing() -> None:
    strokes = [line(0, 0, 100, 40), line(20, 60, 80, 10)]
    np.testing.assert_array_equal(rasterize([strokes[0], Stroke(()), strokes[1], Stroke(())]), rasterize(strokes))


@pytest.mark.parametrize("strokes", [
    [Stroke((PenPoint(5, 5, 0.5, 0),))],
    [Stroke((PenPoint(5, 5, 0.5, 0), PenPoint(5, 5, 0.9, 10))), Stroke((PenPoint(5, 5, 0.1, 20),))],
], ids=["one-point", "repeated-point"])
def test_a_dot_is_empty_signature(strokes: list[Stroke]) -> None:
    with pytest.raises(EmptySignature):
        rasterize(strokes)


# --- load_strokes -----------------------------------------------------------------------------------------


def test_load_strokes_json_and_svc_txt(tmp_path: Path) -> None:
    strokes = sample_strokes()
    (tmp_path / "a.json").write_text(strokes_to_json(strokes), encoding="utf-8")
    assert load_strokes(tmp_path / "a.json") == strokes
    text = "4\n1 2 0 1 0 0 1023\n3 4 10 1 0 0 0\n5 6 20 0 0 0 0\n7 8 30 1 0 0 1023\n"
    (tmp_path / "U1S1.TXT").write_text(text, encoding="ascii")
    got = load_strokes(str(tmp_path / "U1S1.TXT"))
    assert [[(p.x, p.y, p.pressure, p.t) for p in s.points] for s in got] == plain_parse(text)


@needs_svc
def test_load_strokes_real_svc_file(tmp_path: Path) -> None:
    text = svc_text("U3S4")
    path = tmp_path / "U3S4.txt"
    path.write_text(text, encoding="ascii")
    got = load_strokes(path)
    assert [len(s.points) for s in got] == [len(s) for s in plain_parse(text)]


def test_load_strokes_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="missing.json"):
        load_strokes(tmp_path / "missing.json")
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidInput):
        load_strokes(tmp_path / "bin.txt")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_strokes(tmp_path / "bad.json")
