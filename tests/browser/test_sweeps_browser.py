"""SweepView in a real JupyterLab + Chromium: a grid sweep runs in a background agent while
the panel is displayed; the table gains rows while trials run, ends with every trial
finished and the best one marked, and the scatter draws one dot per trial."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "sweeps.ipynb"
TRIALS = 6

CELLS = [
    """\
import time

import weightslab_nb as wl

config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
          "parameters": {"lr": {"values": [0.1, 0.01, 0.001]},
                         "width": {"values": [8, 32]}}}
sweep_id = wl.sweep(config, project="browser")

def train():
    run = wl.init()
    for step in range(3):  # a short "training": the panel sees the trial running
        time.sleep(0.4)
        wl.log({"loss": run.config["lr"] * 100 / run.config["width"] + 0.1 / (step + 1)})

agent = wl.agent(sweep_id, train, background=True)
wl.SweepView(sweep_id)""",
]


def test_the_sweep_view_fills_while_a_background_agent_runs_trials(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)

    panel = page.locator(".wl-sweeps").first
    rows = panel.locator("tbody .wl-sweeps-row")
    expect(rows.first).to_be_visible(timeout=60_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()
    seen = rows.count()
    assert seen < TRIALS, "the sweep was over before the panel showed it: no live update seen"
    expect(panel.locator("tbody .wl-sweeps-row.is-running")).to_have_count(1, timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    panel.scroll_into_view_if_needed()
    panel.screenshot(path=str(ARTIFACTS / "sweeps-running.png"))
    page.wait_for_function(
        "n => Number(document.querySelector('.wl-sweeps').dataset.trials) > n", arg=seen,
        timeout=60_000)  # the table grew while trials ran

    expect(rows).to_have_count(TRIALS, timeout=90_000)
    expect(panel.locator("tbody .wl-sweeps-row.is-finished")).to_have_count(TRIALS,
                                                                             timeout=30_000)
    best = panel.locator("tbody .wl-sweeps-row.is-best")
    expect(best).to_have_count(1)
    cells = best.locator("td")  # #, state, lr, width, loss, duration, run
    expect(cells.nth(2)).to_have_text("0.001")  # the lowest loss: lr 0.001, width 32
    expect(cells.nth(3)).to_have_text("32")
    expect(panel.locator(".wl-sweeps-summary")).to_contain_text(f"{TRIALS} of {TRIALS} trials")
    expect(panel.locator("svg.wl-sweeps-scatter circle")).to_have_count(TRIALS)
    panel.locator(".wl-sweeps-param").select_option("width")
    expect(panel.locator("svg.wl-sweeps-scatter .wl-sweeps-tick", has_text=re.compile("^32$"))).to_have_count(1)

    best.click()
    expect(panel.locator(".wl-sweeps-status")).to_contain_text("run browser/", timeout=10_000)
    panel.screenshot(path=str(ARTIFACTS / "sweeps-done.png"))
    assert not page.errors, page.errors
