"""Evaluation mode on the real digits data: requested while training, run while paused."""

from __future__ import annotations

import re
import threading

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import weightslab_nb as wl
from weightslab_nb.demo import digits_mlp, train_digits

SUMMARY = re.compile(r"^\[WeightsLab\] Evaluation 'val_loader' @ step (\d+) — "
                     r"loss=\d+\.\d{4}, accuracy=\d+\.\d{4}$")


@pytest.fixture
def run(session, digits):
    """A watched train/val split of digits, a per-sample loss and a batch accuracy metric."""
    images, labels = digits.tensors
    model = session.watch_or_edit(digits_mlp(), flag="model")
    train = session.watch_or_edit(TensorDataset(images[:1400], labels[:1400]), flag="data",
                                  loader_name="train_loader", batch_size=64, shuffle=True, seed=0)
    val = session.watch_or_edit(TensorDataset(images[1400:], labels[1400:]), flag="data",
                                loader_name="val_loader", batch_size=64, id_prefix="val/")
    optimizer = session.watch_or_edit(torch.optim.Adam(model.parameters(), lr=1e-2),
                                      flag="optimizer")
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    session.watch_or_edit(lambda p, t: (p.argmax(1) == t).float().mean(), flag="metric",
                          name="accuracy")
    return session, model, train, val, optimizer, loss


def _train(run, epochs=100):
    session, model, train, _, optimizer, loss = run
    return session.start_training(train_digits, train, model, optimizer, loss, epochs=epochs)


TRAIN_STEPS = 22  # ceil(1400 / 64) steps per epoch


def _held_loop(run, hold_at, inside, release, epochs=2, pending_in_loop=False):
    """A training loop over the watched train loader that signals ``inside`` when it is inside
    step ``hold_at`` (between two batches) and waits for ``release`` there. With
    ``pending_in_loop`` it calls ``wl.run_pending_evaluation()`` at the top of every step and
    skips the step's training when a pass ran. Returns ``(loop, trained, ran)``: the steps it
    trained on, and ``(step, thread name)`` of each pass it ran."""
    session, model, train, _, optimizer, loss = run
    trained, ran = [], []

    def loop():
        for _ in range(epochs):
            for inputs, targets, ids in train:
                step = session.controller.step
                if step == hold_at:
                    inside.set()
                    assert release.wait(60)
                if pending_in_loop and wl.run_pending_evaluation():
                    ran.append((step, threading.current_thread().name))
                    continue
                optimizer.zero_grad()
                loss(model(inputs), targets, batch_ids=ids).mean().backward()
                optimizer.step()
                trained.append(step)

    return loop, trained, ran


def test_an_evaluation_requested_mid_step_runs_at_the_next_boundary_and_leaves_training_paused(
        run, capfd):
    session = run[0]
    inside, release = threading.Event(), threading.Event()
    loop, trained, _ = _held_loop(run, 30, inside, release)
    handle = session.start_training(loop)
    assert inside.wait(60)  # the training thread is inside step 30
    request = wl.request_evaluation("val_loader")
    assert request.state == "pending"  # the worker waits for the thread to reach its boundary
    release.set()
    assert request.wait(60) and request.state == "done", request.error
    assert request.step == 30  # held at the boundary right after step 30: no batch drawn
    assert handle.state == "paused" and handle.step == 30 and trained == list(range(1, 31))
    assert not handle.wait_for_step(31, timeout=0.3)  # stays paused until resumed
    assert SUMMARY.match(request.summary) and request.summary in capfd.readouterr().out
    assert set(request.result) == {"loss", "accuracy"}
    # per-sample values for the evaluated loader's samples; the training curve is untouched
    frame = session.dataframe
    assert frame.loc[("val/0", 0), "signals//loss"] >= 0
    assert not frame.loc[[("val/5", 0)], "prediction"].isna().any()
    assert session.global_series("loss")["step"].tolist() == list(range(1, 31))
    handle.resume()
    assert handle.wait(60) and handle.error is None
    assert trained == list(range(1, 2 * TRAIN_STEPS + 1))


def test_markers_are_numbered_per_experiment_and_stored_in_the_global_history(run):
    session = run[0]
    requests = [wl.request_evaluation("val_loader") for _ in range(3)]  # queued one by one
    for request in requests:
        assert request.wait(60) and request.state == "done", request.error
    base = wl.get_current_experiment_hash()
    assert [r.marker_hash for r in requests] == [f"{base}_{n}" for n in (1, 2, 3)]
    markers = [m for m in session.history.markers() if m["signal"] == "loss"]
    assert [m["experiment_hash"] for m in markers] == [f"{base}_{n}" for n in (1, 2, 3)]
    assert markers[0]["count"] == 397  # every val sample
    exported = session.history_frame("global", exp_hash=f"{base}_2")
    assert set(exported["graph_name"]) == {"loss", "accuracy"}


def _evaluate():
    request = wl.request_evaluation("val_loader")
    assert request.wait(60) and request.state == "done", request.error
    return request.marker_hash


def test_marker_numbers_start_again_at_1_for_a_new_experiment_and_go_on_for_an_old_one(run):
    session = run[0]
    hp = session.watch_or_edit({"optimizer": {"lr": 1e-2}}, flag="hp")
    h0 = wl.get_current_experiment_hash()
    assert [_evaluate(), _evaluate()] == [f"{h0}_1", f"{h0}_2"]

    hp["optimizer"]["lr"] = 1e-3  # a new experiment
    h1 = wl.get_current_experiment_hash()
    assert h1 != h0
    assert [_evaluate(), _evaluate()] == [f"{h1}_1", f"{h1}_2"]

    hp["optimizer"]["lr"] = 1e-2  # the first experiment's settings again: its numbering goes on
    assert wl.get_current_experiment_hash() == h0
    assert _evaluate() == f"{h0}_3"

    expected = [f"{h0}_1", f"{h0}_2", f"{h1}_1", f"{h1}_2", f"{h0}_3"]
    assert [m["experiment_hash"] for m in session.history.markers()
            if m["signal"] == "loss"] == expected
    for marker_hash in expected:  # each marker is stored under its own hash
        frame = session.history_frame("global", exp_hash=marker_hash)
        assert sorted(frame["graph_name"]) == ["accuracy", "loss"]
        assert frame["step"].tolist() == [0, 0]


def test_an_evaluation_asked_with_resume_lets_training_go_on_by_itself(run):
    session = run[0]
    inside, release = threading.Event(), threading.Event()
    loop, trained, _ = _held_loop(run, 5, inside, release, epochs=1)
    handle = session.start_training(loop)
    assert inside.wait(60)
    request = wl.request_evaluation("val_loader", resume=True)
    release.set()
    assert request.wait(60) and (request.state, request.step) == ("done", 5)
    assert handle.wait(60)  # nothing but the evaluation resumed it
    assert handle.error is None and handle.stop_reason == "completed"
    assert trained == list(range(1, TRAIN_STEPS + 1))
    assert not session.controller.pause_requested


def test_training_resumes_with_the_same_step_count_and_optimizer_state(run):
    session, model, *_, optimizer, _ = run
    handle = _train(run)
    assert handle.wait_for_step(20, timeout=30)
    request = wl.request_evaluation("val", resume=False)
    assert request.wait(60)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt_steps = [s["step"].clone() for s in optimizer.state.values()]
    step = handle.step
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert [s["step"] for s in optimizer.state.values()] == opt_steps
    handle.resume()
    assert handle.wait_for_step(step + 1, timeout=30)
    assert handle.step > step and handle.stop()


def test_a_tag_subset_evaluates_only_the_tagged_samples(run):
    session = run[0]
    wl.tag_samples(["val/1", "val/2", "val/3"], "flagged")
    request = wl.request_evaluation("val_loader", tags="flagged")
    assert request.wait(60) and request.state == "done"
    assert [m["count"] for m in session.history.markers() if m["signal"] == "loss"] == [3]
    with pytest.raises(ValueError, match="tags"):
        wl.request_evaluation("val_loader", tags="no-such-tag")
    with pytest.raises(KeyError, match="test_loader"):
        wl.request_evaluation("test_loader")


def test_eval_fn_replaces_the_default_and_redecorating_replaces_it_again(run):
    calls = []

    @wl.eval_fn
    def first(loader):
        calls.append("first")

    @wl.eval_fn
    def second(loader):
        calls.append("second")
        for inputs, targets, ids in loader:
            run[5](run[1](inputs), targets, batch_ids=ids)

    request = wl.request_evaluation("val_loader", resume=True)
    assert request.wait(60) and request.state == "done"
    assert calls == ["second"] and set(request.result) == {"loss"}


def test_run_pending_evaluation_runs_in_the_training_loop_exactly_once(run, capsys):
    """Requested while the training thread is inside step 3, before its loop calls
    ``wl.run_pending_evaluation()``: the thread has not reached a batch boundary, so the
    background worker cannot take the request; the loop runs it, in the training thread, at
    step 3, once. Training stays paused at the next boundary; after resuming, the loop's
    losses go to the training curve again (the pass's capture ended with it)."""
    session = run[0]
    inside, release = threading.Event(), threading.Event()
    loop, trained, ran = _held_loop(run, 3, inside, release, pending_in_loop=True)
    handle = session.start_training(loop)
    assert inside.wait(60)
    request = wl.request_evaluation("val_loader")
    release.set()
    assert request.wait(60) and request.state == "done", request.error
    assert ran == [(3, "wl-training")]
    base = wl.get_current_experiment_hash()
    assert request.step == 3 and request.marker_hash == f"{base}_1"
    assert handle.wait_paused(60) and handle.state == "paused" and handle.step == 3
    assert request.summary + "\n" in capsys.readouterr().out  # printed by the loop's thread

    handle.resume()
    assert handle.wait(60) and handle.error is None
    assert ran == [(3, "wl-training")]
    assert [(r.id, r.state) for r in session.evaluation.history] == [(request.id, "done")]
    assert trained == [1, 2] + list(range(4, 2 * TRAIN_STEPS + 1))  # step 3 was the pass
    assert session.global_series("loss")["step"].tolist() == trained
    assert [(m["signal"], m["step"], m["count"], m["experiment_hash"])
            for m in session.history.markers()] == [
        ("loss", 3, 397, f"{base}_1"), ("accuracy", 3, 7, f"{base}_1")]


def test_a_pass_that_fails_in_the_training_loop_leaves_the_loops_recordings_to_the_run(run):
    """The pass raises after its first batch recorded values: nothing of it is kept, and the
    training thread's own recordings reach the run again right after it."""
    session, model, _, _, _, loss = run

    @wl.eval_fn
    def broken(loader):
        for inputs, targets, ids in loader:
            loss(model(inputs), targets, batch_ids=ids)
            raise RuntimeError("broken pass")

    inside, release = threading.Event(), threading.Event()
    loop, trained, ran = _held_loop(run, 3, inside, release, epochs=1, pending_in_loop=True)
    handle = session.start_training(loop)
    assert inside.wait(60)
    request = wl.request_evaluation("val_loader")
    release.set()
    assert request.wait(60)
    assert (request.state, request.error) == ("failed", "RuntimeError: broken pass")
    assert ran == [(3, "wl-training")]
    assert handle.wait_paused(60) and handle.step == 3
    handle.resume()
    assert handle.wait(60) and handle.error is None
    assert trained == [1, 2] + list(range(4, TRAIN_STEPS + 1))
    assert session.global_series("loss")["step"].tolist() == trained
    assert session.history.markers() == []
    frame = session.dataframe
    assert frame.loc[[(f"val/{i}", 0) for i in range(64)], "signals//loss"].isna().all()


def test_cancel_and_timeout_end_an_evaluation_without_a_marker(run):
    session = run[0]
    started = threading.Event()
    release = threading.Event()

    @wl.eval_fn
    def slow(loader):
        for _ in loader:
            started.set()
            release.wait(5)

    cancelled = wl.request_evaluation("val_loader")
    assert started.wait(30)
    cancelled.cancel()
    release.set()
    assert cancelled.wait(30) and cancelled.state == "cancelled"

    never = threading.Event()

    @wl.eval_fn
    def stuck(loader):
        for _ in loader:
            never.wait(0.15)  # a pass slower than its timeout

    timed = wl.request_evaluation("val_loader", timeout=0.2)
    assert timed.wait(30) and timed.state == "timed_out"
    assert session.history.markers() == []
    assert [r.state for r in session.evaluation.history] == ["cancelled", "timed_out"]
