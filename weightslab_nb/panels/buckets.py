"""The curves' envelope downsampler: a long series reduced to buckets that keep its true
min/max and weighted mean (:func:`bucket_series`), the rule the browser's live copy
(``js/src/lib/series.ts``) applies to the points it appends. Shared by the live panel
(:mod:`weightslab_nb.panels.curves`) and its static fallback."""

from __future__ import annotations

import numpy as np

from weightslab_nb.errors import InvalidValueError


def bucket_width(step, target: int, min_width: int = 1) -> int:
    """The bucket width (in steps) :func:`bucket_series` uses for ``step`` and ``target``.

    The smallest power of two ``w >= min_width`` such that the points before the last, grouped
    into runs of consecutive points with the same ``step // w``, make at most ``target - 1``
    runs. Appending points never makes it smaller, so a live copy only ever doubles it.
    """
    step = np.asarray(step)
    w = 1
    while w < min_width:
        w *= 2
    body = step[:-1]
    if len(body) == 0:
        return w
    while True:
        keys = np.floor_divide(body, w)
        runs = 1 + int(np.count_nonzero(keys[1:] != keys[:-1]))
        if runs <= target - 1:
            return w
        w *= 2


def bucket_series(series: dict, target: int, min_width: int = 1) -> dict:
    """Reduce a curve to at most ``target`` rows, keeping its true envelope and its last point.

    The rule (the browser's live copy, ``js/src/lib/series.ts``, applies the same one to the
    points it appends, so its rows equal this function's output for the same points): the last
    point is kept exactly; the points before it fall into buckets of width ``w`` steps
    (:func:`bucket_width`: a power of two, aligned to step 0, so a bucket is the run of
    consecutive points with the same ``step // w``). Each bucket becomes one row: its first
    step, the mean of its means weighted by ``weight`` (NaN ignored; NaN when all are), the
    true min of its mins, the true max of its maxes (NaN ignored), ``weight`` = the raw points
    it stands for and ``mean_weight`` = those with a mean that is a number. Appending points
    changes only the last bucket, or doubles ``w`` (merging pairs of whole buckets).

    Parameters
    ----------
    series : dict
        ``step``, ``mean``, ``min``, ``max`` arrays of equal length (``weight`` and
        ``mean_weight`` optional: rows that are already buckets of a width <= ``min_width``).
    target : int
        At least 2.
    min_width : int, default 1
        The width of the buckets ``series`` already holds.

    Returns
    -------
    dict with ``step``, ``mean``, ``min``, ``max``, ``weight``, ``mean_weight`` arrays and
    ``width`` (an int).
    """
    if target < 2:
        raise InvalidValueError(f"target: must be >= 2, got {target}")
    step = np.asarray(series["step"])
    n = len(step)
    mean = np.asarray(series["mean"], dtype=np.float64)
    weight = np.asarray(series["weight"], dtype=np.float64) if "weight" in series else np.ones(n)
    if "mean_weight" in series:
        mweight = np.asarray(series["mean_weight"], dtype=np.float64)
    else:
        mweight = np.where(np.isnan(mean), 0.0, weight)
    lo = np.asarray(series["min"], dtype=np.float64)
    hi = np.asarray(series["max"], dtype=np.float64)
    width = bucket_width(step, target, min_width)
    if n == 0:
        return {"step": step, "mean": mean, "min": lo, "max": hi, "weight": weight,
                "mean_weight": mweight, "width": width}
    body = n - 1
    keys = np.floor_divide(step[:body], width)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if body else np.zeros(0, int)
    if body:
        mw = mweight[:body]
        msum = np.add.reduceat(np.where(mw > 0, mean[:body] * mw, 0.0), starts)
        wsum = np.add.reduceat(mw, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            bmean = np.where(wsum > 0, msum / np.where(wsum > 0, wsum, 1.0), np.nan)
        bmin = np.fmin.reduceat(lo[:body], starts)
        bmax = np.fmax.reduceat(hi[:body], starts)
        bweight = np.add.reduceat(weight[:body], starts)
    else:
        bmean = bmin = bmax = bweight = wsum = np.zeros(0)
    return {
        "step": np.append(step[starts], step[body]),
        "mean": np.append(bmean, mean[body]),
        "min": np.append(bmin, lo[body]),
        "max": np.append(bmax, hi[body]),
        "weight": np.append(bweight, weight[body]),
        "mean_weight": np.append(wsum, mweight[body]),
        "width": width,
    }
