"""notebooks/10_rich_media.ipynb as a user runs it in JupyterLab + Chromium: every card of the
RunMedia panel draws its value (the model graph, the scene with boxes and a mask, the Plotly
embedding, both molecules, the JSON metadata, both custom charts), a class chip hides that
class's boxes, and no request leaves the machine."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS, run_notebook

pytestmark = pytest.mark.browser
pytest.importorskip("plotly", reason="the plotly extra is not installed")
pytest.importorskip("rdkit", reason="the chem extra is not installed")

TUTORIAL = Path(__file__).resolve().parents[2] / "notebooks" / "10_rich_media.ipynb"
# card key -> the element that shows it is drawn
DRAWN = {
    "model/graph": ".wl-graph[data-state='ready'] svg.wl-graph-svg g.wl-graph-node",
    "val/scene": "svg.wl-ov-boxes g.wl-ov-box",
    "val/embedding": ".wl-plotly[data-state='ready'] .js-plotly-plot .main-svg",
    "chem/molecules": ".wl-mol-figure[data-state='drawn'] img.wl-mol-img",
    "model/summary": ".wl-json[data-state='ready'] .wl-json-node",
    "val/accuracy_per_digit": ".wl-vega[data-state='ready'] svg .mark-rect path",
    "val/accuracy_bubbles": ".wl-vega[data-state='ready'] svg .mark-symbol path",
}




def test_the_rich_media_tutorial_draws_every_card(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    shutil.copy(TUTORIAL, root / TUTORIAL.name)
    page = browser_page
    page.set_viewport_size({"width": 1400, "height": 2200})  # the whole panel in one screenshot
    lab_host = urlparse(base).netloc
    elsewhere = []
    page.on("request", lambda r: urlparse(r.url).scheme not in ("blob", "data")
            and urlparse(r.url).netloc != lab_host and elsewhere.append(r.url))
    run_notebook(page, base, token, TUTORIAL.name)

    panel = page.locator(".wl-media").first
    for key, drawn in DRAWN.items():
        card = panel.locator(f".wl-media-card[data-key='{key}']")
        card.scroll_into_view_if_needed()  # cards ask for their bytes once visible
        expect(card.locator(drawn).first).to_be_visible(timeout=30_000)
        expect(card).not_to_have_class(re.compile(r"\bhas-error\b"))
    cards = {key: panel.locator(f".wl-media-card[data-key='{key}']") for key in DRAWN}
    assert cards["val/embedding"].locator(".scatterlayer .trace").count() == 10  # one per digit
    assert cards["chem/molecules"].locator("img.wl-mol-img").count() == 2
    assert cards["chem/molecules"].locator("a.wl-mol-download").count() == 2
    assert cards["val/accuracy_per_digit"].locator("svg .mark-rect path").count() == 10
    assert cards["model/graph"].locator("g.wl-graph-node").count() >= 10

    # the scene: 3 true boxes and 3 predicted ones, plus the digits' mask
    scene = cards["val/scene"]
    scene.scroll_into_view_if_needed()
    expect(scene.locator("canvas.wl-ov-mask[data-state='ready']")).to_have_count(1)
    visible = "c => [...c.querySelectorAll('g.wl-ov-box')].filter(g => g.getBoundingClientRect().width > 0).length"
    assert scene.evaluate(visible) == 6
    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / "rich-media-tutorial.png"))
    # the chip of one class of a box group hides exactly that group's boxes of the class
    chip = scene.locator("button.wl-ov-chip[data-layer='box']").first
    group, klass = chip.get_attribute("data-group"), chip.get_attribute("data-class")
    boxes_of_class = scene.locator(
        f"g.wl-ov-box[data-group='{group}'][data-class='{klass}']").count()
    assert boxes_of_class >= 1
    chip.click()
    expect(chip).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(f"c => ({visible})(c) === {6 - boxes_of_class}",
                           arg=scene.element_handle(), timeout=10_000)
    scene.screenshot(path=str(ARTIFACTS / "rich-media-tutorial-scene-toggled.png"))
    assert not elsewhere, f"requests left the machine: {elsewhere[:5]}"
    assert not page.errors, page.errors
