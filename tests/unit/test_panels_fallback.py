"""Static fallbacks: each panel's output carries its real state as HTML and a one-line text,
for the places where no live widget runs (nbconvert's HTML, GitHub)."""

from __future__ import annotations

import base64
import io
import re
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

import weightslab_nb as wl
from weightslab_nb.demo import train_digits
from weightslab_nb.panels import (HyperParameterEditor, LossCurves, RunMedia, SampleGrid,
                                  TagEditor, TrainingControls, dashboard)
from weightslab_nb.panels.fallback.curves import HEIGHT, WIDTH, curves_png
from weightslab_nb.panels.fallback.display import WIDGET_VIEW

from tests.panel_capture import Capture

IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def images(html: str) -> list[tuple[Image.Image, str, int]]:
    """The inline PNG images of ``html``: (decoded image, alt text, PNG size in bytes)."""
    out = []
    for data, alt in IMG.findall(html):
        png = base64.b64decode(data)
        out.append((Image.open(io.BytesIO(png)), alt, len(png)))
    return out


@pytest.fixture
def trained(digits_run):
    """A digits run of 60 steps, stopped (completed)."""
    run = digits_run()
    handle = run.session.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                                        epochs=100, max_steps=60)
    assert handle.wait(60) and handle.state == "stopped", handle
    return run


@pytest.fixture
def panels():
    made = []

    def make(cls, *args, **kwargs):
        panel = cls(*args, **kwargs)
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


def test_the_output_offers_the_live_view_the_html_and_a_summary(trained, panels):
    data, _ = panels(TrainingControls, trained.session).widget_bundle()
    assert set(data) == {WIDGET_VIEW, "text/html", "text/plain"}
    assert data["text/plain"] == "TrainingControls: training: stopped, step 60, epoch 3 " \
                                 "(completed)"
    assert "object at 0x" not in data["text/plain"]


def test_controls_say_stopped_at_the_last_step_with_the_hyperparameters(trained, panels):
    html = panels(TrainingControls, trained.session).static_bundle()["text/html"]
    assert "stopped, step 60, epoch 3 (completed)" in html
    assert "<td>optimizer.lr</td><td>0.01</td>" in html


def test_curves_are_an_image_of_the_run_with_a_summary_row(trained, panels):
    html = panels(LossCurves, trained.session).static_bundle()["text/html"]
    (img, alt, size), = images(html)
    assert img.size == (WIDTH, HEIGHT) and alt == "loss curves: train-loss"
    assert size < 100_000
    pixels = np.asarray(img.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 20  # axes, line, band, text: not a blank image
    series = trained.session.global_series("train-loss")
    assert f"<td>train-loss</td><td>60</td><td>60</td><td>{series['mean'][-1]:.4g}</td>" in html


def test_a_long_curve_stays_small_and_draws_its_band_around_the_mean():
    steps = np.arange(200_000)
    mean = 1.0 + 0.1 * np.sin(steps / 5000.0)
    series = {"loss": {"step": steps, "mean": mean, "min": mean - 0.5, "max": mean + 0.5}}
    png = curves_png(series)
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    assert len(png) < 100_000 and img.shape == (HEIGHT, WIDTH, 3)
    line = np.array([31, 119, 180])  # matplotlib's C0, the first signal's colour
    column = img[:, WIDTH // 2]
    on_line = np.flatnonzero(np.abs(column - line).sum(axis=1) < 30)
    band = np.flatnonzero((np.abs(column - column[0]).sum(axis=1) > 30)
                          & (column[:, 2] > column[:, 0]))  # bluish, not the background
    assert len(on_line) and len(band) > 5 * len(on_line)  # a thin line inside a tall band
    assert band.min() < on_line.min() and on_line.max() < band.max()


def test_grid_lists_the_first_page_by_loss_with_thumbnails(trained, panels):
    grid = panels(SampleGrid, trained.session)
    html = grid.static_bundle()["text/html"]
    df = trained.session.dataframe
    want = df.sort_values("signals//train-loss", ascending=False).head(24)
    want_ids = [f"train:{i}" for i in want.index.get_level_values("sample_id")]
    assert re.findall(r'<span class="wl-fallback-id">([^<]+)</span>', html) == want_ids
    shown = images(html)
    assert [alt for _, alt, _ in shown] == [f"sample {i}" for i in want_ids]
    assert all(img.size == (8, 8) for img, _, _ in shown)  # the digits' own 8x8 pixels
    assert "sorted by signals//train-loss (highest first); first 24 of 1797" in html
    trained.session.discard_samples(want.index.get_level_values("sample_id")[:3].tolist())
    html = grid.static_bundle()["text/html"]  # the fresh order: discarded samples last
    ids = re.findall(r'<span class="wl-fallback-id">([^<]+)</span>', html)
    assert ids[:21] == want_ids[3:] and html.count("<i>discarded</i>") == 0


def test_grid_shows_the_sort_and_filter_the_view_asked_for(trained, panels):
    grid = panels(SampleGrid, trained.session)
    cap = Capture(grid)
    trained.session.discard_samples([0, 1, 2])
    grid._handle_custom_msg({"type": "page", "req": 1, "offset": 48, "limit": 48,
                             "sort_by": "sample_id", "descending": False,
                             "discarded": "active"}, [])
    assert cap.reply(1)[0]["ok"] is True
    html = grid.static_bundle()["text/html"]
    ids = re.findall(r'<span class="wl-fallback-id">([^<]+)</span>', html)
    assert ids == [f"train:{i}" for i in range(3, 27)]  # from the first page, not the 2nd
    assert "sorted by sample_id (lowest first), active samples only" in html


def test_tags_are_a_table_of_counts(trained, panels):
    trained.session.tag_samples([1, 2, 3], "blurry")
    trained.session.register_categorical_tag("quality", ["clean", "noisy"])
    trained.session.set_categorical_tag([4], "quality", "noisy")
    bundle = panels(TagEditor, trained.session).static_bundle()
    assert "<td>blurry</td><td>3</td>" in bundle["text/html"]
    assert "<td>quality=noisy</td><td>1</td>" in bundle["text/html"]
    assert bundle["text/plain"] == "TagEditor: tags: blurry (3), quality=clean (0), " \
                                   "quality=noisy (1)"


def test_hyperparameters_show_each_key_with_its_type_and_value_in_use(trained, panels):
    trained.hp["optimizer"]["lr"] = 0.5  # applied at once: no training step is running
    html = panels(HyperParameterEditor, trained.session).static_bundle()["text/html"]
    assert "<td>optimizer.lr</td><td>float</td><td>0.5</td><td></td>" in html
    assert "<b>Hyperparameters (hyperparameters)</b>" in html


def test_run_media_shows_the_latest_number_text_table_and_images(session, panels):
    wl.init(project="fallback")
    pixels = np.zeros((4, 6, 3), dtype=np.uint8)
    pixels[..., 0] = 200
    for step in range(2):
        wl.log({"loss": 1.0 / (step + 1), "phase": f"epoch {step}",
                "table": wl.Table(columns=["id", "name"], data=[[i, f"n{i}"] for i in range(3)]),
                "sample": wl.Image(pixels, caption=f"step {step}")}, step=step)
    html = panels(RunMedia, session).static_bundle()["text/html"]
    assert "<td>loss</td><td>1</td><td>0.5</td>" in html
    assert "<td>phase</td><td>1</td><td>epoch 1</td>" in html
    assert "<caption>3 of 3 rows</caption>" in html and "<td>n2</td>" in html
    (img, alt, _), = images(html)
    assert alt == "step 1" and img.size == (6, 4)
    assert img.convert("RGB").getpixel((0, 0)) == (200, 0, 0)


def test_run_media_shows_a_line_of_facts_per_rich_value_and_molecule_drawings(session, panels):
    pytest.importorskip("rdkit")
    wl.init(project="fallback")
    wl.log({"meta": wl.JSONMetadata({"lr": 0.1, "depth": 3}),
            "molecules": [wl.Molecule.from_smiles("CCO", caption="ethanol"),
                          wl.Molecule.from_smiles("c1ccccc1", caption="benzene")]}, step=0)
    html = panels(RunMedia, session).static_bundle()["text/html"]
    assert "json · size 20 B · keys depth, lr" in html
    assert html.count('src="data:image/svg+xml;base64,') == 2
    assert "molecule · ethanol · format pdb" in html and "C2H6O" in html
    assert "molecule · benzene" in html


def test_run_media_describes_an_images_boxes_and_masks_and_never_shows_a_mask_as_a_picture(
        session, panels):
    wl.init(project="fallback")
    ids = np.zeros((8, 8), dtype=np.uint8)
    ids[4:, :] = 2
    boxes = [{"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.1, "maxY": 0.5}, "class_id": c}
             for c in (1, 1, 2)]
    wl.log({"scene": wl.Image(np.full((8, 8, 3), 90, np.uint8), caption="street", boxes={
        "predictions": {"box_data": boxes, "class_labels": {1: "cat", 2: "dog"}}},
        masks={"seg": {"mask_data": ids, "class_labels": {2: "road"}}})}, step=0)
    html = panels(RunMedia, session).static_bundle()["text/html"]
    assert "predictions: 3 boxes (cat, dog); seg: mask of road" in html
    (img, alt, _), = images(html)  # the image only: its mask is described, not drawn
    assert alt == "street" and img.convert("RGB").getpixel((0, 0)) == (90, 90, 90)


def test_the_dashboard_combines_its_panels(trained):
    board = dashboard(trained.session)
    try:
        data, _ = board.widget_bundle()
    finally:
        board.close()
    html = data["text/html"]
    for kind in ("controls", "hparams", "curves", "grid", "tags"):
        assert f'class="wl-fallback wl-fallback-{kind}"' in html
    assert html.count("<td>optimizer.lr</td>") == 1  # not repeated by the controls
    assert data["text/plain"] == "Dashboard: training stopped, step 60, epoch 3 (completed); " \
                                 "1797 samples, 1797 active"
    assert WIDGET_VIEW in data


def test_a_failing_renderer_gives_a_note_not_an_error(session, panels):
    grid = panels(SampleGrid, session, thumbnail=lambda x: b"not a png")
    session.watch_or_edit(np.zeros((3, 2, 2), dtype=np.float32), flag="data",
                          loader_name="train_loader")
    html = grid.static_bundle()["text/html"]
    assert "wl-fallback-grid" in html  # the page is still shown, with placeholder images
    curves = panels(LossCurves, session)
    curves.session = None  # a broken panel: the display must still work
    assert "static view unavailable: AttributeError" in curves.static_bundle()["text/html"]


# ---------------------------------------------------------------- refresh when training stops
@pytest.fixture
def shell():
    """A real IPython shell whose display messages are recorded (no kernel, no front-end)."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    saved = ip.display_pub
    ip.display_pub = CapturingDisplayPublisher()
    yield ip
    ip.display_pub = saved
    InteractiveShell.clear_instance()


def cell(ip, body) -> None:
    """Run ``body()`` as IPython runs a cell: between the pre_run_cell and post_run_cell events."""
    ip.events.trigger("pre_run_cell", None)
    try:
        body()
    finally:
        ip.events.trigger("post_run_cell", None)


def test_a_stop_replaces_the_output_by_the_final_fallback_unless_a_view_draws_it(
        digits_run, panels, shell):
    from IPython.display import display

    from weightslab_nb.panels.fallback.display import displays_of

    run = digits_run()
    s = run.session
    handle = s.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                              epochs=1000)
    controls, curves, tags = panels(TrainingControls, s), panels(LossCurves, s), \
        panels(TagEditor, s)
    cell(shell, lambda: (display(controls), display(curves)))
    curves._handle_custom_msg({"type": "view"}, [])  # a front-end draws the curves
    # a cell run by JupyterLab (its execute_request names the cell): a front-end draws widgets
    shell.kernel = SimpleNamespace(get_parent=lambda: {"metadata": {"cellId": "c-1"}})
    cell(shell, lambda: display(tags))
    del shell.kernel
    shown = shell.display_pub.outputs
    assert [o["update"] for o in shown] == [False, False, False]
    assert all(WIDGET_VIEW in o["data"] and "text/html" in o["data"] for o in shown)
    ids = [o["transient"]["display_id"] for o in shown]

    cell(shell, lambda: handle.stop(timeout=30))
    updates = [o for o in shell.display_pub.outputs if o["update"]]
    assert {o["transient"]["display_id"] for o in updates} == {ids[0]}  # no live panel
    final = updates[-1]["data"]
    assert set(final) == {"text/html", "text/plain"}  # no widget-view: nbconvert takes the HTML
    assert f"stopped, step {handle.step}, " in final["text/html"]
    assert final["text/plain"].startswith(f"TrainingControls: training: stopped, step "
                                          f"{handle.step}")
    assert displays_of(s).refreshes >= 1
    before = len(shell.display_pub.outputs)
    cell(shell, lambda: None)  # nothing new to refresh: later cells send nothing
    assert len(shell.display_pub.outputs) == before
