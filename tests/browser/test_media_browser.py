"""The RunMedia panel in a real JupyterLab + Chromium: a training run logs numbers, a histogram,
a table and images with ``wl.log``; the panel shows a card per key, the images as thumbnails
decoded from the PNG bytes the kernel sends, and an earlier step on request."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "media.ipynb"

CELLS = [
    """\
import numpy as np
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp

torch.set_num_threads(1)
data = digits_dataset()
images, labels = data.tensors
wl.watch_or_edit({"experiment_name": "media-browser", "lr": 0.01}, flag="hp")
model = wl.watch_or_edit(digits_mlp(), flag="model")
loader = wl.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=64,
                          shuffle=True, seed=0)
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=0.01), flag="optimizer")
loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                           signal_name="loss", per_sample=True)
run = wl.init(project="browser")


def train(epochs):
    for epoch in range(epochs):
        for x, y, ids in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y, batch_ids=ids).mean()
            loss.backward()
            optimizer.step()
            wl.log({"batch_loss": loss.item()})
        with torch.no_grad():
            losses = nn.functional.cross_entropy(model(images[:64]), labels[:64],
                                                 reduction="none")
        worst = losses.argsort(descending=True)[:3].tolist()
        wl.log({"weights": wl.Histogram(model[1].weight.detach().flatten(), num_bins=16),
                "worst": [wl.Image(images[i], caption=f"sample {i}") for i in worst],
                "table": wl.Table(columns=["sample", "label"],
                                  data=[[i, int(labels[i])] for i in worst])})
    with torch.no_grad():
        scores = model(images[:300]).softmax(dim=1)
    wl.log({"roc": wl.plot.roc_curve(labels[:300], scores, classes_to_plot=[1, 8]),
            "confusion": wl.plot.confusion_matrix(scores.argmax(1), labels[:300])})


handle = wl.start_training(train, 3)
assert handle.wait(timeout=120) and handle.error is None, handle
print("logged steps", run.step)""",
    "wl.RunMedia()",
]


def test_logged_values_show_as_cards_with_thumbnails_and_earlier_steps(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    started = time.monotonic()
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)

    panel = page.locator(".wl-media").first
    expect(panel.locator(".wl-media-run")).to_contain_text("media-browser", timeout=90_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()

    loss = panel.locator(".wl-media-card[data-key='batch_loss']")
    expect(loss).to_have_attribute("data-kind", "number", timeout=30_000)
    expect(loss.locator(".wl-media-number")).to_have_text(re.compile(r"\d"))
    hist = panel.locator(".wl-media-card[data-key='weights']")
    expect(hist.locator("svg.wl-media-hist rect.wl-media-bar")).to_have_count(16)
    table = panel.locator(".wl-media-card[data-key='table']")
    expect(table.locator("table.wl-media-table tbody tr")).to_have_count(3)

    worst = panel.locator(".wl-media-card[data-key='worst']")
    expect(worst).to_have_attribute("data-kind", "images")
    worst.scroll_into_view_if_needed()  # cards ask for their bytes once visible
    thumbs = worst.locator("img.wl-media-thumb")
    expect(thumbs).to_have_count(3, timeout=20_000)
    # the thumbnails are decoded images (8x8 digits), not broken links
    page.wait_for_function(
        "els => els.length === 3 && els.every(e => e.complete && e.naturalWidth === 8)",
        arg=thumbs.element_handles(), timeout=20_000)
    first_src = thumbs.first.get_attribute("src")

    # an earlier step: move the selector to the first epoch's value; new bytes arrive
    selector = worst.locator("input.wl-media-step")
    expect(selector).to_have_attribute("max", "2")
    selector.fill("0")
    selector.dispatch_event("change")
    expect(thumbs.first).not_to_have_attribute("src", first_src or "", timeout=20_000)
    page.wait_for_function(
        "els => els.length === 3 && els.every(e => e.complete && e.naturalWidth === 8)",
        arg=worst.locator("img.wl-media-thumb").element_handles(), timeout=20_000)

    # charts: the ROC curves of two classes with the chance diagonal, a 10 x 10 confusion matrix
    roc = panel.locator(".wl-media-card[data-key='roc'] svg.wl-media-plot[data-chart='roc_curve']")
    expect(roc.locator(".wl-media-plot-series")).to_have_count(2)
    expect(roc.locator(".wl-media-plot-series[data-name='8']")).to_have_count(1)
    expect(roc.locator(".wl-media-plot-chance")).to_have_count(1)
    confusion = panel.locator(".wl-media-card[data-key='confusion'] table.wl-media-confusion")
    expect(confusion.locator("td.wl-media-confusion-cell")).to_have_count(100)
    diagonal = confusion.locator("td.wl-media-confusion-cell.is-diagonal")
    expect(diagonal).to_have_count(10)
    counts = [int(c) for c in confusion.locator("td.wl-media-confusion-cell").evaluate_all(
        "cells => cells.map(c => c.dataset.count)")]
    assert sum(counts) == 300

    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / "media-panel.png"))
    assert time.monotonic() - started < 240
