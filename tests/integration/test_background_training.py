"""Real training on the digits data set in a background thread, steered from the main thread.

Everything is real: the digits data, an MLP, Adam, a watched per-sample CrossEntropyLoss, the
training thread, the history writer and its DuckDB file. Threads are awaited with the handle's
waits and events, never with sleeps.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest

import weightslab_nb as wl
from weightslab_nb.demo import train_digits

WAIT = 30.0          # upper bound for any wait on the training thread
BATCH = 64
EPOCH_STEPS = 29     # ceil(1797 / 64)


@pytest.fixture
def run(digits_run):
    """The tutorial setup: hyperparameters, model, loader, optimizer and a per-sample loss."""
    return digits_run()


def recording_train(r, epochs=1000, max_steps=None, fail_at=None, hold=None):
    """train_digits, plus: append each batch's ids to ``r.yielded``; optionally break at a step
    the way a real bug would (a target out of range for the loss); ``hold`` (from
    :func:`holding`) keeps the thread inside one step until the test releases it."""
    steps = 0
    for _ in range(epochs):
        for x, y, ids in r.loader:
            r.yielded.append(ids.tolist())
            if hold is not None and steps + 1 == hold.step:
                hold.inside.set()
                assert hold.release.wait(WAIT)
            r.opt.zero_grad()
            logits = r.model(x)
            if fail_at is not None and steps + 1 == fail_at:
                logits = logits[:, :3]  # targets up to 9 are out of bounds for 3 classes
            r.loss(logits, y, batch_ids=ids).mean().backward()
            r.opt.step()
            steps += 1
            if max_steps is not None and steps >= max_steps:
                return steps
    return steps


def holding(step):
    """Hold the training thread inside ``step`` (its batch drawn and yielded, the next one not
    asked for): ``hold.inside`` is set once it is there, ``hold.release`` lets it go on."""
    return SimpleNamespace(step=step, inside=threading.Event(), release=threading.Event())


def _flat(batches):
    return {i for batch in batches for i in batch}


# ---------------------------------------------------------------- lifecycle
def test_start_training_returns_at_once_and_trains_in_the_background(run):
    t0 = time.monotonic()
    handle = wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                               epochs=1000, max_steps=100_000)
    elapsed = time.monotonic() - t0
    state, step = handle.state, handle.step
    assert elapsed < 1.0
    assert state == "running" and step < 200  # ~800 steps/s: a fraction of a second in
    assert handle.thread is not threading.current_thread()
    assert handle.wait_for_step(10, WAIT)
    assert handle.stop(WAIT)


def test_a_run_that_finishes_is_completed_and_recorded_every_sample(run):
    handle = wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                               epochs=2)
    assert handle.wait(WAIT)
    assert handle.error is None
    assert handle.state == "stopped" and handle.stop_reason == "completed"
    assert handle.result == 2 * EPOCH_STEPS and handle.step == 2 * EPOCH_STEPS
    assert handle.epoch == 2

    history = wl.query_signal_history("train-loss")
    assert len(history) == 2 * 1797
    h = wl.get_current_experiment_hash()
    assert {exp for *_, exp in history} == {h}
    first_epoch = {sid for sid, step, _, _ in history if step <= EPOCH_STEPS}
    assert first_epoch == set(range(1797))

    # the table holds each sample's latest value, the curve one point per step
    latest = {}
    for sid, step, value, _ in history:  # sorted by sample then step
        latest[sid] = value
    df = run.session.dataframe.xs(0, level="annotation_id")
    np.testing.assert_allclose(df.loc[list(latest), "signals//train-loss"].to_numpy(),
                               list(latest.values()))
    curve = run.session.global_series("train-loss")
    assert curve["step"].tolist() == list(range(1, 2 * EPOCH_STEPS + 1))
    assert curve["count"].sum() == 2 * 1797
    assert (curve["min"] <= curve["mean"]).all() and (curve["mean"] <= curve["max"]).all()
    assert curve["mean"][-5:].mean() < 0.5 * curve["mean"][:5].mean()  # it learns


def test_the_history_file_holds_the_run_after_close(run, tmp_path):
    handle = wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                               epochs=1)
    assert handle.wait(WAIT)
    run.session.close()
    with duckdb.connect(str(tmp_path / "run" / "history.duckdb"), read_only=True) as con:
        per_signal = dict(con.execute(
            "SELECT s.name, count(*) FROM sample_history h JOIN signals s ON s.id = h.signal "
            "GROUP BY s.name").fetchall())
        # one value per sample of the loss, and of the margin it derives from the logits
        assert per_signal == {"train-loss": 1797, "train-loss/margin": 1797}
        assert con.execute("SELECT count(*) FROM global_history").fetchone()[0] == EPOCH_STEPS
        assert con.execute("SELECT count(DISTINCT sample_id) FROM samples").fetchone()[0] == 1797


def test_throughput_is_positive_while_running(run):
    handle = wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                               epochs=1000, max_steps=100_000)
    assert handle.wait_for_step(10, WAIT)
    snap = run.session.controller.snapshot()
    assert snap["state"] == "running"
    assert snap["steps_per_second"] > 0
    assert handle.stop(WAIT)
    assert handle.steps_per_second == 0.0


def test_a_second_start_while_running_is_refused(run):
    handle = wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss,
                               epochs=1000, max_steps=100_000)
    assert handle.wait_for_step(2, WAIT)
    with pytest.raises(RuntimeError):
        wl.start_training(train_digits, run.loader, run.model, run.opt, run.loss)
    assert handle.state == "running"
    assert handle.stop(WAIT)


# ---------------------------------------------------------------- pause / resume / stop
def test_a_pause_requested_between_batches_holds_at_the_next_boundary_and_resume_continues(run):
    hold = holding(5)
    handle = wl.start_training(recording_train, run, max_steps=400, hold=hold)
    assert hold.inside.wait(WAIT)  # the thread is inside step 5
    handle.pause()
    hold.release.set()
    assert handle.wait_paused(WAIT)
    assert handle.state == "paused"
    assert handle.step == 5 and len(run.yielded) == 5  # no batch drawn after the request
    assert run.session.global_series("train-loss")["step"].tolist() == [1, 2, 3, 4, 5]

    assert not handle.wait_for_step(6, timeout=0.5)  # timed wait: nothing moves
    assert handle.step == 5 and len(run.yielded) == 5
    assert run.session.global_series("train-loss")["step"].tolist() == [1, 2, 3, 4, 5]

    handle.resume()
    assert handle.wait_for_step(10, WAIT)
    assert handle.wait(WAIT)
    assert handle.stop_reason == "completed" and handle.result == 400
    assert run.session.global_series("train-loss")["step"].tolist() == list(range(1, 401))


def test_stop_ends_the_thread_with_reason_requested(run):
    hold = holding(3)
    handle = wl.start_training(recording_train, run, hold=hold)
    assert hold.inside.wait(WAIT)
    run.session.controller.stop()
    hold.release.set()
    assert handle.wait(WAIT)
    assert not handle.thread.is_alive()
    assert handle.state == "stopped" and handle.stop_reason == "requested"
    assert len(run.yielded) == 3 and handle.step == 3  # the 4th batch was never drawn


# ---------------------------------------------------------------- errors surface
def test_an_exception_in_the_training_function_is_reported_not_swallowed(run):
    handle = wl.start_training(recording_train, run, fail_at=4)
    assert handle.wait(WAIT)
    assert handle.state == "error"
    assert isinstance(handle.error, IndexError)
    error = run.session.controller.snapshot()["error"]
    assert error.startswith("IndexError") and "out of bounds" in error
    assert str(handle.error) in error
    assert handle.step == 4 and handle.stop_reason is None


# ---------------------------------------------------------------- steering the data
def test_samples_discarded_while_paused_are_never_yielded_again(run):
    handle = wl.start_training(recording_train, run, max_steps=160)
    assert handle.wait_for_step(5, WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT) and handle.state == "paused"
    discarded = list(range(0, 1797, 2))  # every other sample: 899 of them
    wl.discard_samples(discarded)
    marker = len(run.yielded)
    paused_step = handle.step
    assert run.session.counts() == (1797, 898)

    handle.resume()
    assert handle.wait_for_step(paused_step + 2 * 15, WAIT)  # two epochs of 898 samples
    handle.pause()
    assert handle.wait_paused(WAIT) and handle.state == "paused"
    after = run.yielded[marker:]
    assert not (_flat(after) & set(discarded))
    assert _flat(after) == set(range(1, 1797, 2))  # every active sample is still visited

    # the history agrees: no discarded sample has a value after the pause
    late = {sid for sid, step, _, _ in wl.query_signal_history("train-loss")
            if step > paused_step}
    assert not late & set(discarded)

    # restoring brings samples back from the next batch on
    restored = discarded[:100]
    wl.discard_samples(restored, discarded=False)
    marker = len(run.yielded)
    handle.resume()
    assert handle.wait(WAIT)
    assert handle.stop_reason == "completed"
    again = _flat(run.yielded[marker:])
    assert set(restored) <= again
    assert not again & set(discarded[100:])


def test_samples_discarded_while_running_stop_being_yielded_from_the_next_batch(run):
    hold = holding(5)
    handle = wl.start_training(recording_train, run, hold=hold)
    assert hold.inside.wait(WAIT)  # inside step 5: batch 6 is not drawn yet
    discarded = set(range(1000))
    wl.discard_samples(sorted(discarded))
    hold.release.set()
    assert handle.wait_for_step(5 + 30, WAIT)
    assert handle.stop(WAIT)
    before, after = run.yielded[:5], run.yielded[5:]
    assert _flat(before) & discarded  # the first batches drew from all 1797 samples
    assert len(after) >= 30
    assert not _flat(after) & discarded  # from batch 6 on, never a discarded sample
    # 797 active samples: the epoch the discard fell into draws those it has not drawn yet,
    # the next ones draw all 797
    assert _flat(after) == set(range(1000, 1797))
    assert wl.get_discarded_samples(limit=3) == [0, 1, 2]


def test_tags_set_from_the_main_thread_during_training_are_visible_at_once(run):
    handle = wl.start_training(recording_train, run)
    assert handle.wait_for_step(3, WAIT)

    wl.tag_samples([5, 9, 1700], "hard")
    wl.register_categorical_tag("quality", ["ok", "blurry"])
    wl.set_categorical_tag([9, 10], "quality", "blurry")
    wl.set_categorical_tag([11], "quality", "mislabeled")  # auto-registered value
    assert wl.get_samples_by_tag("hard", origin="train") == [5, 9, 1700]
    assert wl.get_samples_by_tag("quality", origin="train_loader") == [9, 10, 11]
    assert wl.get_samples_by_tag("quality=blurry") == [9, 10]

    step = handle.step
    assert handle.wait_for_step(step + 5, WAIT)  # training went on
    assert handle.state == "running"
    df = run.session.dataframe.xs(0, level="annotation_id")
    assert df.index[df["tag:hard"]].tolist() == [5, 9, 1700]
    assert df.loc[[9, 10, 11], "tag:quality"].tolist() == ["blurry", "blurry", "mislabeled"]
    assert list(df["tag:quality"].cat.categories) == ["ok", "blurry", "mislabeled"]
    assert pd.isna(df.loc[12, "tag:quality"])
    # every batch before the current one has its losses (all samples once an epoch passed:
    # a slow main thread may let training run past the first epoch)
    assert df["signals//train-loss"].notna().sum() >= min(len(df), (step + 4) * BATCH)
    assert handle.stop(WAIT)


def test_hyperparameter_edits_during_training_start_a_new_experiment_in_the_history(run):
    handle = wl.start_training(recording_train, run)
    assert handle.wait_for_step(3, WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT)
    h1 = wl.get_current_experiment_hash()
    run.hp["optimizer"]["lr"] = 1e-3
    h2 = wl.get_current_experiment_hash()
    assert h2 != h1
    paused_step = handle.step
    handle.resume()
    assert handle.wait_for_step(paused_step + 3, WAIT)
    assert handle.stop(WAIT)
    old = wl.query_signal_history("train-loss", exp_hash=h1)
    new = wl.query_signal_history("train-loss", exp_hash=h2)
    assert max(step for _, step, _, _ in old) == paused_step
    assert min(step for _, step, _, _ in new) == paused_step + 1
