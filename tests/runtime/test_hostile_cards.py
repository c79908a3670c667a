"""Hostile model cards: mutations of a valid card dict give a valid card or a ModelIntegrityError, nothing else.

A tampered .onnx (one byte flipped) is refused by OnnxEncoder: see
tests/runtime/test_encoder.py::test_tampered_model_refused (not repeated here).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrix.core.errors import ModelIntegrityError
from biometrix.runtime.model_card import ModelCard
from tests.runtime.conftest import card_dict

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
BASE = card_dict("sig-tiny-v1", "0" * 64)

# Every place a value lives in the card, as a path of keys / indexes.
PATHS: list[tuple[Any, ...]] = [(k,) for k in BASE]
PATHS += [("normalization", k) for k in BASE["normalization"]]
PATHS += [("input_shape", i) for i in range(3)]
PATHS += [("thresholds", i, k) for i in range(2) for k in BASE["thresholds"][0]]
PATHS += [("thresholds", i) for i in range(2)]

hostile_values = st.one_of(
    st.none(), st.booleans(), st.just(float("nan")), st.just(float("inf")), st.just(float("-inf")),
    st.integers(-(10**400), 10**400), st.sampled_from([-1, 0, -0.0, 2**63, 10**30, 1e308, -1e-300]),
    st.floats(), st.text(max_size=10), st.sampled_from(["default", "a" * 10_000, "sig-x.onnx", "../x.onnx"]),
    st.lists(st.integers(-5, 5), max_size=4), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3),
)


def _parent(card: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = card
    for key in path[:-1]:
        node = node[key]
    return node


mutation = st.one_of(
    st.tuples(st.just("drop"), st.sampled_from(PATHS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(PATHS), hostile_values),
    st.tuples(st.just("add"), st.sampled_from([(), ("normalization",), ("thresholds", 0)]), st.text(max_size=8)),
)


def _mutate(card: dict[str, Any], op: str, path: tuple[Any, ...], value: Any) -> None:
    if op == "add":
        node = card
        for key in path:
            node = node[key]
        node[f"unknown_{value}"] = 1
        return
    parent = _parent(card, path)
    if op == "drop":
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


def _check_card(card: ModelCard) -> None:
    assert card.embedding_dim > 0 and card.normalization.std > 0
    assert math.isfinite(card.normalization.mean) and math.isfinite(card.normalization.std)
    assert all(math.isfinite(t.value) for t in card.thresholds)
    assert card.onnx_file.endswith(".onnx") and "/" not in card.onnx_file
    # a card that validates writes JSON that validates again to the same card
    again = ModelCard.from_dict(json.loads(card.to_json()))
    assert again.to_dict() == card.to_dict()


def test_base_card_is_valid() -> None:
    _check_card(ModelCard.from_dict(copy.deepcopy(BASE)))


@FAST
@given(mutations=st.lists(mutation, min_size=1, max_size=3))
def test_mutated_cards(mutations: list[tuple[str, tuple[Any, ...], Any]]) -> None:
    card = copy.deepcopy(BASE)
    for op, path, value in mutations:
        try:
            _mutate(card, op, path, value)
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed or replaced the parent
            continue
    try:
        parsed = ModelCard.from_dict(card)
    except ModelIntegrityError as err:
        assert str(err) and "\n" not in str(err)
        return
    _check_card(parsed)


@FAST
@given(raw=st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
))
def test_arbitrary_json_is_not_a_card(raw: object) -> None:
    try:
        ModelCard.from_dict(raw)
    except ModelIntegrityError:
        return
    raise AssertionError(f"accepted {raw!r}")


@FAST
@given(text=st.text(max_size=100) | st.sampled_from(["[" * 50_000, '{"a": ' * 50_000, "NaN", "1e999"]))
def test_card_file_with_garbage(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sig-tiny-v1.json"
    path.write_text(text, encoding="utf-8")
    try:
        ModelCard.load(path)
    except ModelIntegrityError:
        return
    raise AssertionError(f"accepted {text!r}")


def test_card_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "sig-tiny-v1.json"
    path.write_bytes(b'{"model_id": "\xff\xfe"}')
    try:
        ModelCard.load(path)
    except ModelIntegrityError:
        return
    raise AssertionError("accepted a non-UTF-8 card")


def test_huge_integers_are_integrity_errors(tmp_path: Path) -> None:
    """Regressions: a JSON integer of > 4300 digits, and one too large for a float, were raw Python errors."""
    path = tmp_path / "sig-tiny-v1.json"
    path.write_text('{"model_id": ' + "1" * 5000 + "}", encoding="utf-8")
    try:
        ModelCard.load(path)
    except ModelIntegrityError as err:
        assert "not usable JSON" in str(err)
    else:
        raise AssertionError("accepted")
    card = copy.deepcopy(BASE)
    card["normalization"]["std"] = 10**400
    try:
        ModelCard.from_dict(card)
    except ModelIntegrityError as err:
        assert "normalization.std" in str(err) and "out-of-range" in str(err)
    else:
        raise AssertionError("accepted")
