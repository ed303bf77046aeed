"""Batches recorded on the hot path are applied later, in bulk: what a reader can rely on."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch


def test_the_latest_batch_wins_for_a_sample_recorded_twice_before_a_read(session):
    session.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=1)
    session.save_signals({"loss": [5.0]}, [1], step=2)
    session.save_signals({"loss": [7.0, 8.0]}, [1, 0], step=3)
    df = session.dataframe
    assert df.loc[(0, 0), "signals//loss"] == 8.0
    assert df.loc[(1, 0), "signals//loss"] == 7.0
    steps = [step for _, step, _, _ in session.query_sample_history(1)]
    assert steps == [1, 2, 3]


def test_a_recorded_tensor_is_readable_at_once_without_a_flush(session):
    loss = torch.tensor([0.5, 1.5, 2.5], requires_grad=True) * 2
    session.save_signals({"loss": loss}, ["a", "b", "c"], step=4)
    df = session.dataframe
    assert df.loc[("b", 0), "signals//loss"] == pytest.approx(3.0)
    assert session.global_series("loss")["max"].tolist() == [5.0]


def test_a_wrong_length_is_refused_when_recorded_and_leaves_no_trace(session):
    session.save_signals({"loss": [1.0, 2.0]}, [0, 1], step=1)
    with pytest.raises(ValueError, match="first dimension is 3"):
        session.save_signals({"loss": torch.ones(3)}, [0, 1], step=2)
    assert [s for _, s, _, _ in session.query_signal_history("loss")] == [1, 1]
    assert len(session.global_series("loss")["step"]) == 1


def test_readers_racing_a_recording_thread_see_every_batch_exactly_once(session):
    session.save_signals({"loss": np.zeros(64)}, list(range(64)), step=0)
    done = threading.Event()

    def record():
        for step in range(1, 301):
            session.save_signals({"loss": np.full(64, float(step))}, list(range(64)), step=step)
        done.set()

    worker = threading.Thread(target=record)
    worker.start()
    while not done.is_set():  # read as fast as possible while the other thread records
        session.global_series("loss")
        session.dataframe
    worker.join(timeout=30)
    series = session.global_series("loss")
    assert series["step"].tolist() == list(range(301))
    assert len(session.query_signal_history("loss")) == 301 * 64
    assert (session.dataframe["signals//loss"] == 300.0).all()


def test_the_writer_empties_the_hand_over_queue_while_nobody_reads(session):
    for step in range(200):
        session.save_signals({"loss": np.full(64, float(step))}, list(range(64)), step=step)
    assert session.recorder.wait_for_flush(flushes=2, timeout=30)
    assert len(session.recorder.queue) == 0  # bounded: recorded batches do not pile up unread
    assert session.history.connected


def test_a_recording_thread_that_outruns_the_writer_waits_for_room_instead_of_piling_up(session):
    recorder = session.recorder
    recorder.queue.max_rows = 256
    in_round, release = threading.Event(), threading.Event()

    def slow_round():  # the writer is busy with one round until released
        in_round.set()
        release.wait(30)

    recorder.on_flush.append(slow_round)
    recorder.wake()
    assert in_round.wait(10)
    finished, most_queued = threading.Event(), []

    def record():
        for step in range(20):
            session.save_signals({"loss": np.full(64, float(step))}, list(range(64)), step=step)
            most_queued.append(recorder.queue.rows)
        finished.set()

    worker = threading.Thread(target=record)
    worker.start()
    assert not finished.wait(0.3)  # held back: the queue is full and nobody drains it
    assert max(most_queued) <= 256
    recorder.on_flush.remove(slow_round)
    release.set()
    assert finished.wait(30)
    worker.join(10)
    assert len(session.query_signal_history("loss")) == 20 * 64  # nothing lost or doubled


def test_a_recording_made_inside_a_drain_never_waits_for_room(session, monkeypatch):
    monkeypatch.setattr("weightslab_nb.ledger.recorder.HOLD_TIMEOUT", 60.0)  # a wait would show
    recorder = session.recorder
    recorder.queue.max_rows = 64
    in_round, release = threading.Event(), threading.Event()
    recorder.on_flush.append(lambda: (in_round.set(), release.wait(30)))
    recorder.wake()
    assert in_round.wait(10)  # the writer is busy: the reader below does the drain
    recorded = []

    def follow_up(batches):  # a listener recording while its drain runs (as dynamic signals do)
        if any(p.batch.column == "signals//loss" for p in batches):
            session.save_signals({"echo": np.ones(128)}, list(range(128)), step=1)
            recorded.append(threading.current_thread().name)

    recorder.on_applied.append(follow_up)
    session.save_signals({"loss": np.zeros(32)}, list(range(32)), step=1)  # room left: no wait
    done = threading.Event()
    reader = threading.Thread(target=lambda: (session.dataframe, done.set()), name="reader")
    reader.start()  # its drain runs the listener, whose recording fills the queue
    try:
        assert done.wait(10)
        assert recorded == ["reader"]
    finally:
        recorder.on_flush.clear()
        release.set()
    assert len(session.query_signal_history("echo")) == 128
