"""Finding mislabelled samples in the grid, in a real JupyterLab + Chromium.

The test flips 15 % of the labels of a digits training split (seeded; it knows which), trains
one epoch and opens the sample grid: with one presentation per sample the grid sorts by the
loss (highest first), the default once a per-sample loss exists. Training then goes on in the
background: once most samples were seen twice the "suspects" preset takes over as the sort
without anyone choosing it; when training ends
the top cells are ``session.suspects()``'s top samples, mostly the flipped ones (with the
suggested-class badge, mostly their true class). "discard flagged" asks for a confirmation
naming the count and the origin, then discards exactly the flag set of ``session.suspects()``
(read back in the kernel), and "undo" restores exactly those samples.
"""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "suspects.ipynb"
N_TRAIN = 1257  # the first 70 % of digits
NOISE = 0.15
EPOCHS = 10


def flipped_labels() -> dict[int, tuple[int, int]]:
    """``{sample_id: (true label, given label)}`` of the flipped samples (seeded)."""
    from sklearn.datasets import load_digits

    labels = load_digits().target[:N_TRAIN]
    rng = np.random.default_rng(0)
    ids = rng.choice(N_TRAIN, size=int(NOISE * N_TRAIN), replace=False)
    given = (labels[ids] + rng.integers(1, 10, len(ids))) % 10  # always another class
    return {int(i): (int(labels[i]), int(g)) for i, g in zip(ids, given)}


def cells(flipped: dict[int, tuple[int, int]]) -> list[str]:
    given = {i: g for i, (_, g) in flipped.items()}
    return [
        f"""\
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

torch.set_num_threads(1)
images, labels = digits_dataset().tensors
images, labels = images[:{N_TRAIN}], labels[:{N_TRAIN}].clone()
for i, label in {given!r}.items():  # the flipped labels, chosen by the test
    labels[i] = label
model = wl.watch_or_edit(digits_mlp(), flag="model")
train = wl.watch_or_edit(TensorDataset(images, labels), flag="data", loader_name="train_loader",
                         batch_size=64, shuffle=True, seed=0)
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=0.01), flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="train-loss", per_sample=True)
handle = wl.start_training(train_digits, train, model, optimizer, loss, epochs=1)
handle.wait(60)
assert handle.state == "stopped" and handle.step == 20, handle""",
        "wl.SampleGrid()",
        f"""\
# the rest of the training starts when the test writes the file "go"; state.json reports
# the run's state, and once it is not running the flag set, the top 48 and the discards
import json, pathlib, threading, time

session = wl.current_session()

def report(path=pathlib.Path("state.json")):
    seen = None
    while not session.closed:
        run = session.controller.snapshot()
        now = (session.changes.table, run["state"], run["step"])
        if now != seen:
            seen = now
            state = {{"version": now[0], "state": now[1], "step": now[2],
                      "discarded": sorted(session.get_discarded_samples())}}
            if now[1] != "running":
                frame = session.suspects()
                state["flagged"] = sorted(frame.loc[frame["flagged"], "sample_id"].tolist())
                state["top"] = frame["sample_id"].tolist()[:48]
            path.with_suffix(".tmp").write_text(json.dumps(state))
            path.with_suffix(".tmp").replace(path)
        time.sleep(0.1)

def go(path=pathlib.Path("go")):
    while not path.exists() and not session.closed:
        time.sleep(0.1)
    wl.start_training(train_digits, train, model, optimizer, loss, epochs={EPOCHS - 1})

threading.Thread(target=report, daemon=True).start()
threading.Thread(target=go, daemon=True).start()""",
    ]


def _kernel_state(root, page, predicate, timeout_s: float = 20) -> dict:
    """The kernel's latest report that satisfies ``predicate``."""
    path = root / "state.json"
    deadline = time.monotonic() + timeout_s
    state = None
    while True:
        if path.exists():
            state = json.loads(path.read_text())
            if predicate(state):
                return state
        assert time.monotonic() < deadline, f"the kernel did not report the expected state: {state}"
        page.wait_for_timeout(100)


def test_suspects_preset_and_discard_flagged_with_undo(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    flipped = flipped_labels()
    write_notebook(root, NOTEBOOK, cells(flipped))
    page = browser_page
    started = time.monotonic()
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)

    grid = page.locator(".wl-grid").first
    expect(grid.locator(".wl-grid-total")).to_have_text(str(N_TRAIN), timeout=60_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()

    # --- one epoch: a ranking exists but rests on a short history: the grid sorts by the loss
    page.mouse.move(5, 5)  # the pointer away from the grid (never re-sorted under it)
    bar = grid.locator(".wl-grid-suspects")
    expect(bar.locator(".wl-grid-suspects-text")).to_contain_text(
        "(short history: 0% of samples seen twice)", timeout=20_000)
    expect(grid.locator(".wl-grid-sort")).to_have_value("signals//train-loss")
    expect(grid).to_have_attribute("data-sort-default", "signals//train-loss")
    expect(grid.locator(".wl-grid-status")).to_have_text(
        "sorted by loss, highest first: a per-sample loss is recorded")
    expect(grid.locator(".wl-grid-order")).to_have_text("↓ high first")
    expect(grid).to_have_attribute("data-page-sort", "signals//train-loss", timeout=20_000)
    losses = [float(x) for x in grid.locator(".wl-grid-cell").evaluate_all(
        "cs => cs.map(c => c.querySelector('.wl-grid-loss').textContent)")]
    assert len(losses) == 48 and losses == sorted(losses, reverse=True), losses
    ARTIFACTS.mkdir(exist_ok=True)
    grid.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "suspects-short-history.png"))

    # --- training goes on: the suspects preset becomes the default sort, nobody chose it.
    # "auto re-sort" on: the grid follows the ranking as it moves (the held order, the
    # default, is checked by the quickstart test)
    grid.locator(".wl-grid-auto-resort").check()
    page.mouse.move(5, 5)
    (root / "go").write_text("")
    expect(grid.locator(".wl-grid-sort")).to_have_value("suspects", timeout=30_000)
    expect(grid).to_have_attribute("data-sort-default", "suspects")
    expect(grid.locator(".wl-grid-flagged-status")).to_have_text(
        "sorted by suspects: enough history to rank the samples")
    expect(grid.locator(".wl-grid-status")).not_to_contain_text("sorted by loss")  # not stale
    expect(grid.locator(".wl-grid-order")).to_have_text("↓ most suspect first")
    state = _kernel_state(root, page, lambda s: s["step"] == EPOCHS * 20
                          and s["state"] != "running", timeout_s=40)
    flagged = len(state["flagged"])
    assert len(flipped) * 0.8 <= flagged <= len(flipped) * 1.2, (flagged, len(flipped))
    # the grid's ranking catches up with the end of training (within a few seconds)
    expect(bar).to_have_attribute("data-flagged", str(flagged), timeout=15_000)
    expect(bar).to_have_attribute("data-origin", "train")
    expect(bar.locator(".wl-grid-suspects-text")).to_have_text(
        f"{flagged} flagged of {N_TRAIN:,} in train")

    # the first page: session.suspects()'s top 48, ranked 1, 2, ... and mostly truly flipped
    first = grid.locator(".wl-grid-cell").first
    expect(first).to_have_attribute("data-sample-id", str(state["top"][0]), timeout=15_000)
    expect(first).to_have_attribute("data-suspect-rank", "1")
    top = grid.locator(".wl-grid-cell")
    expect(top).to_have_count(48)
    ids = [int(x) for x in top.evaluate_all("cs => cs.map(c => c.dataset.sampleId)")]
    assert ids == state["top"]
    ranks = [int(x) for x in top.evaluate_all("cs => cs.map(c => c.dataset.suspectRank)")]
    assert ranks == list(range(1, 49))
    precision = sum(i in flipped for i in ids) / len(ids)
    assert precision >= 0.8, f"only {precision:.0%} of the top 48 are flipped samples"
    # flagged cells carry the suggested class: for a flipped sample, mostly its true label
    badges = top.evaluate_all(
        "cs => cs.map(c => [Number(c.dataset.sampleId), "
        "c.querySelector('.wl-grid-suggest')?.textContent ?? null])")
    suggested = {i: b for i, b in badges if b is not None}
    assert len(suggested) >= 40, badges
    right = sum(b == f"→ {flipped[i][0]}" for i, b in suggested.items() if i in flipped)
    assert right >= 0.7 * len(suggested), (right, suggested)
    title = first.get_attribute("title") or ""
    assert "suspect #1 of 1,257 in train — flagged" in title, title
    assert re.search(r"label \d → suggested class \d \(predicted \d\)", title), title
    assert "mean loss" in title and "forgetting events" in title, title

    grid.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "suspects-grid.png"))

    # auto re-sort off again: the discarded cells stay in place, greyed, until a re-sort
    # (a fresh order would put them last)
    grid.locator(".wl-grid-auto-resort").uncheck()

    # --- discard flagged: a confirmation naming the count and the origin, then exactly those
    assert state["discarded"] == []
    grid.locator(".wl-grid-discard-flagged").click()
    confirm = grid.locator(".wl-grid-confirm")
    expect(confirm).to_be_visible(timeout=10_000)
    expect(confirm).to_have_attribute("data-count", str(flagged))
    expect(confirm.locator(".wl-grid-confirm-text")).to_have_text(
        f"Discard {flagged} flagged samples of origin train? They are skipped from the next batch on.")
    expect(grid.locator(".wl-grid-discard-flagged")).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "suspects-confirm.png"))
    grid.locator(".wl-grid-confirm-ok").click()
    expect(grid.locator(".wl-grid-flagged-status")).to_have_text(
        f"discarded {flagged} flagged samples of 'train'", timeout=10_000)
    expect(confirm).to_be_hidden()
    expect(grid.locator(".wl-grid-active")).to_have_text(str(N_TRAIN - flagged), timeout=10_000)
    expect(first).to_have_class(re.compile(r"\bis-discarded\b"), timeout=10_000)
    after = _kernel_state(root, page, lambda s: s["discarded"] and "flagged" in s)
    assert after["discarded"] == after["flagged"] == state["flagged"]
    undo = grid.locator(".wl-grid-undo")
    expect(undo).to_have_text(f"undo (restore {flagged} samples)")
    page.screenshot(path=str(ARTIFACTS / "suspects-discarded.png"))

    # --- undo: exactly those samples come back
    undo.click()
    expect(grid.locator(".wl-grid-flagged-status")).to_have_text(f"undone: restored {flagged} samples",
                                                         timeout=10_000)
    expect(undo).to_be_hidden()
    expect(grid.locator(".wl-grid-active")).to_have_text(str(N_TRAIN), timeout=10_000)
    restored = _kernel_state(root, page, lambda s: s["version"] > after["version"]
                             and not s["discarded"] and "flagged" in s)
    assert restored["flagged"] == state["flagged"]
    expect(grid.locator(".wl-grid-cell.is-discarded")).to_have_count(0, timeout=10_000)
    expect(grid.locator(".wl-grid-sort")).to_have_value("suspects")  # still the sort shown
    assert not page.errors, page.errors
    elapsed = time.monotonic() - started
    assert elapsed < 60, f"took {elapsed:.1f} s"
