"""Steering a real digits training from the main thread: learning rate, batch size, pause, and a
watched YAML file.

The session is the stock :class:`~weightslab_nb.session.Session` and the loader the stock
watched loader: the test goes through the real batch-boundary path (no hook is called by hand).

Threads are awaited with the handle's waits, ``hp.wait_applied`` and the watcher's
``wait_for_reload``; never with sleeps.
"""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import weightslab_nb as wl
from weightslab_nb import steering
from weightslab_nb.demo import digits_mlp
from weightslab_nb.session import Session

WAIT = 30.0
BATCH = 64
EPOCH_STEPS = 29  # ceil(1797 / 64)


@pytest.fixture
def hooked(tmp_path):
    """A plain session: steering attaches to its hooks itself, and the watched loader's sampler
    reads its batch size once per epoch (nothing here is patched)."""
    with Session(root_log_dir=tmp_path / "run") as session:
        yield session


def _setup(session, digits, hp):
    """The tutorial setup, with an optimizer of two param groups (different learning rates)."""
    model = wl.watch_or_edit(digits_mlp(hidden=32), flag="model")
    loader = wl.watch_or_edit(digits, flag="data", loader_name="train_loader",
                              batch_size=hp["batch_size"], shuffle=True, seed=0)
    first, last = model[1], model[3]
    opt = wl.watch_or_edit(torch.optim.Adam(
        [{"params": first.parameters()},
         {"params": last.parameters(), "lr": hp["optimizer"]["lr"] / 10}],
        lr=hp["optimizer"]["lr"]), flag="optimizer")
    loss = wl.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                            signal_name="train-loss", per_sample=True)
    return SimpleNamespace(session=session, hp=hp, model=model, loader=loader, opt=opt,
                           loss=loss, seen=[])


def holding(step):
    """Hold the training thread inside ``step`` (between two batches): ``hold.inside`` is set
    once it is there, ``hold.release`` lets it go on."""
    return SimpleNamespace(step=step, inside=threading.Event(), release=threading.Event())


def recording_train(r, epochs=1000, max_steps=None, hold=None):
    """The ordinary loop; per batch it records (epoch, step, batch length, every group's lr)
    as the optimizer step sees them. ``hold`` (from :func:`holding`) keeps the thread inside
    one step until the test releases it."""
    steps = 0
    for epoch in range(epochs):
        for x, y, ids in r.loader:
            if hold is not None and r.session.controller.step == hold.step:
                hold.inside.set()
                assert hold.release.wait(WAIT)
            r.opt.zero_grad()
            r.loss(r.model(x), y, batch_ids=ids).mean().backward()
            lrs = [g["lr"] for g in r.opt.param_groups]
            r.opt.step()
            r.seen.append((epoch, r.session.controller.step, len(ids), lrs))
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return steps
    return steps


def test_a_new_learning_rate_reaches_every_param_group_within_one_step(hooked, digits):
    hp = wl.watch_or_edit({"experiment_name": "lr", "batch_size": BATCH,
                           "optimizer": {"lr": 1e-2}}, flag="hp")
    r = _setup(hooked, digits, hp)
    h0 = wl.get_current_experiment_hash()
    hold = holding(5)
    handle = wl.start_training(recording_train, r, max_steps=400, hold=hold)
    assert hold.inside.wait(WAIT)  # inside step 5, before its optimizer step

    assert hp.request("optimizer.lr", 1e-3, source="panel") is False  # waits for a boundary
    assert [g["lr"] for g in r.opt.param_groups] == [1e-2, 1e-3]
    hold.release.set()
    assert hp.wait_applied(WAIT)
    record = hp.history()[-1]
    assert (record["key"], record["source"], record["step"]) == ("optimizer.lr", "panel", 6)
    assert [g["lr"] for g in r.opt.param_groups] == [1e-3, 1e-3]
    assert handle.wait_for_step(9, WAIT)
    assert handle.stop(WAIT) and handle.error is None

    # steps 1-5 (step 5 included: it was under way) trained with the old rates, the next ones
    # with the new rate
    assert [lrs for _, step, _, lrs in r.seen if step <= 5] == [[1e-2, 1e-3]] * 5
    after = [lrs for _, step, _, lrs in r.seen if step >= 6]
    assert len(after) >= 4 and all(lrs == [1e-3, 1e-3] for lrs in after)

    # the change started a new experiment, exactly at its step
    h1 = wl.get_current_experiment_hash()
    assert h1 != h0 and record["experiment_hash"] == h1
    old = wl.query_signal_history("train-loss", exp_hash=h0)
    new = wl.query_signal_history("train-loss", exp_hash=h1)
    assert max(step for _, step, _, _ in old) == record["step"] - 1
    assert min(step for _, step, _, _ in new) == record["step"]
    assert steering.read_change_log(hooked.root_log_dir) == [record]


def test_a_new_batch_size_takes_effect_at_the_next_epoch(hooked, digits):
    hp = wl.watch_or_edit({"experiment_name": "bs", "batch_size": BATCH,
                           "optimizer": {"lr": 1e-2}}, flag="hp")
    r = _setup(hooked, digits, hp)
    hold = holding(5)
    handle = wl.start_training(recording_train, r, epochs=3, hold=hold)
    assert hold.inside.wait(WAIT)
    assert hp.request("batch_size", 100) is False
    hold.release.set()
    assert hp.wait_applied(WAIT)
    assert hp.history()[-1]["step"] == 6  # applied during the first epoch ...
    assert handle.wait(WAIT) and handle.error is None

    sizes = {epoch: [n for e, _, n, _ in r.seen if e == epoch] for epoch in range(3)}
    assert sizes[0] == [BATCH] * 28 + [1797 - 28 * BATCH]  # ... which keeps its batch size
    assert sizes[1] == sizes[2] == [100] * 17 + [97]        # the next ones take the new one
    assert r.loader.batch_size == 100


def test_requests_made_around_a_pause_are_applied_while_it_holds(hooked, digits):
    hp = wl.watch_or_edit({"experiment_name": "pause", "batch_size": BATCH, "epochs": 3,
                           "optimizer": {"lr": 1e-2}}, flag="hp")
    r = _setup(hooked, digits, hp)
    hold = holding(3)
    handle = wl.start_training(recording_train, r, max_steps=200, hold=hold)
    assert hold.inside.wait(WAIT)

    assert hp.request("epochs", 4) is False  # while running: waits for the next boundary ...
    handle.pause()
    hold.release.set()
    assert handle.wait_paused(WAIT) and handle.state == "paused"
    held = handle.step
    assert held == 3
    assert hp.wait_applied(WAIT)  # ... where the thread parks: applied as it parked
    assert hp.pending() == [] and hp["epochs"] == 4
    assert [(c["key"], c["step"]) for c in steering.changes(hooked)] == [("epochs", 4)]

    assert hp.request("optimizer.lr", 5e-3) is True  # while paused: at once
    assert [g["lr"] for g in r.opt.param_groups] == [5e-3, 5e-3]
    assert [(c["key"], c["step"]) for c in steering.changes(hooked)][-1] == \
        ("optimizer.lr", held + 1)
    handle.resume()
    assert handle.wait_for_step(held + 3, WAIT)
    assert handle.stop(WAIT) and handle.error is None
    assert all(lrs == [5e-3, 5e-3] for _, step, _, lrs in r.seen if step > held)


def _write(path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_a_watched_yaml_file_steers_a_running_training(hooked, digits, tmp_path):
    path = tmp_path / "config.yaml"
    _write(path, "optimizer:\n  lr: 1e-2\n")
    hp = wl.watch_or_edit(str(path), flag="hyperparameters",
                          defaults={"experiment_name": "yaml", "batch_size": BATCH,
                                    "optimizer": {"lr": 1e-3}},
                          poll_interval=0.05)
    r = _setup(hooked, digits, hp)
    assert [g["lr"] for g in r.opt.param_groups] == [1e-2, 1e-3]
    handle = wl.start_training(recording_train, r)
    assert handle.wait_for_step(3, WAIT)
    config = hp.config

    before = config.reload_count
    _write(path, "optimizer:\n  lr: 2e-3\n")
    assert config.wait_for_reload(before, WAIT)
    assert hp.error is None
    assert hp.wait_applied(WAIT)
    assert [g["lr"] for g in r.opt.param_groups] == [2e-3, 2e-3]

    before = config.reload_count
    _write(path, "optimizer:\n  lr: quick\n")  # a bad edit: training goes on with the last values
    assert config.wait_for_reload(before, WAIT)
    assert "optimizer.lr" in hp.error
    step = handle.step
    assert handle.wait_for_step(step + 3, WAIT) and handle.state == "running"
    assert [g["lr"] for g in r.opt.param_groups] == [2e-3, 2e-3]

    before = config.reload_count
    _write(path, "optimizer:\n  lr: 4e-3\n")
    assert config.wait_for_reload(before, WAIT)
    assert hp.error is None and hp.wait_applied(WAIT)
    assert [g["lr"] for g in r.opt.param_groups] == [4e-3, 4e-3]
    assert handle.stop(WAIT) and handle.error is None

    log = steering.read_change_log(hooked.root_log_dir)
    assert [(c["key"], c["old"], c["new"], c["source"]) for c in log] == [
        ("optimizer.lr", 1e-2, 2e-3, "yaml"), ("optimizer.lr", 2e-3, 4e-3, "yaml")]
    assert log[0]["step"] < log[1]["step"] <= handle.step
    assert len({c["experiment_hash"] for c in log}) == 2

    hooked.close()
    assert not config.watching  # the close hook stops the watcher at once
