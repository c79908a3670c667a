"""Hostile stroke JSON: strokes_from_json / load_strokes give a valid result or an InvalidInput, nothing else."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrix.capture.pen import (
    STROKES_FORMAT,
    PenPoint,
    Stroke,
    load_strokes,
    rasterize,
    strokes_from_json,
    strokes_to_json,
)
from biometrix.core.errors import EmptySignature, InvalidInput

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.text(max_size=8),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400), st.text(max_size=6),
    st.none(), st.booleans(),
)
# Documents that look like stroke files: the format key right, the points garbled.
near_valid = st.fixed_dictionaries(
    {"format": st.sampled_from([STROKES_FORMAT, STROKES_FORMAT, "biometrix-strokes/2", 1])},
    optional={
        "strokes": st.one_of(
            json_values,
            st.lists(st.lists(st.lists(numbers, min_size=0, max_size=6), max_size=6), max_size=4),
        ),
        "extra": json_values,
    },
)


def _check_result(strokes: list[Stroke]) -> None:
    assert strokes and all(s.points for s in strokes)
    for s in strokes:
        for p in s.points:
            assert all(math.isfinite(v) for v in (p.x, p.y, p.pressure, p.t))
            assert 0.0 <= p.pressure <= 1.0


def _parse(text: str) -> None:
    try:
        strokes = strokes_from_json(text)
    except InvalidInput as err:
        assert str(err)
        return
    _check_result(strokes)


@FAST
@given(doc=json_values | near_valid)
def test_random_json_documents(doc: object) -> None:
    _parse(json.dumps(doc))  # Python writes NaN / Infinity, which json.loads reads back


@FAST
@given(text=st.text(max_size=200))
def test_random_text(text: str) -> None:
    _parse(text)


@FAST
@given(data=st.binary(max_size=300))
def test_non_utf8_file(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "pen.json"
    path.write_bytes(b'{"format": "' + STROKES_FORMAT.encode() + b'", "strokes": [[[' + data)
    try:
        strokes = load_strokes(path)
    except InvalidInput:
        return
    _check_result(strokes)


def test_invalid_utf8_file_is_invalid_input(tmp_path: Path) -> None:
    path = tmp_path / "pen.json"
    path.write_bytes(b'{"format": "\xff\xfe\xfa"}')
    with pytest.raises(InvalidInput, match="cannot read pen data"):
        load_strokes(path)


def test_huge_list_is_handled() -> None:
    doc = {"format": STROKES_FORMAT, "strokes": [[[1, 2, 0.5, 3]] * 15_000 + [[1, 2, 0.5]]]}  # under MAX_PEN_POINTS
    with pytest.raises(InvalidInput, match="malformed"):
        strokes_from_json(json.dumps(doc))
    deep = "[" * 100_000 + "]" * 100_000  # nesting deeper than the recursion limit
    with pytest.raises(InvalidInput):
        strokes_from_json(f'{{"format": "{STROKES_FORMAT}", "strokes": {deep}}}')


def test_integer_too_large_for_a_float_is_invalid_input() -> None:
    text = '{{"format": "{}", "strokes": [[[0, 0, 0.5, 1{}]]]}}'.format(STROKES_FORMAT, "0" * 400)
    with pytest.raises(InvalidInput, match="malformed"):
        strokes_from_json(text)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_refused(value: str) -> None:
    text = f'{{"format": "{STROKES_FORMAT}", "strokes": [[[0, 0, 0.5, 0], [{value}, 1, 0.5, 1]]]}}'
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        strokes_from_json(text)


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
times = st.floats(-6e4, 6e4)  # within MAX_PEN_DURATION_MS of each other: a longer drawing is refused
points = st.builds(PenPoint, x=finite, y=finite, pressure=st.floats(0.0, 1.0), t=times)
strokes_st = st.lists(st.builds(Stroke, st.lists(points, min_size=1, max_size=20).map(tuple)),
                      min_size=1, max_size=5)


@FAST
@given(strokes=strokes_st)
def test_valid_strokes_round_trip(strokes: list[Stroke]) -> None:
    assert strokes_from_json(strokes_to_json(strokes)) == strokes


@FAST
@given(strokes=strokes_st)
def test_valid_strokes_round_trip_through_a_file(tmp_path: Path, strokes: list[Stroke]) -> None:
    path = tmp_path / "pen.json"
    path.write_text(strokes_to_json(strokes), encoding="utf-8")
    loaded = load_strokes(path)
    assert loaded == strokes
    try:
        img = rasterize(loaded)
    except EmptySignature:  # all points at one place
        return
    assert img.dtype == np.uint8 and img.ndim == 2


any_finite = st.floats(allow_nan=False, allow_infinity=False)
extreme_points = st.builds(PenPoint, x=any_finite, y=any_finite, pressure=st.floats(0.0, 1.0), t=any_finite)


@FAST
@given(pts=st.lists(extreme_points, min_size=1, max_size=6))
def test_rasterize_extreme_coordinates(pts: list[PenPoint]) -> None:
    try:
        img = rasterize([Stroke(tuple(pts))], long_side=64)
    except InvalidInput:
        return
    assert img.dtype == np.uint8 and img.ndim == 2 and 0 < img.shape[0] * img.shape[1] <= 100 * 100


@pytest.mark.parametrize(
    ("coords", "error"),
    [([(0.0, 0.0), (0.0, 6.3e-308)], EmptySignature), ([(-1e308, 0.0), (1e308, 0.0)], InvalidInput)],
    ids=["subnormal-extent", "overflowing-extent"],
)
def test_rasterize_degenerate_extent(coords: list[tuple[float, float]], error: type[Exception]) -> None:
    stroke = Stroke(tuple(PenPoint(x, y, 0.5, float(i)) for i, (x, y) in enumerate(coords)))
    with pytest.raises(error):
        rasterize([stroke])


def test_integer_too_long_to_read_is_invalid_input() -> None:
    text = '{{"format": "{}", "strokes": [[[0, 0, 0.5, {}]]]}}'.format(STROKES_FORMAT, "1" * 5000)
    with pytest.raises(InvalidInput, match="not usable JSON"):
        strokes_from_json(text)
