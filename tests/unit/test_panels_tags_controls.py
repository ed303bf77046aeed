"""TagEditor and TrainingControls against a real Session, and the dashboard that holds them all."""

from __future__ import annotations


import ipywidgets
import pytest
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp
from weightslab_nb.panels import (Dashboard, HyperParameterEditor, LossCurves, SampleGrid, TagEditor,
                                  TrainingControls, dashboard)

from tests.panel_capture import Capture, ask_content as ask


@pytest.fixture
def digits_session(session, digits):
    session.watch_or_edit(digits, flag="data", loader_name="train_loader", batch_size=32, shuffle=False)
    return session


@pytest.fixture
def editor(digits_session):
    panel = TagEditor(digits_session)
    cap = Capture(panel)
    yield panel, cap
    panel.close()


# ---------------------------------------------------------------- tag editor
def test_created_tags_appear_in_the_summary(editor, digits_session):
    panel, cap = editor
    assert ask(panel, cap, 1, type="create_tag", name="blurry")["message"] == "created tag 'blurry'"
    reply = ask(panel, cap, 2, type="create_categorical", name="weather", values=["rainy", "sunny", "rainy"])
    assert reply["ok"] is True
    assert digits_session.tag_summary() == {
        "boolean": {"blurry": 0},
        "categorical": {"weather": {"values": ["rainy", "sunny"], "counts": {"rainy": 0, "sunny": 0}}}}
    assert panel.flush()
    assert panel.summary == digits_session.tag_summary()


def test_actions_apply_to_the_shared_selection(editor, digits_session):
    panel, cap = editor
    ask(panel, cap, 1, type="create_tag", name="blurry")
    ask(panel, cap, 2, type="create_categorical", name="weather", values=["rainy", "sunny"])
    digits_session.selection.set([4, 5, 6])
    assert panel.flush() and panel.selection_size == 3
    assert ask(panel, cap, 3, type="apply", action="add_tag", tag="blurry")["message"] == "tagged 3 samples 'blurry'"
    ask(panel, cap, 4, type="apply", action="set_categorical", tag="weather", value="sunny")
    assert digits_session.get_samples_by_tag("blurry") == [4, 5, 6]
    assert digits_session.get_samples_by_tag("weather=sunny") == [4, 5, 6]
    digits_session.selection.set([5])
    ask(panel, cap, 5, type="apply", action="remove_tag", tag="blurry")
    ask(panel, cap, 6, type="apply", action="clear_categorical", tag="weather")
    ask(panel, cap, 7, type="apply", action="discard")
    assert digits_session.get_samples_by_tag("blurry") == [4, 6]
    assert digits_session.get_samples_by_tag("weather=sunny") == [4, 6]
    assert digits_session.get_discarded_samples() == [5]
    assert panel.flush()
    assert panel.summary["boolean"] == {"blurry": 2}
    assert panel.summary["categorical"]["weather"]["counts"] == {"rainy": 0, "sunny": 2}
    assert ask(panel, cap, 8, type="clear_selection")["ok"] is True
    assert digits_session.selection.get() == [] and panel.flush() and panel.selection_size == 0


@pytest.mark.parametrize("content, fragment", [
    ({"type": "create_tag", "name": ""}, "name"),
    ({"type": "create_tag", "name": " padded "}, "name"),
    ({"type": "create_tag", "name": 5}, "name"),
    ({"type": "create_tag", "name": "weather"}, "categorical"),
    ({"type": "create_categorical", "name": "x", "values": []}, "values"),
    ({"type": "create_categorical", "name": "x", "values": "a,b"}, "values"),
    ({"type": "create_categorical", "name": "x", "values": ["ok", 3]}, "values"),
    ({"type": "create_categorical", "name": "blurry", "values": ["a"]}, "boolean"),
    ({"type": "apply", "action": "add_tag", "tag": "unknown"}, "unknown"),
    ({"type": "apply", "action": "set_categorical", "tag": "weather", "value": "foggy"}, "foggy"),
    ({"type": "apply", "action": "rename", "tag": "blurry"}, "action"),
])
def test_invalid_tag_messages_change_nothing(editor, digits_session, content, fragment):
    panel, cap = editor
    digits_session.register_tag("blurry")
    digits_session.register_categorical_tag("weather", ["rainy"])
    digits_session.selection.set([1])
    before = (digits_session.tag_summary(), digits_session.dataframe.to_json())
    reply = ask(panel, cap, 9, **content)
    assert reply["type"] == "action_result" and reply["ok"] is False and fragment in reply["message"]
    assert (digits_session.tag_summary(), digits_session.dataframe.to_json()) == before
    assert panel.flush() and fragment in panel.error


def test_applying_with_an_empty_selection_is_an_error(editor, digits_session):
    panel, cap = editor
    digits_session.register_tag("blurry")
    reply = ask(panel, cap, 1, type="apply", action="add_tag", tag="blurry")
    assert reply["ok"] is False and "no samples selected" in reply["message"]
    assert digits_session.get_samples_by_tag("blurry") == []


# ---------------------------------------------------------------- training controls
def train_forever(loader, model, optimizer, loss_fn):
    while True:
        for inputs, targets, ids in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets, batch_ids=ids).mean().backward()
            optimizer.step()


def test_controls_show_the_run_and_pause_resume_stop_it(digits_session):
    s = digits_session
    loader = s.registry.loaders()[0]
    model = digits_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = s.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss", name="train-loss",
                           per_sample=True)
    panel = TrainingControls(s)
    cap = Capture(panel)
    try:
        assert panel.flush() and panel.state == "idle"
        handle = s.start_training(train_forever, loader, model, opt, loss)
        assert handle.wait_for_step(3, timeout=30)
        assert panel.flush()
        assert panel.state == "running" and panel.step >= 3
        assert ask(panel, cap, 1, type="pause") == {"type": "action_result", "req": 1, "ok": True,
                                                    "message": "pause requested", "action": "pause"}
        assert s.controller.wait_for_state("paused", timeout=30)
        assert panel.flush() and panel.state == "paused" and panel.pause_requested
        step = panel.step
        ask(panel, cap, 2, type="resume")
        assert handle.wait_for_step(step + 2, timeout=30)
        ask(panel, cap, 3, type="stop")
        assert s.controller.wait_for_state("stopped", timeout=30)
        assert panel.flush()
        assert panel.state == "stopped" and panel.message == "stopped: requested"
        assert panel.step >= step + 2
        reply = ask(panel, cap, 4, type="jump")
        assert reply["ok"] is False and "unknown message type" in reply["message"]
    finally:
        panel.close()


def test_controls_show_a_training_error(session):
    def broken():
        raise RuntimeError("bad batch shape")

    panel = TrainingControls(session)
    try:
        session.start_training(broken)
        assert session.controller.wait_for_state("error", timeout=30)
        assert panel.flush()
        assert panel.state == "error" and panel.message == "RuntimeError: bad batch shape"
    finally:
        panel.close()


# ---------------------------------------------------------------- dashboard
def test_dashboard_lays_out_all_panels_and_closes_them(digits_session):
    dash = wl.dashboard()  # the facade: the current session
    assert isinstance(dash, Dashboard) and isinstance(dash, ipywidgets.VBox)
    assert isinstance(dash.controls, TrainingControls) and isinstance(dash.curves, LossCurves)
    assert isinstance(dash.grid, SampleGrid) and isinstance(dash.tags, TagEditor)
    assert all(p.session is digits_session for p in dash.panels)
    assert isinstance(dash.hparams, HyperParameterEditor)
    top, bottom = dash.children
    left, curves = top.children
    assert left.children == (dash.controls, dash.hparams) and curves is dash.curves
    assert bottom.children == (dash.grid, dash.tags)
    assert dash.flush()
    assert dash.grid.total == 1797
    publishers = [p._publisher for p in dash.panels]
    assert len(publishers) == 5
    dash.close()
    assert not any(p.alive for p in publishers)
    assert left.comm is None and top.comm is None  # the layout boxes are closed too


def test_dashboard_passes_the_thumbnail_callable_to_the_grid(session):
    def mine(x):
        return b""

    dash = dashboard(session, thumbnail=mine)
    try:
        assert dash.grid.thumbnails.converter is mine
    finally:
        dash.close()
