"""A long curve in a real JupyterLab + Chromium (issue 10, item 1): 200,000 steps in the
snapshot, then 20,000 more appended live. The view's copy holds exactly the buckets of
``bucket_series`` over all 220,000 points (rows and width), and the plot draws no false
history: with the y-range fitted to the band, away from step 0 the upper part of the plot
stays empty (the old live re-bucketing
merged the first half of a long run into one bucket, a triangle from the first value)."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "long_curve.ipynb"
N0, N1, MAX_POINTS = 200_000, 20_000, 2000
DATA = f"""\
import numpy as np
N0, N1 = {N0}, {N1}
steps = np.arange(N0 + N1)
mean = 0.5 + 0.1 * np.sin(steps / 500.0)
mean[0] = 48.0  # the issue's first value
lo, hi = mean - 0.1, mean + 0.1"""

CELLS = [
    DATA + """
from weightslab_nb.session import Session
from weightslab_nb.panels.curves import LossCurves

session = Session(root_log_dir="long-curve-run")
session.__enter__()
for i in range(N0):
    session.record_scalar("loss", float(mean[i]), vmin=float(lo[i]), vmax=float(hi[i]), step=i)""",
    f"panel = LossCurves(session, max_points={MAX_POINTS}, height=300)\npanel",
    """\
# appends the last N1 points live once the test has seen the snapshot (it writes 'go')
import pathlib, threading, time

def append_live(go=pathlib.Path("go")):
    while not go.exists():
        time.sleep(0.05)
    for a in range(N0, N0 + N1, 500):
        for i in range(a, a + 500):
            session.record_scalar("loss", float(mean[i]), vmin=float(lo[i]), vmax=float(hi[i]), step=i)
        time.sleep(0.05)  # several `points` messages, not one

threading.Thread(target=append_live, daemon=True).start()""",
]

# drawn pixels of the plot's upper 60%, x from 5% of the plot on (the first bucket lies left
# of it), grid lines aside; the old live re-bucketing painted 10,693 of 129,792 here
PAINTED = """(el) => {
  const c = el.querySelector("canvas");
  const ctx = c.getContext("2d");
  const k = c.width / c.clientWidth;
  const left = 58, right = 14, top = 10, bottom = 26;  // MARGIN of js/src/curves.ts
  const x0 = Math.round((left + 0.05 * (c.clientWidth - left - right)) * k);
  const x1 = Math.round((c.clientWidth - right) * k) - 2;
  const y0 = Math.round(top * k) + 2, y1 = Math.round((top + 0.6 * (c.clientHeight - top - bottom)) * k);
  const img = ctx.getImageData(x0, y0, x1 - x0, y1 - y0);
  let painted = 0, total = 0;
  for (let y = 0; y < img.height; y++) {
    let row = 0;
    for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * 4 + 3] > 0) row++;
    if (row < img.width) painted += row;  // a full row is a grid line
    total += img.width;
  }
  return { painted, total };
}"""


def test_a_long_curve_keeps_its_true_envelope_live(lab, browser_page):
    from playwright.sync_api import expect

    from weightslab_nb.panels.curves import bucket_series

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    try:
        open_notebook(page, base, token, NOTEBOOK)
        run_all(page)
        item = page.locator('.wl-curves-legend-item[data-signal="loss"]')
        expect(item).to_have_attribute("data-points", str(N0), timeout=120_000)
        (root / "go").write_text("")
        expect(item).to_have_attribute("data-points", str(N0 + N1), timeout=60_000)

        ns: dict = {}
        exec(DATA, ns)  # noqa: S102 -- our own DATA: the notebook's series, rebuilt here
        want = bucket_series({"step": ns["steps"], "mean": ns["mean"], "min": ns["lo"],
                              "max": ns["hi"]}, MAX_POINTS)
        rows, width = int(item.get_attribute("data-rows")), int(item.get_attribute("data-width"))
        assert (rows, width) == (len(want["step"]), want["width"]) == (1720, 128)

        plot = page.locator(".wl-curves").first
        # "fit band": the y-range reaches the band's 48.1 at step 0 (by default it holds the
        # mean lines and the band's 1st-99th percentile, here 0.3..0.9)
        plot.locator(".wl-curves-fit-band").check()
        deadline = time.monotonic() + 10
        while True:  # the last draw follows the last points within a frame or two
            got = plot.evaluate(PAINTED)
            if got["painted"] == 0 or time.monotonic() > deadline:
                break
            page.wait_for_timeout(200)
        assert got["total"] > 10_000 and got["painted"] == 0, got
        assert page.errors == [], page.errors
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "curves-long.png"), full_page=True)
