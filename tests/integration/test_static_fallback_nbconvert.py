"""Shared notebooks show the real run: ``jupyter nbconvert --execute --to html`` of a notebook
that trains on digits, shows ``wl.dashboard()`` and stops training itself gives a page with the
final step, the curve image and the grid's thumbnails (the panels' static fallback), and what
nbconvert picks from a widget output with and without saved widget state."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

REPO = Path(__file__).resolve().parents[2]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
VIEW_SCRIPT = f'<script type="{WIDGET_VIEW}">'

SETUP = """\
import torch
from torch import nn
import weightslab_nb as wl
from weightslab_nb.demo import digits_dataset, digits_mlp, train_digits
torch.set_num_threads(1)
hp = wl.watch_or_edit({{"experiment_name": "shared", "root_log_dir": {root!r},
                       "optimizer": {{"lr": 1e-2}}}}, flag="hp")
model = wl.watch_or_edit(digits_mlp(hidden=32), flag="model", device="cpu")
loader = wl.watch_or_edit(digits_dataset(), flag="data", loader_name="train_loader",
                          batch_size=64, shuffle=True, seed=0)
opt = wl.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2), flag="optimizer")
loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                        signal_name="train-loss", per_sample=True)
handle = wl.start_training(train_digits, loader, model, opt, loss, epochs=1000)
"""
STOP = """\
assert handle.wait_for_step(40, timeout=60), handle
assert handle.stop(timeout=30), handle
print(f"final step {handle.step} {handle.state}")
"""


@pytest.mark.timeout(180)
def test_an_executed_notebook_exports_the_final_run_as_html(tmp_path):
    notebook = tmp_path / "shared.ipynb"
    nb = new_notebook(cells=[new_code_cell(SETUP.format(root=str(tmp_path / "runs"))),
                             new_code_cell("wl.dashboard()"), new_code_cell(STOP)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, notebook)
    env = {**os.environ,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html",
                           "--execute", "--ExecutePreprocessor.timeout=120", str(notebook)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]
    page = (tmp_path / "shared.html").read_text(encoding="utf-8")

    step = int(re.search(r"final step (\d+) stopped", page).group(1))
    assert step >= 40
    assert f"stopped, step {step}, " in page  # the controls' text: the final step
    shown = _images(page)  # alt -> PNG size
    assert 1000 < shown["loss curves: train-loss"] < 100_000
    thumbnails = [alt for alt in shown if alt.startswith("sample train:")]
    assert len(thumbnails) == 24
    assert "object at 0x" not in page
    assert VIEW_SCRIPT not in page  # the dead widget is not what the page shows
    assert "running, step" not in page  # no frame of the run in progress is left


def _images(page: str) -> dict[str, int]:
    """alt text -> decoded size of each inline PNG image of ``page``."""
    found = {}

    class Images(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            src = attrs.get("src") or ""
            if tag == "img" and src.startswith("data:image/png;base64,"):
                found[attrs.get("alt")] = len(base64.b64decode(src.split(",", 1)[1]))

    Images().feed(page)
    return found


def _widget_output_notebook(saved_state: bool):
    """A notebook as JupyterLab saves it: one output with the live view and the fallback."""
    output = new_output("display_data", data={
        WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": "m1"},
        "text/html": '<div class="wl-fallback">stopped, step 7</div>',
        "text/plain": "TrainingControls: training: stopped, step 7"})
    nb = new_notebook(cells=[new_code_cell("wl.TrainingControls()", outputs=[output])])
    if saved_state:
        nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
            "version_major": 2, "version_minor": 0,
            "state": {"m1": {"model_name": "AnyModel", "model_module": "anywidget",
                             "model_module_version": "~0.9.*", "state": {}}}}}
    return nb


@pytest.mark.parametrize("saved_state", [False, True])
def test_what_nbconvert_picks_from_a_widget_output(saved_state):
    """Without saved widget state nbconvert shows text/html; with it, the widget view (which
    is why a refresh drops the view from outputs no front-end drew)."""
    from nbconvert import HTMLExporter

    page, _ = HTMLExporter().from_notebook_node(_widget_output_notebook(saved_state))
    assert ('<div class="wl-fallback">stopped, step 7</div>' in page) is not saved_state
    assert (VIEW_SCRIPT in page) is saved_state
    assert "TrainingControls: training" not in page  # text/plain is never the choice
