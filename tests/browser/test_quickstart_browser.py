"""The quickstart in a real JupyterLab + Chromium: live curves, the grid, a discard by click,
a click on the loss curve that highlights that step's batch in the grid, and a zoomed step range
shown in the grid."""

from __future__ import annotations

import re
import time

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, wait_until_done

pytestmark = pytest.mark.browser



def _int(locator) -> int:
    return int((locator.text_content() or "0").strip() or 0)




def _watch_points(page, want_distinct: int = 4, timeout_s: float = 30) -> list[int]:
    """Read the curves panel's point count every 100 ms until it took ``want_distinct`` values."""
    curves = page.locator(".wl-curves").first
    series: list[int] = []
    deadline = time.monotonic() + timeout_s
    while len(set(series)) < want_distinct and time.monotonic() < deadline:
        series.append(int(curves.get_attribute("data-points") or 0))
        page.wait_for_timeout(100)
    return series


def _append_training_cell(root) -> None:
    """After the quickstart's last cell, start training again so the panels can be watched
    live (the quickstart itself trains for only a few seconds)."""
    import nbformat

    path = root / "01_quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "# added by the browser test: train until the controls panel stops it\n"
        "handle = wl.start_training(train, epochs=100_000)\n"
        "assert handle.wait_for_step(handle.step + 5, timeout=30)"))
    nbformat.write(nb, path)


def _check_export(page, grid):
    """Two cells selected (click, ctrl-click), "export" downloads a CSV of exactly those samples,
    in selection order, named by origin and count."""
    import csv
    import io

    from playwright.sync_api import expect

    cells = grid.locator(".wl-grid-cell:not(.is-discarded)")
    ids = [cells.nth(i).get_attribute("data-sample-id") for i in (1, 3)]
    grid.locator(f".wl-grid-cell[data-sample-id='{ids[0]}']").click()
    grid.locator(f".wl-grid-cell[data-sample-id='{ids[1]}']").click(modifiers=["Control"])
    expect(grid.locator(".wl-grid-selected")).to_have_text("2", timeout=10_000)
    with page.expect_download(timeout=20_000) as info:
        grid.locator(".wl-grid-export").click()
    download = info.value
    assert download.suggested_filename == "weightslab-train-2.csv"
    with open(download.path(), encoding="utf-8") as f:
        rows = list(csv.DictReader(io.StringIO(f.read())))
    assert [r["sample_id"] for r in rows] == ids
    assert {r["origin"] for r in rows} == {"train"}
    assert "signals//train-loss" in rows[0] and "discarded" in rows[0]
    expect(grid.locator(".wl-grid-status")).to_have_text(
        "exported 2 samples → weightslab-train-2.csv", timeout=10_000)
    grid.locator(".wl-grid-clear-selection").click()
    expect(grid.locator(".wl-grid-selected")).to_have_text("0", timeout=10_000)


def _check_held_order(page, grid):
    """Sorted by loss while training runs, the first cells hold still (their loss text and
    sparkline update in place) until "re-sort (N changed)" is clicked."""
    from playwright.sync_api import expect

    page.mouse.move(5, 5)
    grid.locator(".wl-grid-sort").select_option("signals//train-loss")
    expect(grid.locator(".wl-grid-order")).to_have_text("↓ high first")
    expect(grid).to_have_attribute("data-page-sort", "signals//train-loss", timeout=20_000)
    # the page's sparklines share one scale, shown beside the toggle
    expect(grid.locator(".wl-grid-spark-scale")).to_have_text(re.compile(r"^scale \S+–\S+$"),
                                                              timeout=20_000)
    first = grid.locator(".wl-grid-cell").first
    expect(first).not_to_have_class(re.compile(r"\bis-discarded\b"))  # stale losses sort last
    # sample the first 8 cells every 100 ms for 6 s of training
    grid.evaluate("""g => {
      window.__wlOrders = [];
      window.__wlSampler = setInterval(() => {
        const cs = [...g.querySelectorAll('.wl-grid-cell')].slice(0, 8);
        const r = g.querySelector('.wl-grid-resort');
        window.__wlOrders.push([cs.map(c => c.dataset.sampleId).join(','),
          cs.map(c => c.querySelector('.wl-grid-loss')?.textContent).join(','),
          r && !r.hidden ? Number(r.dataset.changed) : 0]);
      }, 100);
    }""")
    page.wait_for_function("() => window.__wlOrders.length >= 60", timeout=20_000)
    resort = grid.locator(".wl-grid-resort")
    expect(resort).to_be_visible(timeout=15_000)  # training would have moved cells
    expect(resort).to_have_text(re.compile(r"^re-sort \([\d,]+ changed( on other pages)?\)$"))
    orders = page.evaluate("() => { clearInterval(window.__wlSampler); return window.__wlOrders; }")
    assert len({ids for ids, _, _ in orders}) == 1, f"the first cells moved: {orders[:3]}..."
    assert len({losses for _, losses, _ in orders}) > 1, "the losses shown did not update"
    assert max(changed for _, _, changed in orders) > 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "grid-resort-offered.png"))
    snapshot = grid.get_attribute("data-snapshot")
    resort.click()
    expect(grid).not_to_have_attribute("data-snapshot", snapshot, timeout=10_000)
    # the action bar stays in view while the cells scroll under it (sticky at the grid's top)
    low = grid.locator(".wl-grid-cell").nth(42)
    low.evaluate("c => c.scrollIntoView({block: 'end'})")
    expect(grid.locator(".wl-grid-actions")).to_have_class(re.compile(r"\bis-floating\b"))
    bar = grid.locator(".wl-grid-actions").bounding_box()
    top = page.locator(".jp-NotebookPanel-notebook").first.bounding_box()
    assert bar["y"] >= top["y"] - 1 and bar["y"] + bar["height"] <= low.bounding_box()["y"], \
        (bar, top, low.bounding_box())
    page.screenshot(path=str(ARTIFACTS / "grid-held-order.png"))


def _check_step_highlight(page, grid, theme: str) -> None:
    """A click in the middle of the loss plot highlights that step's batch: the grid shows a
    chip and only that batch's cells (all marked); the curves mark the step; × clears it."""
    from playwright.sync_api import expect

    expect(grid.locator(".wl-grid-spark").first).to_be_attached(timeout=20_000)  # sparklines drawn
    curves = page.locator(".wl-curves").first
    canvas = curves.locator(".wl-curves-over")  # uPlot's event layer over its canvas
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, box
    canvas.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})

    chip = grid.locator(".wl-grid-highlight")
    expect(chip).to_be_visible(timeout=20_000)
    expect(chip.locator(".wl-grid-highlight-text")).to_have_text(
        re.compile(r"^step [\d,]+ batch: \d+ samples$"))
    step, count = chip.get_attribute("data-step"), int(chip.get_attribute("data-count") or 0)
    assert 0 < count <= 64, count
    expect(curves).to_have_attribute("data-highlight-step", step, timeout=10_000)
    expect(grid.locator(".wl-grid-matched")).to_have_text(str(count), timeout=20_000)
    expect(grid.locator(".wl-grid-cell.is-highlighted")).to_have_count(min(count, 48), timeout=20_000)
    expect(grid.locator(".wl-grid-cell:not(.is-highlighted)")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".wl-dashboard, .wl-grid").first.screenshot(
        path=str(ARTIFACTS / f"quickstart-highlight-{theme}.png"))

    chip.locator(".wl-grid-highlight-clear").click()
    expect(chip).to_be_hidden(timeout=20_000)
    expect(grid.locator(".wl-grid-matched")).to_have_text("1797", timeout=20_000)
    expect(curves).not_to_have_attribute("data-highlight-step", step, timeout=10_000)
    expect(grid.locator(".wl-grid-cell.is-highlighted")).to_have_count(0, timeout=20_000)


def _check_step_range(page, grid) -> None:
    """A drag on the loss plot zooms; "these steps in the grid" then shows the samples of the
    zoomed steps' batches in the grid (a chip naming the range); reset zoom and × undo both."""
    from playwright.sync_api import expect

    curves = page.locator(".wl-curves").first
    over = curves.locator(".wl-curves-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=8)
    page.mouse.up()
    expect(curves).to_have_attribute("data-zoomed", "true", timeout=5_000)
    curves.locator(".wl-curves-range-grid").click()
    chip = grid.locator(".wl-grid-highlight")
    expect(chip).to_have_attribute("data-source", "steps", timeout=20_000)
    expect(chip.locator(".wl-grid-highlight-text")).to_have_text(
        re.compile(r"^steps [\d,]+–[\d,]+: [\d,]+ samples$"))
    count = int(chip.get_attribute("data-count") or 0)
    assert count > 64, f"a range of several steps holds more than one batch, got {count}"
    expect(grid.locator(".wl-grid-matched")).to_have_text(str(count), timeout=20_000)
    expect(grid.locator(".wl-grid-cell:not(.is-highlighted)")).to_have_count(0)
    curves.locator(".wl-curves-reset-zoom").click()
    expect(curves).to_have_attribute("data-zoomed", "false", timeout=5_000)
    chip.locator(".wl-grid-highlight-clear").click()
    expect(chip).to_be_hidden(timeout=20_000)


@pytest.mark.parametrize("lab", ["light", "dark"], indirect=True)
def test_quickstart_live_panels_and_discard_by_click(lab, browser_page, request):
    from playwright.sync_api import expect

    base, token, root = lab
    _append_training_cell(root)
    page = browser_page
    open_notebook(page, base, token, "01_quickstart.ipynb")
    dark = request.node.callspec.params["lab"] == "dark"
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", str(not dark).lower())
    run_all(page)
    wait_until_done(page)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.first.inner_text()

    points = _watch_points(page)
    assert len(set(points)) >= 4 and points[-1] > points[0], \
        f"the curve did not grow live while training: {points}"

    grid = page.locator(".wl-grid").first
    grid.scroll_into_view_if_needed()
    expect(grid.locator(".wl-grid-total")).to_have_text("1797", timeout=20_000)
    active_before = _int(grid.locator(".wl-grid-active"))
    assert 1700 < active_before < 1797  # the notebook discarded 20 and restored 5

    # an explicit sort: the user's choice wins over the suspects preset, which may have become
    # the default sort meanwhile (its order moves while training runs)
    grid.locator(".wl-grid-sort").select_option("sample_id")
    expect(grid.locator(".wl-grid-cell").first).to_have_attribute("data-sample-id", "1796",
                                                                  timeout=20_000)
    first = grid.locator(".wl-grid-cell:not(.is-discarded)").first
    sample_id = first.get_attribute("data-sample-id")
    cell = grid.locator(f".wl-grid-cell[data-sample-id='{sample_id}']")
    cell.click()
    expect(cell).to_have_class(re.compile(r"\bis-selected\b"), timeout=10_000)
    expect(grid.locator(".wl-grid-selected")).to_have_text("1", timeout=10_000)
    # the action bar sits above the cells, with the selection count
    bar = grid.locator(".wl-grid-actions")
    expect(bar.locator(".wl-grid-action-count")).to_have_text("1 selected")
    # (above the cells in the page; floating at the notebook's top once they scroll past it)
    assert bar.evaluate("(b) => Boolean(b.compareDocumentPosition(b.parentElement"
                        ".querySelector('.wl-grid-cells')) & Node.DOCUMENT_POSITION_FOLLOWING)")
    expect(bar).to_be_in_viewport()
    grid.locator(".wl-grid-discard").click()
    expect(grid.locator(".wl-grid-active")).to_have_text(str(active_before - 1), timeout=20_000)
    discarded = grid.locator(f".wl-grid-cell[data-sample-id='{sample_id}']")
    # the held order: the discarded cell stays in its place, greyed, and leaves the selection
    expect(discarded).to_have_class(re.compile(r"\bis-discarded\b"), timeout=20_000)
    expect(grid.locator(".wl-grid-selected")).to_have_text("0", timeout=10_000)
    expect(discarded).not_to_have_class(re.compile(r"\bis-selected\b"))

    _check_export(page, grid)
    _check_held_order(page, grid)
    _check_step_highlight(page, grid, request.node.callspec.params["lab"])
    _check_step_range(page, grid)

    controls = page.locator(".wl-controls").first
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "running")
    controls.locator(".wl-btn-stop").click()
    expect(controls.locator(".wl-controls-state")).to_have_attribute("data-state", "stopped",
                                                                       timeout=20_000)

    ARTIFACTS.mkdir(exist_ok=True)
    theme = request.node.callspec.params["lab"]
    page.locator(".wl-dashboard, .wl-grid").first.screenshot(
        path=str(ARTIFACTS / f"quickstart-dashboard-{theme}.png"))
    page.screenshot(path=str(ARTIFACTS / f"quickstart-page-{theme}.png"))
    assert not page.errors, page.errors
