"""Two-means on one dimension: the split of a set of numbers into a low and a high group.

Used to draw a line from the data itself where a user would otherwise have to pick a
threshold: the suspects' flag set (:mod:`weightslab_nb.suspects`) and the ``likely_mislabel``
verdict of the loss shapes (:mod:`weightslab_nb.loss_shapes`). Layer L0: numpy only.
"""

from __future__ import annotations

import numpy as np


def two_means(values) -> tuple[float, float, float] | None:
    """The split of ``values`` into two groups with the least within-group sum of squared
    deviations (equivalently the largest between-group variance: Otsu 1979), exact, in
    O(n log n).

    Parameters
    ----------
    values : array-like of float, any shape (flattened); must be finite.

    Returns
    -------
    ``(low_mean, high_mean, cut)`` or None when ``values`` holds fewer than two distinct
    numbers. The groups are ``values <= cut`` and ``values > cut``; ``cut`` lies midway between
    two neighbouring distinct values, so equal values always fall in the same group.
    """
    x = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    n = x.size
    if n < 2 or x[0] == x[-1]:
        return None
    csum = np.cumsum(x)
    k = np.arange(1, n)  # size of the low group
    low = csum[:-1] / k
    high = (csum[-1] - csum[:-1]) / (n - k)
    between = np.where(x[1:] > x[:-1], k * (n - k) * (low - high) ** 2, -np.inf)
    i = int(np.argmax(between))
    return float(low[i]), float(high[i]), float((x[i] + x[i + 1]) / 2)


def high_group(values) -> np.ndarray:
    """Boolean mask (shape of ``values`` flattened) of the high group of :func:`two_means`;
    all False with fewer than two distinct values."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    split = two_means(values)
    return values > split[2] if split is not None else np.zeros(values.size, dtype=bool)
