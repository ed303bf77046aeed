"""The curve downsampler keeps the true envelope at any length (issue 10, item 1).

``bucket_series`` is compared with a brute-force reference written with plain Python loops:
every output row's min and max are the true min and max of the raw points it covers, its mean
the count-weighted mean, its buckets aligned to power-of-two step widths, and bucketing a
prefix then the rest gives the rows of bucketing everything at once (what the browser's live
copy does, ``js/src/lib/series.ts``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightslab_nb.panels.curves import bucket_series, bucket_width


def reference(step, mean, lo, hi, target):
    """Brute force: the smallest power-of-two width giving <= target - 1 runs, then loops."""
    step = [int(s) for s in step]
    n = len(step)
    body = n - 1

    def runs(w):
        keys = [s // w for s in step[:body]]
        return sum(1 for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1])

    w = 1
    while runs(w) > target - 1:
        w *= 2
    rows = []
    i = 0
    while i < body:
        j = i
        while j < body and step[j] // w == step[i] // w:
            j += 1
        ms = [float(mean[k]) for k in range(i, j) if not math.isnan(mean[k])]
        los = [float(lo[k]) for k in range(i, j) if not math.isnan(lo[k])]
        his = [float(hi[k]) for k in range(i, j) if not math.isnan(hi[k])]
        rows.append((step[i], sum(ms) / len(ms) if ms else math.nan,
                     min(los) if los else math.nan, max(his) if his else math.nan, j - i))
        i = j
    if n:
        rows.append((step[body], float(mean[body]), float(lo[body]), float(hi[body]), 1))
    return w, rows


def assert_matches_reference(series, target):
    out = bucket_series(series, target)
    w, rows = reference(series["step"], series["mean"], series["min"], series["max"], target)
    assert out["width"] == w
    assert len(out["step"]) == len(rows) <= target
    exp = np.array([r[1:] for r in rows], dtype=np.float64).reshape(-1, 4)
    assert out["step"].tolist() == [r[0] for r in rows]
    np.testing.assert_array_equal(out["min"], exp[:, 1])  # the true min, exactly
    np.testing.assert_array_equal(out["max"], exp[:, 2])  # the true max, exactly
    np.testing.assert_array_equal(out["weight"], exp[:, 3])
    np.testing.assert_allclose(out["mean"], exp[:, 0], rtol=1e-12, atol=1e-12, equal_nan=True)
    return out


def make(step, mean, spread=None):
    step = np.asarray(step, dtype=np.int64)
    mean = np.asarray(mean, dtype=np.float64)
    spread = np.zeros(len(mean)) if spread is None else np.asarray(spread, dtype=np.float64)
    return {"step": step, "mean": mean, "min": mean - spread, "max": mean + spread}


def adversarial(n, rng):
    steps = np.arange(n)
    spike = np.zeros(n)
    spike[rng.integers(n)] = 1e6
    plateau = np.repeat(rng.normal(size=max(1, n // 500)), 500)[:n]
    plateau = np.pad(plateau, (0, n - len(plateau)), constant_values=3.0)
    alternating = np.where(steps % 2 == 0, -1e3, 1e3)
    gaps = rng.normal(size=n)
    gaps[rng.random(n) < 0.3] = np.nan
    gaps[n // 3: n // 2] = np.nan  # a long all-NaN stretch
    return {
        "random": make(steps, rng.normal(size=n), rng.random(n)),
        "single spike": make(steps, spike),
        "spike at step 0 (the issue's 48)": make(steps, np.r_[48.0, np.full(n - 1, 0.01)]),
        "plateaus": make(steps, plateau),
        "alternating extremes": make(steps, alternating),
        "NaN gaps": make(steps, gaps, np.abs(gaps)),
        "sparse steps": make(np.cumsum(rng.integers(1, 50, size=n)), rng.normal(size=n)),
        "repeated steps": make(np.sort(rng.integers(0, n // 3 + 1, size=n)), rng.normal(size=n)),
    }


@pytest.mark.parametrize("n,target", [(0, 2), (1, 2), (2, 2), (3, 2), (17, 4), (1000, 16),
                                      (5000, 100), (20_001, 400)])
def test_every_bucket_holds_the_true_envelope_of_its_points(n, target):
    rng = np.random.default_rng(n + target)
    for name, series in (adversarial(n, rng) if n >= 2 else
                         {"tiny": make(np.arange(n), rng.normal(size=n))}).items():
        out = assert_matches_reference(series, target)
        if n:
            assert out["weight"].sum() == n, name
            assert np.nanmax(out["max"]) == np.nanmax(series["max"]) if not np.all(
                np.isnan(series["max"])) else True


def test_buckets_are_aligned_to_power_of_two_widths():
    series = make(np.arange(100_000) + 7, np.random.default_rng(3).normal(size=100_000))
    out = bucket_series(series, 4000)
    w = out["width"]
    assert w & (w - 1) == 0 and w == 32  # 100,000 / 32 = 3,125 buckets <= 3,999; 16 gives 6,250
    keys = out["step"][:-1] // w
    assert np.all(np.diff(keys) >= 1)
    # whole buckets inside; partial ones at both ends (steps 7..31, then the last bucket
    # before the exact last point)
    assert np.all(out["weight"][1:-2] == w) and out["weight"][0] == 25


def test_a_million_steps_keep_every_bucket_envelope():
    n, target = 1_000_000, 4000
    rng = np.random.default_rng(7)
    mean = rng.normal(size=n).cumsum() * 1e-3
    mean[123_457] = 1e9  # one spike
    series = make(np.arange(n), mean, rng.random(n))
    out = bucket_series(series, target)
    w = out["width"]
    assert len(out["step"]) <= target and w == 256
    # each row against its own slice of the raw points
    bounds = np.r_[np.searchsorted(series["step"], out["step"][:-1]), n - 1]
    for i in range(len(bounds) - 1):
        a, b = bounds[i], bounds[i + 1]
        assert out["min"][i] == series["min"][a:b].min()
        assert out["max"][i] == series["max"][a:b].max()
        assert math.isclose(out["mean"][i], series["mean"][a:b].mean(), rel_tol=1e-9, abs_tol=1e-12)
        assert out["weight"][i] == b - a
    assert out["max"].max() == series["max"].max()


def test_bucketing_a_prefix_then_the_rest_equals_bucketing_everything():
    """What a live copy does: rows of a snapshot, then raw points, re-bucketed at its width."""
    rng = np.random.default_rng(11)
    target = 64
    for name, series in adversarial(30_000, rng).items():
        whole = bucket_series(series, target)
        for cut in (1, 2, 63, 64, 65, 1000, 12_345, 29_999):
            head = bucket_series({k: v[:cut] for k, v in series.items()}, target)
            width = head.pop("width")
            rest = {k: series[k][cut:] for k in ("step", "mean", "min", "max")}
            joined = {k: np.r_[head[k], rest[k]] for k in ("step", "mean", "min", "max")}
            joined["weight"] = np.r_[head["weight"], np.ones(len(rest["step"]))]
            joined["mean_weight"] = np.r_[head["mean_weight"],
                                          np.where(np.isnan(rest["mean"]), 0.0, 1.0)]
            again = bucket_series(joined, target, min_width=width)
            assert again["width"] == whole["width"], (name, cut)
            for k in ("step", "min", "max", "weight", "mean_weight"):
                np.testing.assert_array_equal(again[k], whole[k], err_msg=f"{name} {cut} {k}")
            np.testing.assert_allclose(again["mean"], whole["mean"], rtol=1e-9, equal_nan=True)


def test_the_width_never_shrinks_as_points_arrive():
    rng = np.random.default_rng(5)
    step = np.cumsum(rng.integers(1, 4, size=20_000))
    widths = [bucket_width(step[:k], 100) for k in range(1, 20_000, 97)]
    assert widths == sorted(widths)


def test_the_width_only_doubles_to_fit_and_the_target_is_checked():
    assert bucket_width(np.arange(10), 10) == 1
    assert bucket_width(np.arange(11), 10) == 2  # 10 points before the last: 10 runs > 9
    assert bucket_width(np.arange(1000), 10) == 128
    with pytest.raises(ValueError):
        bucket_series(make([0, 1], [0.0, 1.0]), 1)
