"""The grid's keyboard and the sample detail view, in a real JupyterLab + Chromium.

A digits run (three epochs, class names on the loader) and its grid. Clicking a cell gives the
grid the keys: arrows move a cursor row by row, shift+arrows extend the selection, space
toggles, ctrl+A selects the page (not the notebook's cells), Esc clears, `d` discards the
selection; no key reaches JupyterLab (the notebook's active cell and its cells stay as they
were, even after `a`, `b` and `x`, which insert and cut cells in command mode). `?` lists the
keys. Enter opens the detail view of the cursor's sample: its image, label and prediction with
class names, the top-5 probabilities, and a history plot per signal with one point per epoch;
next / previous walk the grid's order.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "keys.ipynb"
EPOCHS = 3
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

CELLS = [
    f"""\
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

torch.set_num_threads(1)
model = wl.watch_or_edit(digits_mlp(), flag="model")
train = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                         batch_size=64, shuffle=True, seed=0, class_names={NAMES!r})
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=0.01), flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="train-loss", per_sample=True)
handle = wl.start_training(train_digits, train, model, optimizer, loss, epochs={EPOCHS})
assert handle.wait(60) and handle.state == "stopped", handle""",
    "wl.SampleGrid()",
    "after = 'the cell below the grid'",
    "wl.show_sample(7)",
]

NOTEBOOK_STATE = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  return {
    active: cells.findIndex((c) => c.classList.contains('jp-mod-active')),
    selected: document.querySelectorAll('.jp-Notebook .jp-Cell.jp-mod-selected').length,
    order: cells.map((c) => (c.querySelector('.jp-InputArea-editor')?.textContent ?? '').slice(0, 40)),
  };
}"""


def _cursor(grid) -> int:
    return int(grid.locator(".wl-grid-cells").get_attribute("data-cursor") or -1)


def test_keys_stay_in_the_grid_and_enter_opens_the_detail_view(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    open_notebook(page, base, token, NOTEBOOK)
    run_all(page)
    grid = page.locator(".wl-grid").first
    expect(grid.locator(".wl-grid-total")).to_have_text("1797", timeout=60_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()
    expect(page.locator(".jp-CodeCell .jp-InputPrompt").last).to_have_text(
        re.compile(r"^\[\d+\]:$"), timeout=60_000)

    # three epochs: enough history for the suspects preset, the default sort (the loss before
    # it: tests/browser/test_suspects_browser.py)
    expect(grid).to_have_attribute("data-sort-default", "suspects", timeout=20_000)
    expect(grid).to_have_attribute("data-page-sort", "suspects", timeout=20_000)
    cells = grid.locator(".wl-grid-cell")
    expect(cells).to_have_count(48, timeout=20_000)

    # --- a press whose release lands after the grid redrew the cell's content (it does so while
    # training runs) still selects it: the grid selects on press
    grid.scroll_into_view_if_needed()
    second = cells.nth(1)
    box = second.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    second.evaluate("c => c.replaceChildren(...c.cloneNode(true).childNodes)")  # a redraw
    page.mouse.up()
    expect(second).to_have_class(re.compile(r"\bis-selected\b"), timeout=10_000)

    # --- a click gives the grid the keys
    cells.first.click()
    expect(grid.locator(".wl-grid-selected")).to_have_text("1", timeout=10_000)
    assert page.evaluate("() => document.activeElement?.classList.contains('wl-grid-cells')")
    before = page.evaluate(NOTEBOOK_STATE)
    assert before["active"] == 1 and len(before["order"]) == len(CELLS), before
    ids = cells.evaluate_all("cs => cs.map(c => c.dataset.sampleId)")
    per_row = grid.locator(".wl-grid-cells").evaluate(
        "g => { const t = [...g.children].map(c => c.offsetTop); return t.filter(x => x === t[0]).length; }")
    assert 2 <= per_row < 48, per_row

    page.keyboard.press("ArrowRight")
    assert _cursor(grid) == 1
    page.keyboard.press("ArrowDown")
    assert _cursor(grid) == 1 + per_row  # one row down, the same column
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    # the range from the clicked cell (the anchor) to the cursor
    expect(grid.locator(".wl-grid-selected")).to_have_text(str(per_row + 4))
    assert _cursor(grid) == 3 + per_row
    page.keyboard.press("Space")  # the cursor's cell leaves the selection
    expect(grid.locator(".wl-grid-selected")).to_have_text(str(per_row + 3))
    expect(cells.nth(3 + per_row)).not_to_have_class(re.compile(r"\bis-selected\b"))
    page.keyboard.press("Control+a")  # the grid's page, not the notebook's cells
    expect(grid.locator(".wl-grid-selected")).to_have_text("48")
    page.keyboard.press("Escape")
    expect(grid.locator(".wl-grid-selected")).to_have_text("0")
    for key in ("a", "b", "x", "ArrowUp", "ArrowUp", "j", "k"):  # notebook commands elsewhere
        page.keyboard.press(key)
    assert page.evaluate(NOTEBOOK_STATE) == before, "a key reached the notebook"

    # --- `?` lists the keys
    page.keyboard.press("?")
    overlay = grid.locator(".wl-grid-keys")
    expect(overlay).to_be_visible()
    expect(overlay).to_contain_text("shift + arrows", ignore_case=True)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-keys-overlay.png"))
    page.keyboard.press("Escape")
    expect(overlay).to_be_hidden()

    # --- `d` discards the selection, and says how many
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(grid.locator(".wl-grid-selected")).to_have_text("3")
    page.keyboard.press("d")
    expect(grid.locator(".wl-grid-status")).to_have_text("discarded 3 samples", timeout=10_000)
    expect(grid.locator(".wl-grid-active")).to_have_text("1794", timeout=10_000)
    expect(grid.locator(".wl-grid-selected")).to_have_text("0")
    expect(cells.nth(0)).to_have_class(re.compile(r"\bis-discarded\b"), timeout=10_000)
    assert cells.evaluate_all("cs => cs.map(c => c.dataset.sampleId)") == ids  # held in place

    # --- Enter: the detail view of the cursor's sample
    page.keyboard.press("ArrowDown")
    at = _cursor(grid)
    assert at == 2 + per_row
    sample = ids[at]
    label = int(cells.nth(at).locator(".wl-grid-target").inner_text().removeprefix("y="))
    page.keyboard.press("Enter")
    detail = grid.locator(".wl-grid-detail-pane .wl-detail")
    expect(detail).to_have_attribute("data-sample-id", sample, timeout=10_000)
    expect(grid.locator(".wl-grid-cells")).to_be_hidden()
    image = detail.locator(".wl-detail-image")
    expect(image).to_be_visible()
    assert image.evaluate("i => i.complete && i.naturalWidth") == 8
    expect(detail.locator(".wl-detail-target")).to_have_text(f"{label} · {NAMES[label]}")
    expect(detail.locator(".wl-detail-prediction")).to_have_text(re.compile(r"^\d · [a-z]+$"))
    expect(detail.locator(".wl-detail-top tr")).to_have_count(5)
    plot = detail.locator(".wl-detail-plot[data-signal='train-loss']")
    expect(plot).to_have_attribute("data-points", str(EPOCHS))  # one presentation per epoch
    expect(plot.locator(".wl-detail-dot")).to_have_count(EPOCHS)
    expect(detail.locator(".wl-detail-plot[data-signal='train-loss/margin']")).to_have_attribute(
        "data-points", str(EPOCHS))
    expect(detail.locator(".wl-detail-position")).to_have_text(f"{at + 1} of 1,797")
    detail.screenshot(path=str(ARTIFACTS / "grid-detail-light.png"))
    page.screenshot(path=str(ARTIFACTS / "grid-detail-page-light.png"))

    # next / previous: the neighbours in the grid's order (button and arrow keys)
    detail.locator(".wl-detail-next").click()
    expect(detail).to_have_attribute("data-sample-id", ids[at + 1], timeout=10_000)
    page.keyboard.press("ArrowLeft")
    expect(detail).to_have_attribute("data-sample-id", ids[at], timeout=10_000)
    page.keyboard.press("ArrowLeft")
    expect(detail).to_have_attribute("data-sample-id", ids[at - 1], timeout=10_000)

    # Esc closes it; the cursor stays on the sample shown
    page.keyboard.press("Escape")
    expect(grid.locator(".wl-grid-detail-pane")).to_be_hidden()
    expect(grid.locator(".wl-grid-cells")).to_be_visible()
    assert _cursor(grid) == at - 1
    # a double-click opens it too
    cells.nth(5).dblclick()
    expect(detail).to_have_attribute("data-sample-id", ids[5], timeout=10_000)
    page.keyboard.press("Escape")
    assert page.evaluate(NOTEBOOK_STATE) == before, "a key reached the notebook"

    # --- wl.show_sample: the same view in a panel of its own, next in the loss order
    panel = page.locator(".wl-sample .wl-detail").first
    panel.scroll_into_view_if_needed()
    expect(panel).to_have_attribute("data-sample-id", "7", timeout=10_000)
    expect(panel.locator(".wl-detail-target")).to_have_text("7 · seven")
    expect(panel.locator(".wl-detail-plot[data-signal='train-loss']")).to_have_attribute(
        "data-points", str(EPOCHS))
    expect(panel.locator(".wl-detail-position")).to_have_text(re.compile(r"^[\d,]+ of 1,797 in train$"))
    panel.screenshot(path=str(ARTIFACTS / "show-sample-light.png"))
    panel.locator(".wl-detail-next").click()
    expect(page.locator(".wl-sample .wl-detail").first).not_to_have_attribute(
        "data-sample-id", "7", timeout=10_000)
    assert not page.errors, page.errors
