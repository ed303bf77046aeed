"""Python and the browser bucket curves by the same rule: a shared fixture.

``js/src/lib/buckets.fixture.json`` holds series and ``bucket_series`` rows for them; this test
checks Python still produces those rows, ``js/src/lib/envelope.test.ts`` checks the TypeScript
``bucketRows`` and a live ``Series`` do. Regenerate with
``python tests/unit/test_panels_curves_fixture.py`` after a deliberate change of the rule.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from weightslab_nb.panels.curves import bucket_series

FIXTURE = Path(__file__).resolve().parents[2] / "js" / "src" / "lib" / "buckets.fixture.json"
COLUMNS = ("step", "mean", "min", "max", "weight", "mean_weight")


def _json(values):
    return [None if isinstance(v, float) and math.isnan(v) else v for v in np.asarray(values).tolist()]


def _cases():
    rng = np.random.default_rng(2026)
    n = 500
    steps = np.arange(n)
    gaps = rng.normal(size=n)
    gaps[rng.random(n) < 0.3] = np.nan
    gaps[200:300] = np.nan
    cases = {
        "random": (steps, rng.normal(size=n), rng.random(n)),
        "spike at 0": (steps, np.r_[48.0, np.full(n - 1, 0.01)], np.zeros(n)),
        "NaN gaps": (steps, gaps, np.abs(gaps)),
        "sparse steps": (np.cumsum(rng.integers(1, 50, size=n)), rng.normal(size=n), rng.random(n)),
    }
    out = []
    for name, (step, mean, spread) in cases.items():
        mean, spread = np.round(mean, 3), np.round(spread, 3)
        series = {"step": np.asarray(step, dtype=np.int64), "mean": mean,
                  "min": mean - spread, "max": mean + spread}
        runs = []
        for target in (2, 16, 100, 1000):
            b = bucket_series(series, target)
            runs.append({"target": target, "width": b["width"],
                         "output": {k: _json(b[k]) for k in COLUMNS}})
        out.append({"name": name, "input": {k: _json(series[k]) for k in ("step", "mean", "min", "max")},
                    "runs": runs})
    return out


def test_python_buckets_match_the_fixture_the_browser_is_tested_with():
    fixture = json.loads(FIXTURE.read_text())
    cases = _cases()
    assert [c["name"] for c in cases] == [c["name"] for c in fixture]
    for case, want_case in zip(cases, fixture):
        for got, want in zip(case["runs"], want_case["runs"], strict=True):
            assert (got["target"], got["width"]) == (want["target"], want["width"]), case["name"]
            for k in COLUMNS:
                g = np.array(got["output"][k], dtype=np.float64)
                w = np.array(want["output"][k], dtype=np.float64)
                np.testing.assert_allclose(g, w, rtol=1e-12, equal_nan=True,
                                           err_msg=f"{case['name']} {got['target']} {k}")


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(_cases(), separators=(",", ":")))
    print(FIXTURE, FIXTURE.stat().st_size)
