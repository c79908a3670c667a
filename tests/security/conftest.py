"""Fixtures for the security tests: real databases under tmp_path, filled through the real store."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import pytest

from biometrix.core.types import Modality
from biometrix.store import SampleIn, SqliteStore

# The CLI tests' fixtures: commands run in-process, never touching the repository's database.
from tests.cli.conftest import Run, _no_default_db, assert_one_error_line, cli  # noqa: F401

__all__ = ["Run", "cli", "embeddings", "enroll", "error_line", "samples"]

SIG = Modality.SIGNATURE


def samples(n: int, seed: int = 0) -> list[SampleIn]:
    """n distinct fake PNG samples, reproducible from seed."""
    rng = np.random.default_rng(seed)
    return [SampleIn(data=b"\x89PNG\r\n\x1a\n" + rng.bytes(64), media_type="image/png",
                     meta={"source": "file", "filename": f"s{seed}_{i}.png"}) for i in range(n)]


def embeddings(k: int, d: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(k, d)).astype(np.float32)


def enroll(store: SqliteStore, subject: str, *, seed: int = 0, name: str | None = None) -> None:
    """Enroll ``subject`` with three samples (signature, model "s1") through the real store."""
    store.enroll(subject, modality=SIG, model_id="s1", samples=samples(3, seed), embeddings=embeddings(3, seed=seed),
                 display_name=name)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask (group and others may read what is created): what the review saw files created under."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def error_line(run: Run) -> str:
    """The one line of a failed command (exit 2, ``biometrix...: error: ...``, nothing on stdout); that line."""
    assert_one_error_line(run)
    return run.err.strip()
