"""Evaluation from the dashboard in a real JupyterLab + Chromium: choose the val loader, click
Evaluate while training runs, see the pass finish, training paused, the marker on the loss
curve and its result in the controls; resume with the button. Also one typed hyperparameter
edit (refused, then accepted)."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "evaluation.ipynb"
SUMMARY = re.compile(r"\[WeightsLab\] Evaluation 'val_loader' @ step (\d+) — loss=\d+\.\d{4}")

CELLS = [
    """\
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

torch.set_num_threads(1)
images, labels = digits_dataset().tensors
hp = wl.watch_or_edit({"experiment_name": "eval-browser", "epochs": 10_000,
                       "optimizer": {"lr": 0.01}}, flag="hp")
model = wl.watch_or_edit(digits_mlp(), flag="model")
train = wl.watch_or_edit(TensorDataset(images[:1400], labels[:1400]), flag="data",
                         loader_name="train_loader", batch_size=64, shuffle=True, seed=0)
val = wl.watch_or_edit(TensorDataset(images[1400:], labels[1400:]), flag="data",
                       loader_name="val_loader", batch_size=64, id_prefix="val/")
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=hp["optimizer"]["lr"]),
                             flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="loss", per_sample=True)
handle = wl.start_training(train_digits, train, model, optimizer, loss, epochs=hp["epochs"])
assert handle.wait_for_step(10, timeout=60), handle""",
    "wl.dashboard()",
]


def _wait_for_log(path, pattern: re.Pattern, page, timeout_s: float = 20) -> re.Match:
    """The kernel prints the evaluation summary to its terminal (the lab's log): wait for it."""
    deadline = time.monotonic() + timeout_s
    while True:
        match = pattern.search(path.read_text(errors="replace")) if path.exists() else None
        if match or time.monotonic() > deadline:
            assert match, f"no evaluation summary in {path}"
            return match
        page.wait_for_timeout(100)


def test_evaluate_from_the_panel_marks_the_curve_and_leaves_training_paused(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    started = time.monotonic()
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)

    controls = page.locator(".wl-controls").first
    curves = page.locator(".wl-curves").first
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "running",
                                                                       timeout=60_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()
    expect(curves).not_to_have_attribute("data-points", "0", timeout=20_000)
    expect(curves).to_have_attribute("data-markers", "0")

    # --- evaluate the val loader from the panel
    state = controls.locator(".wl-controls-eval-state")
    expect(state).to_have_attribute("data-state", "none")
    loader = controls.locator(".wl-controls-eval-loader")
    expect(loader.locator("option")).to_have_count(2, timeout=10_000)
    loader.select_option("val_loader")
    controls.locator(".wl-btn-evaluate").click()
    expect(state).to_have_attribute("data-state", "done", timeout=30_000)
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "paused",
                                                                       timeout=20_000)
    expect(curves).to_have_attribute("data-markers", re.compile(r"^[1-9]\d*$"), timeout=20_000)
    expect(curves.locator(".wl-curves-legend-item[data-signal='loss']")).to_have_attribute(
        "data-markers", "1")
    expect(curves.locator(".wl-curves-legend-markers")).to_be_visible()

    result = controls.locator(".wl-controls-eval-result")
    expect(result).to_be_visible()
    marker_hash = result.get_attribute("data-marker-hash") or ""
    assert re.fullmatch(r"[0-9a-f]+_1", marker_hash), marker_hash
    expect(result.locator(".wl-controls-eval-hash")).to_have_text(f"marker {marker_hash}")
    expect(result.locator(".wl-controls-eval-value[data-signal='loss']")).to_have_text(
        re.compile(r"^\d+(\.\d+)?$"))
    expect(controls.locator(".wl-controls-eval-progress-text")).to_have_text("7 / 7 batches")
    # Python side: the kernel printed the pass's summary line, at the step the panel shows
    match = _wait_for_log(root.parent / "lab.log", SUMMARY, page)
    paused_at = int(controls.locator(".wl-controls-step").get_attribute("data-value") or -1)
    assert int(match.group(1)) == paused_at
    expect(result.locator(".wl-controls-eval-result-head")).to_have_text(
        re.compile(rf"^val_loader @ step {paused_at:,}$"))

    # --- a typed hyperparameter edit: refused in the browser, then accepted by Python
    lr_row = page.locator(".wl-hparams-row[data-path='optimizer.lr']")
    expect(lr_row.locator(".wl-hparams-applied")).to_have_text("0.01")
    lr_row.locator(".wl-hparams-input").fill("fast")
    lr_row.locator(".wl-hparams-set").click()
    expect(lr_row.locator(".wl-hparams-error")).to_contain_text("expected a float")
    lr_row.locator(".wl-hparams-input").fill("0.005")
    lr_row.locator(".wl-hparams-set").click()
    expect(lr_row.locator(".wl-hparams-applied")).to_have_text("0.005", timeout=10_000)
    expect(lr_row.locator(".wl-hparams-requested")).to_have_text("0.005")
    expect(lr_row.locator(".wl-hparams-error")).to_be_hidden()

    # --- resume with the button: training goes on past the evaluation's step
    resume = controls.locator(".wl-btn-resume")
    expect(resume).to_be_enabled()
    resume.click()
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "running",
                                                                       timeout=20_000)
    step = controls.locator(".wl-controls-step")
    expect(step).not_to_have_attribute("data-value", str(paused_at), timeout=20_000)
    assert int(step.get_attribute("data-value") or 0) > paused_at

    ARTIFACTS.mkdir(exist_ok=True)
    top = page.locator(".wl-dashboard > .widget-hbox").first  # controls, hparams and curves
    top.scroll_into_view_if_needed()
    top.screenshot(path=str(ARTIFACTS / "evaluation-dashboard.png"))
    controls.locator(".wl-btn-stop").click()
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "stopped",
                                                                       timeout=20_000)
    assert not page.errors, page.errors
    assert time.monotonic() - started < 40, f"took {time.monotonic() - started:.1f} s"
