"""Custom signals: the decorator, dynamic (per-sample and batched) signals, failures, static
signals with compute_signals, and the context's views.

Batches are recorded with ``save_signals`` at explicit steps and applied with
``session.drain()``, which waits until the dynamic signals they trigger have run (in the
session's ``wl-signals`` thread) and applies their values.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader, TensorDataset

import weightslab_nb as wl
from weightslab_nb import compute_signals, signal  # the facade: session= or the current one
from weightslab_nb.signals import (BatchSignalContext, SignalContext, image_view,
                                   point_cloud_view, register_signal, signal_registry)

WAIT = 30.0


@pytest.fixture
def loader(session, small_dataset):
    return session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                 batch_size=5)


@pytest.fixture
def images(session):
    """12 images [1, 6, 6] with mean brightness i / 12, watched as the "val" loader (ids
    "v0".."v11")."""
    x = torch.stack([torch.full((1, 6, 6), i / 12) for i in range(12)])
    ds = TensorDataset(x, torch.arange(12) % 2)
    return ds, session.watch_or_edit(ds, flag="data", loader_name="val_loader", batch_size=4,
                                     id_prefix="v")


def record(session, step, ids=(0, 1, 2, 3, 4), values=None, name="loss"):
    values = np.arange(len(ids), dtype=float) + step if values is None else values
    session.save_signals({name: values}, list(ids), step=step)


# ---------------------------------------------------------------- the decorator
def test_the_public_names_are_exported_without_importing_torch():
    import subprocess
    import sys

    assert (wl.signal, wl.compute_signals, wl.SignalContext) == (signal, compute_signals,
                                                                 SignalContext)
    assert wl.BatchSignalContext is BatchSignalContext and callable(wl.auto_tag_loss_shapes)
    code = "import sys, weightslab_nb as wl; wl.signal; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_name_defaults_to_the_function_name_and_the_function_is_returned(session):
    def brightness(ctx):
        return 1.0

    assert signal()(brightness) is brightness
    assert signal(brightness) is brightness  # bare form
    registry = signal_registry(session)
    assert registry.names() == ["brightness"]
    sig = registry.get("signals//brightness")
    assert sig.column == "signals//brightness" and sig.is_static and not sig.is_dynamic


def test_a_signals_prefix_in_names_is_accepted(session):
    @signal(name="signals//twice", subscribe_to="signals//loss")
    def f(ctx):
        return 0.0

    sig = signal_registry(session).get("twice")
    assert sig.name == "twice" and sig.subscribed_column == "signals//loss"


@pytest.mark.parametrize("kwargs, error, words", [
    ({"name": ""}, ValueError, "name"),
    ({"name": " x"}, ValueError, "name"),
    ({"name": "signals//"}, ValueError, "name"),
    ({"name": 3}, TypeError, "name"),
    ({"subscribe_to": 5}, TypeError, "subscribe_to"),
    ({"subscribe_to": ""}, ValueError, "subscribe_to"),
    ({"subscribe_to": "loss", "compute_every_n_steps": 0}, ValueError, "compute_every_n_steps"),
    ({"subscribe_to": "loss", "compute_every_n_steps": 2.5}, TypeError, "compute_every_n_steps"),
    ({"subscribe_to": "loss", "compute_every_n_steps": True}, TypeError, "compute_every_n_steps"),
    ({"subscribe_to": "loss", "include_history": "yes"}, TypeError, "include_history"),
    ({"subscribe_to": "loss", "include_history_metadata": True}, ValueError,
     "include_history=True"),
    ({"log": None}, TypeError, "log"),
    ({"batched": 1}, TypeError, "batched"),
    ({"compute_every_n_steps": 3}, ValueError, "dynamic"),
    ({"include_history": True}, ValueError, "dynamic"),
])
def test_bad_options_raise_at_once_naming_the_argument(session, kwargs, error, words):
    with pytest.raises(error, match=words):
        signal(**kwargs)
    assert len(signal_registry(session)) == 0


def test_register_signal_checks_the_function_and_its_name(session):
    with pytest.raises(TypeError, match="callable"):
        register_signal(session, 42)
    with pytest.raises(ValueError, match="name"):
        register_signal(session, lambda ctx: 1.0)
    assert register_signal(session, lambda ctx: 1.0, name="one").name == "one"


def test_subscription_cycles_are_refused(session):
    with pytest.raises(ValueError, match="cycle"):
        register_signal(session, lambda c: 0, name="a", subscribe_to="a")
    register_signal(session, lambda c: 0, name="a", subscribe_to="b")
    register_signal(session, lambda c: 0, name="b", subscribe_to="c")
    with pytest.raises(ValueError, match="cycle"):
        register_signal(session, lambda c: 0, name="c", subscribe_to="signals//a")
    assert signal_registry(session).names() == ["a", "b"]


def test_registering_a_name_again_replaces_the_signal(session, loader):
    calls = []
    register_signal(session, lambda c: calls.append("old") or 1.0, name="s", subscribe_to="loss")
    register_signal(session, lambda c: calls.append("new") or 2.0, name="s", subscribe_to="loss")
    record(session, 0)
    session.drain()
    assert set(calls) == {"new"} and len(signal_registry(session)) == 1


def test_the_decorator_acts_on_the_current_session_or_the_one_given(make_session):
    a = make_session("a")
    b = make_session("b")  # current now

    @signal(session=a)
    def in_a(ctx):
        return 0.0

    @signal()
    def in_b(ctx):
        return 0.0

    assert signal_registry(a).names() == ["in_a"] and signal_registry(b).names() == ["in_b"]


# ---------------------------------------------------------------- dynamic, per sample
def test_a_dynamic_signal_gets_each_samples_value_and_is_stored_at_the_batch_step(session, loader):
    seen = []

    @signal(name="weighted", subscribe_to="loss")
    def weighted(ctx):
        seen.append((ctx.sample_id, ctx.subscribed_value, ctx.step, ctx.origin, ctx.is_dynamic,
                     ctx.is_static, ctx.subscribed_history, ctx.subscribe_to))
        return 0.5 * ctx.subscribed_value

    record(session, 7, ids=[3, 1], values=[4.0, 2.0])
    session.drain()
    assert seen == [(3, 4.0, 7, "train", True, False, None, "loss"),
                    (1, 2.0, 7, "train", True, False, None, "loss")]
    df = session.dataframe
    assert df.loc[(3, 0), "signals//weighted"] == 2.0 and df.loc[(1, 0), "signals//weighted"] == 1.0
    assert np.isnan(df.loc[(0, 0), "signals//weighted"])
    assert session.query_sample_history(3, "weighted") == [("weighted", 7, 2.0, None)]
    assert "weighted" in session.global_signal_names()  # log=True: one curve point


def test_log_false_stores_values_without_a_curve(session, loader):
    register_signal(session, lambda c: 1.0, name="quiet", subscribe_to="loss", log=False)
    record(session, 0)
    session.drain()
    assert session.dataframe["signals//quiet"].notna().sum() == 5
    assert "quiet" not in session.global_signal_names()


def test_subscribed_history_holds_earlier_values_oldest_first(session, loader, monkeypatch):
    plain, meta = {}, {}
    queries = []
    real = session.history.query_samples
    monkeypatch.setattr(session.history, "query_samples",
                        lambda *a, **k: queries.append(k["signal"]) or real(*a, **k))

    @signal(subscribe_to="loss", include_history=True)
    def h_plain(ctx):
        plain[(ctx.sample_id, ctx.step)] = ctx.subscribed_history

    @signal(subscribe_to="signals//loss", include_history=True, include_history_metadata=True)
    def h_meta(ctx):
        meta[(ctx.sample_id, ctx.step)] = ctx.subscribed_history

    for step in (10, 20, 30):
        record(session, step, ids=[0, 1], values=[step + 0.5, step + 0.25])
    session.drain()
    assert plain[(0, 10)] == [] and meta[(1, 10)] == []
    assert plain[(0, 30)] == [{"signal_value": 10.5}, {"signal_value": 20.5}]
    assert meta[(1, 30)] == [{"signal_value": 10.25, "model_age": 10},
                             {"signal_value": 20.25, "model_age": 20}]
    assert queries == ["loss", "loss"]  # one query per signal for the 3 batches of the drain


def test_per_sample_results_may_be_numpy_or_tensor_scalars(session, loader):
    register_signal(session, lambda c: np.array([1.5]), name="arr", subscribe_to="loss")
    register_signal(session, lambda c: torch.tensor(2.5), name="ten", subscribe_to="loss")
    register_signal(session, lambda c: torch.ones(2), name="two", subscribe_to="loss")
    record(session, 0, ids=[0])
    session.drain()
    df = session.dataframe
    assert df.loc[(0, 0), "signals//arr"] == 1.5 and df.loc[(0, 0), "signals//ten"] == 2.5
    assert "batched=True" in signal_registry(session).get("two").last_error


def test_instance_values_count_but_call_nothing(session, loader):
    calls = []
    register_signal(session, lambda c: calls.append(c.sample_id), name="per_box",
                    subscribe_to="iou")
    session.save_instance_signals({"iou": [0.5, 0.7, 0.9]}, [0, 1], [0, 0, 1], step=0)
    session.drain()
    assert calls == [] and signal_registry(session).get("per_box").seen == 1


def test_compute_every_n_steps_fires_on_every_nth_batch_of_the_subscribed_signal(session, loader):
    fired = []
    register_signal(session, lambda c: fired.append(c.step), name="every3", subscribe_to="loss",
                    compute_every_n_steps=3)
    for step in range(1, 8):
        record(session, step, ids=[0])
        record(session, step, ids=[0], name="other")  # other signals do not count
    session.drain()
    assert fired == [3, 6]
    sig = signal_registry(session).get("every3")
    assert (sig.seen, sig.fired, sig.calls) == (7, 2, 2)


def test_returning_none_stores_nothing_for_that_sample(session, loader):
    register_signal(session, lambda c: 5.0, name="some", subscribe_to="loss")
    record(session, 0, ids=[0, 1])
    session.drain()
    register_signal(session, lambda c: None if c.sample_id == 1 else 9.0, name="some",
                    subscribe_to="loss")
    record(session, 1, ids=[0, 1])
    session.drain()
    df = session.dataframe
    assert df.loc[(0, 0), "signals//some"] == 9.0
    assert df.loc[(1, 0), "signals//some"] == 5.0  # kept: None did not overwrite it


def test_the_context_loads_data_and_dataframe_lazily_and_shares_the_frame(session, loader,
                                                                           small_dataset):
    frames, data = [], []

    @signal(subscribe_to="loss")
    def look(ctx):
        frames.append(ctx.dataframe)
        data.append(ctx.data)
        assert ctx.image is None and ctx.point_cloud is None  # 4 features: neither
        return float(ctx.dataframe.loc[(ctx.sample_id, 0), "signals//loss"])

    record(session, 0, ids=[2, 4], values=[1.5, 2.5])
    session.drain()
    assert frames[0] is frames[1] and "signals//loss" in frames[0].columns
    assert torch.equal(data[0], small_dataset[2][0]) and torch.equal(data[1], small_dataset[4][0])
    assert session.dataframe.loc[(4, 0), "signals//look"] == 2.5


def test_signals_run_in_their_own_thread_even_without_any_reader(session, loader):
    done = threading.Event()
    threads = []

    @signal(subscribe_to="loss")
    def where(ctx):
        threads.append(threading.current_thread().name)
        done.set()
        return 1.0

    record(session, 0, ids=[0])  # nobody reads: the history writer's flush hands it over
    assert done.wait(WAIT)
    assert threads == ["wl-signals"]


def test_a_slow_signal_delays_neither_panel_reads_nor_flushes(session, loader):
    started, release = threading.Event(), threading.Event()

    @signal(subscribe_to="loss")
    def slow(ctx):
        started.set()
        assert release.wait(WAIT)
        return 5.0

    try:
        record(session, 0, ids=[0])
        session.drain(wait_signals=False)
        assert started.wait(WAIT)  # blocked in the signal thread from now on
        record(session, 1, ids=[1])
        assert session.global_series("loss")["step"].tolist() == [0, 1]  # what panels read
        session.flush()  # what the ingest thread does: it returns, not waiting
        assert not session.drain(timeout=0.05)  # a user read would wait for the signal
    finally:
        release.set()
    assert session.drain()
    assert session.dataframe.loc[[(0, 0), (1, 0)], "signals//slow"].tolist() == [5.0, 5.0]


def test_signals_can_chain_on_each_others_outputs(session, loader):
    register_signal(session, lambda c: 2 * c.subscribed_value, name="double", subscribe_to="loss")
    register_signal(session, lambda c: c.subscribed_value + 1, name="plus1",
                    subscribe_to="double")
    record(session, 0, ids=[0], values=[3.0])
    session.drain()  # fires "double", applies its value, which fires "plus1", applies it
    assert session.dataframe.loc[(0, 0), "signals//plus1"] == 7.0


def test_closing_runs_the_signals_of_the_last_batches(session, loader):
    register_signal(session, lambda c: 2 * c.subscribed_value, name="double", subscribe_to="loss")
    record(session, 0, ids=[0, 1], values=[3.0, 4.0])
    session.close()
    with wl.Session(root_log_dir=session.root_log_dir) as reopened:
        assert reopened.dataframe.loc[[(0, 0), (1, 0)], "signals//double"].tolist() == [6.0, 8.0]


def test_a_signal_may_read_and_tag_through_the_session_without_deadlock(session, loader):
    session.register_categorical_tag("level", ["low", "high"])
    order = []

    @signal(subscribe_to="loss")
    def tagger(ctx):
        order.append(ctx.step)
        history = wl.query_sample_history(ctx.sample_id, signal_name="loss")  # drains again
        record(session, 100 + ctx.step, ids=[4], values=[1.0], name="late")  # from inside
        wl.set_categorical_tag([ctx.sample_id], "level",
                               "high" if ctx.subscribed_value > 2 else "low")
        wl.tag_samples([ctx.sample_id], "seen")
        return float(len(history))

    for step in range(3):
        record(session, step, ids=[step], values=[float(step) + 1.0])
    worker = threading.Thread(target=session.drain, daemon=True)
    worker.start()
    worker.join(WAIT)
    assert not worker.is_alive(), "drain deadlocked"
    assert order == [0, 1, 2]  # in order, each once: nested drains did not re-enter
    df = session.dataframe
    assert df.loc[(2, 0), "tag:level"] == "high" and df.loc[(0, 0), "tag:level"] == "low"
    assert df["tag:seen"].sum() == 3
    assert df.loc[(4, 0), "signals//late"] == 1.0


# ---------------------------------------------------------------- batched
def test_a_batched_signal_is_called_once_per_fired_batch(session, loader):
    contexts = []

    @signal(subscribe_to="loss", batched=True, include_history=True,
            include_history_metadata=True, compute_every_n_steps=2)
    def ranks(ctx):
        contexts.append(ctx)
        out = np.argsort(np.argsort(ctx.subscribed_values)).astype(float)
        out[0] = np.nan  # no value for the first sample
        return out

    record(session, 1, ids=[0, 1, 2], values=[1.0, 1.0, 1.0])
    record(session, 2, ids=[0, 1, 2], values=[3.0, 1.0, 2.0])
    session.drain()
    assert len(contexts) == 1
    ctx = contexts[0]
    assert isinstance(ctx, BatchSignalContext) and len(ctx) == 3 and ctx.is_dynamic
    assert ctx.sample_ids == [0, 1, 2] and ctx.step == 2 and ctx.origin == "train"
    assert ctx.subscribed_values.dtype == np.float64
    assert ctx.subscribed_values.tolist() == [3.0, 1.0, 2.0]
    assert ctx.subscribed_history == {s: [{"signal_value": 1.0, "model_age": 1}]
                                      for s in (0, 1, 2)}
    assert [c.subscribed_value for c in ctx.contexts()] == [3.0, 1.0, 2.0]
    df = session.dataframe
    assert np.isnan(df.loc[(0, 0), "signals//ranks"])
    assert df.loc[(1, 0), "signals//ranks"] == 0.0 and df.loc[(2, 0), "signals//ranks"] == 1.0
    assert session.query_sample_history(1, "ranks")[0][1] == 2


def test_a_batched_signal_may_return_a_tensor_or_a_list_with_none(session, loader):
    register_signal(session, lambda c: torch.tensor(c.subscribed_values) * 10, name="t",
                    subscribe_to="loss", batched=True)
    register_signal(session, lambda c: [None, 1], name="l", subscribe_to="loss", batched=True)
    record(session, 0, ids=[0, 1], values=[1.0, 2.0])
    session.drain()
    df = session.dataframe
    assert df["signals//t"].tolist()[:2] == [10.0, 20.0]
    assert np.isnan(df.loc[(0, 0), "signals//l"]) and df.loc[(1, 0), "signals//l"] == 1.0


def test_a_batched_signal_returning_the_wrong_length_is_a_failure(session, loader):
    register_signal(session, lambda c: [1.0], name="short", subscribe_to="loss", batched=True)
    record(session, 0, ids=[0, 1])
    session.drain()
    errors = signal_registry(session).errors
    assert len(errors) == 1 and "one value per sample (2)" in errors[0].message
    assert "signals//short" not in session.dataframe.columns


# ---------------------------------------------------------------- failures
def test_a_failing_signal_is_disabled_after_three_failures_in_a_row(session, loader, caplog):
    calls = []

    @signal(subscribe_to="loss")
    def broken(ctx):
        calls.append(ctx.sample_id)
        raise ZeroDivisionError("boom")

    register_signal(session, lambda c: 1.0, name="fine", subscribe_to="loss")
    with caplog.at_level(logging.ERROR, logger="weightslab_nb.signals"):
        record(session, 0)
        record(session, 1)
        session.drain()  # never raises
    assert calls == [0, 1, 2]  # the rest of the batch and the next batch were skipped
    registry = signal_registry(session)
    sig = registry.get("broken")
    assert not sig.enabled and sig.failures == 3 and sig.last_error == "ZeroDivisionError: boom"
    errors = registry.errors
    assert [e.disabled for e in errors] == [False, False, True]
    assert [e.sample_id for e in errors] == [0, 1, 2] and errors[0].step == 0
    assert "ZeroDivisionError" in errors[0].traceback
    assert "disabled" in caplog.text and "boom" in caplog.text
    assert session.dataframe["signals//fine"].notna().sum() == 5  # others keep working
    registry.enable("broken")
    record(session, 2)
    session.drain()
    assert len(calls) == 6 and not registry.get("broken").enabled


def test_failures_must_be_consecutive_to_disable(session, loader):
    def flaky(ctx):
        if ctx.sample_id in (0, 1, 3, 4):
            raise RuntimeError("flaky")
        return 1.0

    register_signal(session, flaky, name="flaky", subscribe_to="loss")
    record(session, 0)
    session.drain()
    sig = signal_registry(session).get("flaky")
    assert sig.enabled and sig.failures == 4 and sig.consecutive_failures == 2
    assert session.dataframe.loc[(2, 0), "signals//flaky"] == 1.0


def test_a_non_numeric_return_counts_as_a_failure(session, loader):
    register_signal(session, lambda c: "high", name="text", subscribe_to="loss")
    record(session, 0, ids=[0])
    session.drain()
    sig = signal_registry(session).get("text")
    assert sig.failures == 1 and "number or None" in sig.last_error


def test_registering_again_re_enables_a_disabled_signal(session, loader):
    register_signal(session, lambda c: 1 / 0, name="s", subscribe_to="loss")
    record(session, 0)
    session.drain()
    assert not signal_registry(session).get("s").enabled
    register_signal(session, lambda c: 1.0, name="s", subscribe_to="loss")
    record(session, 1)
    session.drain()
    assert session.dataframe["signals//s"].notna().sum() == 5


# ---------------------------------------------------------------- static signals
def test_compute_signals_runs_static_signals_over_every_sample(session, images, capsys):
    ds, val = images
    seen = []

    @signal
    def brightness(ctx):
        seen.append((ctx.is_static, ctx.is_dynamic, ctx.origin, ctx.subscribed_value,
                     tuple(ctx.image.shape)))
        return float(ctx.image.mean())

    @signal(name="dynamic_one", subscribe_to="loss")
    def dynamic_one(ctx):
        raise AssertionError("dynamic signals are not run by compute_signals")

    session.discard_samples(["v3"])
    counts = compute_signals(val, origin="val")
    assert counts == {"brightness": 12}
    assert set(seen) == {(True, False, "val", None, (1, 6, 6))}
    col = session.dataframe["signals//brightness"]
    assert np.allclose(col.to_numpy(), np.arange(12) / 12)  # discarded v3 included
    assert "compute_signals [val]" in capsys.readouterr().err  # the tqdm bar
    assert signal_registry(session).errors == []


@pytest.mark.parametrize("target", ["val_loader", "val", "dataset", "dataloader", None])
def test_compute_signals_finds_the_loader_by_name_origin_or_object(session, images, target):
    ds, val = images
    register_signal(session, lambda c: 1.0, name="one")
    arg = {"dataset": ds, "dataloader": DataLoader(ds), "val_loader": "val_loader",
           "val": "val", None: None}[target]
    counts = compute_signals(arg, origin="val" if target is None else None, progress=False)
    assert counts == {"one": 12}


def test_compute_signals_rejects_unwatched_or_ambiguous_data(session, images, small_dataset):
    ds, val = images
    register_signal(session, lambda c: 1.0, name="one")
    with pytest.raises(ValueError, match="not watched"):
        compute_signals(small_dataset, progress=False)
    with pytest.raises(ValueError, match="no watched loader"):
        compute_signals("test_loader", progress=False)
    with pytest.raises(ValueError, match="does not match"):
        compute_signals(val, origin="train", progress=False)
    with pytest.raises(ValueError, match="pass a watched loader"):
        compute_signals(progress=False)
    session.watch_or_edit(ds, flag="data", loader_name="again_loader", id_prefix="w")
    with pytest.raises(ValueError, match="several loaders"):
        compute_signals(ds, progress=False)
    assert compute_signals(ds, origin="again", progress=False) == {"one": 12}


def test_compute_signals_runs_only_the_named_static_signals(session, images):
    ds, val = images
    register_signal(session, lambda c: 1.0, name="a")
    register_signal(session, lambda c: 2.0, name="b")
    register_signal(session, lambda c: 3.0, name="d", subscribe_to="loss")
    assert compute_signals(val, signals="b", progress=False) == {"b": 12}
    assert "signals//a" not in session.dataframe.columns
    with pytest.raises(ValueError, match="no signal named"):
        compute_signals(val, signals=["zzz"], progress=False)
    with pytest.raises(ValueError, match="dynamic"):
        compute_signals(val, signals=["d"], progress=False)
    with pytest.raises(ValueError, match="chunk_size"):
        compute_signals(val, chunk_size=0, progress=False)


def test_a_batched_static_signal_gets_chunks_of_raw_samples(session, images):
    ds, val = images
    sizes = []

    @signal(batched=True)
    def mean_pixel(ctx):
        sizes.append(len(ctx))
        assert ctx.is_static and ctx.subscribed_values is None and ctx.origin == "val"
        assert isinstance(ctx.data, list) and ctx.images[0].shape == (1, 6, 6)
        return torch.stack(ctx.data).mean(dim=(1, 2, 3))

    assert compute_signals(val, chunk_size=5, progress=False) == {"mean_pixel": 12}
    assert sizes == [5, 5, 2]
    assert np.allclose(session.dataframe["signals//mean_pixel"].to_numpy(), np.arange(12) / 12)


def test_a_failing_static_signal_is_disabled_and_the_others_finish(session, images):
    ds, val = images
    register_signal(session, lambda c: 1 / 0, name="bad")
    register_signal(session, lambda c: None if c.sample_id == "v0" else 1.0, name="good")
    counts = compute_signals(val, chunk_size=4, progress=False)
    assert counts == {"bad": 0, "good": 11}
    registry = signal_registry(session)
    assert not registry.get("bad").enabled and registry.get("bad").calls == 3
    assert compute_signals(val, progress=False) == {"bad": 0, "good": 11}  # stays disabled


# ---------------------------------------------------------------- context and views
def test_a_context_built_by_hand_is_static_unless_it_subscribes():
    img = torch.rand(3, 5, 5)
    ctx = SignalContext(sample_id="a", data=img, origin="train")
    assert ctx.is_static and not ctx.is_dynamic and ctx.dataframe is None
    assert ctx.subscribed_history is None and torch.allclose(ctx.image, img)
    dyn = SignalContext(sample_id="a", subscribed_value=1.5, subscribe_to="loss")
    assert dyn.is_dynamic and dyn.data is None and dyn.image is None
    assert "dynamic" in repr(dyn)


@pytest.mark.parametrize("data, shape, top", [
    (np.full((4, 5, 3), 255, dtype=np.uint8), (3, 4, 5), 1.0),        # HWC uint8
    (torch.full((1, 4, 4), 0.5), (1, 4, 4), 0.5),                     # CHW in [0, 1]
    (torch.full((2, 2), 0.25), (1, 2, 2), 0.25),                      # grayscale 2-D
    (torch.arange(16.0).reshape(1, 1, 4, 4), (1, 4, 4), 1.0),         # batch of one, min-max
    (np.arange(16, dtype=np.int32).reshape(4, 4), (1, 4, 4), 15 / 255),
    (Image.new("RGB", (6, 4), (255, 0, 0)), (3, 4, 6), 1.0),
    (Image.new("L", (3, 3), 51), (1, 3, 3), 0.2),
])
def test_image_view_normalises_to_chw_in_unit_range(data, shape, top):
    img = image_view(data)
    assert img.dtype == torch.float32 and tuple(img.shape) == shape
    assert float(img.max()) == pytest.approx(top) and float(img.min()) >= 0.0


@pytest.mark.parametrize("data", [None, "text", [1, 2, 3], torch.rand(8), torch.rand(5, 6, 7),
                                  torch.rand(2, 3, 4, 5), np.array(["a", "b"])])
def test_image_view_is_none_for_non_images(data):
    assert image_view(data) is None


def test_point_cloud_view_needs_two_dimensions_and_three_columns():
    pts = np.random.default_rng(0).normal(size=(100, 4))
    view = point_cloud_view(pts)
    assert view.dtype == torch.float32 and tuple(view.shape) == (100, 4)
    assert np.allclose(view.numpy(), pts, atol=1e-6)
    assert tuple(point_cloud_view(torch.rand(1, 50, 3)).shape) == (50, 3)
    for other in (torch.rand(50, 2), torch.rand(3, 8, 8), torch.rand(9), Image.new("L", (4, 4))):
        assert point_cloud_view(other) is None
    ctx = SignalContext(0, data=torch.rand(20, 3))
    assert ctx.point_cloud.shape == (20, 3) and ctx.image.shape == (1, 20, 3)  # both views
