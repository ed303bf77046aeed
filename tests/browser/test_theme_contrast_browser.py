"""Every text of the panels reads in JupyterLab's light and dark themes (issue 10, item 8).

A short digits run fills the dashboard (curves, grid with tag chips, a selected cell and a
step highlight, tag editor, controls, hyperparameters, then a sample's detail view) and a
RunMedia panel (ROC curves, a confusion matrix, a table); the test then walks every visible text of every panel,
takes its computed ``color`` and its effective background (the backgrounds of the element and
its ancestors, composited from the first opaque one down), and asserts the WCAG contrast ratio
is at least 4.5:1 (AA for normal text). Disabled controls and faded (opacity < 1) parts are
exempt by WCAG and counted apart. Curve colours (legend swatches, the same colours as the
lines) must reach 4.5:1 on the panel's background: stricter than WCAG's 3:1 for non-text,
since the lines are thin (the old #1f77b4 on JupyterLab Dark's #212121 is 3.3:1).
"""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import ARTIFACTS, open_notebook, run_all, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "contrast.ipynb"
CELLS = [
    """\
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits

torch.set_num_threads(1)
model = wl.watch_or_edit(digits_mlp(), flag="model")
train = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                         batch_size=64, shuffle=True, seed=0)
optimizer = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=0.01), flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="train-loss", per_sample=True)
handle = wl.start_training(train_digits, train, model, optimizer, loss, epochs=1)
handle.wait(60)
wl.tag_samples(list(range(0, 1797, 2)), "look-again")
wl.register_categorical_tag("quality", ["ok", "blurry"])
wl.set_categorical_tag(list(range(0, 1797, 3)), "quality", "blurry")
images, labels = digits_dataset().tensors
run = wl.init(project="contrast")
with torch.no_grad():
    scores = model(images[:300]).softmax(dim=1)
wl.log({"accuracy": 0.9, "table": wl.Table(columns=["sample", "label"], data=[[1, 2], [3, 4]]),
        "roc": wl.plot.roc_curve(labels[:300], scores, classes_to_plot=[1, 8]),
        "confusion": wl.plot.confusion_matrix(scores.argmax(1), labels[:300])})""",
    "wl.dashboard()",
    "wl.RunMedia()",
]

# Runs in the page: every visible text of every panel with its colours and contrast ratio.
MEASURE = """() => {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const rgba = (css) => {  // any CSS colour (color-mix results included) as [r, g, b, a]
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = "#000"; ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, bottom) => [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (fg, bg) => { const a = lum(over(fg, bg)), b = lum(bg); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const background = (el) => {  // composite from the first opaque background down to el
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 0.999) break;
    }
    let bg = [255, 255, 255, 1];
    for (const c of layers.reverse()) bg = over(c, bg);
    return bg;
  };
  const faded = (el) => {
    for (let e = el; e; e = e.parentElement) if (Number(getComputedStyle(e).opacity) < 1) return true;
    return false;
  };
  const hex = (c) => "#" + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  const describe = (el) => el.tagName.toLowerCase() + [...el.classList].map((c) => "." + c).join("");
  const out = { items: [], exempt: 0, swatches: [] };
  const seen = new Set();
  const measure = (el, text) => {
    if (seen.has(el)) return;
    seen.add(el);
    if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return;
    if (el.closest(":disabled") || faded(el)) { out.exempt++; return; }
    const bg = background(el);
    const fg = rgba(el instanceof SVGElement ? getComputedStyle(el).fill : getComputedStyle(el).color);
    out.items.push({ el: describe(el), panel: describe(el.closest(".wl-panel")), text: text.slice(0, 40),
                     color: hex(over(fg, bg)), background: hex(bg), ratio: ratio(fg, bg) });
  };
  for (const panel of document.querySelectorAll(".wl-panel")) {
    const walker = document.createTreeWalker(panel, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || el.closest("option, script, style")) continue;
      measure(el, n.textContent.trim());
    }
    for (const el of panel.querySelectorAll("select, input[type=text], input[type=number], textarea, button")) {
      measure(el, el.value || el.textContent.trim() || el.getAttribute("placeholder") || "");
    }
    for (const sw of panel.querySelectorAll(".wl-curves-swatch, .wl-media-plot-swatch")) {
      const bg = background(sw.parentElement);
      out.swatches.push({ signal: sw.closest("[data-signal], [data-name]")?.dataset.signal ?? sw.parentElement.textContent,
                          color: hex(rgba(getComputedStyle(sw).backgroundColor)), background: hex(bg),
                          ratio: ratio(rgba(getComputedStyle(sw).backgroundColor), bg) });
    }
  }
  return out;
}"""


@pytest.mark.parametrize("lab", ["light", "dark"], indirect=True)
def test_every_panel_text_has_aa_contrast_in_light_and_dark(lab, browser_page, request):
    from playwright.sync_api import expect

    theme = request.node.callspec.params["lab"]
    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    try:
        open_notebook(page, base, token, NOTEBOOK)
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light",
                                                       str(theme == "light").lower())
        run_all(page)
        grid = page.locator(".wl-grid").first
        expect(grid.locator(".wl-grid-chip").first).to_be_visible(timeout=90_000)
        expect(page.locator(".wl-controls-state").first).to_have_attribute(
            "data-state", "stopped", timeout=30_000)
        expect(page.locator(".wl-curves-legend-item").first).to_be_visible(timeout=30_000)
        # a selected cell (tinted) and the action bar with its count
        cell = grid.locator(".wl-grid-cell:has(.wl-grid-chip)").first
        cell.click()
        expect(grid.locator(".wl-grid-action-count")).to_have_text("1 selected", timeout=10_000)
        expect(page.locator(".wl-tags-row").first).to_be_visible(timeout=10_000)
        # a step highlight (a click on the curve): its bars in the curves and the grid
        page.locator(".wl-curves .wl-curves-over").first.click()  # uPlot's event layer over its canvas
        expect(grid.locator(".wl-grid-highlight")).to_be_visible(timeout=10_000)
        media = page.locator(".wl-media").first
        media.scroll_into_view_if_needed()
        expect(media.locator("td.wl-media-confusion-cell")).to_have_count(100, timeout=30_000)
        expect(media.locator(".wl-media-plot-series")).to_have_count(2)

        ARTIFACTS.mkdir(exist_ok=True)
        media.screenshot(path=str(ARTIFACTS / f"contrast-media-{theme}.png"))
        got = page.evaluate(MEASURE)
        items = got["items"]
        panels = {i["panel"].split(".")[2] for i in items if i["panel"].count(".") >= 2}
        assert {"wl-curves", "wl-grid", "wl-tags", "wl-controls", "wl-media"} <= panels, panels
        kinds = {i["el"] for i in items}
        for part in ("wl-grid-chip", "wl-grid-id", "wl-grid-action-count", "wl-tags-name",
                     "wl-controls-state", "wl-curves-name", "wl-grid-highlight-text",
                     "wl-media-confusion-cell", "wl-media-plot-legend-item", "text.wl-media-plot"):
            assert any(part in k for k in kinds), f"no {part} text was measured"
        low = sorted((i for i in items if i["ratio"] < 4.5), key=lambda i: i["ratio"])
        worst = min(items, key=lambda i: i["ratio"])
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"contrast-{theme}.json").write_text(json.dumps(
            {"min": worst, "measured": len(items), "exempt": got["exempt"], "below_aa": low,
             "swatches": got["swatches"]}, indent=1))
        print(f"{theme}: min contrast {worst['ratio']:.2f} ({worst['el']} {worst['text']!r}) "
              f"over {len(items)} texts, {got['exempt']} exempt")
        assert not low, "text below 4.5:1:\n" + "\n".join(
            f"{i['ratio']:.2f} {i['el']} {i['text']!r} {i['color']} on {i['background']}"
            for i in low[:20])
        assert got["swatches"], "no curve legend swatch"
        faint = [s for s in got["swatches"] if s["ratio"] < 4.5]
        assert not faint, f"curve colours below 4.5:1 on the plot's background: {faint}"
        # the sample detail view (a double-click on a cell): its texts read too
        cell.dblclick()
        detail = grid.locator(".wl-detail")
        expect(detail.locator(".wl-detail-plot").first).to_be_visible(timeout=20_000)
        detail.screenshot(path=str(ARTIFACTS / f"contrast-detail-{theme}.png"))
        shown = [i for i in page.evaluate(MEASURE)["items"] if "wl-detail" in i["el"]]
        assert len(shown) >= 5, f"only {len(shown)} detail-view texts were measured"
        low = [i for i in shown if i["ratio"] < 4.5]
        assert not low, "detail-view text below 4.5:1:\n" + "\n".join(
            f"{i['ratio']:.2f} {i['el']} {i['text']!r} {i['color']} on {i['background']}"
            for i in low[:20])
        assert page.errors == [], page.errors
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"contrast-page-{theme}.png"), full_page=True)
