"""RunMedia cards a user works with, in a real JupyterLab + Chromium: a logged table shows its
image cells as decoded thumbnails; a card goes full screen and back (Esc); a wide confusion
matrix scrolls inside its card with its class headers in view; a click on a confusion-matrix
cell makes the sample grid of the same notebook show exactly the samples of that (label,
prediction) pair; and notebook 04, run top to bottom, ends with every media card shown (no
"file is missing")."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.conftest import (
    ARTIFACTS, open_notebook, run_all, wait_until_done, write_notebook)

pytestmark = pytest.mark.browser

NOTEBOOK = "media_cards.ipynb"

CELLS = [
    """\
import json

import numpy as np
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

torch.set_num_threads(1)
data = digits_dataset()
images, labels = data.tensors
session = wl.current_session()
loader = wl.watch_or_edit(data, flag="data", loader_name="train_loader", batch_size=64,
                          shuffle=True, seed=0)
model = digits_mlp()
loss_fn = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                           signal_name="loss", per_sample=True)
train_digits(loader, model, torch.optim.SGD(model.parameters(), lr=0.1), loss_fn, epochs=3)
run = wl.init(project="browser")

# the table: 6 rows, an image column and 12 number columns (wider than one card)
extra = [f"c{i}" for i in range(12)]
table = wl.Table(columns=["sample", "image", "label", *extra])
for i in range(6):
    table.add_data(i, wl.Image(images[i], caption=f"digit {int(labels[i])}"), int(labels[i]),
                   *[round(float(v), 3) for v in torch.rand(12)])

# the confusion matrix of the latest predictions the session recorded
frame = session.dataframe
seen = frame.dropna(subset=["prediction"])
predicted, actual = seen["prediction"].to_numpy(int), seen["target"].to_numpy(int)
# 40 classes: wider and taller than its card
rng = np.random.default_rng(0)
wide_true = rng.integers(0, 40, 4000)
wide_pred = np.where(rng.random(4000) < 0.6, wide_true, rng.integers(0, 40, 4000))
wl.log({"table": table,
        "confusion": wl.plot.confusion_matrix(predicted, actual, [f"d{i}" for i in range(10)]),
        "wide_confusion": wl.plot.confusion_matrix(wide_pred, wide_true)})

# the cell to click: the largest confusion between two classes that fits one grid page
pairs = seen[seen["prediction"] != seen["target"]].groupby(["target", "prediction"]).size()
pairs = pairs[pairs <= 48]
(row, col), count = pairs.idxmax(), int(pairs.max())
ids = seen[(seen["target"] == row) & (seen["prediction"] == col)].index.get_level_values(0)
with open("expected.json", "w") as f:
    json.dump({"row": int(row), "col": int(col), "ids": sorted(int(i) for i in ids)}, f)
print("cell", row, col, "count", count)""",
    "wl.RunMedia()",
    "wl.SampleGrid()",
]




def _decoded(page, card, selector: str, n: int, width: int, timeout: int = 20_000) -> None:
    """Wait until ``card`` holds ``n`` images matching ``selector``, all decoded, each
    ``width`` pixels wide (not broken links, not placeholders)."""
    page.wait_for_function(
        """([card, sel, n, w]) => {
            const els = [...card.querySelectorAll(sel)];
            return els.length === n && els.every(e => e.complete && e.naturalWidth === w);
        }""", arg=[card.element_handle(), selector, n, width], timeout=timeout)


def test_table_images_full_screen_wide_matrix_and_confusion_click(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)
    wait_until_done(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()
    expected = json.loads((root / "expected.json").read_text())
    ARTIFACTS.mkdir(exist_ok=True)

    panel = page.locator(".wl-media").first
    # 1. the table's image cells are thumbnails decoded from the kernel's PNG bytes
    table = panel.locator(".wl-media-card[data-key='table']")
    table.scroll_into_view_if_needed()
    thumbs = table.locator("td.wl-media-cell-image img.wl-media-cell-thumb")
    expect(thumbs).to_have_count(6, timeout=30_000)
    _decoded(page, table, "td.wl-media-cell-image img.wl-media-cell-thumb", 6, 8)
    assert table.locator("td", has_text="[image]").count() == 0
    # wider than one column: the card took the whole row, the table scrolls sideways
    expect(table).to_have_attribute("data-size", "wide")
    table.screenshot(path=str(ARTIFACTS / "media-table-images.png"))

    # 2. full screen and back
    area = page.locator(".jp-NotebookPanel-notebook").first.bounding_box()
    table.locator(".wl-media-full").click()
    expect(table).to_have_class(re.compile(r"\bis-fullscreen\b"))
    box = table.bounding_box()  # over the notebook area (its panel holds fixed elements)
    assert box["width"] > 0.9 * area["width"] and box["height"] > 0.9 * area["height"], (box, area)
    assert box["y"] >= area["y"] - 1 and box["y"] + box["height"] <= area["y"] + area["height"] + 1
    page.screenshot(path=str(ARTIFACTS / "media-fullscreen.png"))
    page.keyboard.press("Escape")
    expect(table).not_to_have_class(re.compile(r"\bis-fullscreen\b"))
    assert table.bounding_box()["height"] < 0.6 * area["height"]
    table.locator(".wl-media-full").click()  # the × button closes it too
    table.locator(".wl-media-full").click()
    expect(table).not_to_have_class(re.compile(r"\bis-fullscreen\b"))

    # 3. the 40-class matrix scrolls inside its card; its headers stay in view
    wide = panel.locator(".wl-media-card[data-key='wide_confusion']")
    wide.scroll_into_view_if_needed()
    wrap = wide.locator(".wl-media-confusion-wrap")
    expect(wide.locator("td.wl-media-confusion-cell")).to_have_count(1600, timeout=30_000)
    geometry = wrap.evaluate("""w => {
        w.scrollLeft = 600; w.scrollTop = 300;
        const box = w.getBoundingClientRect();
        const r = (el) => el.getBoundingClientRect();
        const predicted = [...w.querySelectorAll('th.wl-media-confusion-predicted')];
        const actual = [...w.querySelectorAll('th.wl-media-confusion-actual')];
        return {scrollW: w.scrollWidth, clientW: w.clientWidth, scrollH: w.scrollHeight,
                clientH: w.clientHeight, left: w.scrollLeft, top: w.scrollTop,
                box: [box.left, box.top],
                corner: [r(w.querySelector('.wl-media-confusion-corner')).left,
                         r(w.querySelector('.wl-media-confusion-corner')).top],
                colHead: r(predicted[30]).top, rowHead: r(actual[20]).left};
    }""")
    assert geometry["scrollW"] > geometry["clientW"] and geometry["scrollH"] > geometry["clientH"]
    assert geometry["left"] > 0 and geometry["top"] > 0, geometry
    wrap_left, wrap_top = geometry["box"]
    assert abs(geometry["corner"][0] - wrap_left) <= 2 and abs(geometry["corner"][1] - wrap_top) <= 2
    assert abs(geometry["colHead"] - wrap_top) <= 2, geometry  # predicted classes on top
    assert abs(geometry["rowHead"] - wrap_left) <= 2, geometry  # actual classes on the left
    wide.screenshot(path=str(ARTIFACTS / "media-wide-confusion.png"))

    # 4. a click on a confusion cell: the grid shows exactly that pair's samples
    confusion = panel.locator(".wl-media-card[data-key='confusion']")
    confusion.scroll_into_view_if_needed()
    cell = confusion.locator(f"td.wl-media-confusion-cell[data-row='{expected['row']}']"
                             f"[data-col='{expected['col']}']")
    n = len(expected["ids"])
    expect(cell).to_have_attribute("data-count", str(n), timeout=30_000)
    cell.click()
    note = confusion.locator(".wl-media-click-note")
    expect(note).to_have_attribute("data-state", "ok", timeout=20_000)
    expect(note).to_contain_text(f"{n} sample")
    grid = page.locator(".wl-grid").first
    chip = grid.locator(".wl-grid-highlight")
    expect(chip).to_have_attribute("data-count", str(n), timeout=20_000)
    expect(chip).to_have_attribute("data-source", "confusion")
    expect(chip).to_contain_text(f"label d{expected['row']} → predicted d{expected['col']}")
    expect(grid.locator(".wl-grid-matched")).to_have_text(str(n), timeout=20_000)
    cells = grid.locator(".wl-grid-cell[data-sample-id]")
    expect(cells).to_have_count(n, timeout=20_000)
    shown = sorted(int(i) for i in cells.evaluate_all("cs => cs.map(c => c.dataset.sampleId)"))
    assert shown == expected["ids"]  # exactly the kernel's samples of that pair
    confusion.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.screenshot(path=str(ARTIFACTS / "media-confusion-click.png"))
    assert page.errors == [], page.errors


def test_notebook_04_shows_its_media_without_error_cards(lab, browser_page):
    from playwright.sync_api import expect

    base, token, _ = lab
    page = browser_page
    open_notebook(page, base, token, "04_run_logging_and_metrics.ipynb")
    run_all(page)
    wait_until_done(page, timeout_s=240)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()

    panel = page.locator(".wl-media").first
    expect(panel).to_have_attribute("data-run-state", "finished", timeout=30_000)
    # every card that needs bytes asks once it is in view: bring each into view, wait for them
    worst = panel.locator(".wl-media-card[data-key='val/worst']")
    worst.scroll_into_view_if_needed()
    _decoded(page, worst, "img.wl-media-thumb", 4, 8)
    table = panel.locator(".wl-media-card[data-key='val/least_confident']")
    table.scroll_into_view_if_needed()
    _decoded(page, table, "img.wl-media-cell-thumb", 8, 8)
    figure = panel.locator(".wl-media-card[data-key='val/confusion']")
    figure.scroll_into_view_if_needed()
    page.wait_for_function(
        "c => [...c.querySelectorAll('img.wl-media-thumb')].some(e => e.complete && e.naturalWidth > 100)",
        arg=figure.element_handle(), timeout=20_000)
    matrix = panel.locator(".wl-media-card[data-key='val/confusion_matrix']")
    matrix.scroll_into_view_if_needed()
    expect(matrix.locator("td.wl-media-confusion-cell")).to_have_count(100)
    for card in panel.locator(".wl-media-card").all():
        card.scroll_into_view_if_needed()
    page.wait_for_function("p => p.querySelectorAll('.wl-media-card[aria-busy]').length === 0",
                           arg=panel.element_handle(), timeout=20_000)
    assert panel.locator(".wl-media-card.has-error").count() == 0
    assert "missing" not in (panel.text_content() or "")
    assert page.errors == [], page.errors
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": 2400})  # the whole panel in one picture
    panel.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_function("p => p.querySelectorAll('.wl-media-card[aria-busy]').length === 0",
                           arg=panel.element_handle(), timeout=20_000)
    panel.screenshot(path=str(ARTIFACTS / "notebook04-media.png"))
