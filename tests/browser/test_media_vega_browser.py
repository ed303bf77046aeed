"""wl.plot_table custom charts in a real JupyterLab + Chromium (light and dark themes): a chart from a
built-in preset and one from a spec the notebook registers are drawn by the bundled Vega (one
mark per table row, fitted to the card, axis text in the theme's colours, a tooltip on hover),
a spec Vega-Lite refuses gives an error line,
and no request leaves the machine (the page only talks to the lab, blob: and data: URLs)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS, run_notebook, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "media_vega.ipynb"
ROWS = 12

CELLS = [
    f"""\
import weightslab_nb as wl

run = wl.init(project="vega")
table = wl.Table(columns=["epoch", "acc", "split"],
                 data=[[i, round(0.5 + 0.04 * i, 2), "train" if i % 2 else "val"]
                       for i in range({ROWS})])
wl.register_vega_spec("me/bars", {{
    "title": "${{string:title}}",
    "mark": {{"type": "bar", "tooltip": True}},
    "encoding": {{"x": {{"field": "${{field:x}}", "type": "ordinal"}},
                 "y": {{"field": "${{field:y}}", "type": "quantitative"}},
                 "color": {{"field": "${{field:color}}", "type": "nominal"}}}},
}})
wl.register_vega_spec("me/broken", {{  # an expression Vega cannot parse
    "mark": "point", "transform": [{{"calculate": "datum['${{field:x}}'] +", "as": "z"}}],
    "encoding": {{"x": {{"field": "z", "type": "quantitative"}}}}}})
wl.log({{"broken": wl.plot_table("me/broken", table, {{"x": "epoch"}}),
        "preset": wl.plot_table("wl/scatter", table, {{"x": "epoch", "y": "acc"}},
                                 {{"title": "Accuracy"}}),
        "mine": wl.plot_table("me/bars", table, {{"x": "epoch", "y": "acc", "color": "split"}},
                              {{"title": "Accuracy per split"}})}})
wl.log({{"preset": wl.plot_table("wl/scatter", table, {{"x": "epoch", "y": "acc"}},
                                 {{"title": "Accuracy again"}})}})""",
    "wl.RunMedia()",
]




@pytest.mark.parametrize("lab", ["light", "dark"], indirect=True)
def test_custom_charts_are_drawn_by_the_bundled_vega_without_leaving_the_machine(
        lab, browser_page, request):
    from playwright.sync_api import expect

    dark = request.node.callspec.params["lab"] == "dark"
    base, token, root = lab
    page = browser_page
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    write_notebook(root, NOTEBOOK, CELLS)
    run_notebook(page, base, token, NOTEBOOK)

    panel = page.locator(".wl-media").first
    preset = panel.locator(".wl-media-card[data-key='preset']")
    mine = panel.locator(".wl-media-card[data-key='mine']")
    preset.scroll_into_view_if_needed()
    # one symbol per row for the preset's scatter, one bar per row for the registered spec
    expect(preset.locator(".vega-embed svg .mark-symbol path")).to_have_count(ROWS,
                                                                              timeout=30_000)
    expect(mine.locator(".vega-embed svg .mark-rect path")).to_have_count(ROWS, timeout=30_000)
    expect(preset.locator(".wl-vega")).to_have_attribute("data-state", "ready")
    expect(preset.locator(".vega-embed svg")).to_contain_text("Accuracy again")
    expect(mine.locator(".vega-embed svg")).to_contain_text("Accuracy per split")
    assert preset.locator(".vega-embed details, .vega-actions").count() == 0  # no actions menu
    expect(preset.locator(".wl-vega-note")).to_have_text(f"wl/scatter · {ROWS} rows")

    # a spec Vega-Lite cannot compile: a clear error line in its card, the others still drawn
    broken = panel.locator(".wl-media-card[data-key='broken']")
    message = broken.locator(".wl-media-message")
    expect(message).to_contain_text("cannot draw the chart (spec me/broken):", timeout=30_000)
    expect(message).to_contain_text("Unexpected end of input")

    # fitted to the card, axis labels in the theme's text colour
    fit = preset.evaluate("""card => {
        const svg = card.querySelector('.vega-embed svg');
        const body = card.querySelector('.wl-vega');
        const label = svg.querySelector('.role-axis-label text');
        return {svg: svg.getBoundingClientRect().width, body: body.clientWidth,
                fill: getComputedStyle(label).fill || label.getAttribute('fill')};
    }""")
    assert 0.8 * fit["body"] <= fit["svg"] <= fit["body"] + 1, fit
    rgb = [int(v) for v in re.findall(r"\d+", fit["fill"])[:3]]
    assert len(rgb) == 3, fit
    assert (min(rgb) > 150) if dark else (max(rgb) < 120), fit  # reads on the background

    # widened (the card's ↔ button), the chart is redrawn at the new width
    preset.locator(".wl-media-size").click()
    page.wait_for_function("""([card, w]) => {
        const svg = card.querySelector('.vega-embed svg');
        return svg && svg.getBoundingClientRect().width > 1.5 * w;
    }""", arg=[preset.element_handle(), fit["svg"]], timeout=10_000)
    expect(preset.locator(".vega-embed svg .mark-symbol path")).to_have_count(ROWS)
    preset.locator(".wl-media-size").click()

    # the card drawn again (its first step): the view it replaced is finalized
    views = "() => globalThis[Symbol.for('weightslab_nb.vega.views')].size"
    assert page.evaluate(views) == 2  # preset and mine (the broken spec has none)
    preset.locator(".wl-media-step").focus()
    page.keyboard.press("Home")
    expect(preset.locator(".vega-embed svg")).not_to_contain_text("again", timeout=10_000)
    expect(preset.locator(".vega-embed svg .mark-symbol path")).to_have_count(ROWS)
    page.wait_for_function(f"({views})() === 2", timeout=5_000)

    # a tooltip on hover names the row's values
    preset.locator(".vega-embed svg .mark-symbol path").nth(ROWS - 1).hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    expect(tooltip).to_have_class(re.compile(r"\bvisible\b"), timeout=5_000)
    expect(tooltip).to_contain_text("0.94")

    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / f"media-vega{'-dark' if dark else ''}.png"))
    lab_host = urlparse(base).netloc
    remote = [u for u in requests if not (u.startswith(("blob:", "data:"))
                                          or urlparse(u).netloc == lab_host)]
    assert remote == [], remote
    assert page.errors == [], page.errors
