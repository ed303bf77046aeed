"""Evaluation from the dashboard in a real JupyterLab + Chromium: choose the val loader, click
Evaluate while training runs, see the pass finish, training paused, the marker on the loss
curve and its result in the controls; resume with the button. Also one typed hyperparameter
edit (refused, then accepted), and a tag on a val sample whose id a train sample shares (the
train and val sets both index from 0): created in the tag editor, applied from the grid, and
read back in the kernel."""

from __future__ import annotations

import json
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
                       loader_name="val_loader", batch_size=64)  # ids 0..396, as train's
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=hp["optimizer"]["lr"]),
                             flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="loss", per_sample=True)
handle = wl.start_training(train_digits, train, model, optimizer, loss, epochs=hp["epochs"])
assert handle.wait_for_step(10, timeout=60), handle""",
    "wl.dashboard()",
    """\
# reports the samples tagged 'picked' of each origin to picked.json once there are some
import json, pathlib, threading, time

def report_picked(session=wl.current_session(), path=pathlib.Path("picked.json")):
    while not session.closed:
        if session.tag_summary()["boolean"].get("picked"):
            got = {o: session.get_samples_by_tag("picked", origin=o) for o in ("train", "val")}
            path.write_text(json.dumps(got))
            return
        time.sleep(0.1)

threading.Thread(target=report_picked, daemon=True).start()""",
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

    # --- val sample 0 (train has a sample 0 too): tag it from the grid, only it changes
    _tag_val_zero(page, root)

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
    assert time.monotonic() - started < 60, f"took {time.monotonic() - started:.1f} s"


def _tag_val_zero(page, root) -> None:
    """Create the tag 'picked' in the tag editor, show the val samples in the grid, click val
    sample 0 and tag it; the kernel reports that val 0, and not train 0, has the tag."""
    from playwright.sync_api import expect

    tags = page.locator(".wl-tags").first
    tags.scroll_into_view_if_needed()
    tags.locator(".wl-tags-new-name").fill("picked")
    tags.locator(".wl-tags-create").click()
    expect(tags.locator(".wl-tags-status")).to_have_text("created tag 'picked'", timeout=10_000)

    grid = page.locator(".wl-grid").first
    grid.scroll_into_view_if_needed()
    # an explicit sort (the default may have become the suspects preset): ids ascending
    grid.locator(".wl-grid-sort").select_option("sample_id")
    grid.locator(".wl-grid-order").click()
    expect(grid.locator(".wl-grid-order")).to_have_text("↑ low first")
    expect(grid.locator(".wl-grid-origin option")).to_have_count(3, timeout=10_000)
    grid.locator(".wl-grid-origin").select_option("val")
    expect(grid.locator(".wl-grid-matched")).to_have_text("397", timeout=20_000)
    cell = grid.locator(".wl-grid-cell[data-origin='val'][data-sample-id='0']")
    expect(cell).to_have_attribute("data-ref", '["val",0]', timeout=20_000)
    expect(cell.locator(".wl-grid-origin-label")).to_have_text("val")
    cell.click()
    expect(cell).to_have_class(re.compile(r"\bis-selected\b"), timeout=10_000)
    expect(grid.locator(".wl-grid-selected")).to_have_text("1")
    expect(tags.locator(".wl-tags-selection")).to_have_text("1", timeout=10_000)
    expect(tags.locator(".wl-tags-selection-origins")).to_have_text(" (val 1)")

    expect(grid.locator(".wl-grid-action-tag option[value='picked']")).to_have_count(1,
                                                                                      timeout=10_000)
    grid.locator(".wl-grid-action-tag").select_option("picked")
    grid.locator(".wl-grid-add-tag").click()
    expect(grid.locator(".wl-grid-status")).to_have_text("tagged 1 sample 'picked'",
                                                         timeout=10_000)
    expect(cell.locator(".wl-grid-chip[data-tag='picked']")).to_be_visible(timeout=20_000)
    expect(tags.locator(".wl-tags-row[data-tag='picked'] .wl-tags-count")).to_have_text("1")
    # a new tag from the grid's action bar: created and added to the selection
    grid.locator(".wl-grid-new-tag").fill("val_odd")
    grid.locator(".wl-grid-add-new-tag").click()
    expect(grid.locator(".wl-grid-status")).to_have_text("tagged 1 sample 'val_odd'",
                                                         timeout=10_000)
    expect(cell.locator(".wl-grid-chip[data-tag='val_odd']")).to_be_visible(timeout=20_000)
    expect(tags.locator(".wl-tags-row[data-tag='val_odd'] .wl-tags-count")).to_have_text(
        "1", timeout=10_000)

    # Python side: the kernel's own reading of the ledger
    path = root / "picked.json"
    deadline = time.monotonic() + 20
    while not path.exists():
        assert time.monotonic() < deadline, "the kernel did not report the tagged sample"
        page.wait_for_timeout(100)
    assert json.loads(path.read_text()) == {"train": [], "val": [0]}
    ARTIFACTS.mkdir(exist_ok=True)
    # the grid redraws its cells when the tag lands; the panel itself stays in the page
    grid.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "evaluation-grid-val-tagged.png"))

    # back to every sample: train 0 is untagged, beside val 0
    grid.locator(".wl-grid-origin").select_option("")
    expect(grid.locator(".wl-grid-matched")).to_have_text("1797", timeout=20_000)
