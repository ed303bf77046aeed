"""DDP ranks forked from the kernel (``start_training(..., world_size=2)``): the kernel's session
is the hub; the ranks train on disjoint shards, obey a discard, a pause and an evaluation made
in the kernel, and a failing or killed rank ends the run with an error naming it."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal

import pytest
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import TensorDataset

from weightslab_nb.demo import digits_mlp
from weightslab_nb.errors import RankError
from weightslab_nb.evaluation import default_eval_fn, register_eval_fn

SAMPLES = 1797
VAL = 200
WAIT = 120.0


def _watch(session, digits):
    session.watch_or_edit({"experiment_name": "ddp-nb", "optimizer": {"lr": 1e-2}}, flag="hp")
    model = session.watch_or_edit(digits_mlp(hidden=32, seed=0), flag="model")
    loader = session.watch_or_edit(digits, flag="data", loader_name="train_loader",
                                   batch_size=32, shuffle=True, seed=0)
    loss_fn = session.watch_or_edit(nn.CrossEntropyLoss(reduction="none"), flag="loss",
                                    signal_name="train-loss", per_sample=True, log=True)
    return model, loader, loss_fn


def _train(model, loader, loss_fn, epochs, fail_at=None, kill_at=None):
    """The user's loop, run in every rank (the model and loader come from the kernel)."""
    ddp = DistributedDataParallel(model)
    opt = torch.optim.SGD(ddp.parameters(), lr=1e-2)
    rank = int(os.environ["RANK"])
    for _ in range(epochs):
        for step, (x, y, ids) in enumerate(loader):
            if rank == 1 and step == fail_at:
                raise ValueError("a bad batch on rank 1")
            if rank == 1 and step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)
            opt.zero_grad()
            loss_fn(ddp(x), y, batch_ids=ids).mean().backward()
            opt.step()


def _history(session):
    """(sample_id, step) of every per-sample loss row the hub recorded."""
    session.drain()
    cols = session.history.query_samples(signal="train-loss")
    ids = session.table.ids_of(cols["row"])
    return list(zip((str(i) for i in ids), cols["step"].tolist()))


def test_ranks_launched_from_the_kernel_train_disjoint_shards_into_one_history(
        session, digits):
    model, loader, loss_fn = _watch(session, digits)
    handle = session.start_training(_train, model, loader, loss_fn, 2, world_size=2)
    assert handle.wait(WAIT), "the ranks did not finish"
    assert handle.error is None and handle.state == "stopped"
    assert handle.step == 58  # 2 epochs x 29 global batches (2 x 32 samples)
    rows = _history(session)
    per_sample: dict[str, int] = {}
    for sid, _ in rows:
        per_sample[sid] = per_sample.get(sid, 0) + 1
    assert len(per_sample) == SAMPLES and set(per_sample.values()) == {2}
    curve = session.global_series("train-loss")
    assert curve["step"].tolist() == list(range(1, 59))  # one point per step, both ranks
    assert int(curve["count"][:29].sum()) == SAMPLES


def test_a_discard_and_a_pause_from_the_kernel_reach_every_rank(session, digits):
    model, loader, loss_fn = _watch(session, digits)
    handle = session.start_training(_train, model, loader, loss_fn, 8, world_size=2)
    assert handle.wait_for_step(10, WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT) and handle.state == "paused"
    held = handle.step
    assert not handle.wait_for_step(held + 1, timeout=1.0)  # every rank holds
    gone = list(range(100, 120))
    session.discard_samples(gone)  # made while held: applied before the next step
    handle.resume()
    assert handle.wait(WAIT) and handle.error is None
    late = [(sid, step) for sid, step in _history(session) if int(sid) in gone and
            step > held]
    assert late == []
    assert handle.step > held + 29  # training went on for more than an epoch


def _train_logging_lr(model, loader, loss_fn, optimizer, epochs):
    """The user's loop with a watched optimizer; every rank records the lr it stepped with."""
    from weightslab_nb.session import current_session

    ddp = DistributedDataParallel(model)
    for _ in range(epochs):
        for x, y, ids in loader:
            optimizer.zero_grad()
            loss_fn(ddp(x), y, batch_ids=ids).mean().backward()
            optimizer.step()
            current_session().record_scalar("lr-used", optimizer.param_groups[0]["lr"])


def test_an_lr_change_from_the_kernel_lands_on_every_rank_at_the_same_step(session, digits):
    model, loader, loss_fn = _watch(session, digits)
    optimizer = session.watch_or_edit(torch.optim.SGD(model.parameters(), lr=1e-2),
                                      flag="optimizer")
    handle = session.start_training(_train_logging_lr, model, loader, loss_fn, optimizer, 8,
                                    world_size=2)
    assert handle.wait_for_step(20, WAIT)
    handle.pause()
    assert handle.wait_paused(WAIT)
    held = handle.step
    next(iter(session.steering.handles.values()))["optimizer"]["lr"] = 1e-3
    handle.resume()
    assert handle.wait(WAIT) and handle.error is None
    curve = session.global_series("lr-used")
    assert curve["step"].tolist() == list(range(1, 233)) and handle.step == 232
    assert (curve["min"] == curve["max"]).all()  # both ranks used the same lr at every step
    before = curve["step"] <= held
    assert (curve["mean"][before] == 1e-2).all() and (curve["mean"][~before] == 1e-3).all()
    assert 20 <= held < 232


def _watch_val(session, digits):
    images, labels = digits.tensors
    session.watch_or_edit(TensorDataset(images[:VAL], labels[:VAL]), flag="data",
                          loader_name="val_loader", batch_size=50, id_prefix="val/")


def test_an_evaluation_requested_in_the_kernel_runs_on_rank_0_while_every_rank_holds(
        session, digits):
    model, loader, loss_fn = _watch(session, digits)
    _watch_val(session, digits)
    fork = mp.get_context("fork")  # the ranks inherit both events
    started, proceed = fork.Event(), fork.Event()

    def eval_fn(managed):  # runs on rank 0, with its trained model
        started.set()
        assert proceed.wait(WAIT)
        default_eval_fn(session)(managed)

    register_eval_fn(session, eval_fn)  # before the launch: the ranks are forked with it
    handle = session.start_training(_train, model, loader, loss_fn, 8, world_size=2)
    assert handle.wait_for_step(10, WAIT)
    request = session.request_evaluation("val_loader", resume=True)
    assert started.wait(WAIT), "rank 0 did not start the evaluation"
    assert request.state == "running" and handle.state == "paused"
    held = handle.step
    assert not handle.wait_for_step(held + 1, timeout=1.0)  # every rank holds meanwhile
    proceed.set()
    assert request.wait(WAIT) and request.state == "done", request.error
    assert request.step == held and set(request.result) == {"train-loss"}
    session.drain()
    rows = session.history.query_samples(signal="train-loss", exp_hash=request.marker_hash)
    assert len(rows["row"]) == VAL and set(rows["step"].tolist()) == {held}
    assert sorted(session.table.ids_of(rows["row"])) == sorted(f"val/{i}" for i in range(VAL))
    marker = session.history_frame("global", exp_hash=request.marker_hash)
    assert marker["step"].tolist() == [held] and marker["count"].tolist() == [VAL]
    images, labels = digits.tensors
    with torch.no_grad():  # the kernel's model was never trained: rank 0's was
        untrained = nn.functional.cross_entropy(model(images[:VAL]), labels[:VAL]).item()
    assert abs(request.result["train-loss"] - untrained) > 1e-3
    assert handle.wait(WAIT) and handle.error is None and handle.step == 232  # went on
    session.drain()
    train = session.history.query_samples(rows=session.table.sample_rows("train"),
                                          signal="train-loss")
    assert len(train["row"]) == 8 * SAMPLES  # both ranks trained every epoch to the end


def test_an_evaluation_failing_on_rank_0_fails_the_request_and_the_run_goes_on(
        session, digits):
    model, loader, loss_fn = _watch(session, digits)
    _watch_val(session, digits)

    def eval_fn(managed):
        raise ValueError("no evaluation on rank 0 today")

    register_eval_fn(session, eval_fn)
    handle = session.start_training(_train, model, loader, loss_fn, 8, world_size=2)
    assert handle.wait_for_step(10, WAIT)
    request = session.request_evaluation("val_loader", resume=True)
    assert request.wait(WAIT), "the failed evaluation never ended in the kernel"
    assert request.state == "failed" and "no evaluation on rank 0 today" in request.error
    assert "rank 0" in request.error
    assert handle.state == "paused"  # a failed evaluation does not resume, as in one process
    handle.resume()
    assert handle.wait(WAIT) and handle.error is None and handle.step == 232


@pytest.mark.parametrize("how", ["raises", "killed"])
def test_a_failing_rank_ends_the_run_with_an_error_naming_it(session, digits, how):
    model, loader, loss_fn = _watch(session, digits)
    kwargs = {"fail_at": 5} if how == "raises" else {"kill_at": 5}
    handle = session.start_training(_train, model, loader, loss_fn, 2, world_size=2,
                                    **kwargs)
    assert handle.wait(WAIT), "the run did not end after a rank failed"
    assert handle.state == "error"
    assert isinstance(handle.error, RankError) and handle.error.rank == 1
    if how == "raises":
        assert "a bad batch on rank 1" in str(handle.error)
    assert len(_history(session)) >= 4 * 32  # what the ranks recorded before is kept


def test_bad_launch_arguments_are_refused(session):
    with pytest.raises(Exception, match="world_size"):
        session.start_training(lambda: None, world_size=0)
    with pytest.raises(Exception, match="backend"):
        session.start_training(lambda: None, world_size=2, backend="mpi")


def _short(loader, steps):
    """Ranks that end cleanly at once: the launch and its end are what is tested."""
    for step, _ in enumerate(loader):
        if step == steps:
            return


def test_launches_one_after_another_end_cleanly_and_free_the_hub(session, digits):
    import threading

    _, loader, _ = _watch(session, digits)

    def accepting():
        return sum(t.name == "wl-hub-accept" and t.is_alive() for t in threading.enumerate())

    before = accepting()
    for launch in range(4):
        handle = session.start_training(_short, loader, 2, world_size=2)
        assert handle.wait(WAIT), f"launch {launch} did not finish"
        # a rank's process may be over before the hub read its goodbye: not a failure
        assert handle.error is None and handle.state == "stopped", (launch, handle.error)
    assert accepting() == before  # each launch's hub stopped listening
