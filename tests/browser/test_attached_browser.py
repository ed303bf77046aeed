"""The panels of a training *script* attached to a notebook, in a real JupyterLab + Chromium.

A script (another process) trains on digits and serves its session; the notebook shows
``attached_dashboard(<run dir>)``. The attached curves grow live, the grid draws the script's
thumbnails, a discard clicked in the attached grid reaches the script (its active count drops);
killing the script shows "disconnected … retrying" in the panels, and a script restarted on the
same run directory (new port and token) is found again.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.browser.conftest import ARTIFACTS, REPO, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

SCRIPT = '''\
import json, os, pathlib, sys, time
import torch
from torch import nn
from weightslab_nb.demo import digits_dataset, digits_mlp
from weightslab_nb.serving import serve
from weightslab_nb.session import Session

run = pathlib.Path(sys.argv[1])
torch.set_num_threads(1)
session = Session(root_log_dir=str(run))
session.__enter__()
loader = session.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                               batch_size=64, shuffle=False)
model = digits_mlp()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                name="train-loss", per_sample=True)
serve(serving_cli=True, session=session)
while True:
    for inputs, targets, ids in loader:
        opt.zero_grad()
        loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
        opt.step()
        (run / "counts.tmp").write_text(json.dumps(session.counts()))
        os.replace(run / "counts.tmp", run / "counts.json")
        if (run / "kill").exists():
            os._exit(1)  # as a crash: no clean stop
        time.sleep(0.05)  # a slow run, so the curve grows while the test watches
'''

CELLS = [
    """\
import pathlib, subprocess, sys, time
run = pathlib.Path("attach-run")
script = subprocess.Popen([sys.executable, "train_script.py", str(run)])
deadline = time.monotonic() + 120
while not (run / "serving.json").exists():  # the script is starting (another process)
    assert script.poll() is None and time.monotonic() < deadline, "the script did not serve"
    time.sleep(0.1)""",
    """\
from weightslab_nb.serving.attached_panels import attached_dashboard
board = attached_dashboard(run)
board""",
]


def _counts(root) -> list[int]:
    try:
        return json.loads((root / "attach-run" / "counts.json").read_text())
    except (OSError, ValueError):
        return []


def test_an_attached_dashboard_follows_a_training_script_and_reconnects(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    (root / "train_script.py").write_text(SCRIPT)
    write_notebook(root, "attach.ipynb", CELLS)
    page = browser_page
    open_notebook(page, base, token, "attach.ipynb")
    run_all(page)
    restarted = None
    try:
        curves = page.locator(".wl-curves").first
        grid = page.locator(".wl-grid").first
        expect(grid.locator(".wl-grid-total")).to_have_text("1797", timeout=120_000)
        first = int(curves.get_attribute("data-points") or 0)
        expect(curves).not_to_have_attribute("data-points", str(first), timeout=30_000)
        points = [first]
        deadline = time.monotonic() + 30
        while len(set(points)) < 4 and time.monotonic() < deadline:
            points.append(int(curves.get_attribute("data-points") or 0))
            page.wait_for_timeout(200)
        assert len(set(points)) >= 4 and points[-1] > points[0], points
        expect(grid.locator(".wl-grid-cell img, .wl-grid-cell canvas").first).to_be_visible(
            timeout=30_000)

        grid.locator(".wl-grid-sort").select_option("sample_id")
        expect(grid.locator(".wl-grid-cell").first).to_have_attribute("data-sample-id", "1796",
                                                                      timeout=20_000)
        cell = grid.locator(".wl-grid-cell:not(.is-discarded)").first
        sample_id = cell.get_attribute("data-sample-id")
        cell.click()
        expect(grid.locator(".wl-grid-selected")).to_have_text("1", timeout=10_000)
        grid.locator(".wl-grid-discard").click()
        expect(grid.locator(".wl-grid-active")).to_have_text("1796", timeout=20_000)
        expect(grid.locator(f".wl-grid-cell[data-sample-id='{sample_id}']")).to_have_class(
            re.compile(r"\bis-discarded\b"), timeout=20_000)
        deadline = time.monotonic() + 30
        while _counts(root)[1:] != [1796] and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert _counts(root)[1:] == [1796], "the script's loader did not honour the discard"
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".wl-dashboard").first.screenshot(path=str(ARTIFACTS / "attached.png"))

        (root / "attach-run" / "kill").write_text("")  # the script crashes
        expect(grid.locator(".wl-error-text")).to_contain_text("disconnected from",
                                                               timeout=30_000)
        expect(curves.locator(".wl-error-text")).to_contain_text("retrying", timeout=30_000)
        page.locator(".wl-dashboard").first.screenshot(
            path=str(ARTIFACTS / "attached-disconnected.png"))

        (root / "attach-run" / "kill").unlink()
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout, as the lab's kernel
        restarted = subprocess.Popen([sys.executable, "train_script.py", "attach-run"],
                                     cwd=root, env=env)
        expect(grid.locator(".wl-error-text")).to_have_text("", timeout=120_000)
        expect(grid.locator(".wl-grid-active")).to_have_text("1796", timeout=30_000)
        after = int(curves.get_attribute("data-points") or 0)
        expect(curves).not_to_have_attribute("data-points", str(after), timeout=30_000)
        page.locator(".wl-dashboard").first.screenshot(
            path=str(ARTIFACTS / "attached-reconnected.png"))
        assert not page.errors, page.errors
    finally:
        (root / "attach-run" / "kill").write_text("")  # ends whichever script still runs
        if restarted is not None:
            try:
                restarted.wait(timeout=30)
            except subprocess.TimeoutExpired:
                restarted.kill()
