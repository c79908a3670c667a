"""Fixtures for the store tests: real SQLite files under tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from biometrix.store import SampleIn, SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "enroll" / "biometrix.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db_path) as s:
        yield s


@pytest.fixture
def make_samples() -> Callable[[int, int], list[SampleIn]]:
    """n distinct fake PNG samples, reproducible from seed."""

    def make(n: int, seed: int = 0) -> list[SampleIn]:
        rng = np.random.default_rng(seed)
        return [
            SampleIn(
                data=b"\x89PNG\r\n\x1a\n" + rng.bytes(64) + bytes([0, 255, i % 256]),
                media_type="image/png",
                meta={"source": "file", "filename": f"s{seed}_{i}.png"},
            )
            for i in range(n)
        ]

    return make


def embeddings(k: int, d: int = 16, seed: int = 0) -> np.ndarray:
    """(k, d) float32, deliberately not normalised."""
    return (np.random.default_rng(seed).normal(size=(k, d)) * 3.0).astype(np.float32)


def dump(path: Path) -> str:
    """The whole database as SQL text, read through a separate connection."""
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# Each engine's fresh database (SQLite file, PostgreSQL set up by its owner), for the tests run on both engines.
from tests.store.engines import engine  # noqa: E402, F401
