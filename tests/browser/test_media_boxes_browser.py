"""Boxes and masks in RunMedia, in a real JupyterLab + Chromium: an image logged with boxes of
3 classes and a segmentation mask shows every box over its thumbnail and the mask coloured per
class; a legend chip hides exactly its class (boxes, or mask pixels) on the image, a second
press (here from the keyboard) brings it back, and the choice holds when the card moves to an
older step. A score threshold slider hides exactly the boxes scored below it, the labels toggle
hides the box labels, and both hold at another step. A BoundingBoxes2D and an ImageMask logged
alone get cards of their own."""

from __future__ import annotations


import pytest

from tests.browser.conftest import ARTIFACTS, run_notebook, write_notebook

pytestmark = pytest.mark.browser

NOTEBOOK = "media_boxes.ipynb"
H, W = 144, 192
SKY, ROAD = 2, 1  # mask class ids: sky rows 0..39, road rows 100..143 (the rest unlabelled)
SKY_PIXELS, ROAD_PIXELS = 40 * W, 44 * W

CELLS = [
    f"""\
import numpy as np
import weightslab_nb as wl

H, W = {H}, {W}
run = wl.init(project="boxes")
yy, xx = np.mgrid[0:H, 0:W]
pixels = np.zeros((H, W, 3), np.uint8)
pixels[..., 0] = 90 + xx // 4
pixels[..., 1] = 150 - yy // 3
pixels[..., 2] = 200 - yy
pixels[100:] = (95, 95, 100)  # road
pixels[50:90, 20:60] = (220, 160, 60)  # a cat
pixels[60:95, 120:170] = (120, 80, 40)  # a dog
ids = np.zeros((H, W), np.uint8)
ids[:40] = {SKY}
ids[100:] = {ROAD}
labels = {{1: "cat", 2: "dog", 3: "car"}}


def box(x0, y0, x1, y1, cls, score, pixel=False):
    out = {{"position": {{"minX": x0, "maxX": x1, "minY": y0, "maxY": y1}}, "class_id": cls,
           "scores": {{"score": score}}}}
    if pixel:
        out["domain"] = "pixel"
    return out


older = [box(0.1, 0.33, 0.33, 0.64, 1, 0.88), box(120, 58, 172, 97, 2, 0.7, pixel=True),
         box(4, 104, 80, 138, 3, 0.93, pixel=True)]
latest = [box(0.09, 0.33, 0.33, 0.64, 1, 0.92), box(70, 50, 104, 88, 1, 0.61, pixel=True),
          box(0.61, 0.4, 0.9, 0.68, 2, 0.77), box(6, 104, 84, 140, 3, 0.95, pixel=True),
          box(0.55, 0.74, 0.97, 0.98, 3, 0.66)]
mask = {{"mask_data": ids, "class_labels": {{{ROAD}: "road", {SKY}: "sky"}}}}
for step, boxes in ((0, older), (1, latest)):
    wl.log({{"street": wl.Image(pixels, caption=f"street {{step}}", masks={{"segmentation": mask}},
                                boxes={{"predictions": {{"box_data": boxes, "class_labels": labels}}}})}},
           step=step)
wl.log({{"detections": wl.BoundingBoxes2D({{"box_data": latest[1::2] + [box(10, 10, 60, 40, 2, 0.5, True)],
                                           "class_labels": labels}}, "predictions"),
        "segmentation": wl.ImageMask({{"mask_data": ids, "class_labels": {{{ROAD}: "road", {SKY}: "sky"}}}},
                                     "truth")}}, step=1)""",
    "wl.RunMedia()",
]




def _overlay_state(card) -> dict:
    return card.evaluate("""c => {
        const layer = c.querySelector('svg.wl-ov-boxes');
        const boxes = [...c.querySelectorAll('g.wl-ov-box')];
        const mask = c.querySelector('canvas.wl-ov-mask');
        return {boxes: layer ? Number(layer.dataset.boxes) : null,
                shown: layer ? Number(layer.dataset.shown) : null,
                visible: boxes.filter(g => g.getBoundingClientRect().width > 0)
                              .map(g => Number(g.dataset.class)).sort(),
                mask: mask ? mask.dataset.state : null,
                painted: mask ? Number(mask.dataset.painted) : null,
                step: c.dataset.step};
    }""")


def _set_range(slider, value: str) -> None:
    slider.evaluate(
        "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }", value)


def _visible_scores(card) -> list:
    return card.evaluate("""c => [...c.querySelectorAll('g.wl-ov-box')]
        .filter(g => g.getBoundingClientRect().width > 0).map(g => Number(g.dataset.score)).sort()""")


def _visible_labels(card) -> int:
    return card.evaluate("""c => [...c.querySelectorAll('text.wl-ov-label')]
        .filter(t => t.getBoundingClientRect().width > 0).length""")


def _wait_state(page, card, **want) -> dict:
    page.wait_for_function(
        """([c, want]) => {
            const layer = c.querySelector('svg.wl-ov-boxes');
            const mask = c.querySelector('canvas.wl-ov-mask');
            const got = {shown: layer && Number(layer.dataset.shown),
                         painted: mask && mask.dataset.state === 'ready' && Number(mask.dataset.painted),
                         step: c.dataset.step};
            return Object.entries(want).every(([k, v]) => String(got[k]) === String(v));
        }""", arg=[card.element_handle(), want], timeout=20_000)
    return _overlay_state(card)


def test_image_boxes_and_mask_toggle_per_class(lab, browser_page):
    from playwright.sync_api import expect

    base, token, root = lab
    write_notebook(root, NOTEBOOK, CELLS)
    page = browser_page
    run_notebook(page, base, token, NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    panel = page.locator(".wl-media").first
    card = panel.locator(".wl-media-card[data-key='street']")
    card.scroll_into_view_if_needed()

    # the latest step: 5 boxes (2 cats, 1 dog, 2 cars) and the sky + road pixels of the mask
    state = _wait_state(page, card, shown=5, painted=SKY_PIXELS + ROAD_PIXELS, step=1)
    assert state["boxes"] == 5 and state["visible"] == [1, 1, 2, 3, 3], state
    # the overlays are scaled with the thumbnail: the boxes' layer covers the image
    geometry = card.evaluate("""c => {
        const r = (s) => c.querySelector(s).getBoundingClientRect();
        return [r('img.wl-media-thumb'), r('svg.wl-ov-boxes'), r('canvas.wl-ov-mask')]
            .map(b => [b.width, b.height]);
    }""")
    assert geometry[0] == [W, H] and geometry[1] == [W - 2, H - 2], geometry  # inside its border
    assert abs(geometry[2][1] - geometry[1][1]) <= 0.5, geometry
    assert card.locator("text.wl-ov-label", has_text="car 0.95").count() == 1
    chips = card.locator("button.wl-ov-chip")
    expect(chips).to_have_count(5)  # cat, dog, car boxes; road, sky mask
    for chip in chips.all():
        expect(chip).to_have_attribute("aria-pressed", "true")
    panel.screenshot(path=str(ARTIFACTS / "media-boxes.png"))

    # hide the cats' boxes, then the road's pixels: exactly those go
    cat = card.locator("button.wl-ov-chip[data-layer='box'][data-class='1']")
    road = card.locator(f"button.wl-ov-chip[data-layer='mask'][data-class='{ROAD}']")
    cat.click()
    expect(cat).to_have_attribute("aria-pressed", "false")
    state = _wait_state(page, card, shown=3)
    assert state["visible"] == [2, 3, 3] and state["painted"] == SKY_PIXELS + ROAD_PIXELS, state
    road.click()
    state = _wait_state(page, card, shown=3, painted=SKY_PIXELS)
    card.screenshot(path=str(ARTIFACTS / "media-boxes-toggled.png"))

    # the choice holds at another step (its 3 boxes: 1 cat hidden)
    card.locator("input.wl-media-step").evaluate(
        "s => { s.value = '0'; s.dispatchEvent(new Event('input', {bubbles: true})); }")
    state = _wait_state(page, card, step=0, shown=2, painted=SKY_PIXELS)
    assert state["boxes"] == 3 and state["visible"] == [2, 3], state
    expect(card.locator("button.wl-ov-chip[data-layer='box'][data-class='1']")).to_have_attribute(
        "aria-pressed", "false")

    # back on, from the keyboard (the chips are buttons)
    for chip in (card.locator("button.wl-ov-chip[data-layer='box'][data-class='1']"),
                 card.locator(f"button.wl-ov-chip[data-layer='mask'][data-class='{ROAD}']")):
        chip.focus()
        page.keyboard.press("Enter")
    state = _wait_state(page, card, step=0, shown=3, painted=SKY_PIXELS + ROAD_PIXELS)
    assert state["visible"] == [1, 2, 3], state

    # the score threshold, back at the latest step (scores .92 .61 .77 .95 .66): 0.70 hides
    # exactly the two boxes scored below it; the arrow key moves it by 0.01 (the .77 stays)
    _set_range(card.locator("input.wl-media-step"), "1")
    _wait_state(page, card, step=1, shown=5)
    score = card.locator("input.wl-ov-score")
    expect(score).to_have_attribute("min", "0")
    expect(score).to_have_attribute("max", "1")
    expect(card.locator(".wl-ov-score-text")).to_have_text("score \u2265 0.00")
    expect(card.locator(".wl-ov-count")).to_have_text("5 of 5 boxes")
    _set_range(score, "0.7")
    state = _wait_state(page, card, step=1, shown=3)
    assert state["visible"] == [1, 2, 3], state
    assert _visible_scores(card) == [0.77, 0.92, 0.95]
    score.focus()
    page.keyboard.press("ArrowRight")
    expect(card.locator(".wl-ov-score-text")).to_have_text("score \u2265 0.71")
    expect(card.locator(".wl-ov-count")).to_have_text("3 of 5 boxes")
    # with the class toggles: the cats off leaves the dog and the car
    card.locator("button.wl-ov-chip[data-layer='box'][data-class='1']").click()
    _wait_state(page, card, shown=2)
    expect(card.locator(".wl-ov-count")).to_have_text("2 of 5 boxes")
    card.locator("button.wl-ov-chip[data-layer='box'][data-class='1']").click()
    _wait_state(page, card, shown=3)

    # labels: on by default (5 boxes), the toggle hides every label text and keeps the boxes
    labels = card.locator("button.wl-ov-labels")
    expect(labels).to_have_attribute("aria-pressed", "true")
    assert _visible_labels(card) > 0
    labels.click()
    expect(labels).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(
        "c => [...c.querySelectorAll('text.wl-ov-label')].every(t => t.getBoundingClientRect().width === 0)",
        arg=card.element_handle(), timeout=10_000)
    assert _overlay_state(card)["shown"] == 3
    card.screenshot(path=str(ARTIFACTS / "media-boxes-threshold.png"))

    # both choices hold at the older step (scores .88 .70 .93: the dog's .70 < .71 goes)
    _set_range(card.locator("input.wl-media-step"), "0")
    state = _wait_state(page, card, step=0, shown=2)
    assert state["visible"] == [1, 3] and _visible_labels(card) == 0, state
    expect(card.locator(".wl-ov-score-text")).to_have_text("score \u2265 0.71")
    expect(card.locator("button.wl-ov-labels")).to_have_attribute("aria-pressed", "false")
    card.locator("button.wl-ov-labels").press("Enter")
    page.wait_for_function(
        "c => [...c.querySelectorAll('text.wl-ov-label')].some(t => t.getBoundingClientRect().width > 0)",
        arg=card.element_handle(), timeout=10_000)
    expect(card.locator("button.wl-ov-labels")).to_have_attribute("aria-pressed", "true")

    # a BoundingBoxes2D and an ImageMask logged alone
    boxes = panel.locator(".wl-media-card[data-key='detections']")
    boxes.scroll_into_view_if_needed()
    expect(boxes.locator("svg.wl-ov-boxes")).to_have_attribute("data-shown", "3", timeout=20_000)
    expect(boxes.locator(".wl-ov-note").first).to_contain_text("pixels")
    boxes.locator("button.wl-ov-chip[data-class='2']").click()  # its one dog
    expect(boxes.locator("svg.wl-ov-boxes")).to_have_attribute("data-shown", "2")
    seg = panel.locator(".wl-media-card[data-key='segmentation']")
    seg.scroll_into_view_if_needed()
    expect(seg.locator("canvas.wl-ov-mask")).to_have_attribute(
        "data-painted", str(SKY_PIXELS + ROAD_PIXELS), timeout=20_000)
    seg.locator(f"button.wl-ov-chip[data-class='{SKY}']").click()
    expect(seg.locator("canvas.wl-ov-mask")).to_have_attribute("data-painted", str(ROAD_PIXELS))
    assert panel.locator(".wl-media-card.has-error").count() == 0
    panel.evaluate("e => e.scrollIntoView({block: 'start'})")
    panel.screenshot(path=str(ARTIFACTS / "media-boxes-cards.png"))
    assert page.errors == [], page.errors
