"""The Plotly card in a real JupyterLab + Chromium: a notebook logs a 3-trace scatter and a
100k-point figure and shows wl.RunMedia(); both are drawn by the bundled plotly.js (its SVG in
the card), a hover shows a point's label, a click on a legend item hides its trace, a new step
of the 100k-point figure replaces the first (purged), full screen resizes the plot, and no
request leaves the machine (plotly.js comes from the kernel, nothing from a CDN). Prints how
long the media replies and the drawing took."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import (
    ARTIFACTS, open_notebook, run_all, wait_until_done, write_notebook)

pytestmark = pytest.mark.browser

NOTEBOOK = "media_plotly.ipynb"
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"

CELLS = [
    """\
import time

import numpy as np
import pandas  # before wl.init's threads import it: plotly peeks at a half-imported pandas
import plotly.graph_objects as go

import weightslab_nb as wl

run = wl.init(project="browser")
rng = np.random.default_rng(0)
scores = go.Figure([go.Scatter(x=np.arange(30), y=rng.random(30) + i, mode="lines+markers",
                               name=f"run {i}") for i in range(3)],
                   layout={"title": {"text": "scores"}})
start = time.perf_counter()
walk = go.Figure(go.Scatter(x=np.arange(100_000), y=np.cumsum(rng.standard_normal(100_000)),
                            mode="lines", name="walk"), layout={"title": {"text": "100k points"}})
wl.log({"scores": wl.Plotly(scores), "walk": wl.Plotly(walk)})
print(f"built and logged in {time.perf_counter() - start:.2f} s")


def next_walk():
    \"\"\"Log a second 100k-point figure under "walk" (the test runs it once the first is drawn).\"\"\"
    y = np.cumsum(rng.standard_normal(100_000))
    wl.log({"walk": wl.Plotly(go.Figure(go.Scatter(y=y, mode="lines", name="walk 2")))})""",
    "wl.RunMedia()",
]




# in the page: per card key, when its media request went out (aria-busy set), when the reply
# came (aria-busy removed) and when plotly.js had drawn it (data-state="ready"), in ms
TIMINGS = """() => {
    const t = window.wlPlotlyTimes = {};
    new MutationObserver(() => {
        const now = performance.now();
        for (const card of document.querySelectorAll('.wl-media-card[data-key]')) {
            const k = (t[card.dataset.key] ??= {});
            if (k.asked === undefined && card.hasAttribute('aria-busy')) k.asked = now;
            if (k.asked !== undefined && k.replied === undefined && !card.hasAttribute('aria-busy')) k.replied = now;
            if (k.ready === undefined && card.querySelector('.wl-plotly[data-state=ready]:not([data-old])')) k.ready = now;
        }
    }).observe(document.body, {subtree: true, childList: true, attributes: true,
                               attributeFilter: ['aria-busy', 'data-state']});
}"""


def _drawn(card, timeout: int = 30_000) -> None:
    """Wait until plotly.js drew ``card``'s figure."""
    from playwright.sync_api import expect

    expect(card.locator(".wl-plotly")).to_have_attribute("data-state", "ready", timeout=timeout)
    expect(card.locator(".js-plotly-plot .main-svg").first).to_be_visible()


def test_plotly_figures_are_drawn_interactive_and_offline(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    host = urlparse(base).netloc
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    outside: list[str] = []
    page.on("request", lambda r: None if (r.url.startswith(("blob:", "data:"))
                                          or urlparse(r.url).netloc == host)
            else outside.append(r.url))
    open_notebook(page, base, token, NOTEBOOK)
    page.evaluate(TIMINGS)
    run_all(page)
    wait_until_done(page)

    panel = page.locator(".wl-media").first
    scores = panel.locator(".wl-media-card[data-key='scores']")
    scores.scroll_into_view_if_needed()
    _drawn(scores)  # the media reply, plotly.js from the kernel, the drawing
    assert scores.locator(".wl-plotly-info").inner_text().startswith("3 traces (scatter)")
    assert scores.locator(".modebar").count() == 1
    assert scores.locator(".modebar-btn[data-title*='Chart Studio']").count() == 0
    assert scores.locator(".modebar-btn.plotlyjsicon").count() == 0  # no plotly logo

    # a hover on a point shows its label, a click on a legend item hides its trace
    point = scores.locator(".scatterlayer .trace").first.locator(".points path").nth(10)
    box = point.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(scores.locator(".hoverlayer .hovertext").first).to_be_visible(timeout=5_000)
    expect(scores.locator(".scatterlayer .trace")).to_have_count(3)
    scores.locator(".legend .traces .legendtoggle").first.click()
    expect(scores.locator(".scatterlayer .trace")).to_have_count(2)
    assert scores.locator(".js-plotly-plot").evaluate("gd => gd.data[0].visible") == "legendonly"

    walk = panel.locator(".wl-media-card[data-key='walk']")
    walk.scroll_into_view_if_needed()
    _drawn(walk)
    assert walk.locator(".wl-plotly-info").inner_text().startswith("1 trace (scatter) · 100,000 points")
    expect(walk).not_to_have_class(re.compile(r"\bhas-error\b"))
    first = page.evaluate("() => window.wlPlotlyTimes")

    # a new step of the 100k-point figure: drawn in place of the first, which is purged
    walk.locator(".wl-plotly").evaluate("box => { box.dataset.old = '1'; window.oldPlot = box.querySelector('.js-plotly-plot'); }")
    page.evaluate("() => { window.wlPlotlyTimes.walk = {}; }")
    page.locator(".jp-CodeCell .jp-InputPrompt").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below
    page.keyboard.press("Enter")
    page.keyboard.insert_text("next_walk()")
    page.keyboard.press("Shift+Enter")
    expect(walk).to_have_attribute("data-step", "1", timeout=30_000)
    _drawn(walk)
    assert walk.locator(".js-plotly-plot").count() == 1
    assert page.evaluate("() => window.oldPlot._fullLayout === undefined")  # Plotly.purge ran
    again = page.evaluate("() => window.wlPlotlyTimes.walk")

    # full screen: the plot grows to the card's new size, and shrinks back after Esc
    height = "c => c.querySelector('.js-plotly-plot .main-svg').getBoundingClientRect().height"
    walk.locator(".wl-media-full").click()
    page.wait_for_function(f"c => ({height})(c) > 600", arg=walk.element_handle(), timeout=10_000)
    page.keyboard.press("Escape")
    page.wait_for_function(f"c => ({height})(c) < 400", arg=walk.element_handle(), timeout=10_000)
    logged = page.locator(".jp-OutputArea-output", has_text="logged in").first.inner_text()
    for key, t in (("scores", first["scores"]), ("walk", first["walk"]), ("walk@1", again)):
        print(f"{key}: media reply {t['replied'] - t['asked']:.0f} ms, drawn "
              f"{t['ready'] - t['replied']:.0f} ms later")
    print(logged)

    ARTIFACTS.mkdir(exist_ok=True)
    scores.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    panel.screenshot(path=str(ARTIFACTS / "media-plotly.png"))
    assert outside == [], outside
    assert page.errors == [], page.errors
