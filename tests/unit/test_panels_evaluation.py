"""Evaluate from the controls panel, and evaluation markers on the loss curves, against a real
Session with the digits data (a watched train/val split, a model and a per-sample loss)."""

from __future__ import annotations

import threading

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from weightslab_nb.demo import digits_mlp, train_digits
from weightslab_nb.evaluation import MAX_QUEUED
from weightslab_nb.panels import LossCurves, TrainingControls

from tests.panel_capture import Capture, ask_content as ask

VAL_BATCHES = 7  # 397 val samples in batches of 64


@pytest.fixture
def run(session, digits):
    images, labels = digits.tensors
    model = session.watch_or_edit(digits_mlp(), flag="model")
    train = session.watch_or_edit(TensorDataset(images[:1400], labels[:1400]), flag="data",
                                  loader_name="train_loader", batch_size=64, shuffle=True, seed=0)
    session.watch_or_edit(TensorDataset(images[1400:], labels[1400:]), flag="data",
                          loader_name="val_loader", batch_size=64, id_prefix="val/")
    optimizer = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                      flag="optimizer")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    return session, train, model, optimizer, loss


@pytest.fixture
def controls(run):
    panel = TrainingControls(run[0])
    cap = Capture(panel)
    yield panel, cap
    panel.close()


def start_training(run, epochs=10_000):
    session, train, model, optimizer, loss = run
    return session.start_training(train_digits, train, model, optimizer, loss, epochs=epochs)


def blocking_eval_fn(session):
    """An eval_fn that holds the pass at its first batch until ``release`` is set."""
    started, release = threading.Event(), threading.Event()

    def fn(loader):
        for _ in loader:
            started.set()
            assert release.wait(30)

    session.evaluation.eval_fn = fn
    return started, release


def request_of(session, req_id):
    ev = session.evaluation
    for r in [ev.running, *ev.history]:
        if r is not None and r.id == req_id:
            return r
    pending = ev.pending()
    assert pending is not None and pending.id == req_id
    return pending


# ---------------------------------------------------------------- controls: evaluate
def test_the_panel_lists_watched_loaders_and_tags(controls, run):
    panel, _ = controls
    session = run[0]
    session.register_tag("flagged")
    session.register_categorical_tag("quality", ["clean", "noisy"])
    assert panel.flush()
    assert panel.loaders == [
        {"name": "train_loader", "origin": "train", "size": 1400, "is_training": True},
        {"name": "val_loader", "origin": "val", "size": 397, "is_training": False}]
    assert panel.tag_summary == session.tag_summary()
    assert panel.evaluation["state"] == "none" and panel.evaluation["last"] is None


def test_evaluate_runs_the_pass_and_the_panel_shows_its_result(controls, run):
    panel, cap = controls
    session = run[0]
    reply = ask(panel, cap, 1, type="evaluate", loader="val_loader")
    assert reply["ok"] is True and reply["action"] == "evaluate", reply
    request = request_of(session, reply["id"])
    assert request.wait(60) and request.state == "done", request.error
    assert panel.flush()
    ev = panel.evaluation
    assert ev["id"] == request.id and ev["state"] == "done" and ev["loader"] == "val_loader"
    assert ev["progress"] == [VAL_BATCHES, VAL_BATCHES] and ev["queued"] == 0
    assert ev["result"] == pytest.approx(request.result) and set(ev["result"]) == {"loss"}
    assert ev["last"]["marker_hash"] == request.marker_hash == f"{session.get_current_experiment_hash()}_1"
    assert ev["last"]["summary"] == request.summary and ev["last"]["step"] == request.step
    # no training runs: the pause it asked for stays requested (training starts paused)
    assert panel.state == "idle" and panel.pause_requested


def test_evaluate_while_training_pauses_it_and_resume_after_restarts_it(controls, run):
    panel, cap = controls
    session = run[0]
    handle = start_training(run)
    try:
        assert handle.wait_for_step(10, timeout=30)
        reply = ask(panel, cap, 1, type="evaluate", loader="val", resume=True)
        request = request_of(session, reply["id"])
        assert request.wait(60) and request.state == "done", request.error
        assert request.resume is True
        assert handle.wait_for_step(request.step + 3, timeout=30)  # training went on by itself
        assert panel.flush() and panel.state == "running"
        assert panel.evaluation["last"]["id"] == request.id
    finally:
        handle.stop()


def test_a_tag_subset_evaluates_only_those_samples(controls, run):
    panel, cap = controls
    session = run[0]
    session.tag_samples(["val/1", "val/2", "val/3", 5], "flagged")
    session.register_categorical_tag("quality", ["clean", "noisy"])
    session.set_categorical_tag(["val/2", "val/3", "val/9"], "quality", "clean")
    reply = ask(panel, cap, 1, type="evaluate", loader="val_loader", tags=["flagged", "quality=clean"])
    request = request_of(session, reply["id"])
    assert request.wait(60) and request.state == "done", request.error
    assert request.tags == ("flagged", "quality=clean")
    assert [m["count"] for m in session.history.markers()] == [2]
    assert panel.flush() and panel.evaluation["tags"] == ["flagged", "quality=clean"]
    assert panel.evaluation["progress"] == [1, 1]


@pytest.mark.parametrize("content, fragment", [
    ({"loader": "test_loader"}, "loader: no watched loader or origin 'test_loader'"),
    ({}, "loader: required"),
    ({"loader": 3}, "loader: expected a string"),
    ({"loader": "val_loader", "tags": "flagged"}, "tags: expected a list"),
    ({"loader": "val_loader", "tags": ["nope"]}, "no boolean tag named 'nope'"),
    ({"loader": "val_loader", "tags": ["quality=dirty"]}, "'dirty' is not a value of 'quality'"),
    ({"loader": "val_loader", "tags": ["quality=clean", "quality=noisy"]}, "exclude each other"),
    ({"loader": "val_loader", "tags": ["train_only"]}, "no sample of 'val_loader'"),
    ({"loader": "val_loader", "resume": "yes"}, "resume: expected true or false"),
    ({"loader": "val_loader", "timeout": -1}, "timeout: expected a positive number"),
])
def test_invalid_evaluate_messages_are_refused_and_queue_nothing(controls, run, content, fragment):
    panel, cap = controls
    session = run[0]
    session.tag_samples([0, 1], "train_only")
    session.register_categorical_tag("quality", ["clean", "noisy"])
    before = session.changes.controller
    reply = ask(panel, cap, 7, type="evaluate", **content)
    assert reply["type"] == "action_result" and reply["ok"] is False, reply
    assert fragment in reply["message"]
    assert session.evaluation.pending() is None and session.evaluation.history == []
    assert session.changes.controller == before and session.controller.state == "idle"
    assert not session.controller.pause_requested
    assert panel.flush() and fragment in panel.error


def test_cancel_stops_a_running_evaluation_and_resume_waits_for_it(controls, run):
    panel, cap = controls
    session = run[0]
    started, release = blocking_eval_fn(session)
    try:
        reply = ask(panel, cap, 1, type="evaluate", loader="val_loader")
        assert started.wait(30)
        assert panel.flush() and panel.evaluation["state"] == "running"
        assert panel.evaluation["progress"] == [0, VAL_BATCHES]
        refused = ask(panel, cap, 2, type="resume")
        assert refused["ok"] is False and "cancel it first" in refused["message"]
        cancel = ask(panel, cap, 3, type="cancel_evaluation", id=reply["id"])
        assert cancel["ok"] is True and cancel["id"] == reply["id"]
        release.set()
        request = request_of(session, reply["id"])
        assert request.wait(30) and request.state == "cancelled"
        assert panel.flush()
        assert panel.evaluation["state"] == "cancelled" and panel.evaluation["last"] is None
        assert session.history.markers() == []
        again = ask(panel, cap, 4, type="cancel_evaluation", id=reply["id"])
        assert again["ok"] is False and "is cancelled, not running or queued" in again["message"]
        assert ask(panel, cap, 5, type="resume")["ok"] is True
    finally:
        release.set()


def test_a_full_queue_is_reported_and_cancel_without_id_takes_the_running_one(controls, run):
    panel, cap = controls
    session = run[0]
    started, release = blocking_eval_fn(session)
    try:
        first = ask(panel, cap, 1, type="evaluate", loader="val_loader")
        assert started.wait(30)
        queued = [ask(panel, cap, 10 + i, type="evaluate", loader="val_loader")
                  for i in range(MAX_QUEUED)]
        assert all(r["ok"] for r in queued)
        assert panel.flush() and panel.evaluation["queued"] == MAX_QUEUED
        assert panel.evaluation["id"] == first["id"]  # the running one is shown
        full = ask(panel, cap, 20, type="evaluate", loader="val_loader")
        assert full["ok"] is False and "already queued" in full["message"]
        assert panel.flush() and "already queued" in panel.error
        for i, r in enumerate(queued):  # queued ones by id, the running one without
            assert ask(panel, cap, 30 + i, type="cancel_evaluation", id=r["id"])["ok"]
        assert ask(panel, cap, 40, type="cancel_evaluation")["id"] == first["id"]
        release.set()
        for r in [first, *queued]:
            request = request_of(session, r["id"])
            assert request.wait(30) and request.state == "cancelled", request.state
        nothing = ask(panel, cap, 41, type="cancel_evaluation")
        assert nothing["ok"] is False and "no evaluation is running or queued" in nothing["message"]
        bad = ask(panel, cap, 42, type="cancel_evaluation", id="one")
        assert bad["ok"] is False and "id: expected an integer" in bad["message"]
        unknown = ask(panel, cap, 43, type="cancel_evaluation", id=10_000)
        assert unknown["ok"] is False and "no evaluation 10000" in unknown["message"]
    finally:
        release.set()


def test_a_failed_evaluation_shows_its_error(controls, run):
    panel, cap = controls
    session = run[0]

    def broken(loader):
        raise RuntimeError("no GPU here")

    session.evaluation.eval_fn = broken
    reply = ask(panel, cap, 1, type="evaluate", loader="val_loader")
    request = request_of(session, reply["id"])
    assert request.wait(30) and request.state == "failed"
    assert panel.flush()
    assert panel.evaluation["state"] == "failed"
    assert panel.evaluation["error"] == "RuntimeError: no GPU here"


# ---------------------------------------------------------------- curves: markers
def test_markers_reach_the_curves_after_the_snapshot_and_only_new_ones_are_sent(run):
    session = run[0]
    curves = LossCurves(session)
    cap = Capture(curves)
    try:
        ask(curves, cap, 1, type="sync")
        snapshot = cap.of_type("snapshot")[0][0]
        assert snapshot["markers"] == []
        first = session.request_evaluation("val_loader")
        assert first.wait(60) and first.state == "done", first.error
        msg, buffers = cap.wait_for(lambda m: m.get("type") == "markers", timeout=10)
        assert buffers == [] and msg["start"] == 0
        (marker,) = msg["markers"]
        assert marker["signal"] == "loss" and marker["experiment_hash"] == first.marker_hash
        assert marker["step"] == first.step and marker["count"] == 397
        assert marker["mean"] == pytest.approx(first.result["loss"])
        assert marker["min"] <= marker["mean"] <= marker["max"]
        second = session.request_evaluation("val_loader", tags=None)
        assert second.wait(60) and second.state == "done"
        msg2, _ = cap.wait_for(lambda m: m.get("type") == "markers" and m["start"] == 1, timeout=10)
        assert [m["experiment_hash"] for m in msg2["markers"]] == [second.marker_hash]
        assert curves.flush()
        assert len(cap.of_type("markers")) == 2 and curves.markers_sent == 2
        ask(curves, cap, 2, type="sync")  # a new snapshot carries every marker
        assert [m["experiment_hash"] for m in cap.reply(2)[0]["markers"]] == \
            [first.marker_hash, second.marker_hash]
    finally:
        curves.close()


def test_markers_recorded_before_the_view_asks_come_with_the_snapshot(run):
    session = run[0]
    request = session.request_evaluation("val_loader")
    assert request.wait(60) and request.state == "done"
    curves = LossCurves(session)
    cap = Capture(curves)
    try:
        assert curves.flush() and cap.of_type("markers") == []  # nothing before a sync
        snapshot = ask(curves, cap, 1, type="sync")
        assert [m["experiment_hash"] for m in snapshot["markers"]] == [request.marker_hash]
        assert snapshot["series"] == []  # markers are kept out of the training curves
        assert curves.flush() and cap.of_type("markers") == []
    finally:
        curves.close()
