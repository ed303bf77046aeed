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


def test_an_evaluation_during_training_starts_within_one_batch_and_leaves_training_paused(
        run, capfd):
    session = run[0]
    handle = _train(run)
    assert handle.wait_for_step(30, timeout=30)
    requested_at = handle.step
    request = wl.request_evaluation("val_loader")
    assert request.wait(60) and request.state == "done", request.error
    assert request.step - requested_at <= 1  # the training thread stopped at the next boundary
    assert handle.state == "paused" and handle.step == request.step
    held = handle.step
    assert not handle.wait_for_step(held + 1, timeout=0.3)  # stays paused until resumed
    assert SUMMARY.match(request.summary) and request.summary in capfd.readouterr().out
    assert set(request.result) == {"loss", "accuracy"}
    # per-sample values for the evaluated loader's samples; the training curve is untouched
    frame = session.dataframe
    assert frame.loc[("val/0", 0), "signals//loss"] >= 0
    assert not frame.loc[[("val/5", 0)], "prediction"].isna().any()
    curve_steps = session.global_series("loss")["step"]
    assert (curve_steps <= held).all()
    handle.resume()
    assert handle.wait_for_step(held + 5, timeout=30)
    handle.stop()


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
    session, model, train, _, optimizer, loss = run
    ran_in_loop = []
    request_now = threading.Event()

    def loop():
        for step, (inputs, targets, ids) in enumerate(train):
            if step == 3:
                request_now.set()
            if wl.run_pending_evaluation():
                ran_in_loop.append(threading.current_thread().name)
                return
            optimizer.zero_grad()
            loss(model(inputs), targets, batch_ids=ids).mean().backward()
            optimizer.step()

    handle = session.start_training(loop)
    assert request_now.wait(30)
    request = wl.request_evaluation("val_loader")
    assert request.wait(60) and request.state == "done"
    handle.resume()
    assert handle.wait(30)
    assert len(session.evaluation.history) == 1  # one run, by the loop or the worker
    if ran_in_loop:
        assert ran_in_loop == ["wl-training"]


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
