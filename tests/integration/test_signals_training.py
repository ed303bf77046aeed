"""Custom signals during real training: digits, an MLP, Adam and a watched per-sample loss in a
background thread; dynamic signals fire from the history writer's and the readers' drains.

Waits use the training handle and events, never sleeps. After training ends,
``session.drain()`` applies what is left and fires the remaining signals deterministically.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import weightslab_nb as wl
from weightslab_nb.demo import train_digits
from weightslab_nb import auto_tag_loss_shapes, compute_signals, signal  # the facade
from weightslab_nb.loss_shapes import LOSS_SHAPE_LABELS, classify_loss_shape
from weightslab_nb.signals import signal_registry

WAIT = 60.0
BATCH = 64
EPOCH_STEPS = 29  # ceil(1797 / 64)


@pytest.fixture
def run(digits_run):
    return digits_run(signal_name="train/clsf_sample", experiment_name="signals")


def start(r, max_steps):
    return wl.start_training(train_digits, r.loader, r.model, r.opt, r.loss, epochs=10_000,
                             max_steps=max_steps)


def test_the_loss_shape_auto_tagging_example_during_real_training(run):
    # -------- the reference example, as a user writes it in a notebook cell
    LOSS_SHAPE_CODES = {label: i for i, label in enumerate(LOSS_SHAPE_LABELS)}

    wl.register_categorical_tag("loss_shape", LOSS_SHAPE_LABELS)

    @wl.signal(
        name="loss_shape_classifier",
        subscribe_to="train/clsf_sample",
        compute_every_n_steps=25,
        log=False,
    )
    def classify_sample_loss_shape(ctx):
        history = wl.query_sample_history(ctx.sample_id, signal_name="train/clsf_sample")
        series = sorted(((step, val) for _, step, val, _ in history), key=lambda t: t[0])
        values = [v for _, v in series]
        label = classify_loss_shape(values)
        if label is None:
            return -1
        wl.set_categorical_tag([ctx.sample_id], "loss_shape", label)
        return LOSS_SHAPE_CODES[label]
    # --------

    steps = 12 * EPOCH_STEPS  # 12 epochs: every sample has 12 loss values at the end
    handle = start(run, steps)
    assert handle.wait(WAIT) and handle.state == "stopped" and handle.result == steps
    run.session.drain()  # fire what the writer has not fired yet
    df = run.session.dataframe

    sig = signal_registry(run.session).get("loss_shape_classifier")
    assert sig.fired == steps // 25 and sig.enabled and sig.failures == 0
    assert signal_registry(run.session).errors == []
    codes = df["signals//loss_shape_classifier"]
    tags = df["tag:loss_shape"]
    assert list(tags.cat.categories) == LOSS_SHAPE_LABELS
    fired = codes.notna()
    assert 0 < fired.sum() <= sig.fired * BATCH
    assert set(codes[fired].unique()) <= {-1.0, *map(float, range(6))}
    tagged = codes >= 0
    # the first 5 epochs give too little history; fires from step 150 on tag whole batches
    assert tagged.sum() >= 5 * BATCH
    assert (tags[tagged].astype(str) == [LOSS_SHAPE_LABELS[int(c)] for c in codes[tagged]]).all()
    assert tags[~tagged].isna().all()
    # the MLP learns digits: most sampled trajectories fall steadily
    assert (tags[tagged] == "monotonic").mean() > 0.5
    monotonic = wl.get_samples_by_tag("loss_shape=monotonic")
    assert set(monotonic) == set(df.index[(tags == "monotonic").to_numpy()]
                                 .get_level_values("sample_id"))
    assert "loss_shape_classifier" not in run.session.global_signal_names()  # log=False


def test_auto_tagging_keeps_the_tag_current_while_training_runs(run):
    auto_tag_loss_shapes("train/clsf_sample", every_n_steps=10)
    first_label = threading.Event()
    threads = set()

    @signal(name="shape_seen", subscribe_to="loss_shape_classifier", batched=True, log=False)
    def shape_seen(ctx):  # chained on the auto-tagger's codes
        threads.add(threading.current_thread().name)
        if (ctx.subscribed_values >= 0).any():
            first_label.set()
        return ctx.subscribed_values

    handle = start(run, 1_000_000)
    try:
        assert first_label.wait(WAIT), "no sample was classified"
        df = run.session.dataframe  # a reader while the writer fires signals
        assert handle.state == "running"
        assert df["tag:loss_shape"].notna().sum() > 0
        summary = run.session.tag_summary()["categorical"]["loss_shape"]
        assert summary["values"] == LOSS_SHAPE_LABELS and sum(summary["counts"].values()) > 0
    finally:
        assert handle.stop(WAIT)
    assert "wl-training" not in threads  # signals never run in the training thread
    assert signal_registry(run.session).errors == []


def test_a_failing_signal_is_disabled_and_training_continues(run, caplog):
    calls = []

    @wl.signal(subscribe_to="train/clsf_sample")
    def broken(ctx):
        calls.append(ctx.step)
        raise KeyError("no such column")

    @wl.signal(subscribe_to="train/clsf_sample", batched=True, log=False)
    def doubled(ctx):
        return 2 * ctx.subscribed_values

    handle = start(run, 3 * EPOCH_STEPS)
    assert handle.wait(WAIT)
    assert handle.state == "stopped" and handle.error is None and handle.result == 3 * EPOCH_STEPS
    run.session.drain()
    registry = signal_registry(run.session)
    sig = registry.get("broken")
    assert not sig.enabled and sig.failures == 3 and len(calls) == 3
    assert registry.errors[-1].disabled and "KeyError" in registry.errors[-1].message
    assert "disabled" in caplog.text
    df = run.session.dataframe
    assert np.allclose(df["signals//doubled"], 2 * df["signals//train/clsf_sample"])


def test_compute_signals_on_the_digits_while_training_runs(run, capsys):
    @wl.signal(batched=True)
    def ink(ctx):
        return torch.stack(ctx.images).mean(dim=(1, 2, 3))

    @wl.signal
    def lit_pixels(ctx):
        return float((ctx.image > 0.5).sum())

    handle = start(run, 1_000_000)
    try:
        assert handle.wait_for_step(5, WAIT)
        counts = compute_signals(run.loader, origin="train")
        assert handle.state == "running"
    finally:
        assert handle.stop(WAIT)
    assert counts == {"ink": 1797, "lit_pixels": 1797}
    images = run.digits.tensors[0]
    df = run.session.dataframe
    assert np.allclose(df["signals//ink"], images.mean(dim=(1, 2, 3)).numpy(), atol=1e-6)
    assert np.array_equal(df["signals//lit_pixels"], (images > 0.5).sum(dim=(1, 2, 3)).numpy())
    assert "1797/1797" in capsys.readouterr().err
