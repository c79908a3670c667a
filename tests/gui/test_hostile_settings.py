"""Hostile GUI settings files: load_settings gives a valid GuiSettings or an InvalidInput, nothing else; the
threshold keys of older files are ignored with a warning (the database's policy decides)."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biometrix.core.errors import InvalidInput
from biometrix.gui.settings import MODALITIES, POLICY_KEYS, GuiSettings, load_settings, save_settings

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEYS = [f.name for f in dataclasses.fields(GuiSettings)] + list(POLICY_KEYS)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(), st.text(max_size=10),
    st.sampled_from([0, 3, 20, 0.5, 1e-9, 1e308, -1, "face", "signature", "default", "0"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=15,
)
settings_docs = st.dictionaries(
    st.sampled_from(KEYS) | st.text(max_size=8), json_values, max_size=len(KEYS) + 2
)


def _check(s: GuiSettings) -> None:
    assert 3 <= int(s.references) <= 20
    assert s.kiosk_modality in MODALITIES
    assert float(s.kiosk_idle_s) > 0  # NaN is not > 0


def _load(path: Path) -> None:
    try:
        loaded = load_settings(path)
    except InvalidInput as err:
        assert str(err) and "\n" not in str(err)
        return
    _check(loaded)


@FAST
@given(doc=settings_docs | json_values)
def test_random_settings_documents(tmp_path: Path, doc: Any) -> None:
    path = tmp_path / "gui.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _load(path)


@FAST
@given(data=st.binary(max_size=200))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "gui.json"
    path.write_bytes(data)
    _load(path)


@pytest.mark.parametrize(
    "text",
    ["[" * 50_000, '{"a": ' * 50_000, '{"references": ' + "1" * 5000 + "}", "NaN", '{"references": NaN}',
     '{"kiosk_idle_s": Infinity}', '{"kiosk_idle_s": NaN}', '{"references": 1e999}', b"\xff\xfe".decode("latin-1")],
    ids=["deep-array", "deep-object", "long-int", "nan-doc", "nan-refs", "inf-idle", "nan-idle", "inf-refs",
         "latin1"],
)
def test_hostile_settings_text(tmp_path: Path, text: str) -> None:
    path = tmp_path / "gui.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput):
        load_settings(path)


@FAST
@given(
    references=st.integers(3, 20),
    kiosk_modality=st.sampled_from(MODALITIES),
    kiosk_idle_s=st.floats(0.1, 1e6),
    camera=st.text(max_size=20),
)
def test_valid_settings_round_trip(tmp_path: Path, references: int, kiosk_modality: str, kiosk_idle_s: float,
                                   camera: str) -> None:
    s = GuiSettings(references=references, kiosk_modality=kiosk_modality, kiosk_idle_s=kiosk_idle_s, camera=camera)
    path = save_settings(tmp_path / "gui.json", s)
    assert load_settings(path) == s
    assert not math.isnan(load_settings(path).kiosk_idle_s)


def test_old_threshold_keys_are_ignored_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A settings file of an earlier version still loads: its thresholds, target FMRs and refer band (any values,
    even invalid ones) are dropped with one warning naming them and the database's policy; other unknown keys
    stay an error."""
    old = {"db_path": "bank.db", "signature_threshold": "skilled_fmr1", "face_threshold": "strict",
           "signature_target_fmr": 0.5, "face_target_fmr": "junk", "refer_band": 0.9, "references": 4}
    path = tmp_path / "gui.json"
    path.write_text(json.dumps(old), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="biometrix.gui.settings"):
        loaded = load_settings(path)
    assert loaded == GuiSettings(db_path="bank.db", references=4)
    (record,) = [r for r in caplog.records if r.name == "biometrix.gui.settings"]
    assert record.levelno == logging.WARNING
    assert all(k in record.getMessage() for k in POLICY_KEYS) and "biometrix policy" in record.getMessage()
    assert set(json.loads(save_settings(path, loaded).read_text())) == {f.name for f in dataclasses.fields(GuiSettings)}
    path.write_text(json.dumps({**old, "threshold": 0.5}), encoding="utf-8")
    with pytest.raises(InvalidInput, match="unknown key.*threshold"):
        load_settings(path)
