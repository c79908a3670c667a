"""Dynamic time warping: the distance between two sequences that may run at different speeds."""

from __future__ import annotations

import numpy as np

from biometrix.core.errors import InvalidInput


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The DTW distance of sequences a (n, F) and b (m, F), divided by n + m.

    The least sum of Euclidean point-to-point costs along a path from the first points of both to their last
    points, each step advancing a, b or both by one point. Dividing by n + m (every path's length lies between
    max(n, m) and n + m - 1) keeps a long signature from being farther than a short one only by its length.

    Row by row: a path reaches row i at some column j' from the row above (diagonally or vertically), then runs
    along the row; with S the row's running sum of costs, D[i, j] = S[j] + min over j' <= j of
    (min(D[i-1, j'-1], D[i-1, j']) - S[j'-1]), a running minimum (costs are never negative).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise InvalidInput(f"DTW needs two (n, F) sequences with the same F, got shapes {a.shape} and {b.shape}")
    if len(a) == 0 or len(b) == 0:
        raise InvalidInput("DTW needs two non-empty sequences")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InvalidInput("DTW sequences contain NaN or infinite values")
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    cost = np.sqrt(np.maximum(sq, 0.0))
    m = cost.shape[1]
    prev = np.concatenate([[0.0], np.full(m, np.inf)])  # D[-1, -1 .. m-1]: only the start is reachable
    for row in cost:
        entry = np.minimum(prev[:-1], prev[1:])  # from the row above: diagonally or vertically, (m,)
        s = np.cumsum(row)
        before = np.concatenate([[0.0], s[:-1]])  # S[j' - 1]
        cur = s + np.minimum.accumulate(entry - before)
        prev = np.concatenate([[np.inf], cur])
    return float(prev[-1] / (len(a) + len(b)))
