"""Suite-wide test settings: offscreen Qt, and single-threaded BLAS so tiny matrix products stay fast."""

from __future__ import annotations

import os

import pytest

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
