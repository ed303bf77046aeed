"""The training step's hot path: what a recorded batch keeps, what the loader hands over, and
that pauses, stops, waits and steering still act at the step boundaries."""

from __future__ import annotations

import gc
import itertools
import threading
import weakref

import numpy as np
import pytest
import torch
from torch import nn

from weightslab_nb.ledger.host_copy import HostCopy, batch_to_host, to_host

WAIT = 20.0


@pytest.fixture
def watched(session, small_dataset):
    """A training loader over 20 samples (batch 4) and a per-sample loss with evidence."""
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=4, shuffle=True, seed=0)
    loss = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                 signal_name="loss", per_sample=True)
    return loader, loss


def test_no_recorded_tensor_keeps_the_steps_autograd_graph_alive(session, watched):
    loader, loss_fn = watched
    session.recorder.flush_interval = 60.0  # no ingest round empties the queue meanwhile:
    session.recorder.wait_for_flush(1, timeout=WAIT)  # the next round waits that long
    model = nn.Linear(4, 3)
    refs = []
    for inputs, targets, ids in loader:
        hidden = model(inputs) * 2.0        # saved by the multiplication below
        logits = hidden * hidden.detach()
        loss = loss_fn(logits, targets, batch_ids=ids)
        refs += [weakref.ref(hidden), weakref.ref(logits), weakref.ref(loss)]
        del hidden, logits, loss            # no backward: only the graph could keep them
    gc.collect()
    assert session.recorder.queue.__len__() > 0  # the batches still wait for the drain
    assert [r for r in refs if r() is not None] == []
    assert np.isfinite(session.dataframe["signals//loss"]).all()


def test_a_slice_of_a_large_tensor_is_recorded_without_keeping_the_large_tensor(session,
                                                                                 watched):
    loader, _ = watched
    _, targets, ids = next(iter(loader))
    big = torch.randn(4, 100_000, requires_grad=True) * 1.0
    session.record_batch("slice", ids, big[:, 0], preds=big[:, :3], targets=targets)
    big_ref = weakref.ref(big)
    (kept,) = [b for b in session.recorder.queue._items if b.column == "signals//slice"]
    for part in (kept.values, kept.preds):
        assert part.untyped_storage().nbytes() <= 4 * 3 * 8
        assert part.grad_fn is None
    del big
    gc.collect()
    assert big_ref() is None
    assert session.dataframe.loc[(ids[0].item(), 0), "signals//slice"] == \
        pytest.approx(kept.values[0].item())


def test_per_sample_maps_and_other_shaped_predictions_are_reduced_when_recorded():
    values = torch.arange(24.0, requires_grad=True).reshape(4, 2, 3) * 1.0
    masks = torch.zeros(4, 3, 8, 8)
    v, p, t = batch_to_host(values, masks, torch.zeros(4, 8, 8), 4, evidence=False)
    assert v.shape == (4,) and v.dtype == torch.float64 and v.grad_fn is None
    assert v.tolist() == pytest.approx([2.5, 8.5, 14.5, 20.5])
    assert p is None and t is None  # nothing would be stored for them
    scores = torch.randn(4, 100)
    _, p, _ = batch_to_host(torch.ones(4), scores, None, 4, evidence=False)
    assert p.tolist() == scores.argmax(1).tolist()  # many classes, no evidence: argmax only
    _, p, _ = batch_to_host(torch.ones(4), scores, None, 4, evidence=True)
    assert p.shape == (4, 100)


def test_the_ids_a_loader_yields_are_the_samples_their_values_are_recorded_for(session,
                                                                               small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=3, shuffle=True, seed=1,
                                   sample_ids=[100 + i for i in range(20)])
    seen = []
    for inputs, targets, ids in loader:
        assert isinstance(ids, torch.Tensor) and ids.dtype == torch.int64
        seen += ids.tolist()
        # the sample's own features identify it: record feature 0 as its value
        session.record_batch("x0", ids, inputs[:, 0])
        session.record_batch("id", ids, ids.double())
    assert sorted(seen) == list(range(100, 120))
    df = session.dataframe
    for i in range(20):
        assert df.loc[(100 + i, 0), "signals//id"] == 100 + i
        assert df.loc[(100 + i, 0), "signals//x0"] == pytest.approx(
            small_dataset.tensors[0][i, 0].item())


def test_string_ids_arrive_as_the_list_of_the_loaders_ids(session, small_dataset):
    loader = session.watch_or_edit(small_dataset, flag="data", loader_name="train_loader",
                                   batch_size=8, id_prefix="s")
    batches = [ids for _, _, ids in loader]
    assert batches[0] == [f"s{i}" for i in range(8)]
    assert [s for ids in batches for s in ids] == [f"s{i}" for i in range(20)]


def test_a_device_copy_is_waited_for_by_the_reader_never_by_the_recording(session, watched):
    """The CUDA path's logic with a stand-in event: the values land when the event fires."""
    loader, _ = watched
    _, _, ids = next(iter(loader))

    class CopyDone:  # what torch.cuda.Event offers: query() and synchronize()
        def __init__(self, buffer):
            self.buffer, self.fired, self.waited = buffer, threading.Event(), False

        def query(self):
            return self.fired.is_set()

        def synchronize(self):
            self.waited = True
            self.buffer[:] = [1.0, 2.0, 3.0, 4.0]  # the copy completes
            self.fired.set()

    buffer = np.zeros(4)
    event = CopyDone(buffer)
    copy = HostCopy(buffer, event)
    rows = session.rows_of(ids, "train")
    session.recorder.record_rows("gpu-loss", rows, copy)
    assert not copy.ready() and not event.waited  # recording did not wait
    df = session.dataframe
    assert event.waited and copy.ready()
    assert [df.loc[(i, 0), "signals//gpu-loss"] for i in ids.tolist()] == [1.0, 2.0, 3.0, 4.0]


def test_to_host_drops_the_graph_of_a_cpu_tensor_and_leaves_other_values_alone():
    x = torch.ones(3, requires_grad=True) * 2
    kept = to_host(x)
    assert kept.grad_fn is None and not kept.requires_grad and kept.tolist() == [2.0] * 3
    arr = np.ones(2)
    assert to_host(arr) is arr


def test_a_thread_waiting_for_a_step_is_woken_when_the_loop_reaches_it(session, watched):
    loader, _ = watched
    reached = []
    waiter = threading.Thread(target=lambda: reached.append(
        session.controller.wait_for_step(3, timeout=WAIT)))
    waiter.start()
    steps = 0
    for _ in loader:
        steps += 1
    waiter.join(WAIT)
    assert reached == [True] and steps == 5 and session.controller.step == 5


def test_a_pause_and_a_stop_act_at_the_next_step_boundary(session, watched):
    loader, _ = watched
    seen = []

    def train():
        while True:
            for _, _, ids in loader:
                seen.append(session.controller.step)

    handle = session.start_training(train)
    assert handle.wait_for_step(3, timeout=WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT)
    held = session.controller.step
    assert seen[-1] == held  # the batch of the last counted step was yielded, no other
    handle.resume()
    assert handle.wait_for_step(held + 2, timeout=WAIT)
    assert handle.stop(WAIT) and handle.state == "stopped"
    assert seen[-1] == session.controller.step


def test_each_steering_request_is_applied_exactly_once_at_a_step_boundary(session, watched):
    loader, _ = watched
    hp = session.watch_or_edit({"optimizer": {"lr": 0.0}}, flag="hp")
    model = nn.Linear(4, 3)
    opt = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=0.0), flag="optimizer")
    lrs_seen = []
    go = threading.Event()

    def train():
        while True:
            for _ in loader:
                lrs_seen.append(opt.param_groups[0]["lr"])
                go.set()

    handle = session.start_training(train)
    assert go.wait(WAIT)
    for i in range(1, 21):
        hp["optimizer"]["lr"] = i / 100
        step = session.controller.step
        assert handle.wait_for_step(step + 2, timeout=WAIT)
        assert opt.param_groups[0]["lr"] == i / 100
    handle.stop(WAIT)
    history = [(r["key"], r["new"]) for r in hp.history()]
    assert history == [("optimizer.lr", i / 100) for i in range(1, 21)]
    # a value, once applied, is what every later step sees: no step went back to an older one
    assert all(b >= a for a, b in itertools.pairwise(lrs_seen))


def test_a_loss_logged_as_a_tensor_is_the_same_curve_point_as_its_float(session):
    import weightslab_nb as wl

    run = wl.init(project="p", session=session)
    loss = torch.tensor([0.25, 0.75], requires_grad=True).mean()
    for step in range(3):
        run.log({"loss": loss, "lr": 0.1, "ok": True}, step=step)
        run.log({"float_loss": loss.item()}, step=step)
    run.log({"loss": torch.tensor(2, dtype=torch.int32), "lr": 0.2, "ok": False}, step=3)
    tensors, floats = session.global_series("loss"), session.global_series("float_loss")
    assert tensors["mean"].tolist() == floats["mean"].tolist() + [2.0]
    assert session.global_series("ok")["mean"].tolist() == [1.0, 1.0, 1.0, 0.0]
