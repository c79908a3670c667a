"""Suite-wide test settings: offscreen Qt, single-threaded BLAS so tiny matrix products stay fast, and
reproducible property-based tests.

Hypothesis draws its examples from a seed fixed per test (profile ``default``), so the suite, and CI's run of it,
gives the same verdict every time; ``pytest --hypothesis-profile=explore`` draws fresh examples on each run, to
look for new failures (a failure found that way becomes an ``@example`` of its test)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("default", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("default")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")


@pytest.fixture(autouse=True, scope="session")
def _single_threaded_blas():
    """OpenBLAS spreads even 20x20 products over every core; on a busy 2-core CI box that makes the
    many small distance computations in the tests 10-25x slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ModuleNotFoundError:  # threadpoolctl comes with scikit-learn (dev extra)
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(autouse=True, scope="session")
def _private_key_folder(tmp_path_factory):
    """Databases made by the tests keep their key files here (and any keyring file), not in the home folder;
    subprocesses inherit it through the environment."""
    keys = tmp_path_factory.mktemp("biometrix-keys")
    saved = {k: os.environ.get(k) for k in ("BIOMETRIX_KEY_DIR", "XDG_DATA_HOME", "BIOMETRIX_PASSPHRASE",
                                            "BIOMETRIX_KEY_STORE")}
    os.environ["BIOMETRIX_KEY_DIR"] = str(keys)
    os.environ["XDG_DATA_HOME"] = str(keys / "data")  # keyrings.alt's file keyring lives under it
    os.environ.pop("BIOMETRIX_PASSPHRASE", None)
    os.environ.pop("BIOMETRIX_KEY_STORE", None)
    yield keys
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


# The throwaway PostgreSQL cluster and its databases (tests/postgres.py), for every test that asks for them.
from tests.postgres import pg_cluster, pg_database, pg_ready  # noqa: E402, F401
