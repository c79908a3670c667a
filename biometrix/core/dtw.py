"""Dynamic time warping: the distance between two sequences that may run at different speeds."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput


def dtw_distance(a: np.ndarray, b: np.ndarray, *, window: int | None = None) -> float:
    """The DTW distance of sequences a (n, F) and b (m, F), divided by n + m.

    The least sum of Euclidean point-to-point costs along a path from the first points of both to their last
    points, each step advancing a, b or both by one point. Dividing by n + m (every path's length lies between
    max(n, m) and n + m - 1) keeps a long signature from being farther than a short one only by its length.

    Row by row: a path reaches row i at some column j' from the row above (diagonally or vertically), then runs
    along the row; with S the row's running sum of costs, D[i, j] = S[j] + min over j' <= j of
    (min(D[i-1, j'-1], D[i-1, j']) - S[j'-1]), a running minimum (costs are never negative).

    ``window`` (a Sakoe-Chiba band, as ``dtaidistance``'s ``window``): row i keeps the columns j with
    i - max(0, n - m) - window < j < i + max(0, m - n) + window, a band around the diagonal widened by the length
    difference so that the last cell is always reached; None: every column.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InvalidInput(f"DTW needs two (n, F) sequences with the same F, got shapes {a.shape} and {b.shape}")
    if len(a) == 0 or len(b) == 0:
        raise InvalidInput("DTW needs two non-empty sequences")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInput("DTW sequences contain NaN or infinite values")
    if window is not None and window < 1:
        raise InvalidInput(f"the DTW window must be at least 1, got {window}")
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    cost = np.sqrt(np.maximum(sq, 0.0))
    n, m = cost.shape
    w = max(n, m) if window is None else window
    prev = np.concatenate([[0.0], np.full(m, np.inf)])  # D[-1, -1 .. m-1]: only the start is reachable
    for i, row in enumerate(cost):
        lo, hi = max(0, i - max(0, n - m) - w + 1), min(m, i + max(0, m - n) + w)
        entry = np.minimum(prev[lo:hi], prev[lo + 1 : hi + 1])  # from the row above: diagonally or vertically
        s = np.cumsum(row[lo:hi])
        before = np.concatenate([[0.0], s[:-1]])  # S[j' - 1]
        prev = np.full(m + 1, np.inf)
        prev[lo + 1 : hi + 1] = s + np.minimum.accumulate(entry - before)
    return float(prev[-1] / (n + m))
