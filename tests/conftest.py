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
